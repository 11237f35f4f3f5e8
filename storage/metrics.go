package storage

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// PoolCollector reports the connection pool's sql.DBStats on every scrape
// (go_sql_open_connections, go_sql_in_use_connections, go_sql_wait_count_total,
// go_sql_wait_duration_seconds_total, …), labelled db_name with the
// dialect. Waits that grow mean the pool (FIELDSYNC_DB_MAX_CONNS) is too
// small for the load, or transactions hold connections too long.
func (db *DB) PoolCollector() prometheus.Collector {
	return collectors.NewDBStatsCollector(db.sql, db.dialect)
}
