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

// plan is how the database runs a statement: on MySQL the index its
// EXPLAIN names ("" for none) and the rows it expects to read, on SQLite
// the details of its EXPLAIN QUERY PLAN.
type plan struct {
	key    string
	rows   int64
	detail string
}

// explain returns query's plan, on MySQL after ANALYZE TABLE.
func explain(t *testing.T, db *storage.DB, query string, args ...any) plan {
	t.Helper()
	g := db.Gorm()
	if db.Dialect() == storage.DialectMySQL {
		g.Exec("ANALYZE TABLE login_attempts")
		var row struct {
			Key  *string
			Rows int64
		}
		if err := g.Raw("EXPLAIN "+query, args...).Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		p := plan{rows: row.Rows}
		if row.Key != nil {
			p.key = *row.Key
		}
		return p
	}
	var steps []struct{ Detail string }
	if err := g.Raw("EXPLAIN QUERY PLAN "+query, args...).Scan(&steps).Error; err != nil {
		t.Fatal(err)
	}
	var p plan
	for _, s := range steps {
		p.detail += s.Detail + "; "
	}
	return p
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
				p := explain(t, db, query, val, false, since)
				switch dialect {
				case storage.DialectMySQL:
					if p.key != want || p.rows > 100 {
						t.Errorf("%s: the count reads %d rows through %q, want %s and the 10 failed ones", col, p.rows, p.key, want)
					}
				case storage.DialectSQLite:
					if !strings.Contains(p.detail, want+" ("+col+"=? AND ok=? AND created_at>?)") {
						t.Errorf("%s: the count's plan is %q, want a search of %s on all three columns", col, p.detail, want)
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
			p := explain(t, db, prune, cutoff)
			switch dialect {
			case storage.DialectMySQL:
				if p.key != want || p.rows > 100 {
					t.Errorf("the prune reads %d rows through %q, want %s and the 10 expired ones", p.rows, p.key, want)
				}
			case storage.DialectSQLite:
				if !strings.Contains(p.detail, want+" (created_at<?)") {
					t.Errorf("the prune's plan is %q, want a search of %s", p.detail, want)
				}
			}
			res := g.Exec(prune, cutoff)
			if res.Error != nil || res.RowsAffected != 10 {
				t.Fatalf("the prune deleted %d rows, want the 10 expired ones (%v)", res.RowsAffected, res.Error)
			}
		})
	}
}
