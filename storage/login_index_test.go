package storage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// fillAttempts writes 20,010 login attempts of one username from one
// address, numbered i = 1…20,010, with the SQL expressions ok and
// createdAt of i (and args) for their columns.
func fillAttempts(t *testing.T, db *storage.DB, ok, createdAt string, args ...any) {
	t.Helper()
	g := db.Gorm()
	id := "LPAD(i, 36, '0')"
	if db.Dialect() == storage.DialectSQLite {
		id = "printf('%036d', i)"
	} else if err := g.Exec("SET SESSION max_recursive_iterations = 1000000").Error; err != nil {
		t.Fatal(err)
	}
	fill := `INSERT INTO login_attempts (id, username, address, ok, created_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20010)
SELECT ` + id + `, 'office', '10.0.0.1', ` + ok + `, ` + createdAt + ` FROM n`
	if err := g.Exec(fill, args...).Error; err != nil {
		t.Fatal(err)
	}
}

// TestLoginThrottleReadsFailedAttemptsOnly: the throttle's counts of a
// username's and an address's failed attempts in the window
// (auth.checkThrottle) read the failed attempts through an index, not
// every attempt of the window: here 20,000 successful sign-ins from one
// address and one username beside 10 failed ones.
func TestLoginThrottleReadsFailedAttemptsOnly(t *testing.T) {
	for _, dialect := range []string{storage.DialectSQLite, storage.DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			g := db.Gorm()
			now := time.Now().UTC()
			fillAttempts(t, db, "i > 10", "?", now)
			since := now.Add(-time.Hour)
			for _, col := range []string{"username", "address"} {
				val := map[string]string{"username": "office", "address": "10.0.0.1"}[col]
				query := "SELECT count(*) FROM login_attempts WHERE " + col + " = ? AND ok = ? AND created_at >= ?"
				var n int64
				if err := g.Raw(query, val, false, since).Scan(&n).Error; err != nil || n != 10 {
					t.Fatalf("%s: counted %d failed attempts, want 10 (%v)", col, n, err)
				}
				want := "idx_login_attempts_" + map[string]string{"username": "user", "address": "addr"}[col] + "_failed"
				switch dialect {
				case storage.DialectMySQL:
					g.Exec("ANALYZE TABLE login_attempts")
					var plan struct {
						Key  *string
						Rows int64
					}
					if err := g.Raw("EXPLAIN "+query, val, false, since).Scan(&plan).Error; err != nil {
						t.Fatal(err)
					}
					if plan.Key == nil || *plan.Key != want || plan.Rows > 100 {
						t.Errorf("%s: the count reads %d rows through %v, want %s and the 10 failed ones", col, plan.Rows, plan.Key, want)
					}
				case storage.DialectSQLite:
					var steps []struct{ Detail string }
					if err := g.Raw("EXPLAIN QUERY PLAN "+query, val, false, since).Scan(&steps).Error; err != nil {
						t.Fatal(err)
					}
					plan := ""
					for _, s := range steps {
						plan += s.Detail + "; "
					}
					if !strings.Contains(plan, want+" ("+col+"=? AND ok=? AND created_at>?)") {
						t.Errorf("%s: the count's plan is %q, want a search of %s on all three columns", col, plan, want)
					}
				}
			}
		})
	}
}

// TestLoginPruneReadsExpiredAttemptsOnly: the janitor's DELETE of the
// attempts older than the throttle's window (auth.PruneLoginAttempts)
// reads them through an index on created_at, not the whole table, which on
// MariaDB it would lock, gaps and all, against the sign-ins inserting
// theirs: here 10 expired attempts beside 20,000 in the window.
func TestLoginPruneReadsExpiredAttemptsOnly(t *testing.T) {
	for _, dialect := range []string{storage.DialectSQLite, storage.DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			g := db.Gorm()
			now := time.Now().UTC()
			fillAttempts(t, db, "true", "CASE WHEN i <= 10 THEN ? ELSE ? END", now.Add(-2*time.Hour), now)
			const prune = "DELETE FROM login_attempts WHERE created_at < ?"
			// A time in nanoseconds, as time.Now gives it: MariaDB sent
			// nine digits of a second compares it as a string, through no
			// index (storage.Open makes the driver send microseconds).
			cutoff := now.Add(-time.Hour).Truncate(time.Microsecond).Add(123 * time.Nanosecond)
			const want = "idx_login_attempts_created"
			switch dialect {
			case storage.DialectMySQL:
				g.Exec("ANALYZE TABLE login_attempts")
				var plan struct {
					Key  *string
					Rows int64
				}
				if err := g.Raw("EXPLAIN "+prune, cutoff).Scan(&plan).Error; err != nil {
					t.Fatal(err)
				}
				if plan.Key == nil || *plan.Key != want || plan.Rows > 100 {
					t.Errorf("the prune reads %d rows through %v, want %s and the 10 expired ones", plan.Rows, plan.Key, want)
				}
			case storage.DialectSQLite:
				var steps []struct{ Detail string }
				if err := g.Raw("EXPLAIN QUERY PLAN "+prune, cutoff).Scan(&steps).Error; err != nil {
					t.Fatal(err)
				}
				plan := ""
				for _, s := range steps {
					plan += s.Detail + "; "
				}
				if !strings.Contains(plan, want+" (created_at<?)") {
					t.Errorf("the prune's plan is %q, want a search of %s", plan, want)
				}
			}
			res := g.Exec(prune, cutoff)
			if res.Error != nil || res.RowsAffected != 10 {
				t.Fatalf("the prune deleted %d rows, want the 10 expired ones (%v)", res.RowsAffected, res.Error)
			}
		})
	}
}
