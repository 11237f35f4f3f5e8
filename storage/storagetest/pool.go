package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"

	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// Creating and migrating a MySQL database costs one DDL statement, and
// its fsyncs, per table and index: seconds each time, tens of seconds on a
// loaded machine, and it was most of `make test`. So MustOpen reuses
// migrated databases within one test binary: a database a test is done
// with goes back to the pool, and the next test to take it finds it as the
// migrations left it (every table emptied and the migrations' own rows put
// back, in one transaction). The schema is never touched, so a test sees
// exactly what a fresh database would show.
//
// Pool databases are named fieldsync_pool_<pid>_<random>; those of test
// binaries that are no longer running are dropped when the next binary
// opens the pool.
var mysqlPool struct {
	gosync.Mutex
	admin *sql.DB
	dsn   string   // the test server's DSN, naming its default database
	free  []string // names of migrated databases no test holds
	// tables lists the migrated schema's tables but goose's version
	// table, and seeds the rows the migrations insert, read once from the
	// first database migrated.
	tables []string
	seeds  []seedRows
}

type seedRows struct {
	table   string
	columns []string
	rows    [][]any
}

// takeMySQL returns the DSN of a migrated, empty database that the test
// holds until it ends.
func takeMySQL(tb testing.TB) string {
	tb.Helper()
	p := &mysqlPool
	p.Lock()
	if p.admin == nil {
		p.dsn = testenv.MySQLDSN(tb)
		admin, err := sql.Open("mysql", p.dsn)
		if err == nil {
			err = admin.Ping()
		}
		if err != nil {
			p.Unlock()
			testenv.Require(tb, "MySQL/MariaDB at "+redact(p.dsn), err)
			return ""
		}
		p.admin = admin
		dropStale(tb, admin)
	}
	var name string
	if n := len(p.free); n > 0 {
		name, p.free = p.free[n-1], p.free[:n-1]
	}
	p.Unlock()
	ctx := context.Background()
	if name != "" {
		if err := resetMySQL(ctx, name); err != nil {
			tb.Fatalf("storagetest: reset %s: %v", name, err)
		}
	} else {
		name = newPoolDatabase(tb)
	}
	tb.Cleanup(func() {
		p.Lock()
		p.free = append(p.free, name)
		p.Unlock()
	})
	return withDatabase(p.dsn, name)
}

// newPoolDatabase creates and migrates a database for the pool, and reads
// the schema's tables and seed rows from the first one.
func newPoolDatabase(tb testing.TB) string {
	tb.Helper()
	p := &mysqlPool
	b := make([]byte, 4)
	rand.Read(b)
	name := fmt.Sprintf("fieldsync_pool_%d_%s", os.Getpid(), hex.EncodeToString(b))
	if _, err := p.admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{MySQLDSN: withDatabase(p.dsn, name)})
	if err != nil {
		tb.Fatalf("open %s: %v", name, err)
	}
	_, err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		tb.Fatalf("migrate %s: %v", name, err)
	}
	p.Lock()
	defer p.Unlock()
	if p.tables == nil {
		if err := readSeeds(ctx, name); err != nil {
			tb.Fatalf("storagetest: read the migrations' rows: %v", err)
		}
	}
	return name
}

func readSeeds(ctx context.Context, db string) error {
	p := &mysqlPool
	rows, err := p.admin.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version' ORDER BY table_name", db)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var seeds []seedRows
	for _, t := range tables {
		s, err := readTable(ctx, db, t)
		if err != nil {
			return err
		}
		if len(s.rows) > 0 {
			seeds = append(seeds, s)
		}
	}
	p.tables, p.seeds = tables, seeds
	return nil
}

func readTable(ctx context.Context, db, table string) (seedRows, error) {
	rows, err := mysqlPool.admin.QueryContext(ctx, "SELECT * FROM "+db+"."+table)
	if err != nil {
		return seedRows{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return seedRows{}, err
	}
	s := seedRows{table: table, columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return seedRows{}, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = append([]byte{}, b...) // non-nil: an empty string stays a string, not NULL
			}
		}
		s.rows = append(s.rows, vals)
	}
	return s, rows.Err()
}

// resetMySQL empties every table of db and puts the migrations' rows back,
// in one transaction on one connection with foreign-key checks off.
func resetMySQL(ctx context.Context, db string) error {
	p := &mysqlPool
	conn, err := p.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 1")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range p.tables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+db+"."+t); err != nil {
			return err
		}
	}
	for _, s := range p.seeds {
		q := "INSERT INTO " + db + "." + s.table + " (" + strings.Join(s.columns, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(s.columns)), ", ") + ")"
		for _, r := range s.rows {
			if _, err := tx.ExecContext(ctx, q, r...); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// dropStale drops the pool databases of test binaries that have ended.
func dropStale(tb testing.TB, admin *sql.DB) {
	rows, err := admin.Query("SHOW DATABASES LIKE 'fieldsync\\_pool\\_%'")
	if err != nil {
		tb.Logf("storagetest: list old pool databases: %v", err)
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "fieldsync_pool_"), "_", 2)[0])
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); os.IsNotExist(err) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		admin.Exec("DROP DATABASE IF EXISTS " + name)
	}
}

// withDatabase returns dsn with its database name replaced by name.
func withDatabase(dsn, name string) string {
	slash := strings.LastIndex(dsn, "/")
	rest := dsn[slash+1:]
	q := ""
	if i := strings.Index(rest, "?"); i >= 0 {
		q = rest[i:]
	}
	return dsn[:slash] + "/" + name + q
}

// sqliteTemplate is a migrated SQLite database file, made once per test
// binary; MustOpen copies it instead of migrating each test's database.
var sqliteTemplate struct {
	once gosync.Once
	data []byte
	err  error
}

// sqliteFile writes a migrated database file into a directory of the
// test's own and returns its path.
func sqliteFile(tb testing.TB) string {
	tb.Helper()
	t := &sqliteTemplate
	t.once.Do(func() {
		dir, err := os.MkdirTemp("", "fieldsync-sqlite-template-")
		if err != nil {
			t.err = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "fieldsync.db")
		ctx := context.Background()
		db, err := storage.Open(ctx, storage.Config{SQLitePath: path})
		if err != nil {
			t.err = err
			return
		}
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			t.err = err
			return
		}
		// Closing the last connection checkpoints the WAL into the file.
		if err := db.Close(); err != nil {
			t.err = err
			return
		}
		t.data, t.err = os.ReadFile(path)
	})
	if t.err != nil {
		tb.Fatalf("storagetest: migrated SQLite template: %v", t.err)
	}
	path := filepath.Join(tb.TempDir(), "fieldsync.db")
	if err := os.WriteFile(path, t.data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
