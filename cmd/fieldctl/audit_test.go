package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
)

var headLine = regexp.MustCompile(`(?m)^head (\d+:[0-9a-f]{64})$`)

// TestFieldctlAudit: audit verify passes on a good chain and prints its
// head; fails naming the entry after a deletion; and, after the newest
// entry is deleted with the head moved back, fails only against the head
// recorded before.
func TestFieldctlAudit(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"unit", "add", "-code", "JC", "-name", "江城市人民政府", "-kind", "city"},
		{"unit", "add", "-code", "JC-EPB", "-name", "生态环境局", "-parent", "JC"},
		{"unit", "add", "-code", "JC-WRB", "-name", "水利局", "-parent", "JC"},
	} {
		if out, err := ctl(t, dir, "", args...); err != nil {
			t.Fatalf("fieldctl %v: %v\n%s", args, err, out)
		}
	}
	if out, err := ctl(t, dir, "a-long-password\n", "user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	out, err := ctl(t, dir, "", "audit", "verify")
	if err != nil || !strings.Contains(out, "chained 4 new entries") || !strings.Contains(out, "audit chain intact: 4 entries checked") {
		t.Fatalf("audit verify on a good chain: %v\n%s", err, out)
	}
	m := headLine.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(m[1], "4:") {
		t.Fatalf("audit verify must print the head:\n%s", out)
	}
	head := m[1]
	if out, err := ctl(t, dir, "", "audit", "verify", "-expect-head", head); err != nil || !strings.Contains(out, "still holds the expected head") {
		t.Fatalf("audit verify -expect-head on a good chain: %v\n%s", err, out)
	}
	out, err = ctl(t, dir, "", "audit", "list", "-action", "unit.create")
	if err != nil || strings.Count(out, "unit.create") != 3 || !strings.Contains(out, `"code":"JC-EPB"`) || !strings.Contains(out, "fieldctl") {
		t.Fatalf("audit list: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "audit", "list", "-action", "unit.delete"); err == nil {
		t.Fatalf("an unknown action must fail:\n%s", out)
	}

	db, err := storage.Open(context.Background(), storage.Config{SQLitePath: filepath.Join(dir, "fieldsync.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := db.Gorm().Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	var saved models.AuditEntry
	if err := db.Gorm().Where("seq = 2").Take(&saved).Error; err != nil {
		t.Fatal(err)
	}
	exec("DELETE FROM audit_log WHERE seq = 2")
	out, err = ctl(t, dir, "", "audit", "verify")
	if err == nil || !strings.Contains(err.Error(), "entry 2") || !strings.Contains(out, "BROKEN at entry 2 (deleted)") {
		t.Fatalf("audit verify after a deletion: %v\n%s", err, out)
	}
	if err := db.Gorm().Create(&saved).Error; err != nil {
		t.Fatal(err)
	}
	if out, err := ctl(t, dir, "", "audit", "verify"); err != nil {
		t.Fatalf("audit verify with the entry back: %v\n%s", err, out)
	}

	// Truncated, head and all: consistent, but not what was recorded.
	var third models.AuditEntry
	if err := db.Gorm().Where("seq = 3").Take(&third).Error; err != nil {
		t.Fatal(err)
	}
	exec("DELETE FROM audit_log WHERE seq = 4")
	exec("UPDATE audit_head SET seq = 3, hash = ? WHERE name = 'chain'", *third.Hash)
	if out, err := ctl(t, dir, "", "audit", "verify"); err != nil || !strings.Contains(out, "3 entries checked") {
		t.Fatalf("a truncated chain with its head moved back is consistent: %v\n%s", err, out)
	}
	out, err = ctl(t, dir, "", "audit", "verify", "-expect-head", head)
	if err == nil || !strings.Contains(out, "BROKEN at entry 4 (anchor_mismatch)") {
		t.Fatalf("audit verify -expect-head after truncation: %v\n%s", err, out)
	}
	if _, err := ctl(t, dir, "", "audit", "verify", "-expect-head", "4:nothex"); err == nil || !strings.Contains(err.Error(), "SEQ:HASH") {
		t.Fatalf("a malformed anchor must be refused: %v", err)
	}
}
