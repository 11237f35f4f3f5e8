// Package storagetest opens empty, migrated databases for tests: a SQLite
// file in a temporary directory, or a database on the test MySQL/MariaDB
// server that no other test holds at the same time.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql" // the MySQL driver for the admin connection

	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// Dialects lists the databases every store test runs on.
var Dialects = []string{storage.DialectSQLite, storage.DialectMySQL}

// MustOpen returns an empty migrated database of the given dialect, as a
// fresh one would be: a copy of a migrated SQLite file, or a MySQL
// database from the test binary's pool (see pool.go). A MySQL server that
// is not there skips the test, or fails it under CI=true.
func MustOpen(tb testing.TB, dialect string) *storage.DB {
	tb.Helper()
	ctx := context.Background()
	var cfg storage.Config
	switch dialect {
	case storage.DialectSQLite:
		cfg.SQLitePath = sqliteFile(tb)
	case storage.DialectMySQL:
		cfg.MySQLDSN = takeMySQL(tb)
	default:
		tb.Fatalf("unknown dialect %q", dialect)
	}
	db, err := storage.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open %s: %v", dialect, err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", dialect, err)
	}
	return db
}

// FreshMySQL creates an empty database of its own for the test, dropped
// when the test ends, and returns its DSN.
func FreshMySQL(tb testing.TB) string {
	tb.Helper()
	dsn := testenv.MySQLDSN(tb)
	admin, err := sql.Open("mysql", dsn)
	if err == nil {
		err = admin.Ping()
	}
	testenv.Require(tb, "MySQL/MariaDB at "+redact(dsn), err)
	b := make([]byte, 6)
	rand.Read(b)
	name := "fieldsync_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP DATABASE " + name)
		admin.Close()
	})
	return withDatabase(dsn, name)
}

func redact(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at >= 0 {
		return dsn[at+1:]
	}
	return dsn
}
