package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/api/web"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/keys"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// console is a browser without a browser: it keeps cookies and reads the
// CSRF token of the last page, for the console's server-side tests (the
// Chromium suite is cmd/fieldsyncd/console_test.go).
type console struct {
	t       testing.TB
	srv     *api.Server
	cookies map[string]*http.Cookie
	csrf    string
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// consoleOn serves the console on e's server.
func consoleOn(e *env) *console {
	e.cfg.Console = web.Config{Key: keys.Derive(testSecret, "web-console")}
	e.srv = api.New(e.cfg)
	return &console{t: e.t, srv: e.srv, cookies: map[string]*http.Cookie{}}
}

func (c *console) send(req *http.Request) page {
	c.t.Helper()
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	req.Header.Set("Accept", "text/html")
	res, err := c.srv.App().Test(req, -1)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck
	}
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return page{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func (c *console) get(path string) page {
	c.t.Helper()
	return c.send(httptest.NewRequest("GET", path, nil))
}

// post sends a form; with csrf it carries the page's token.
func (c *console) post(path string, form url.Values, csrf bool) page {
	c.t.Helper()
	if csrf {
		form.Set("_csrf", c.csrf)
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.send(req)
}

func (c *console) signIn(user string) {
	c.t.Helper()
	c.get("/login")
	p := c.post("/login", url.Values{"username": {user}, "password": {"password-" + user}}, true)
	if p.Status != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: %d\n%s", user, p.Status, p.Body)
	}
	c.get("/")
}

func expectPage(t *testing.T, what string, p page, status int, text string) {
	t.Helper()
	if p.Status != status || !strings.Contains(p.Body, text) {
		t.Errorf("%s: %d, want %d with %q:\n%.3000s", what, p.Status, status, text, p.Body)
	}
}

func TestConsoleSignIn(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	c := consoleOn(e)
	p := c.get("/login")
	expectPage(t, "the sign-in page", p, 200, "用户名")
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if p.Header.Get(h) != want {
			t.Errorf("%s: %q", h, p.Header.Get(h))
		}
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP: %q", csp)
	}
	// Bad input, each with what to do.
	expectPage(t, "sign-in without the CSRF token", c.post("/login", url.Values{"username": {"supa"}, "password": {"password-supa"}}, false), 403, "表单已过期")
	expectPage(t, "sign-in with another token", c.post("/login", url.Values{"username": {"supa"}, "password": {"password-supa"}, "_csrf": {"forged"}}, false), 403, "表单已过期")
	expectPage(t, "sign-in without a username", c.post("/login", url.Values{"password": {"x"}}, true), 400, "有必填项未填写")
	expectPage(t, "a wrong password", c.post("/login", url.Values{"username": {"supa"}, "password": {"wrong"}}, true), 401, "用户名或密码错误")
	expectPage(t, "an unknown user", c.post("/login", url.Values{"username": {"nobody"}, "password": {"wrong"}}, true), 401, "用户名或密码错误")
	expectPage(t, "a redirect off the site after sign-in is not followed", c.get("/login?next=//evil.example/"), 200, `name="next" value="/"`)

	p = c.post("/login", url.Values{"username": {"supa"}, "password": {"password-supa"}, "next": {"/ledger"}}, true)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/ledger" {
		t.Fatalf("sign in: %d %v", p.Status, p.Header)
	}
	ck := c.cookies["fs_session"]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Fatalf("session cookie over plain HTTP: %+v", ck)
	}
	expectPage(t, "the dashboard", c.get("/"), 200, "总览")
	if !strings.Contains(c.get("/").Header.Get("Cache-Control"), "no-store") {
		t.Errorf("pages are cached")
	}
	// The bearer API does not take the cookie.
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.AddCookie(ck)
	if res, _ := e.srv.App().Test(req, -1); res.StatusCode != 401 {
		t.Errorf("GET /v1/me with the console's cookie: %d", res.StatusCode)
	}

	// Idle expiry.
	e.now = e.now.Add(web.DefaultIdle + time.Minute)
	if p := c.get("/ledger"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login?next=") {
		t.Errorf("after %v idle: %d %v", web.DefaultIdle, p.Status, p.Header.Get("Location"))
	}
	if p := c.post("/logout", url.Values{}, true); p.Status != 401 || !strings.Contains(p.Body, "重新登录") {
		t.Errorf("a form after the session idled out: %d", p.Status)
	}

	// Sign out ends the session; its cookie is worth nothing afterwards.
	c.signIn("supa")
	old := *c.cookies["fs_session"]
	expectPage(t, "sign out without the token", c.post("/logout", url.Values{}, false), 403, "表单已过期")
	if p := c.post("/logout", url.Values{}, true); p.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.Status)
	}
	c.cookies["fs_session"] = &old
	if p := c.get("/"); p.Status != http.StatusSeeOther {
		t.Errorf("the cookie of an ended session still works: %d", p.Status)
	}
	// A forged cookie.
	c.cookies["fs_session"] = &http.Cookie{Name: "fs_session", Value: "eyJ4IjoxfQ.forged"}
	if p := c.get("/"); p.Status != http.StatusSeeOther {
		t.Errorf("a forged cookie: %d", p.Status)
	}

	// Unknown pages: the console's 404 page for browsers, the API's
	// problem document for API clients.
	expectPage(t, "an unknown page", c.get("/nothing-here"), 404, "找不到")
	res, _ := e.srv.App().Test(httptest.NewRequest("GET", "/v1/nothing-here", nil), -1)
	if res.StatusCode != 404 || !strings.Contains(res.Header.Get("Content-Type"), "problem+json") {
		t.Errorf("an unknown API path: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	// Throttling, as for the API: the sixth wrong password is refused.
	c = consoleOn(e)
	c.get("/login")
	for i := 0; i < models.DefaultAuthPolicy.MaxFailuresPerUser; i++ {
		c.post("/login", url.Values{"username": {"leada"}, "password": {"wrong"}}, true)
	}
	p = c.post("/login", url.Values{"username": {"leada"}, "password": {"password-leada"}}, true)
	expectPage(t, "sign-in after too many failures", p, 429, "登录失败次数过多")
	if p.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}

	// English, by the user's choice.
	c.get("/login")
	if p := c.post("/lang", url.Values{"lang": {"en"}, "next": {"/login"}}, true); p.Status != http.StatusSeeOther {
		t.Fatalf("choose English: %d", p.Status)
	}
	expectPage(t, "the sign-in page in English", c.get("/login"), 200, "Username")
	expectPage(t, "a language change without the token", c.post("/lang", url.Values{"lang": {"zh-CN"}}, false), 403, "did not come from this site")
}

