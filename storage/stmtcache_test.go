package storage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/storage/testenv"
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
	for run := 1; run <= 4; run++ {
		id := 1 + run%3
		var v string
		if err := db.QueryRow(q, id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("v", id); v != want {
			t.Fatalf("id %d: %q, want %q", id, v, want)
		}
		s, ok := cached(t, db)[q]
		switch {
		case run == 1 && ok:
			t.Fatal("a statement seen once is cached: SQL that varies with its values would fill the cache")
		case run == 1:
		case !ok:
			t.Fatalf("run %d: %q is not cached", run, q)
		case s.busy:
			t.Fatalf("run %d: statement still busy after its row was read", run)
		case first == nil:
			first = s
		case s != first:
			t.Fatalf("run %d: the statement was compiled again", run)
		}
	}
	// An Exec is cached too; a statement that does not compile is not,
	// and reports its error.
	for range 2 {
		if _, err := db.Exec("UPDATE t SET v = ? WHERE id = ?", "w", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE t SET nosuch = 1"); err == nil || !strings.Contains(err.Error(), "nosuch") {
			t.Fatalf("an UPDATE of a missing column: %v", err)
		}
	}
	c := cached(t, db)
	if _, ok := c["UPDATE t SET v = ? WHERE id = ?"]; !ok {
		t.Error("the UPDATE is not cached")
	}
	if _, ok := c["UPDATE t SET nosuch = 1"]; ok {
		t.Error("a statement that did not compile is cached")
	}
}

// A cached statement that fails is dropped, and prepared again when it
// next runs.
func TestStmtCacheDropsAFailedStatement(t *testing.T) {
	db := cacheDB(t)
	const ins = "INSERT INTO t (id, v) VALUES (?, ?)"
	for id := 10; id < 12; id++ {
		if _, err := db.Exec(ins, id, "x"); err != nil {
			t.Fatal(err)
		}
	}
	before, ok := cached(t, db)[ins]
	if !ok {
		t.Fatal("the INSERT is not cached")
	}
	if _, err := db.Exec(ins, 10, "again"); err == nil {
		t.Fatal("a duplicate id was inserted")
	}
	if _, ok := cached(t, db)[ins]; ok {
		t.Fatal("the statement that failed is still cached")
	}
	for id := 12; id < 14; id++ {
		if _, err := db.Exec(ins, id, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if after, ok := cached(t, db)[ins]; !ok || after == before {
		t.Fatalf("after the failure: cached %v, the same statement %v; want a new one", ok, after == before)
	}
}

// A transaction may run a query again while the rows of its first run are
// still open: the second run gets a statement of its own, and both read
// their own rows.
func TestStmtCacheQueryWhileItsRowsAreOpen(t *testing.T) {
	db := cacheDB(t)
	const q = "SELECT id FROM t WHERE id >= ? ORDER BY id"
	for range 2 { // cached from the second run on
		rows, err := db.Query(q, 99)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
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
		for range 2 { // a statement is cached when it runs again
			if err := db.QueryRow(fmt.Sprintf("SELECT %d FROM t LIMIT 1", i)).Scan(&n); err != nil || n != i {
				t.Fatalf("query %d: %d, %v", i, n, err)
			}
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
	for range 2 {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		if len(cols) != 2 {
			t.Fatalf("columns %v", cols)
		}
	}
	if _, ok := cached(t, db)[q]; !ok {
		t.Fatal("the query is not cached")
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
	for _, c := range []struct {
		query      string
		exec, read bool // cached for an Exec, for a Query
	}{
		{"SELECT 1", false, true},
		{"select\n*\nfrom t", false, true},
		{"  (SELECT 1) UNION (SELECT 2)", false, true},
		{"WITH n AS (SELECT 1) SELECT * FROM n", false, true},
		{"INSERT INTO t VALUES (1)", true, true},
		{"INSERT INTO t VALUES (1) RETURNING id", false, true},
		{"UPDATE t SET v = 1", true, true},
		{"DELETE FROM t", true, true},
		{"REPLACE INTO t VALUES (1)", true, true},
		{"ANALYZE TABLE t", false, false},
		{"PRAGMA wal_checkpoint(PASSIVE)", false, false},
		{"SET SESSION foreign_key_checks = 0", false, false},
		{"CREATE TABLE t (id INT)", false, false},
		{"SAVEPOINT sp1", false, false},
		{"SELECTED", false, false},
		{"", false, false},
	} {
		if got := cacheable(c.query, true); got != c.exec {
			t.Errorf("cacheable(%q) for an Exec = %v, want %v", c.query, got, c.exec)
		}
		if got := cacheable(c.query, false); got != c.read {
			t.Errorf("cacheable(%q) for a Query = %v, want %v", c.query, got, c.read)
		}
	}
}

// On MariaDB: queries and writes are prepared on their second run and
// give what the text protocol gave; a SELECT run as an Exec, which the
// driver would wait on forever once its statement's metadata is cached
// (fewer rows than columns), goes as text; an administrative statement
// too.
func TestStmtCacheMySQL(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	ctx := context.Background()
	db, err := Open(ctx, Config{MySQLDSN: dsn, MaxOpenConns: 1})
	testenv.Require(t, "MySQL/MariaDB", err)
	defer db.Close()
	sqlDB := db.sql
	table := fmt.Sprintf("stmtcache_%d", time.Now().UnixNano())
	if _, err := sqlDB.Exec("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, v VARCHAR(20) NOT NULL, at DATETIME(6) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Exec("DROP TABLE " + table)
	at := time.Date(2026, 12, 7, 6, 30, 0, 123456000, time.UTC)
	ins := "INSERT INTO " + table + " (id, v, at) VALUES (?, ?, ?)"
	sel := "SELECT v, at FROM " + table + " WHERE id = ?"
	for id := 1; id <= 3; id++ {
		if _, err := sqlDB.Exec(ins, id, fmt.Sprint("v", id), at); err != nil {
			t.Fatal(err)
		}
		var v string
		var got time.Time
		if err := sqlDB.QueryRow(sel, id).Scan(&v, &got); err != nil {
			t.Fatal(err)
		}
		if v != fmt.Sprint("v", id) || !got.Equal(at) || got.Location() != time.UTC {
			t.Fatalf("run %d read %q, %v; want %q, %v in UTC", id, v, got, fmt.Sprint("v", id), at)
		}
	}
	c := cached(t, sqlDB)
	for _, q := range []string{ins, sel} {
		if _, ok := c[q]; !ok {
			t.Errorf("%q is not cached", q)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for range 3 {
		if _, err := sqlDB.ExecContext(tctx, "SELECT id, v, at FROM "+table+" WHERE id < 0"); err != nil {
			t.Fatalf("a SELECT of no rows run as an Exec: %v", err)
		}
		if _, err := sqlDB.ExecContext(tctx, "ANALYZE TABLE "+table); err != nil {
			t.Fatalf("ANALYZE TABLE: %v", err)
		}
	}
	c = cached(t, sqlDB)
	if len(c) != 2 {
		t.Errorf("cached %d statements, want the INSERT and the SELECT only", len(c))
	}
}
