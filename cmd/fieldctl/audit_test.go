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

var headLine = regexp.MustCompile(`(?m)^链头 (\d+:[0-9a-f]{64})$`)

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
	if err != nil || !strings.Contains(out, "已将 4 条新记录入链") || !strings.Contains(out, "审计链完整：已核对 4 条\n") ||
		!strings.Contains(out, "请将此链头另行保存在数据库之外") {
		t.Fatalf("audit verify on a good chain: %v\n%s", err, out)
	}
	m := headLine.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(m[1], "4:") {
		t.Fatalf("audit verify must print the head:\n%s", out)
	}
	head := m[1]
	if out, err := ctl(t, dir, "", "audit", "verify", "-expect-head", head); err != nil || !strings.Contains(out, "仍包含预期的链头 "+head) {
		t.Fatalf("audit verify -expect-head on a good chain: %v\n%s", err, out)
	}
	out, err = ctl(t, dir, "", "audit", "list", "-action", "unit.create")
	if err != nil || strings.Count(out, "unit.create") != 3 || !strings.Contains(out, `"code":"JC-EPB"`) || !strings.Contains(out, "fieldctl") {
		t.Fatalf("audit list: %v\n%s", err, out)
	}
	// Times are in FIELDSYNC_TIME_ZONE: Asia/Shanghai by default, UTC when
	// configured so.
	if !regexp.MustCompile(`(?m)^ +1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00 unit\.create `).MatchString(out) {
		t.Errorf("audit list must show times in Asia/Shanghai:\n%s", out)
	}
	if out, err := ctl(t, dir, "", "-time-zone", "UTC", "audit", "list", "-limit", "1"); err != nil ||
		!regexp.MustCompile(`(?m)^ +1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ unit\.create `).MatchString(out) || !strings.Contains(out, "还有更多：fieldctl audit list -after 1") {
		t.Errorf("audit list in UTC, one entry: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "audit", "list", "-action", "unit.delete"); err == nil || !strings.Contains(err.Error(), "未知的操作类型“unit.delete”；可选：") {
		t.Fatalf("an unknown action must fail: %v\n%s", err, out)
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
	if err == nil || err.Error() != "审计链在第 2 条处断裂：deleted" || !strings.Contains(out, "审计链在第 2 条处断裂（deleted）：该条记录已被删除") ||
		!strings.Contains(out, "详情：entry 2 is missing") {
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
	if out, err := ctl(t, dir, "", "audit", "verify"); err != nil || !strings.Contains(out, "审计链完整：已核对 3 条") {
		t.Fatalf("a truncated chain with its head moved back is consistent: %v\n%s", err, out)
	}
	out, err = ctl(t, dir, "", "audit", "verify", "-expect-head", head)
	if err == nil || !strings.Contains(out, "审计链在第 4 条处断裂（anchor_mismatch）：审计链已不包含此前记录的链头") {
		t.Fatalf("audit verify -expect-head after truncation: %v\n%s", err, out)
	}
	if _, err := ctl(t, dir, "", "audit", "verify", "-expect-head", "4:nothex"); err == nil || !strings.Contains(err.Error(), "-expect-head “4:nothex”不是 SEQ:HASH 格式") {
		t.Fatalf("a malformed anchor must be refused: %v", err)
	}
}
