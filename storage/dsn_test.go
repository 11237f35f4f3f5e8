package storage

import (
	"context"
	"strings"
	"testing"
)

func TestMySQLDSN(t *testing.T) {
	got, err := mysqlDSN("u:p@tcp(db:3306)/fs?charset=utf8mb4")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"charset=utf8mb4", "parseTime=true", "loc=UTC", "interpolateParams=true"} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	if strings.Count(got, "charset=") != 1 || strings.Count(got, "?") != 1 {
		t.Errorf("%s: a parameter the DSN sets is kept, not repeated", got)
	}
	if _, err := mysqlDSN("u:p@tcp(db:3306)"); err == nil || strings.Contains(err.Error(), ":p@") {
		t.Errorf("a DSN without a database: %v", err)
	}
}

// A DSN the MySQL driver cannot parse is refused by Open before any
// connection, with the password hidden.
func TestOpenRefusesAMalformedMySQLDSN(t *testing.T) {
	for _, dsn := range []string{
		"u:secret@tcp(db:3306/fs",                       // unclosed address
		"u:secret@tcp(db:3306)/fs?loc=Nowhere/Atlantis", // unknown zone
	} {
		db, err := Open(context.Background(), Config{MySQLDSN: dsn})
		if err == nil {
			db.Close()
			t.Fatalf("%q opened", dsn)
		}
		if !strings.Contains(err.Error(), "mysql dsn") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: %v; want a DSN error without the password", dsn, err)
		}
	}
}
