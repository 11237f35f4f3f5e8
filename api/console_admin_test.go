package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// upload sends the import form with a file (no file when name is empty).
func (c *console) upload(path, name string, data []byte, csrf bool) page {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf {
		mw.WriteField("_csrf", c.csrf)
	}
	if name != "" {
		fw, _ := mw.CreateFormFile("ledger", name)
		fw.Write(data)
	}
	mw.Close()
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.send(req)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="(name|digest|plan|at|token)" value="([^"]*)">`)

// confirmForm is the confirm form of a dry run's page.
func confirmForm(t *testing.T, p page) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.Body, -1) {
		v.Set(m[1], m[2])
	}
	if v.Get("token") == "" {
		t.Fatalf("no confirm form on the dry run's page: %d\n%.3000s", p.Status, p.Body)
	}
	return v
}

// TestConsoleAdminRefusals: the administrators' pages are refused to
// everyone else (403, and not in their menu); their forms without the
// CSRF token are refused; the import page is a supervisor's too (the
// service lets supervisors import within their units).
func TestConsoleAdminRefusals(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	sup := consoleOn(e)
	sup.signIn("supa")
	for _, path := range []string{"/admin/units", "/admin/users", "/admin/devices", "/admin/audit"} {
		expectPage(t, "a supervisor at "+path, sup.get(path), 403, "无权")
	}
	for _, path := range []string{"/admin/units", "/admin/users", "/admin/users/" + e.fx.users["insp1"].ID, "/admin/devices/" + e.fx.users["insp1"].ID + "/revoke"} {
		expectPage(t, "a supervisor's form to "+path, sup.post(path, url.Values{"code": {"X"}, "name": {"x"}, "kind": {"city"}, "action": {"disable"}, "version": {"1"}}, true), 403, "无权")
	}
	if p := sup.get("/"); strings.Contains(p.Body, `href="/admin/units"`) || !strings.Contains(p.Body, `href="/admin/import"`) {
		t.Errorf("a supervisor's menu offers the administrators' pages, or not the import:\n%.2000s", p.Body)
	}
	expectPage(t, "a supervisor's import page", sup.get("/admin/import"), 200, "上传并预检")
	insp := consoleOn(e)
	insp.signIn("insp1")
	expectPage(t, "an inspector's import page", insp.get("/admin/import"), 403, "无权")
	if p := insp.get("/"); strings.Contains(p.Body, `href="/admin/`) {
		t.Errorf("an inspector's menu offers an administrator's page")
	}
	// Signed out, a page is a redirect to the sign-in page.
	anon := consoleOn(e)
	if p := anon.get("/admin/users"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login?next=") {
		t.Errorf("signed out: %d %v", p.Status, p.Header)
	}

	adm := consoleOn(e)
	adm.signIn("admin")
	if p := adm.get("/"); !strings.Contains(p.Body, `href="/admin/units"`) {
		t.Errorf("the administrator's menu lacks the administration")
	}
	for _, path := range []string{"/admin/units", "/admin/users", "/admin/users/" + e.fx.users["insp1"].ID, "/admin/devices/" + e.fx.users["insp1"].ID + "/revoke", "/admin/import/confirm", "/password"} {
		expectPage(t, "a form without its token to "+path, adm.post(path, url.Values{"code": {"X"}, "name": {"x"}, "kind": {"city"}, "action": {"disable"}, "version": {"1"}}, false), 403, "表单已过期")
	}
	expectPage(t, "an upload without its token", adm.upload("/admin/import", "a.csv", []byte("x"), false), 403, "表单已过期")
	// In English, from the same catalog.
	adm.get("/admin/units")
	adm.post("/lang", url.Values{"lang": {"en"}, "next": {"/admin/units"}}, true)
	expectPage(t, "the units page in English", adm.get("/admin/units"), 200, "Unit tree")
	expectPage(t, "a refused form in English", adm.post("/admin/units", url.Values{"name": {"x"}, "kind": {"county"}}, true), 400, "Not saved:")
}

