package main

import (
	"bytes"
	"context"
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
// every item, and importing it again finds every code taken.
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
	if out, err := ctl(t, dir, "", "import", "items", good); err == nil || !strings.Contains(out, "row 2: 问题编号: item_code_taken") {
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
