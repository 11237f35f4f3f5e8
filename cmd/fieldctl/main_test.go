package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// ctl runs fieldctl on a data dir of the test's own.
func ctl(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"-data-dir", dir}, args...), strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestFieldctl(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		stdin string
		args  []string
		want  string
		fails bool
	}{
		{"", []string{"migrate"}, "schema version ", false},
		{"", []string{"unit", "add", "-code", "JC", "-name", "江城市人民政府", "-kind", "city"}, "unit JC 江城市人民政府 created", false},
		{"", []string{"unit", "add", "-code", "JC-EPB", "-name", "生态环境局", "-parent", "JC"}, "unit JC-EPB", false},
		{"", []string{"unit", "add", "-code", "X", "-name", "x", "-parent", "NOPE"}, `no unit with code "NOPE"`, true},
		{"a-long-password\n", []string{"user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"}, "user chen (admin) created", false},
		{"short\n", []string{"user", "add", "-username", "li", "-role", "admin", "-unit", "JC"}, "", true},
		{"another-long-one\n", []string{"user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"}, "", true},
		{"", []string{"user", "list"}, "chen", false},
		{"", []string{"unit", "list"}, "JC-EPB", false},
		{"", []string{"seed"}, "", true}, // not an empty database
		{"", []string{"sync", "compact"}, "removed 0 superseded changes", false},
		{"", []string{"sync", "new-epoch"}, "new sync epoch", false},
		{"", []string{"frobnicate"}, "unknown command", true},
		{"", nil, "usage: fieldctl", true},
	}
	for _, s := range steps {
		out, err := ctl(t, dir, s.stdin, s.args...)
		if (err != nil) != s.fails {
			t.Fatalf("fieldctl %v: err %v, want failure %v\n%s", s.args, err, s.fails, out)
		}
		if !strings.Contains(out, s.want) && (err == nil || !strings.Contains(err.Error(), s.want)) {
			t.Fatalf("fieldctl %v: output %q, err %v; want %q", s.args, out, err, s.want)
		}
	}
	out, err := ctl(t, t.TempDir(), "", "seed")
	if err != nil || !strings.Contains(out, "22 items") {
		t.Fatalf("seed on an empty database: %v %s", err, out)
	}
}