// TestConsoleAdminBadInput: every form of the administrators' pages says
// what is wrong, in Chinese, and changes nothing.
func TestConsoleAdminBadInput(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	adm := consoleOn(e)
	adm.signIn("admin")
	adm.get("/admin/units")
	for _, c := range []struct {
		what   string
		form   url.Values
		status int
		text   string
	}{
		{"a unit without a code", url.Values{"name": {"新区"}, "kind": {"county"}}, 400, "缺少必填项（单位编码）"},
		{"a unit with a bad code", url.Values{"name": {"新区"}, "code": {"新 区"}, "kind": {"county"}}, 400, "输入不符合要求（单位编码）"},
		{"a unit of an unknown kind", url.Values{"name": {"新区"}, "code": {"NEW"}, "kind": {"planet"}}, 400, "单位类型"},
		{"a unit under an unknown parent", url.Values{"name": {"新区"}, "code": {"NEW"}, "kind": {"county"}, "parent_id": {e.fx.users["insp1"].ID}}, 404, "所选的上级单位不存在"},
		{"a unit code taken", url.Values{"name": {"新区"}, "code": {"CTY-A"}, "kind": {"county"}}, 409, "单位编码已被使用"},
	} {
		p := adm.post("/admin/units", c.form, true)
		expectPage(t, c.what, p, c.status, c.text)
		expectPage(t, c.what+" (what to do)", p, c.status, "请按提示修改后重新提交")
	}
	adm.get("/admin/users")
	for _, c := range []struct {
		what   string
		form   url.Values
		status int
		text   string
	}{
		{"a short password", url.Values{"username": {"new.user"}, "role": {"inspector"}, "unit_id": {e.fx.countyA.ID}, "password": {"short"}}, 400, "密码长度不够：须为 10 到 128 个字符"},
		{"a bad username", url.Values{"username": {"Wang Li"}, "role": {"inspector"}, "unit_id": {e.fx.countyA.ID}, "password": {"long-enough-pw"}}, 400, "（用户名）"},
		{"no unit", url.Values{"username": {"new.user"}, "role": {"inspector"}, "password": {"long-enough-pw"}}, 400, "所属单位"},
		{"a username taken", url.Values{"username": {"insp1"}, "role": {"inspector"}, "unit_id": {e.fx.countyA.ID}, "password": {"long-enough-pw"}}, 409, "用户名已被使用"},
	} {
		expectPage(t, c.what, adm.post("/admin/users", c.form, true), c.status, c.text)
	}
	insp1 := "/admin/users/" + e.fx.users["insp1"].ID
	expectPage(t, "an unknown action", adm.post(insp1, url.Values{"action": {"explode"}, "version": {"1"}}, true), 400, "")
	expectPage(t, "no version", adm.post(insp1, url.Values{"action": {"disable"}}, true), 400, "")
	expectPage(t, "a stale version", adm.post(insp1, url.Values{"action": {"disable"}, "version": {"99"}}, true), 409, "记录已被他人修改，请刷新后重试")
	expectPage(t, "an unknown user", adm.post("/admin/users/"+e.fx.countyA.ID, url.Values{"action": {"disable"}, "version": {"1"}}, true), 404, "找不到")
	expectPage(t, "an unknown device", adm.post("/admin/devices/"+e.fx.countyA.ID+"/revoke", url.Values{}, true), 404, "找不到")
	expectPage(t, "a bad audit page", adm.get("/admin/audit?after=x"), 400, "翻页链接已失效")
	expectPage(t, "an unknown audit action", adm.get("/admin/audit?action=bogus"), 400, "选择的选项无效")
	if _, err := audit.New(e.svc).ChainAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectPage(t, "the sign-ins in the audit log", adm.get("/admin/audit?action=auth.login"), 200, "<td>登录</td>")
	expectPage(t, "the audit chain's status", adm.get("/admin/audit"), 200, "审计链校验通过")
	// Someone with the database changes an entry: the page says where.
	err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		_, err := tx.UpdateWhere(&models.AuditEntry{}, []models.Cond{models.Eq("seq", 3)}, models.Set{"detail": `{"forged":true}`})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	expectPage(t, "a changed audit entry", adm.get("/admin/audit"), 200, "审计链在第 3 条处断裂：该条记录的内容已被改动")
	if u := e.must(200, "admin", "GET", "/v1/users/"+e.fx.users["insp1"].ID, nil); u["disabled"] == true {
		t.Errorf("a refused form changed the user: %v", u)
	}

	// The change of one's own password.
	adm.get("/password")
	for _, c := range []struct {
		what   string
		form   url.Values
		status int
		text   string
	}{
		{"two different new passwords", url.Values{"current_password": {"password-admin"}, "new_password": {"a-new-password-1"}, "new_password_again": {"a-new-password-2"}}, 400, "两次输入的新密码不一致"},
		{"a wrong current password", url.Values{"current_password": {"nope"}, "new_password": {"a-new-password-1"}, "new_password_again": {"a-new-password-1"}}, 400, "当前密码不正确（当前密码）"},
		{"a short new password", url.Values{"current_password": {"password-admin"}, "new_password": {"short"}, "new_password_again": {"short"}}, 400, "密码长度不够"},
	} {
		expectPage(t, c.what, adm.post("/password", c.form, true), c.status, c.text)
	}
}

