package storage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// cacheDB opens a SQLite database of the test's own on one connection
// that keeps its statements compiled, with a table of three rows.
func cacheDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := openSQLite(filepath.Join(t.TempDir(), "cache.db"), "&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cached returns the statements the one connection of db keeps, by SQL.
func cached(t *testing.T, db *sql.DB) map[string]*cachedStmt {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out := map[string]*cachedStmt{}
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stmtCacheConn)
		if !ok {
			return fmt.Errorf("connection is a %T, not a stmtCacheConn", dc)
		}
		for q, e := range c.stmts {
			out[q] = e.Value.(*cachedStmt)
		}
		if len(c.stmts) != c.lru.Len() {
			return fmt.Errorf("%d statements indexed, %d in the LRU list", len(c.stmts), c.lru.Len())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStmtCacheReusesCompiledStatements(t *testing.T) {
	db := cacheDB(t)
	const q = "SELECT v FROM t WHERE id = ?"
	var first *cachedStmt
	for i := 1; i <= 3; i++ {
		var v string
		if err := db.QueryRow(q, i).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("v", i); v != want {
			t.Fatalf("id %d: %q, want %q", i, v, want)
		}
		s, ok := cached(t, db)[q]
		switch {
		case !ok:
			t.Fatalf("run %d: %q is not cached", i, q)
		case s.busy:
			t.Fatalf("run %d: statement still busy after its row was read", i)
		case first == nil:
			first = s
		case s != first:
			t.Fatalf("run %d: the statement was compiled again", i)
		}
	}
	// An Exec is cached too, and a statement's error leaves nothing behind.
	if _, err := db.Exec("UPDATE t SET v = ? WHERE id = ?", "w", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE t SET nosuch = 1"); err == nil {
		t.Fatal("an UPDATE of a missing column succeeded")
	}
	c := cached(t, db)
	if _, ok := c["UPDATE t SET v = ? WHERE id = ?"]; !ok {
		t.Error("the UPDATE is not cached")
	}
	if _, ok := c["UPDATE t SET nosuch = 1"]; ok {
		t.Error("a statement that did not compile is cached")
	}
}

// A transaction may run a query again while the rows of its first run are
// still open: the second run gets a statement of its own, and both read
// their own rows.
func TestStmtCacheQueryWhileItsRowsAreOpen(t *testing.T) {
	db := cacheDB(t)
	const q = "SELECT id FROM t WHERE id >= ? ORDER BY id"
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.Query(q, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%d", id, n))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if fmt.Sprint(got) != "[1:3 2:2 3:1]" {
		t.Fatalf("nested runs read %v, want [1:3 2:2 3:1]", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := cached(t, db)[q]; s == nil || s.busy || s.owned {
		t.Fatalf("after the rows closed the cached statement is %+v, want one idle statement of the cache", s)
	}
}

// A SQLite connection keeps at most sqliteStmtCache statements, the most recently used.
func TestStmtCacheEvictsLeastRecentlyUsed(t *testing.T) {
	db := cacheDB(t)
	const keep = "SELECT COUNT(*) FROM t"
	var n int
	for i := 0; i < sqliteStmtCache+50; i++ {
		if i%10 == 0 {
			if err := db.QueryRow(keep).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.QueryRow(fmt.Sprintf("SELECT %d FROM t LIMIT 1", i)).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	c := cached(t, db)
	if len(c) != sqliteStmtCache {
		t.Fatalf("%d statements cached, want %d", len(c), sqliteStmtCache)
	}
	if _, ok := c[keep]; !ok {
		t.Error("a statement used every ten queries was evicted")
	}
	if _, ok := c["SELECT 0 FROM t LIMIT 1"]; ok {
		t.Error("the least recently used statement was kept")
	}
}

// A compiled statement sees a schema changed after it was compiled.
func TestStmtCacheAfterSchemaChange(t *testing.T) {
	db := cacheDB(t)
	const q = "SELECT * FROM t WHERE id = 1"
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	if len(cols) != 2 {
		t.Fatalf("columns %v", cols)
	}
	if _, err := db.Exec("ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'x'"); err != nil {
		t.Fatal(err)
	}
	var id int
	var v, w string
	if err := db.QueryRow(q).Scan(&id, &v, &w); err != nil {
		t.Fatalf("the cached statement after ALTER TABLE: %v", err)
	}
	if w != "x" {
		t.Fatalf("new column read %q", w)
	}
}

func TestStmtCacheable(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                             true,
		"select\n*\nfrom t":                    true,
		"  (SELECT 1) UNION (SELECT 2)":        true,
		"INSERT INTO t VALUES (1)":             true,
		"UPDATE t SET v = 1":                   true,
		"DELETE FROM t":                        true,
		"REPLACE INTO t VALUES (1)":            true,
		"WITH n AS (SELECT 1) SELECT * FROM n": true,
		"ANALYZE TABLE t":                      false,
		"PRAGMA wal_checkpoint(PASSIVE)":       false,
		"SET SESSION foreign_key_checks = 0":   false,
		"CREATE TABLE t (id INT)":              false,
		"SELECTED":                             false,
		"":                                     false,
	} {
		if got := cacheable(q); got != want {
			t.Errorf("cacheable(%q) = %v, want %v", q, got, want)
		}
	}
}
