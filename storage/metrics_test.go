package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestPoolCollector: the pool's stats are reported as they are at the
// scrape, labelled with the dialect: a connection held shows in use, and a
// request that had to wait for one is counted with the time it waited.
func TestPoolCollector(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			sqlDB, err := db.Gorm().DB()
			if err != nil {
				t.Fatal(err)
			}
			// One connection, so that a second request must wait.
			sqlDB.SetMaxOpenConns(1)
			reg := prometheus.NewRegistry()
			reg.MustRegister(db.PoolCollector())
			ctx := context.Background()

			held, err := sqlDB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := gauges(t, reg, dialect)
			if got["go_sql_in_use_connections"] != 1 || got["go_sql_max_open_connections"] != 1 || got["go_sql_wait_count_total"] != 0 {
				t.Fatalf("one connection held: %v", got)
			}
			waited := make(chan error, 1)
			go func() {
				c, err := sqlDB.Conn(ctx)
				if err == nil {
					err = c.Close()
				}
				waited <- err
			}()
			for deadline := time.Now().Add(10 * time.Second); sqlDB.Stats().WaitCount == 0; {
				if time.Now().After(deadline) {
					t.Fatal("the second request for a connection never waited")
				}
				time.Sleep(time.Millisecond)
			}
			held.Close()
			if err := <-waited; err != nil {
				t.Fatal(err)
			}
			got = gauges(t, reg, dialect)
			if got["go_sql_wait_count_total"] != 1 || got["go_sql_wait_duration_seconds_total"] <= 0 || got["go_sql_in_use_connections"] != 0 {
				t.Fatalf("after a wait: %v", got)
			}
			if dialect == storage.DialectSQLite {
				if err := db.Read(ctx, func(tx models.Tx) error { _, err := tx.Count(&models.Unit{}, nil); return err }); err != nil {
					t.Fatal(err)
				}
				readers := gauges(t, reg, "sqlite-readers")
				if readers["go_sql_max_open_connections"] != 4 || readers["go_sql_open_connections"] < 1 {
					t.Errorf("the SQLite readers' pool: %v", readers)
				}
			}
		})
	}
}

// gauges gathers reg and returns each family's value for one pool
// (db_name), checking that every series carries that label alone.
func gauges(t *testing.T, reg *prometheus.Registry, pool string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := m.GetLabel()
			if len(l) != 1 || l[0].GetName() != "db_name" {
				t.Errorf("%s is labelled %v, want db_name alone", mf.GetName(), l)
			} else if l[0].GetValue() == pool {
				out[mf.GetName()] = value(m)
			}
		}
		if _, ok := out[mf.GetName()]; !ok {
			t.Errorf("%s has no series with db_name=%q", mf.GetName(), pool)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	if m.Gauge != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}