func TestConsoleBadInput(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	c := consoleOn(e)
	c.signIn("supa")
	item := "/items/" + e.fx.itemA.ID
	for _, b := range []struct {
		what, path string
		status     int
		text       string
	}{
		{"an unknown status", "/ledger?status=bogus", 400, "不符合要求"},
		{"an unknown level", "/ledger?supervision_level=bogus", 400, "不符合要求"},
		{"a bad unit", "/ledger?unit_id=x", 400, "不符合要求"},
		{"a bad page", "/ledger?after=x", 400, "翻页链接已失效"},
		{"an unknown sort", "/ledger?sort=due", 400, "选择的选项无效"},
		{"a page of another sort", "/ledger?sort=code&after=" + url.QueryEscape("deadline:MjAyNi0xMi0wMVQwMDowMDowMFo:"+e.fx.itemA.ID), 400, "翻页链接已失效"},
		{"a bad sorted download", "/ledger.csv?sort=due", 400, "选择的选项无效"},
		{"a bad ledger download", "/ledger.xlsx?status=bogus", 400, "不符合要求"},
		{"a bad month", "/dispatch?start=2026-13", 400, "日期格式不正确"},
		{"a month to come", "/dispatch?start=2030-01", 400, "统计周期"},
		{"a bad period", "/dispatch?period=weekly", 400, "选择的选项无效"},
		{"an unknown item", "/items/" + uuid.NewString(), 404, "找不到"},
		{"a bad item id", "/items/../../etc", 404, "找不到"},
		{"another county's item", "/items/" + e.fx.itemB.ID, 404, "找不到"},
		{"another county's submit form", "/items/" + e.fx.itemB.ID + "/submit", 404, "找不到"},
		{"another county's pack", "/items/" + e.fx.itemB.ID + "/evidence-pack", 404, "找不到"},
		{"an unknown photo", "/evidence/" + uuid.NewString() + "/thumb", 404, "找不到"},
		{"a bad public page", "/public?after=x", 400, "不符合要求"},
		{"a search too long", "/ledger?q=" + strings.Repeat("水", 101), 400, "不符合要求"},
		{"a search that finds nothing", "/ledger?q=" + url.QueryEscape("不存在"), 200, "没有符合条件的事项"},
		{"a search by code", "/ledger?q=A-1", 200, e.fx.itemA.Title},
		{"a search by title", "/ledger?q=" + url.QueryEscape("黑臭"), 200, e.fx.itemA.Code},
	} {
		expectPage(t, b.what, c.get(b.path), b.status, b.text)
	}
	// The ledger's downloads are the filtered view.
	p := c.get("/ledger.csv?supervision_level=key")
	if p.Status != 200 || !strings.Contains(p.Header.Get("Content-Disposition"), "ledger-") {
		t.Fatalf("CSV: %d %v", p.Status, p.Header)
	}
	for _, it := range []models.RectificationItem{e.fx.itemA} {
		if (it.SupervisionLevel == "key") != strings.Contains(p.Body, it.Code) {
			t.Errorf("the CSV of key items and %s (%s): %s", it.Code, it.SupervisionLevel, p.Body)
		}
	}
	if p := c.get("/ledger.csv?q=" + url.QueryEscape("不存在")); p.Status != 200 || strings.Contains(p.Body, e.fx.itemA.Code) {
		t.Errorf("the CSV of an empty search: %d %s", p.Status, p.Body)
	}
	// Forms.
	expectPage(t, "a decision without the token", c.post(item+"/decide", url.Values{"decision": {"reject"}}, false), 403, "表单已过期")
	expectPage(t, "an acknowledgement of a photo not opened", c.post(item+"/decide", url.Values{"decision": {"accept"}, "digest": {"x"},
		"ack|e|" + uuid.NewString() + "|no_exif_gps": {"看过了"}}, true), 400, "须先在查看器中打开")
	expectPage(t, "a decision on an item not pending", c.post(item+"/decide", url.Values{"decision": {"reject"}, "digest": {"x"}, "reasons": {"x"}}, true), 409, "")
	expectPage(t, "a submission without a statement", c.post(item+"/submit", url.Values{"version": {"1"}}, true), 400, "")
	expectPage(t, "a submission with a bad version", c.post(item+"/submit", url.Values{"version": {"x"}, "statement": {"x"}}, true), 400, "不符合要求")
	expectPage(t, "a submission without the token", c.post(item+"/submit", url.Values{"version": {"1"}}, false), 403, "表单已过期")
	expectPage(t, "a pack check without a file", c.post("/pack-verify", url.Values{}, true), 400, "有必填项未填写")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("_csrf", c.csrf)
	fw, _ := mw.CreateFormFile("pack", "not-a-pack.zip")
	fw.Write([]byte("this is not a zip"))
	mw.Close()
	req := httptest.NewRequest("POST", "/pack-verify", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	expectPage(t, "a file that is not a pack", c.send(req), 200, "校验未通过")

	// A unit lead reads but does not decide.
	lead := consoleOn(e)
	lead.signIn("leada")
	expectPage(t, "the item for its unit lead", lead.get(item), 200, e.fx.itemA.Code)
	expectPage(t, "a unit lead's decision", lead.post(item+"/decide", url.Values{"decision": {"reject"}, "digest": {"x"}, "reasons": {"x"}}, true), 403, "无权")
	// An inspector is not a console user for reviews.
	insp := consoleOn(e)
	insp.signIn("insp1")
	expectPage(t, "the review queue for an inspector", insp.get("/review"), 403, "无权")
}

// BenchmarkConsoleItemPage renders the item page of an item with 60
// verified, flagged photos, as its supervisor, through the whole server
// (session check, the review from the database, the template), and
// reports the 95th percentile: go test ./api -run '^$' -bench ConsoleItemPage.
func BenchmarkConsoleItemPage(b *testing.B) {
	ctx := context.Background()
	db := storagetest.MustOpen(b, storagetest.Dialects[0])
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	svc := &models.Service{Store: db, Now: func() time.Time { return now }, NewID: func() string { return uuid.Must(uuid.NewV7()).String() },
		Hasher: cheapHasher, Auth: models.DefaultAuthPolicy}
	fx := loadFixture(b, svc, now)
	task := fx.task1
	ids := make([]string, 60)
	err := db.Tx(ctx, func(tx models.Tx) error {
		for i := range ids {
			ids[i] = uuid.NewString()
			lat, lng := 29.7+float64(i)*1e-5, 116.0
			at := now.Add(time.Duration(i) * time.Minute)
			e := models.Evidence{ID: ids[i], TaskID: task.ID, InspectorID: fx.users["insp1"].ID, DeviceID: uuid.NewString(), SiteID: task.SiteID,
				UnitPath: task.UnitPath, Kind: "photo", Status: models.EvidenceVerified, SHA256: fmt.Sprintf("%064x", i), Size: 3_000_000,
				ContentType: "image/jpeg", CapturedAt: &at, Location: &models.EvidenceLocation{Lat: lat, Lng: lng, AccuracyM: 8},
				Media: &models.MediaSummary{ContentType: "image/jpeg", Width: 4000, Height: 3000, HasGPS: true, Lat: &lat, Lng: &lng, TakenAt: &at,
					Make: "NIKON", Model: "COOLPIX", Orientation: 1, HasThumbnail: true},
				Flags:       models.Flags{{Code: evidence.FlagExifGPSMismatch, Value: 150, Unit: "m", Detail: "150 m"}, {Code: evidence.FlagClockSkew, Value: 90, Unit: "s"}},
				CompletedAt: &at, ObjectKey: "o/" + ids[i], ThumbKey: "t/" + ids[i], Version: 1, CreatedAt: at, UpdatedAt: at}
			if err := tx.Create(&e); err != nil {
				return err
			}
		}
		v := models.Verification{ID: uuid.NewString(), TaskID: task.ID, ItemID: task.ItemID, InspectorID: fx.users["insp1"].ID, DeviceID: uuid.NewString(),
			UnitPath: task.UnitPath, Conclusion: models.ConclusionRectified, Notes: "现场核查", Lat: 29.7, Lng: 116.0, AccuracyM: 5,
			RecordedAt: now, EvidenceIDs: ids, Version: 1, CreatedAt: now, UpdatedAt: now}
		return tx.Create(&v)
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Config{Service: svc, Tokens: authn.NewIssuer(testSecret, nil, 15*time.Minute, svc.Now),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PackKeys: must(pack.KeysFor(testSecret, nil)),
		Console: web.Config{Key: keys.Derive(testSecret, "web-console")}})
	c := &console{t: b, srv: srv, cookies: map[string]*http.Cookie{}}
	c.signIn("supa")
	path := "/items/" + fx.itemA.ID
	first := c.get(path)
	if first.Status != 200 || strings.Count(first.Body, `class="photo"`) != 60 {
		b.Fatalf("item page: %d, %d photos", first.Status, strings.Count(first.Body, `class="photo"`))
	}
	var times []time.Duration
	// CPU time per page, a figure that holds on a shared machine, where
	// the wall-clock percentiles also count the waits for a core.
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	cpu0 := cpu()
	for b.Loop() {
		start := time.Now()
		if p := c.get(path); p.Status != 200 {
			b.Fatal(p.Status)
		}
		times = append(times, time.Since(start))
	}
	used := cpu() - cpu0
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(used.Microseconds())/1000/float64(len(times)), "cpu-ms/op")
	b.ReportMetric(float64(len(first.Body))/1024, "KiB/page")
}
