package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// xss is put into titles, notes, names and reasons: the console must show
// it as text. Were it markup, it would set window.__xss (the CSP would
// also stop it; the test checks the text itself).
const xss = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`

// browser is headless Debian Chromium driven over CDP, with a fresh
// profile, at a 1366×768 laptop's size.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		testenv.Require(t, "chromium", errors.New("no chromium on PATH (apt-get install chromium fonts-noto-cjk)"))
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768)}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	// The first run starts the browser, which lives as long as its
	// context: no timeout on this one.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := os.Getenv("FIELDSYNC_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "fieldsync-screenshots")
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &browser{t: t, ctx: ctx, base: base, shot: dir}
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(err)
	}
}

// fail stops the test with what the page showed.
func (b *browser) fail(err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(text) > 3000 {
		text = "…" + text[len(text)-3000:]
	}
	b.t.Fatalf("browser: %v\nat %s:\n%s", err, url, text)
}

// get runs one action that returns a value.
func get[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(err)
	}
	return v
}

func (b *browser) open(path string) { b.t.Helper(); b.run(chromedp.Navigate(b.base + path)) }

func (b *browser) text(sel string) string {
	b.t.Helper()
	return get(b, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) eval(js string, out any) {
	b.t.Helper()
	raw := get(b, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err := json.Unmarshal(raw, out); err != nil {
		b.t.Fatalf("browser: %s: %v", raw, err)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	buf := get(b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fits checks that the page needs no sideways scrolling at the window's
// width.
func (b *browser) fits(what string) {
	b.t.Helper()
	var w [2]int
	b.eval(`[document.documentElement.scrollWidth, window.innerWidth]`, &w)
	if w[0] > w[1] {
		b.t.Errorf("%s is %d px wide in a %d px window", what, w[0], w[1])
	}
}

// language picks the interface language with the header's selector.
func (b *browser) language(lang, dashboardWord string) {
	b.t.Helper()
	// Choosing sends the form (console.js, on the select's change event,
	// which SetValue fires), and the next page is waited for as one
	// navigation (RunResponse). A Submit of its own after it would query
	// the page that is going away ("No node with given id found", as
	// under -race in CI) or send the form twice.
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.SetValue(chromedp.CSS("#lang"), lang)); err != nil {
		b.fail(err)
	}
	b.run(chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`html[lang=%q] #figures`, lang))))
	if got := b.text(`nav a[href="/"]`); got != dashboardWord {
		b.t.Errorf("after choosing %s the menu says %q", lang, got)
	}
}