// TestConsoleImportBadInput: uploads that are not ledgers, too large or
// of another type are refused with what to do; a confirmation is refused
// when its form is not this session's, when another file was uploaded
// after the dry run, when the file was imported already, and when the
// ledger changed since the dry run.
func TestConsoleImportBadInput(t *testing.T) {
	raw, err := os.ReadFile(realLedger)
	if err != nil {
		t.Fatal(err)
	}
	fixed := bytes.Replace(raw, []byte(badCell), []byte(fixedCell), 1)
	e := newEnv(t, storagetest.Dialects[0])
	jiangchengUnits(t, e.svc)
	adm := consoleOn(e)
	adm.signIn("admin")
	adm.get("/admin/import")
	expectPage(t, "no file", adm.upload("/admin/import", "", nil, true), 400, "没有收到文件")
	expectPage(t, "a text file", adm.upload("/admin/import", "ledger.txt", fixed, true), 415, "只能导入 .xlsx 或 .csv 文件")
	expectPage(t, "a file that is not a workbook", adm.upload("/admin/import", "ledger.xlsx", fixed, true), 400, "无法读取该文件")
	expectPage(t, "a CSV without the code column", adm.upload("/admin/import", "ledger.csv", []byte("名称,时限\n甲,2026-12-31\n"), true), 400, "问题编号")
	big := bytes.Repeat([]byte("x"), 32<<20+1)
	expectPage(t, "a file over the limit", adm.upload("/admin/import", "ledger.csv", big, true), 413, "32 MB")

	// The ledger as it is: row 8 is shown with its error, no confirm form.
	p := adm.upload("/admin/import", "台账.csv", raw, true)
	expectPage(t, "the ledger with a bad row", p, 422, "整份文件都不会导入")
	if !strings.Contains(p.Body, `data-row="10" class="bad"`) || strings.Contains(p.Body, "confirm-form") {
		t.Errorf("the bad row is not marked, or the file may be confirmed:\n%.4000s", p.Body)
	}
	first := confirmForm(t, adm.upload("/admin/import", "台账.csv", fixed, true))
	forged := url.Values{}
	for k, v := range first {
		forged[k] = v
	}
	forged.Set("plan", strings.Repeat("0", 64))
	expectPage(t, "a confirmation with a forged plan", adm.post("/admin/import/confirm", forged, true), 409, "表单已过期")
	other := consoleOn(e)
	other.signIn("admin")
	other.get("/admin/import")
	expectPage(t, "another session's confirmation", other.post("/admin/import/confirm", first, true), 409, "表单已过期")

	// Another file uploaded after the dry run: the first form is stale.
	edited := bytes.Replace(fixed, []byte("城北污水处理厂尾水超标排放"), []byte("城北污水处理厂尾水超标"), 1)
	second := confirmForm(t, adm.upload("/admin/import", "台账2.csv", edited, true))
	expectPage(t, "a confirmation of a replaced file", adm.post("/admin/import/confirm", first, true), 409, "另一份文件")
	// The ledger changed since the dry run: someone imported it through
	// the API. Nothing is imported; the new dry run is shown.
	if r := e.send("admin", "POST", "/v1/items/import", "text/csv", fixed, nil); r.Status != 200 {
		t.Fatalf("the API's import: %d %s", r.Status, r.Body)
	}
	p = adm.post("/admin/import/confirm", second, true)
	expectPage(t, "a confirmation after the ledger changed", p, 409, "预检之后台账数据已有变化")
	third := confirmForm(t, p)
	expectPage(t, "the confirmation of the new dry run", adm.post("/admin/import/confirm", third, true), 200, "新建 0 项，更新 1 项，未变 7 项")
	expectPage(t, "the same confirmation again", adm.post("/admin/import/confirm", third, true), 409, "找不到预检过的文件")
}