// TestFieldctlImport imports a ledger file into the embedded database:
// a bad file lists every bad row and creates nothing, a good one creates
// every item, and importing it again finds every item unchanged.
func TestFieldctlImport(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"unit", "add", "-code", "JC", "-name", "江城市人民政府", "-kind", "city"},
		{"unit", "add", "-code", "JC-EPB", "-name", "江城市生态环境局", "-parent", "JC"},
	} {
		if out, err := ctl(t, dir, "", args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	header := []any{"问题编号", "问题名称", "问题来源", "问题类别", "整改目标", "整改措施", "责任单位", "第一责任人", "整改时限", "督办级别", "整改状态"}
	good := ledgerFile(t, header,
		[]any{"JC-2099-1", "城区黑臭水体", "中央督察", "水", "消除黑臭", "截污", "江城市生态环境局", "局长", "2099-12-31", "重点督办", "整改中"},
		[]any{"JC-2099-2", "工地扬尘", "省级督察", "大气", "达标", "覆盖", "JC", "市长", "2099-06-30 18:00", "", ""},
	)
	bad := ledgerFile(t, header,
		[]any{"JC-2099-3", "好的一行", "中央督察", "水", "消除黑臭", "截污", "JC", "局长", "2099-12-31", "", ""},
		[]any{"JC-2099-4", "", "中央督察", "水", "消除黑臭", "截污", "没有这个单位", "局长", "后年", "", ""},
	)
	out, err := ctl(t, dir, "", "import", "items", bad)
	for _, want := range []string{"row 3: 问题名称: required", "row 3: 责任单位: unknown_unit", "row 3: 整改时限: invalid_date", "import_invalid"} {
		if !strings.Contains(out, want) && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("a bad file: %v; output lacks %q:\n%s", err, want, out)
		}
	}
	if err == nil || strings.Contains(out, "JC-2099-3") {
		t.Errorf("a bad file must fail and report only bad rows: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", good); err != nil || !strings.Contains(out, "imported 2 items") {
		t.Fatalf("a good file: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", good); err != nil || !strings.Contains(out, "0 created, 0 updated, 2 unchanged") {
		t.Fatalf("importing twice: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", filepath.Join(dir, "missing.xlsx")); err == nil {
		t.Fatalf("a missing file: %s", out)
	}
	if out, err := ctl(t, dir, "", "items", "escalate"); err != nil || !strings.Contains(out, "raised the supervision level of 0 items overdue for 720h0m0s or more") {
		t.Fatalf("items escalate: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "-escalate-after", "0", "items", "escalate"); err != nil || !strings.Contains(out, "escalation is disabled") {
		t.Fatalf("items escalate, disabled: %v %s", err, out)
	}
}

// ledgerFile writes a workbook with a heading row and rows, and returns
// its path.
func ledgerFile(t *testing.T, header []any, rows ...[]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range append([][]any{header}, rows...) {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "台账.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFieldctlRealLedger: the real-shaped ledger of testdata/ledgers as
// CSV: as it is, its bad row is named and nothing is written; fixed, a dry
// run lists every row as a creation and writes nothing; then it imports.
func TestFieldctlRealLedger(t *testing.T) {
	dir := t.TempDir()
	for _, u := range [][]string{
		{"JC", "江城市人民政府", "city", ""}, {"JC-JB", "江城市江北区人民政府", "county", "JC"}, {"JC-HB", "湖滨县人民政府", "county", "JC"},
		{"JC-SN", "山南县人民政府", "county", "JC"}, {"JC-STHJ", "江城市生态环境局", "department", "JC"},
		{"JC-ZJ", "江城市住房和城乡建设局", "department", "JC"}, {"JC-SL", "江城市水利局", "department", "JC"},
		{"JC-NY", "江城市农业农村局", "department", "JC"}, {"JC-CG", "江城市城市管理局", "department", "JC"},
		{"JC-JT", "江城市交通运输局", "department", "JC"}, {"JC-SW", "江城市城市水务集团有限公司", "company", "JC"},
		{"JC-HB-HGY", "湖滨化工园区管理委员会", "department", "JC-HB"},
	} {
		args := []string{"unit", "add", "-code", u[0], "-name", u[1], "-kind", u[2]}
		if u[3] != "" {
			args = append(args, "-parent", u[3])
		}
		if out, err := ctl(t, dir, "", args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	raw, err := os.ReadFile("../../testdata/ledgers/jiangcheng-2026.csv")
	if err != nil {
		t.Fatal(err)
	}
	out, err := ctl(t, dir, "", "import", "items", "-dry-run", "../../testdata/ledgers/jiangcheng-2026.csv")
	if err == nil || !strings.Contains(out, "row 10: 整改时限: invalid_date") || strings.Contains(out, "row 3:") {
		t.Fatalf("the ledger with its bad row: %v\n%s", err, out)
	}
	fixed := filepath.Join(t.TempDir(), "台账.csv")
	if err := os.WriteFile(fixed, bytes.Replace(raw, []byte("2026年13月1日"), []byte("2026年12月1日"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = ctl(t, dir, "", "import", "items", "-dry-run", fixed)
	if err != nil || !strings.Contains(out, "row 3: JC-DC-2026-001 create") || !strings.Contains(out, "8 items would be created, 0 updated, 0 unchanged; nothing was written") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", fixed); err != nil || !strings.Contains(out, "imported 8 items") || !strings.Contains(out, "8 created") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", "-dry-run", fixed); err != nil || !strings.Contains(out, "0 updated, 8 unchanged") {
		t.Fatalf("dry run after the import: %v\n%s", err, out)
	}
}

// TestFieldctlHelp: -h lists the config flags and every command; help
// CMD gives a command's flags and examples; an unknown one is an error.
func TestFieldctlHelp(t *testing.T) {
	out, err := ctl(t, t.TempDir(), "", "-h")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, c := range commands {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("-h does not list %q:\n%s", c.name, out)
		}
	}
	if !strings.Contains(out, "-mysql-dsn") {
		t.Errorf("-h does not list the config flags:\n%s", out)
	}
	for _, c := range commands {
		out, err := ctl(t, t.TempDir(), "", append([]string{"help"}, strings.Fields(c.name)...)...)
		if err != nil || !strings.Contains(out, "usage: fieldctl [config flags] "+c.name) || !strings.Contains(out, "examples:") {
			t.Errorf("help %s: %v\n%s", c.name, err, out)
		}
	}
	if out, err := ctl(t, t.TempDir(), "", "help", "frobnicate"); err == nil || !strings.Contains(out, "commands:") {
		t.Errorf("help of an unknown command: %v\n%s", err, out)
	}
}

// TestFieldctlAdminCreate: on an empty database admin create makes the
// root unit and the administrator from the password on stdin; a second
// one joins the unit; a short password and a missing unit are refused.
func TestFieldctlAdminCreate(t *testing.T) {
	dir := t.TempDir()
	if out, err := ctl(t, dir, "short\n", "admin", "create", "-username", "chen", "-unit", "JC", "-unit-name", "江城市人民政府"); err == nil {
		t.Fatalf("a short password: %s", out)
	}
	if out, err := ctl(t, dir, "a-long-password\n", "admin", "create", "-username", "chen", "-unit", "NOPE"); err == nil || !strings.Contains(err.Error(), "-unit-name") {
		t.Fatalf("a missing unit without -unit-name: %v %s", err, out)
	}
	out, err := ctl(t, dir, "a-long-password\n", "admin", "create", "-username", "chen", "-unit", "JC", "-unit-name", "江城市人民政府")
	if err != nil || !strings.Contains(out, "administrator chen created") {
		t.Fatalf("admin create: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "another-long-one\n", "admin", "create", "-username", "liwei", "-unit", "JC"); err != nil || !strings.Contains(out, "administrator liwei created") {
		t.Fatalf("a second admin: %v %s", err, out)
	}
	out, err = ctl(t, dir, "", "user", "list")
	if err != nil || strings.Count(out, " admin ") != 2 {
		t.Fatalf("user list: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "unit", "list"); err != nil || strings.Count(out, "JC") != 1 {
		t.Fatalf("unit list: %v %s", err, out)
	}
}
