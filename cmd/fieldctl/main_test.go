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
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/api/i18n"
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
		{"", []string{"migrate"}, "数据库结构版本 ", false},
		{"", []string{"unit", "add", "-code", "JC", "-name", "江城市人民政府", "-kind", "city"}, "已创建单位 JC 江城市人民政府：", false},
		{"", []string{"unit", "add", "-code", "JC-EPB", "-name", "生态环境局", "-parent", "JC"}, "已创建单位 JC-EPB 生态环境局：", false},
		{"", []string{"unit", "add", "-code", "X", "-name", "x", "-parent", "NOPE"}, "没有编码为“NOPE”的单位", true},
		{"", []string{"unit", "add", "-code", "JC", "-name", "重复"}, "unit_code_taken: 单位编码已被使用", true},
		{"a-long-password\n", []string{"user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"}, "已创建用户 chen（admin）：", false},
		{"short\n", []string{"user", "add", "-username", "liwei", "-role", "admin", "-unit", "JC"}, "weak_password: ", true},
		{"another-long-one\n", []string{"user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"}, "username_taken: 用户名已被使用", true},
		{"", []string{"user", "list"}, "chen", false},
		{"", []string{"unit", "list"}, "JC-EPB", false},
		{"", []string{"seed"}, "数据库不是空的（已有单位），演示数据只能载入空数据库", true},
		{"", []string{"sync", "compact"}, "已清理 0 条被覆盖的变更", false},
		{"", []string{"sync", "new-epoch"}, "已开启新的同步纪元 ", false},
		{"", []string{"frobnicate"}, "未知命令“frobnicate”", true},
		{"", nil, "用法：fieldctl [配置参数] <命令>", true},
		{"", nil, "未指定命令", true},
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
	if err != nil || !strings.Contains(out, "已载入演示数据：") || !strings.Contains(out, "问题 22 项") {
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
	for _, want := range []string{"第 3 行：问题名称：required：缺少必填项", "第 3 行：责任单位：unknown_unit：单位不存在", "第 3 行：整改时限：invalid_date：日期格式不正确",
		"import_invalid: 台账有错误，未导入任何数据：1 行有错误"} {
		if !strings.Contains(out, want) && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("a bad file: %v; output lacks %q:\n%s", err, want, out)
		}
	}
	if err == nil || strings.Contains(out, "JC-2099-3") {
		t.Errorf("a bad file must fail and report only bad rows: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", good); err != nil || !strings.Contains(out, "导入 2 项：新建 2 项") {
		t.Fatalf("a good file: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", good); err != nil || !strings.Contains(out, "导入 0 项：新建 0 项，更新 0 项，2 项不变") {
		t.Fatalf("importing twice: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", filepath.Join(dir, "missing.xlsx")); err == nil {
		t.Fatalf("a missing file: %s", out)
	}
	if out, err := ctl(t, dir, "", "items", "escalate"); err != nil || !strings.Contains(out, "已提升 0 项逾期 30 天及以上问题的督办级别") {
		t.Fatalf("items escalate: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "-escalate-after", "0", "items", "escalate"); err != nil || !strings.Contains(out, "升级督办已关闭") {
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
	if err == nil || !strings.Contains(out, "第 10 行：整改时限：invalid_date：日期格式不正确") || strings.Contains(out, "第 3 行") ||
		!strings.Contains(out, "以下列不是台账列，未读取：备注") {
		t.Fatalf("the ledger with its bad row: %v\n%s", err, out)
	}
	fixed := filepath.Join(t.TempDir(), "台账.csv")
	if err := os.WriteFile(fixed, bytes.Replace(raw, []byte("2026年13月1日"), []byte("2026年12月1日"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = ctl(t, dir, "", "import", "items", "-dry-run", fixed)
	if err != nil || !strings.Contains(out, "第 3 行：JC-DC-2026-001 新建") || !strings.Contains(out, "：将新建 8 项，更新 0 项，0 项不变；未写入任何数据") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", fixed); err != nil || !strings.Contains(out, "导入 8 项") || !strings.Contains(out, "新建 8 项") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "import", "items", "-dry-run", fixed); err != nil || !strings.Contains(out, "更新 0 项，8 项不变") {
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
	zh := catalog.In(i18n.Default)
	for _, c := range commands {
		summary := zh.T("cli.cmd."+c.key()+".summary", nil)
		if !strings.Contains(out, "  "+c.name+" ") || !strings.Contains(out, summary) || !hasHan(summary) {
			t.Errorf("-h does not list %q with its Chinese summary %q:\n%s", c.name, summary, out)
		}
	}
	if !strings.Contains(out, "-mysql-dsn") || !strings.Contains(out, "-lang") || !strings.Contains(out, "FIELDSYNC_LANG=en") {
		t.Errorf("-h does not list the config flags and the language:\n%s", out)
	}
	for _, c := range commands {
		out, err := ctl(t, t.TempDir(), "", append([]string{"help"}, strings.Fields(c.name)...)...)
		if err != nil || !strings.Contains(out, "用法：fieldctl [配置参数] "+c.name) || !strings.Contains(out, "示例：\n  "+c.examples[0]+"\n") {
			t.Errorf("help %s: %v\n%s", c.name, err, out)
		}
		if details := zh.T("cli.cmd."+c.key()+".details", nil); c.details && (!hasHan(details) || !strings.Contains(out, details)) {
			t.Errorf("help %s lacks its Chinese details %q:\n%s", c.name, details, out)
		}
	}
	if out, err := ctl(t, t.TempDir(), "", "help", "frobnicate"); err == nil || !strings.Contains(out, "命令：") || !strings.Contains(err.Error(), "没有“frobnicate”这个命令") {
		t.Errorf("help of an unknown command: %v\n%s", err, out)
	}
}

// TestFieldctlAdminCreate: on an empty database admin create makes the
// root unit and the administrator from the password on stdin; a second
// one joins the unit; a short password and a missing unit are refused,
// and a refused administrator leaves no unit behind.
func TestFieldctlAdminCreate(t *testing.T) {
	dir := t.TempDir()
	if out, err := ctl(t, dir, "short\n", "admin", "create", "-username", "chen", "-unit", "JC", "-unit-name", "江城市人民政府"); err == nil || !strings.Contains(err.Error(), "weak_password: ") ||
		strings.Contains(out, "已创建单位") {
		t.Fatalf("a short password: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "unit", "list"); err != nil || strings.Contains(out, "JC") {
		t.Fatalf("the refused administrator left its unit behind: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "a-long-password\n", "admin", "create", "-username", "chen", "-unit", "NOPE"); err == nil || !strings.Contains(err.Error(), "没有编码为“NOPE”的单位；加 -unit-name 可创建该单位") {
		t.Fatalf("a missing unit without -unit-name: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "", "admin", "create", "-username", "chen"); err == nil || !strings.Contains(err.Error(), "用法：fieldctl [配置参数] admin create -username NAME -unit CODE") ||
		!strings.Contains(err.Error(), "（详见 fieldctl help admin create）") {
		t.Fatalf("admin create without -unit: %v %s", err, out)
	}
	out, err := ctl(t, dir, "a-long-password\n", "admin", "create", "-username", "chen", "-unit", "JC", "-unit-name", "江城市人民政府")
	if err != nil || !strings.Contains(out, "已创建管理员 chen：") {
		t.Fatalf("admin create: %v %s", err, out)
	}
	if out, err := ctl(t, dir, "another-long-one\n", "admin", "create", "-username", "liwei", "-unit", "JC"); err != nil || !strings.Contains(out, "已创建管理员 liwei：") {
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

// hasHan reports whether s has a Chinese character: a message that is
// meant to be Chinese and is not.
func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestFieldctlEnglish: -lang en, or FIELDSYNC_LANG=en, makes fieldctl speak
// English: results, its own errors, a domain error's words and the help;
// the codes stay, and a language it does not speak is refused.
func TestFieldctlEnglish(t *testing.T) {
	dir := t.TempDir()
	out, err := ctl(t, dir, "", "-lang", "en", "unit", "add", "-code", "JC", "-name", "江城市人民政府", "-kind", "city")
	if err != nil || !strings.Contains(out, "unit JC 江城市人民政府 created: ") || hasHan(strings.ReplaceAll(out, "江城市人民政府", "")) {
		t.Fatalf("-lang en unit add: %v\n%s", err, out)
	}
	if _, err := ctl(t, dir, "", "-lang", "en", "unit", "add", "-code", "JC", "-name", "x"); err == nil || !strings.Contains(err.Error(), `unit_code_taken: unit code "JC" is taken`) {
		t.Fatalf("a domain error in English: %v", err)
	}
	t.Setenv("FIELDSYNC_LANG", "en")
	if out, err := ctl(t, dir, "", "audit", "verify"); err != nil || !strings.Contains(out, "audit chain intact: 1 entries checked") {
		t.Fatalf("FIELDSYNC_LANG=en audit verify: %v\n%s", err, out)
	}
	if _, err := ctl(t, dir, "", "unit", "add", "-code", "X", "-name", "x", "-parent", "NOPE"); err == nil || err.Error() != `no unit with code "NOPE"` {
		t.Fatalf("fieldctl's own error in English: %v", err)
	}
	if out, err := ctl(t, dir, "", "-h"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "usage: fieldctl [config flags] <command> [flags]") ||
		!strings.Contains(out, "  import items     create the items of a ledger") {
		t.Fatalf("-h in English: %v\n%s", err, out)
	}
	// -lang after other configuration flags, one of them a switch, when
	// the configuration cannot be read (-h), and over the environment.
	t.Setenv("FIELDSYNC_LANG", "zh-CN")
	if out, err := ctl(t, dir, "", "-demo", "-time-zone", "UTC", "-lang", "en", "-h"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "usage: fieldctl [config flags] <command> [flags]") {
		t.Fatalf("-lang en after other flags, with -h: %v\n%s", err, out)
	}
	t.Setenv("FIELDSYNC_LANG", "en")
	// The flag wins over the environment, as for every setting.
	if out, err := ctl(t, dir, "", "-lang", "zh-CN", "help", "sync", "compact"); err != nil || !strings.Contains(out, "立即压缩变更日志") {
		t.Fatalf("-lang zh-CN over FIELDSYNC_LANG=en: %v\n%s", err, out)
	}
	if _, err := ctl(t, dir, "", "-lang", "fr", "unit", "list"); err == nil || !strings.Contains(err.Error(), `FIELDSYNC_LANG "fr"`) {
		t.Fatalf("an unknown language: %v", err)
	}
}