var temporaryRE = regexp.MustCompile(`id="temporary-password">([^<]+)<`)

// TestConsoleResetPassword: an administrator resets a password on the
// users page and reads the temporary one once; signed in with it, the
// user is sent to the change of password from every page, and a form is
// refused, until they choose a new one. Disabling ends the sessions;
// "change at next sign-in" sets the flag.
func TestConsoleResetPassword(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	adm := consoleOn(e)
	adm.signIn("admin")
	users := adm.get("/admin/users")
	expectPage(t, "the users page", users, 200, "insp2")
	id := e.fx.users["insp2"].ID
	versionRE := regexp.MustCompile(`action="/admin/users/` + id + `" class="inline"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="version" value="(\d+)"`)
	versionOf := func() string {
		m := versionRE.FindStringSubmatch(adm.get("/admin/users").Body)
		if m == nil {
			t.Fatalf("no version for insp2 on the users page")
		}
		return m[1]
	}
	p := adm.post("/admin/users/"+id, url.Values{"action": {"reset"}, "version": {versionOf()}}, true)
	m := temporaryRE.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("reset: %d\n%.3000s", p.Status, p.Body)
	}
	if again := adm.get("/admin/users"); strings.Contains(again.Body, m[1]) {
		t.Errorf("the temporary password is shown a second time")
	}
	u := consoleOn(e)
	u.get("/login")
	if p := u.post("/login", url.Values{"username": {"insp2"}, "password": {m[1]}}, true); p.Status != http.StatusSeeOther {
		t.Fatalf("sign in with the temporary password: %d %s", p.Status, p.Body)
	}
	for _, path := range []string{"/", "/ledger?status=accepted"} {
		if p := u.get(path); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/password?next="+url.QueryEscape(path) {
			t.Errorf("%s before the change: %d %v", path, p.Status, p.Header.Get("Location"))
		}
	}
	expectPage(t, "the forced change", u.get("/password?next=%2Fledger"), 200, "管理员已重置您的密码")
	expectPage(t, "a form before the change", u.post("/items/"+e.fx.itemA.ID+"/submit", url.Values{"version": {"1"}}, true), 403, "请先在“修改密码”页设置新密码")
	p = u.post("/password", url.Values{"current_password": {m[1]}, "new_password": {"my-own-password"}, "new_password_again": {"my-own-password"}, "next": {"/ledger"}}, true)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ledger?done=password_changed" {
		t.Fatalf("the change: %d %v %s", p.Status, p.Header, p.Body)
	}
	expectPage(t, "the ledger after the change", u.get("/ledger?done=password_changed"), 200, "密码已修改")

	// "Change at next sign-in" and disabling.
	if p := adm.post("/admin/users/"+id, url.Values{"action": {"force"}, "version": {versionOf()}}, true); p.Status != http.StatusSeeOther {
		t.Fatalf("force: %d %s", p.Status, p.Body)
	}
	if got := e.must(200, "admin", "GET", "/v1/users/"+id, nil); got["must_change_password"] != true {
		t.Errorf("after force: %v", got)
	}
	if p := u.get("/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/password") {
		t.Errorf("a session after force: %d %v", p.Status, p.Header)
	}
	if p := adm.post("/admin/users/"+id, url.Values{"action": {"disable"}, "version": {versionOf()}}, true); p.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.Status, p.Body)
	}
	if p := u.get("/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Errorf("a session after disabling: %d %v", p.Status, p.Header)
	}
	expectPage(t, "the users page after disabling", adm.get("/admin/users"), 200, "已停用")
}
