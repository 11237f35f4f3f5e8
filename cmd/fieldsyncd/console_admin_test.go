package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// runAdminConsole is an administrator's afternoon, after runConsole on the
// same server: a unit tree and a user made in the console, a password
// reset and the forced change at sign-in, a lost phone revoked, the city's
// ledger imported after its dry run, and the audit log read with its
// chain's status.
func runAdminConsole(t *testing.T, s *story, b *browser) {
	const pw = consolePassword
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	b.login("admin", pw)
	b.run(chromedp.Click(chromedp.CSS("#nav-admin")), chromedp.WaitVisible(chromedp.CSS("#unit-tree")))
	labelled := func(page string) {
		t.Helper()
		var unlabelled []string
		b.eval(`Array.from(document.querySelectorAll("main input:not([type=hidden]), main select, main textarea")).filter(e => !e.labels || e.labels.length === 0).map(e => e.name)`, &unlabelled)
		if len(unlabelled) > 0 {
			t.Errorf("the %s page has controls without a label: %v", page, unlabelled)
		}
		b.fits("the " + page + " page")
	}
	labelled("units")

	// Units: the city, then a district under it, chosen in the tree's
	// select; typed as a person types, the form sent with Enter.
	newUnit := func(parent, name, code, kind string) {
		t.Helper()
		b.open("/admin/units")
		if parent != "" {
			var id string
			b.eval(`Array.from(document.querySelectorAll("#unit-parent option")).find(o => o.textContent.includes("（`+parent+`）")).value`, &id)
			b.run(chromedp.SetValue(chromedp.CSS("#unit-parent"), id))
		}
		b.run(chromedp.SendKeys(chromedp.CSS("#unit-name"), name), chromedp.SendKeys(chromedp.CSS("#unit-code"), code),
			chromedp.SetValue(chromedp.CSS("#unit-kind"), kind), chromedp.SendKeys(chromedp.CSS("#unit-code"), "\r"),
			chromedp.WaitVisible(chromedp.CSS(".flash")))
	}
	newUnit("", "江城市人民政府", "JC", "city")
	newUnit("JC", "江城市江北区人民政府", "JC-JB", "county")
	var tree []string
	b.eval(`Array.from(document.querySelectorAll("#unit-tree tbody tr")).map(r => r.dataset.unit + ":" + r.dataset.depth)`, &tree)
	if i := indexOf(tree, "JC:0"); i < 0 || i+1 >= len(tree) || tree[i+1] != "JC-JB:1" {
		t.Errorf("the unit tree: %v", tree)
	}
	if pad := b.text(`tr[data-unit="JC-JB"] td:first-child`); !strings.Contains(pad, "江城市江北区人民政府") {
		t.Errorf("the district's row: %q", pad)
	}
	b.screenshot("20-units")
	// The rest of the city's units, which its ledger names, through the API.
	units := map[string]string{}
	for _, u := range s.must(200, "admin", "GET", "/v1/units?limit=500", nil)["items"].([]any) {
		u := u.(map[string]any)
		units[u["code"].(string)] = u["id"].(string)
	}
	for _, u := range []struct{ code, parent, name, kind string }{
		{"JC-HB", "JC", "湖滨县人民政府", "county"}, {"JC-SN", "JC", "山南县人民政府", "county"},
		{"JC-STHJ", "JC", "江城市生态环境局", "department"}, {"JC-ZJ", "JC", "江城市住房和城乡建设局", "department"},
		{"JC-SL", "JC", "江城市水利局", "department"}, {"JC-NY", "JC", "江城市农业农村局", "department"},
		{"JC-CG", "JC", "江城市城市管理局", "department"}, {"JC-JT", "JC", "江城市交通运输局", "department"},
		{"JC-SW", "JC", "江城市城市水务集团有限公司", "company"}, {"JC-HB-HGY", "JC-HB", "湖滨化工园区管理委员会", "department"},
	} {
		units[u.code] = s.must(201, "admin", "POST", "/v1/units", map[string]any{"code": u.code, "name": u.name, "kind": u.kind, "parent_id": units[u.parent]})["id"].(string)
	}

	// Users: a new inspector, who must choose a password at first sign-in.
	b.open("/admin/users")
	labelled("users")
	b.run(chromedp.SendKeys(chromedp.CSS("#user-username"), "wang.li"), chromedp.SendKeys(chromedp.CSS("#user-display"), "王力"),
		chromedp.SetValue(chromedp.CSS("#user-role"), "inspector"), chromedp.SetValue(chromedp.CSS("#user-unit"), units["JC-JB"]),
		chromedp.SendKeys(chromedp.CSS("#user-password"), "first-password-1"), chromedp.Click(chromedp.CSS("#user-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if row := b.text(`tr[data-user="wang.li"]`); !strings.Contains(row, "江城市江北区人民政府") || !strings.Contains(row, "须修改密码") {
		t.Errorf("the new user's row: %q", row)
	}
	// The password is reset: the temporary one is shown once.
	b.run(chromedp.Click(chromedp.CSS(`[data-reset="wang.li"]`)), chromedp.WaitVisible(chromedp.CSS("#temporary-password")))
	temporary := b.text("#temporary-password")
	b.screenshot("21-users-reset")
	if len(temporary) < 12 {
		t.Fatalf("the temporary password %q", temporary)
	}
	b.logout()

	// The user signs in with it and must choose a new password first.
	b.open("/login")
	b.run(chromedp.SendKeys(chromedp.CSS("#username"), "wang.li"), chromedp.SendKeys(chromedp.CSS("#password"), temporary),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#must-change")))
	b.screenshot("22-must-change")
	b.open("/ledger")
	b.run(chromedp.WaitVisible(chromedp.CSS("#must-change")))
	b.run(chromedp.SendKeys(chromedp.CSS("#current_password"), temporary), chromedp.SendKeys(chromedp.CSS("#new_password"), "wang-li-own-pw"),
		chromedp.SendKeys(chromedp.CSS("#new_password_again"), "wang-li-own-pw"), chromedp.Click(chromedp.CSS("#password-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if f := b.text(".flash"); !strings.Contains(f, "密码已修改") {
		t.Errorf("after the change: %q", f)
	}
	s.login("wang.li", "wang-li-own-pw")
	if me := s.must(200, "wang.li", "GET", "/v1/users?limit=1", nil); me == nil {
		t.Errorf("the API after the change")
	}
	b.logout()

	// A lost phone: its last sighting in Beijing time, then revoked.
	b.login("admin", pw)
	b.open("/admin/devices")
	labelled("devices")
	var phone map[string]any
	for _, d := range s.must(200, "admin", "GET", "/v1/devices?limit=500&user_id="+s.ids["insp"], nil)["items"].([]any) {
		if d := d.(map[string]any); d["name"] == "insp's phone" {
			phone = d
		}
	}
	if phone == nil {
		t.Fatal("the inspector's phone is not among the devices")
	}
	row := `tr[data-device="` + phone["id"].(string) + `"]`
	seen, _ := time.Parse(time.RFC3339Nano, phone["last_seen_at"].(string))
	if got := b.text(row + " time"); got != seen.In(shanghai).Format("2006-01-02 15:04") {
		t.Errorf("the phone was last seen %q, in Beijing time %s", got, seen.In(shanghai).Format("2006-01-02 15:04"))
	}
	b.run(chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if !strings.Contains(b.text(row), "注销") {
		t.Errorf("the revoked phone's row: %q", b.text(row))
	}
	b.screenshot("23-devices")
	for _, d := range s.must(200, "admin", "GET", "/v1/devices?limit=500&user_id="+s.ids["insp"], nil)["items"].([]any) {
		if d := d.(map[string]any); d["id"] == phone["id"] && d["revoked_at"] == nil {
			t.Errorf("the phone is not revoked: %v", d)
		}
	}

	// The city's ledger: as it is, its bad row is shown and nothing can be
	// confirmed; fixed, the dry run shows each row, and confirming imports it.
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ledgers", "jiangcheng-2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	asIs, fixed := filepath.Join(dir, "jiangcheng-2026.csv"), filepath.Join(dir, "jiangcheng-2026-fixed.csv")
	os.WriteFile(asIs, raw, 0o644)
	os.WriteFile(fixed, bytes.Replace(raw, []byte("2026年13月1日"), []byte("2026年12月1日"), 1), 0o644)
	b.run(chromedp.Click(chromedp.CSS(`.subnav a[href="/admin/import"]`)), chromedp.WaitVisible(chromedp.CSS("#ledger-file")))
	labelled("import")
	upload := func(path, wait string) {
		t.Helper()
		b.run(chromedp.SetUploadFiles(chromedp.CSS("#ledger-file"), []string{path}), chromedp.Click(chromedp.CSS("#import-upload")),
			chromedp.WaitVisible(chromedp.CSS(wait)))
	}
	upload(asIs, "#import-invalid")
	if bad := b.text(`#import-rows tr.bad`); !strings.Contains(bad, "JC-DC-2026-008") || !strings.Contains(bad, "整改时限") {
		t.Errorf("the bad row: %q", bad)
	}
	var confirmable int
	b.eval(`document.querySelectorAll("#import-confirm").length`, &confirmable)
	if confirmable != 0 {
		t.Errorf("a ledger with a bad row may be confirmed")
	}
	b.screenshot("24-import-bad")
	upload(fixed, "#import-plan")
	var plan []string
	b.eval(`Array.from(document.querySelectorAll("#import-rows tbody tr")).map(r => r.cells[1].textContent + ":" + r.cells[2].textContent)`, &plan)
	if len(plan) != 8 {
		t.Errorf("the dry run shows %d rows: %v", len(plan), plan)
	}
	for i, p := range plan {
		if want := fmt.Sprintf("JC-DC-2026-%03d:新建", i+1); p != want {
			t.Errorf("dry run row %d: %q, want %q", i+1, p, want)
		}
	}
	ledgerItems := func() int {
		n := 0
		for _, it := range s.must(200, "admin", "GET", "/v1/items?limit=500", nil)["items"].([]any) {
			if strings.HasPrefix(it.(map[string]any)["code"].(string), "JC-DC-2026-") {
				n++
			}
		}
		return n
	}
	if n := ledgerItems(); n != 0 {
		t.Errorf("the dry run wrote %d items", n)
	}
	b.screenshot("25-import-dry-run")
	b.run(chromedp.Click(chromedp.CSS("#import-confirm")), chromedp.WaitVisible(chromedp.CSS("#import-done")))
	if done := b.text("#import-done"); !strings.Contains(done, "新建 8 项") {
		t.Errorf("after confirming: %q", done)
	}
	b.screenshot("26-import-done")
	if imported := ledgerItems(); imported != 8 {
		t.Errorf("%d of the ledger's items are in the API", imported)
	}

	// The audit log, its times in Beijing time, and the chain's status.
	b.run(chromedp.Click(chromedp.CSS(`.subnav a[href="/admin/audit"]`)), chromedp.WaitVisible(chromedp.CSS("#chain-status")))
	if st := b.text("#chain-status"); !strings.Contains(st, "审计链校验通过") {
		t.Errorf("the chain's status: %q", st)
	}
	first := s.must(200, "admin", "GET", "/v1/audit?limit=1", nil)["items"].([]any)
	if len(first) != 1 {
		t.Fatal("the audit log is empty")
	}
	at, _ := time.Parse(time.RFC3339Nano, first[0].(map[string]any)["at"].(string))
	if got := b.text("#audit tbody tr:first-child time"); got != at.In(shanghai).Format("2006-01-02 15:04") {
		t.Errorf("the first audit entry at %q, in Beijing time %s", got, at.In(shanghai).Format("2006-01-02 15:04"))
	}
	b.screenshot("27-audit")
	b.fits("the audit page")
	b.logout()
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
