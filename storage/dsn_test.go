package storage

import (
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
