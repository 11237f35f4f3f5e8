package storage

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// PoolCollector reports the connection pools' sql.DBStats on every scrape
// (go_sql_open_connections, go_sql_in_use_connections, go_sql_wait_count_total,
// go_sql_wait_duration_seconds_total, …), labelled db_name with the
// dialect, and on SQLite also with "sqlite-readers" for the pool that
// Read and Snapshot use. Waits that grow mean the pool
// (FIELDSYNC_DB_MAX_CONNS) is too small for the load, or transactions
// hold connections too long; on SQLite, that the one writer is the queue.
func (db *DB) PoolCollector() prometheus.Collector {
	c := pools{collectors.NewDBStatsCollector(db.sql, db.dialect)}
	if db.readSQL != nil {
		c = append(c, collectors.NewDBStatsCollector(db.readSQL, db.dialect+"-readers"))
	}
	return c
}

// pools is one collector for several pools' stats.
type pools []prometheus.Collector

func (p pools) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range p {
		c.Describe(ch)
	}
}

func (p pools) Collect(ch chan<- prometheus.Metric) {
	for _, c := range p {
		c.Collect(ch)
	}
}