func (b *browser) login(user, pw string) {
	b.t.Helper()
	b.open("/login")
	b.run(chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#figures")))
}

func (b *browser) logout() {
	b.t.Helper()
	b.run(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#username")))
}

// fetch requests path from the page (with its cookies) and returns the
// status and the body.
func (b *browser) fetch(path, method, body string) (int, []byte) {
	b.t.Helper()
	var res struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	js := fmt.Sprintf(`fetch(%q, {method: %q, credentials: "same-origin", cache: "no-store"%s}).then(async r => {
		const b = new Uint8Array(await r.arrayBuffer()); let s = "";
		for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192));
		return {status: r.status, body: btoa(s)}; })`, path, method, map[bool]string{true: `, headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: ` + fmt.Sprintf("%q", body), false: ""}[body != ""])
	b.eval(js, &res)
	raw, err := base64.StdEncoding.DecodeString(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Status, raw
}

// viewEachPhoto opens every photo of the item page in the viewer and
// closes it again.
func (b *browser) viewEachPhoto() int {
	b.t.Helper()
	var ids []string
	b.eval(`Array.from(document.querySelectorAll("[data-open]")).map(e => e.getAttribute("data-open"))`, &ids)
	for _, id := range ids {
		b.run(chromedp.Click(chromedp.CSS(`[data-open="`+id+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#ev-`+id+` [data-viewed-note]`)),
			chromedp.Click(chromedp.CSS(`#viewer [data-close]`)))
	}
	return len(ids)
}

// TestConsole runs the supervisors' day and then the administrators' on
// one server and one browser per backend.
func TestConsole(t *testing.T) {
	both := func(t *testing.T, s *story) {
		b := newBrowser(t, s.base)
		runConsole(t, s, b)
		runAdminConsole(t, s, b)
	}
	t.Run("sqlite+local", func(t *testing.T) { both(t, newStory(t)) })
	t.Run("mysql+minio", func(t *testing.T) {
		s3 := testenv.MinIO(t)
		dsn := storagetest.FreshMySQL(t)
		both(t, newStory(t, "-mysql-dsn", dsn, "-s3-endpoint", s3.Endpoint, "-s3-access-key", s3.AccessKey,
			"-s3-secret-key", s3.SecretKey, "-s3-bucket", "fieldsync-web-"+strings.ToLower(uuid.NewString()[:8])))
	})
}

// consolePassword is the password of the accounts runConsole makes.
const consolePassword = "console-password-1"

func runConsole(t *testing.T, s *story, b *browser) {
	const pw = consolePassword
	s.mustCtl("", "unit", "add", "-code", "CITY", "-name", "江城市", "-kind", "city")
	// fieldctl writes beside the running server; on SQLite its argon2
	// hashing inside the transaction can meet the server's stamper
	// ("database is locked"), which a second try gets past.
	for try := 1; ; try++ {
		out, code := s.ctl(pw+"\n", "user", "add", "-username", "admin", "-role", "admin", "-unit", "CITY")
		if code == 0 {
			break
		}
		if try == 3 || !strings.Contains(out, "database is locked") {
			t.Fatalf("fieldctl user add: exit %d\n%s", code, out)
		}
	}
	s.login("admin", pw)
	city := s.must(200, "admin", "GET", "/v1/units", nil)["items"].([]any)[0].(map[string]any)["id"]
	unit := func(code, name, kind string, parent any) string {
		return s.must(201, "admin", "POST", "/v1/units", map[string]any{"code": code, "name": name, "kind": kind, "parent_id": parent})["id"].(string)
	}
	east, west := unit("EAST", "东湖区", "county", city), unit("WEST", "西山县", "county", city)
	user := func(name, role, unitID, display, phone string) {
		s.must(201, "admin", "POST", "/v1/users", map[string]any{"username": name, "password": pw, "role": role, "unit_id": unitID,
			"display_name": display, "phone": phone})
		s.login(name, pw)
	}
	user("sup-east", "supervisor", east, "王督办", "13911112222")
	user("sup-west", "supervisor", west, "赵督办", "13933334444")
	user("lead-east", "unit_lead", east, "钱区长", "13955556666")
	user("insp", "inspector", east, "孙核查"+xss, "13977778888")
	s.ids["insp"] = s.must(200, "insp", "GET", "/v1/me", nil)["id"].(string)
	site := s.must(201, "admin", "POST", "/v1/sites", map[string]any{"unit_id": east, "name": "城北排口", "kind": "sewage_outfall",
		"lat": 43.4672, "lng": 11.8849, "radius_m": 100})["id"].(string)
	tmpl := s.must(201, "admin", "POST", "/v1/templates", map[string]any{"name": "排口核查", "questions": []map[string]any{
		{"id": "q1", "text": "排口是否封堵", "type": "yes_no", "required": true}}})["id"].(string)
	newItem := func(code, title, unitID, area string, deadline time.Time) string {
		return s.must(201, "admin", "POST", "/v1/items", map[string]any{"code": code, "title": title, "description": "城北排口污水直排",
			"source": "第二轮督察", "category": "水污染", "area": area, "target": "排口封堵", "measures": "截污纳管",
			"responsible_unit_id": unitID, "first_responsible": "李区长", "specific_responsible": "周科长", "deadline": deadline,
			"supervision_level": "key", "public_summary": "城北排口已完成截污纳管"})["id"].(string)
	}
	item := newItem("DC-001", "城北排口直排"+xss, east, "水环境", time.Now().AddDate(0, 0, 20))
	newItem("DC-002", "东湖扬尘", east, "大气", time.Now().AddDate(0, 0, 5))
	newItem("XS-001", "西山垃圾堆放", west, "固废", time.Now().AddDate(0, 2, 0))
	itemPath := "/v1/items/" + item
	s.must(201, "sup-east", "POST", "/v1/tasks", map[string]any{"item_id": item, "site_id": site, "kind": "progress_check",
		"template_id": tmpl, "window_start": time.Now().Add(-time.Hour), "due_at": time.Now().AddDate(0, 0, 7), "assignee_id": s.ids["insp"]})
	phone := s.device("insp", pw)
	ctx := context.Background()
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.fieldVisit(phone, task(t, phone, "progress_check", "")["id"].(string), "partially_rectified", "DSCN0010.jpg")
	version := s.must(200, "admin", "GET", itemPath, nil)["version"]
	s.must(201, "lead-east", "POST", itemPath+"/submit", map[string]any{"statement": "截污纳管已完工" + xss, "version": version,
		"inspector_ids": []string{s.ids["insp"]}})
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.fieldVisit(phone, task(t, phone, "acceptance_check", "")["id"].(string), "rectified", "DSCN0012.jpg")

	// Morning: sign in; the dashboard's figures are the API's.
	b.login("sup-east", pw)
	b.screenshot("01-dashboard")
	count := func(q string) int {
		n := 0
		for tok := ""; ; {
			page := s.must(200, "sup-east", "GET", "/v1/items?limit=500"+q+tok, nil)
			n += len(page["items"].([]any))
			next, _ := page["next_page_token"].(string)
			if next == "" {
				return n
			}
			tok = "&page_token=" + next
		}
	}
	for fig, q := range map[string]string{"total": "", "overdue": "&overdue=true", "pending": "&status=pending_acceptance", "accepted": "&status=accepted"} {
		if got, want := b.text(`[data-figure="`+fig+`"]`), fmt.Sprint(count(q)); got != want {
			t.Errorf("dashboard %s: %s, the API says %s", fig, got, want)
		}
	}
	b.fits("the dashboard")
	// English is the user's choice, kept in a cookie; then back.
	b.language("en", "Dashboard")
	b.screenshot("01-dashboard-en")
	b.language("zh-CN", "总览")

	// The ledger, filtered, and its download of exactly that view.
	b.open("/ledger")
	// The filtered page is the one whose select the server marked: until
	// it has loaded, #ledger is still the unfiltered page's.
	b.run(chromedp.SetValue(chromedp.CSS("#f-status"), "pending_acceptance"), chromedp.Click(chromedp.CSS("#f-apply")),
		chromedp.WaitReady(chromedp.CSS(`#f-status option[value="pending_acceptance"][selected]`)), chromedp.WaitVisible(chromedp.CSS("#ledger")))
	var rows int
	b.eval(`document.querySelectorAll("#ledger tbody tr").length`, &rows)
	if rows != 1 || !strings.Contains(b.text("#ledger"), "DC-001") {
		t.Errorf("filtered ledger: %d rows: %s", rows, b.text("#ledger"))
	}
	b.screenshot("02-ledger")
	var csvHref string
	b.eval(`document.getElementById("dl-csv").getAttribute("href")`, &csvHref)
	st, csv := b.fetch(csvHref, "GET", "")
	if st != 200 || !strings.Contains(string(csv), "DC-001") || strings.Contains(string(csv), "DC-002") {
		t.Errorf("ledger CSV download (%s): %d\n%s", csvHref, st, csv)
	}
	var xlsxHref string
	b.eval(`document.getElementById("dl-xlsx").getAttribute("href")`, &xlsxHref)
	if st, x := b.fetch(xlsxHref, "GET", ""); st != 200 || !bytes.HasPrefix(x, []byte("PK")) {
		t.Errorf("ledger XLSX download: %d, %d bytes", st, len(x))
	}

	// Sorting the ledger by deadline, both ways: a heading is a link the
	// server sorts by (across pages); the page that loaded is the one
	// whose heading the server marked.
	b.open("/ledger")
	var order []string
	for i, want := range []string{"DC-002", "DC-001"} {
		b.run(chromedp.Click(chromedp.CSS(`#ledger thead th:nth-child(7) a`)),
			chromedp.WaitReady(chromedp.CSS(`#ledger thead th:nth-child(7)[aria-sort="`+[]string{"ascending", "descending"}[i]+`"]`)))
		b.eval(`Array.from(document.querySelectorAll("#ledger tbody tr td:first-child")).map(td => td.textContent)`, &order)
		if len(order) != 2 || order[0] != want {
			t.Errorf("the ledger sorted by deadline: %v, want %s first", order, want)
		}
	}

	// The item: titles, notes, names and reasons are text.
	b.open("/items/" + item)
	b.run(chromedp.WaitVisible(chromedp.CSS("#gallery")))
	if got := b.text("#item-title"); got != "城北排口直排"+xss {
		t.Errorf("the title renders as %q", got)
	}
	var xssRan any
	b.eval(`window.__xss === undefined ? null : window.__xss`, &xssRan)
	if xssRan != nil {
		t.Errorf("a payload ran: window.__xss = %v", xssRan)
	}
	if tl := b.text("#timeline"); !strings.Contains(tl, "截污纳管已完工"+xss) || !strings.Contains(tl, "孙核查"+xss) {
		t.Errorf("the timeline does not show the statement and the name as text: %s", tl)
	}
	// A form without the CSRF token is refused.
	if st, body := b.fetch("/items/"+item+"/decide", "POST", "decision=reject&reasons=x&digest=abc"); st != 403 || !strings.Contains(string(body), "表单已过期") {
		t.Errorf("decision without CSRF token: %d %s", st, body)
	}
	if n := b.viewEachPhoto(); n != 2 {
		t.Errorf("the gallery has %d photos, want 2", n)
	}
	b.screenshot("03-item")
	b.run(chromedp.SendKeys(chromedp.CSS("#reasons"), "未拍摄排口封堵近景"+xss),
		chromedp.SendKeys(chromedp.CSS("#required_evidence"), "排口近景照片"),
		chromedp.Click(chromedp.CSS("#reject")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if f := b.text(".flash"); !strings.Contains(f, "已退回整改") {
		t.Errorf("after rejecting: %q", f)
	}
	decisions := s.must(200, "sup-east", "GET", itemPath+"/decisions", nil)["items"].([]any)
	rejection := decisions[len(decisions)-1].(map[string]any)
	if rejection["kind"] != "reject" || rejection["reasons"].([]any)[0] != "未拍摄排口封堵近景"+xss {
		t.Fatalf("the rejection: %v", rejection)
	}
	if tl := b.text("#timeline"); !strings.Contains(tl, "未拍摄排口封堵近景"+xss) {
		t.Errorf("the reason is not shown as text: %s", tl)
	}

	// The phone receives the rework at its next pull and brings new photos.
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rework := task(t, phone, "acceptance_check", rejection["id"].(string))
	if reasons := rework["reasons"].([]any); len(reasons) != 1 || rework["required_evidence"] != "排口近景照片" {
		t.Fatalf("rework on the phone: %v", rework)
	}
	s.fieldVisit(phone, rework["id"].(string), "rectified", "DSCN0021.jpg", "DSCN0025.jpg")

	// The unit lead submits again in the browser.
	b.logout()
	b.login("lead-east", pw)
	b.open("/items/" + item + "/submit")
	b.run(chromedp.SendKeys(chromedp.CSS("#statement"), "已补拍排口近景"))
	b.screenshot("04-submit")
	b.run(chromedp.Click(chromedp.CSS("#submit-button")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if st := s.must(200, "admin", "GET", itemPath, nil)["status"]; st != "pending_acceptance" {
		t.Fatalf("after the lead's submission the item is %v", st)
	}
	b.logout()

	// Afternoon: the supervisor reviews; a note arrives after the page
	// loaded, so the first decision is refused with the message.
	b.login("sup-east", pw)
	b.open("/items/" + item)
	b.run(chromedp.WaitVisible(chromedp.CSS("#decide-form")))
	if _, err := phone.Enqueue(contract.MutNoteAdd, map[string]any{"id": uuid.NewString(), "task_id": rework["id"], "text": "补充说明" + xss}); err != nil {
		t.Fatal(err)
	}
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	acceptAll := func() {
		b.viewEachPhoto()
		var fields []string
		b.eval(`Array.from(document.querySelectorAll(".ack-input")).map(e => e.id)`, &fields)
		for _, f := range fields {
			b.run(chromedp.SendKeys(chromedp.CSS(`[id="`+f+`"]`), "已现场复核"))
		}
		b.run(chromedp.SendKeys(chromedp.CSS("#comment"), "同意销号"), chromedp.Click(chromedp.CSS("#accept")))
	}
	acceptAll()
	b.run(chromedp.WaitVisible(chromedp.CSS("#error-message")))
	if msg := b.text("#error-message"); !strings.Contains(msg, "新的照片或核查记录") {
		t.Errorf("stale decision: %q", msg)
	}
	b.screenshot("05-stale")
	b.run(chromedp.Click(chromedp.CSS("#reload")), chromedp.WaitVisible(chromedp.CSS("#decide-form")))
	acceptAll()
	b.run(chromedp.WaitVisible(chromedp.CSS(".flash")))
	if f := b.text(".flash"); !strings.Contains(f, "已验收销号") {
		t.Fatalf("after accepting: %q", f)
	}
	b.screenshot("06-accepted")
	b.fits("the item page")
	// A tablet, upright.
	b.run(chromedp.EmulateViewport(768, 1024))
	b.open("/items/" + item)
	b.fits("the item page on a tablet")
	b.screenshot("06-item-tablet")
	b.open("/ledger")
	b.fits("the ledger on a tablet")
	b.run(chromedp.EmulateViewport(1366, 768))
	// Printed, the item page drops the menu, the buttons and the review
	// form, and keeps the facts, the map, the photos and the timeline.
	b.open("/items/" + item)
	b.run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	var printed map[string]bool
	b.eval(`({nav: getComputedStyle(document.querySelector("header.top")).display !== "none",
		actions: getComputedStyle(document.querySelector(".actions")).display !== "none",
		map: getComputedStyle(document.getElementById("site-map")).display !== "none",
		timeline: getComputedStyle(document.getElementById("timeline")).display !== "none"})`, &printed)
	if printed["nav"] || printed["actions"] || !printed["map"] || !printed["timeline"] {
		t.Errorf("the printed item page: %v", printed)
	}
	b.screenshot("06-item-print")
	b.run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}))
	if it := s.must(200, "admin", "GET", itemPath, nil); it["status"] != "accepted" {
		t.Fatalf("the item after acceptance: %v", it["status"])
	}
	// The decision's audit entry names the photos viewed.
	audit := s.must(200, "admin", "GET", "/v1/audit?action=decision.accept&record_id="+item, nil)["items"].([]any)
	if len(audit) != 1 || !strings.Contains(fmt.Sprint(audit[0]), "viewed_evidence") {
		t.Errorf("the acceptance's audit entry: %v", audit)
	}

	// The evidence pack downloads and verifies, here and on the page.
	st, zipb := b.fetch("/items/"+item+"/evidence-pack", "GET", "")
	if st != 200 {
		t.Fatalf("pack download: %d", st)
	}
	var keys struct {
		Keys []struct {
			PublicKey string `json:"public_key"`
		} `json:"keys"`
	}
	_, kb := s.call("", "GET", "/v1/evidence-pack/keys", nil)
	json.Unmarshal(kb, &keys)
	pub, err := pack.ParsePublicKey(keys.Keys[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := pack.Verify(bytes.NewReader(zipb), int64(len(zipb)), pub); err != nil || !rep.OK() {
		t.Fatalf("the downloaded pack does not verify: %v %+v", err, rep)
	}
	zipPath := filepath.Join(t.TempDir(), "pack.zip")
	os.WriteFile(zipPath, zipb, 0o644)
	b.open("/pack-verify")
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#pack"), []string{zipPath}), chromedp.Submit(chromedp.CSS("#pack")),
		chromedp.WaitVisible(chromedp.CSS("#pack-verdict")))
	if v := b.text("#pack-verdict"); !strings.Contains(v, "校验通过") {
		t.Errorf("the pack page says %q", v)
	}
	b.screenshot("07-pack")
	b.open("/dispatch")
	b.screenshot("08-dispatch")
	var photoID string
	b.open("/items/" + item)
	b.eval(`document.querySelector("[data-open]").getAttribute("data-open")`, &photoID)
	b.logout()

	// Another county's supervisor: the 404 page for the item and its photos.
	b.login("sup-west", pw)
	b.open("/items/" + item)
	if msg := b.text("#error-message"); !strings.Contains(msg, "找不到") {
		t.Errorf("another county's supervisor sees %q", msg)
	}
	if st, _ := b.fetch("/items/"+item, "GET", ""); st != 404 {
		t.Errorf("item page for another county: %d", st)
	}
	for _, p := range []string{"/evidence/" + photoID + "/thumb", "/evidence/" + photoID + "/full", "/items/" + item + "/evidence-pack"} {
		if st, _ := b.fetch(p, "GET", ""); st != 404 {
			t.Errorf("%s for another county: %d", p, st)
		}
	}
	b.screenshot("09-not-found")
	b.logout()

	// One photo is published; the public page, signed out, shows it and
	// nothing private.
	s.must(200, "sup-east", "POST", "/v1/evidence/"+photoID+"/public", map[string]any{"public": true})
	b.open("/public")
	b.screenshot("10-public")
	res, err := http.Get(s.base + "/public")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(html), "DC-001") || !strings.Contains(string(html), "/v1/public/photos/"+photoID) {
		t.Errorf("the public page does not list the accepted item with its public photo")
	}
	var loaded bool
	b.eval(`Array.from(document.querySelectorAll(".public-photos img")).every(i => i.complete && i.naturalWidth > 0)`, &loaded)
	if !loaded {
		t.Errorf("the public photo does not load")
	}
	for _, secret := range []string{"王督办", "钱区长", "孙核查", "李区长", "周科长", "sup-east", "insp", "139", "43.4672", "11.8849", s.ids["insp"]} {
		if strings.Contains(string(html), secret) {
			t.Errorf("the public page holds %q", secret)
		}
	}
}
