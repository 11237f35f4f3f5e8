package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/fieldsync/fieldsync/api/sheets"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// The end-to-end story runs the real server in-process on a real port,
// the real fieldctl binary against the same database, and an inspector's
// phone as the reference client over HTTP.

// built holds the commands of this module built for the tests, by name.
var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
}

// binary builds a command of this module (fieldctl, fieldsyncd) once per
// test binary and returns its path.
func binary(t *testing.T, name string) string {
	t.Helper()
	built.mu.Lock()
	defer built.mu.Unlock()
	if path, ok := built.bins[name]; ok {
		return path
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "fieldsync-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		built.dir, built.bins = dir, map[string]string{}
	}
	path := filepath.Join(built.dir, name)
	args := append([]string{"build", "-o", path}, buildFlags(name == "fieldsyncd")...)
	out, err := exec.Command("go", append(args, "github.com/fieldsync/fieldsync/cmd/"+name)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	built.bins[name] = path
	return path
}

// buildFlags are the build tags and, with race, the race detector this
// test binary was built with, read from its build settings, so that a
// command built for the tests is built as make test builds the tests
// (-tags nodynamic, -race; the packages left uninstrumented come with
// make test's GOFLAGS, which go build reads from the environment: the
// build settings keep only the last -gcflags). A race in the server
// shows in its log, which the fault tests read. fieldctl is
// built without the race detector: under it, its argon2 hashing, done
// inside the user's transaction, is slow enough that SQLite refuses the
// write (SQLITE_BUSY_SNAPSHOT) on every retry while the server commits
// beside it.
func buildFlags(race bool) []string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var flags []string
	for _, s := range info.Settings {
		switch {
		case s.Key == "-tags":
			flags = append(flags, "-tags", s.Value)
		case race && s.Key == "-race" && s.Value == "true":
			flags = append(flags, "-race")
		}
	}
	return flags
}

// story is one run of the end-to-end story on one pair of backends.
type story struct {
	t    *testing.T
	m    *Main
	base string
	// args point fieldctl at the server's database, blobs and secret.
	args   []string
	tokens map[string]string
	ids    map[string]string
}

func newStory(t *testing.T, args ...string) *story {
	t.Helper()
	args = append([]string{"-data-dir", t.TempDir(), "-secret", strings.Repeat("e2e-secret-", 4)}, args...)
	m, _, err := start(t, testConfig(t, args...))
	testenv.Require(t, "the story's backends", err)
	return &story{t: t, m: m, base: "http://" + m.Addr(), args: args, tokens: map[string]string{}, ids: map[string]string{}}
}

// ctl runs fieldctl with the server's configuration and returns its
// output and exit code.
func (s *story) ctl(stdin string, args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command(binary(s.t, "fieldctl"), append(append([]string{}, s.args...), args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "FIELDSYNC_LOG_LEVEL=warn")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return string(out), code
}

func (s *story) mustCtl(stdin string, args ...string) string {
	s.t.Helper()
	out, code := s.ctl(stdin, args...)
	if code != 0 {
		s.t.Fatalf("fieldctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// call sends one JSON request as who ("" anonymous), checks the answer
// against openapi.yaml and returns status and body.
func (s *story) call(who, method, path string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[who])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if err := contracttest.ValidateResponse(method, path, res.StatusCode, res.Header, b); err != nil {
		s.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%.500s", method, path, res.StatusCode, err, b)
	}
	return res.StatusCode, b
}

func (s *story) must(want int, who, method, path string, body any) map[string]any {
	s.t.Helper()
	code, b := s.call(who, method, path, body)
	if code != want {
		s.t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, who, code, want, b)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return m
}

func (s *story) refused(want int, code, who, method, path string, body any) {
	s.t.Helper()
	got, b := s.call(who, method, path, body)
	var p struct{ Code string }
	json.Unmarshal(b, &p)
	if got != want || p.Code != code {
		s.t.Errorf("%s %s as %s: %d %q, want %d %q: %s", method, path, who, got, p.Code, want, code, b)
	}
}

func (s *story) login(who, password string) {
	s.t.Helper()
	tok := s.must(200, "", "POST", "/v1/auth/login", map[string]any{"username": who, "password": password, "device_id": uuid.NewString()})
	s.tokens[who] = tok["access_token"].(string)
}

// device is an inspector's phone: the reference client with its own store.
func (s *story) device(who, password string) *contract.Client {
	s.t.Helper()
	c := contract.New(contract.Config{BaseURL: s.base, DeviceID: uuid.NewString(), DeviceName: who + "'s phone",
		Store: contract.NewMemoryStore(), Retry: contract.RetryPolicy{Attempts: 3, Base: 10 * time.Millisecond}})
	if err := c.Login(context.Background(), who, password); err != nil {
		s.t.Fatal(err)
	}
	return c
}

func photo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "photos", name))
	if err != nil {
		t.Fatalf("test photo %s (testdata/photos): %v", name, err)
	}
	return b
}

// fieldVisit is what the phone records offline at one task: start it,
// photograph the site, record the verification naming the photos; then,
// back online, it pushes and uploads.
func (s *story) fieldVisit(phone *contract.Client, taskID, conclusion string, photos ...string) []string {
	s.t.Helper()
	ctx := context.Background()
	at := time.Now().UTC()
	var ids []string
	for range photos {
		ids = append(ids, uuid.NewString())
	}
	for _, m := range []struct {
		name string
		args any
	}{
		{contract.MutTaskStart, map[string]any{"task_id": taskID}},
		{contract.MutVerificationRecord, map[string]any{"id": uuid.NewString(), "task_id": taskID, "conclusion": conclusion,
			"notes": "排口已封堵，现场无异味", "location": map[string]any{"lat": 43.46720, "lng": 11.88490, "accuracy_m": 8, "mocked": false},
			"recorded_at": at, "evidence_ids": ids}},
	} {
		if _, err := phone.Enqueue(m.name, m.args); err != nil {
			s.t.Fatal(err)
		}
	}
	// Back online: the records first (the photos are then pending), then
	// the bytes.
	if err := phone.Sync(ctx); err != nil {
		s.t.Fatal(err)
	}
	for i, name := range photos {
		rec, err := phone.UploadEvidence(ctx, contract.EvidenceDeclaration{ID: ids[i], TaskID: taskID, ContentType: "image/jpeg",
			CapturedAt: &at, Location: &contract.EvidenceLocation{Lat: 43.46720, Lng: 11.88490, AccuracyM: 8}}, photo(s.t, name))
		if err != nil {
			s.t.Fatalf("upload %s: %v", name, err)
		}
		var e struct{ Status string }
		json.Unmarshal(rec, &e)
		if e.Status != "verified" {
			s.t.Fatalf("photo %s is %s: %s", name, e.Status, rec)
		}
	}
	return ids
}

// task finds the phone's task of a kind, optionally the rework of a
// decision, among the records it synced.
func task(t *testing.T, phone *contract.Client, kind, reworkOf string) map[string]any {
	t.Helper()
	for _, raw := range phone.Records("tasks") {
		var tk map[string]any
		json.Unmarshal(raw, &tk)
		if tk["kind"] == kind && tk["status"] != "cancelled" && (reworkOf == "" && tk["rework_of"] == nil || tk["rework_of"] == reworkOf) &&
			(kind == "progress_check" || reworkOf != "" || tk["round_id"] != nil) {
			return tk
		}
	}
	t.Fatalf("the phone has no %s task (rework of %q) among %d", kind, reworkOf, len(phone.Records("tasks")))
	return nil
}

// TestEndToEnd runs the whole story on the embedded default and on MySQL
// with MinIO.
func TestEndToEnd(t *testing.T) {
	t.Run("sqlite+local", func(t *testing.T) { runStory(t, newStory(t)) })
	t.Run("mysql+minio", func(t *testing.T) {
		s3 := testenv.MinIO(t)
		dsn := storagetest.FreshMySQL(t)
		runStory(t, newStory(t, "-mysql-dsn", dsn, "-s3-endpoint", s3.Endpoint, "-s3-access-key", s3.AccessKey,
			"-s3-secret-key", s3.SecretKey, "-s3-bucket", "fieldsync-e2e-"+strings.ToLower(uuid.NewString()[:8])))
	})
}

func runStory(t *testing.T, s *story) {
	const pw = "e2e-password-1"
	// The city and its people: the first admin with fieldctl, the rest
	// through the API.
	s.mustCtl("", "unit", "add", "-code", "CITY", "-name", "江城市", "-kind", "city")
	s.mustCtl(pw+"\n", "user", "add", "-username", "admin", "-role", "admin", "-unit", "CITY")
	s.login("admin", pw)
	city := s.must(200, "admin", "GET", "/v1/units", nil)["items"].([]any)[0].(map[string]any)["id"]
	unit := func(code, name, kind string, parent any) string {
		return s.must(201, "admin", "POST", "/v1/units", map[string]any{"code": code, "name": name, "kind": kind, "parent_id": parent})["id"].(string)
	}
	east, west := unit("EAST", "东湖区", "county", city), unit("WEST", "西山县", "county", city)
	epb := unit("EAST-EPB", "东湖区生态环境分局", "department", east)
	user := func(name, role, unitID, display, phone string) {
		s.must(201, "admin", "POST", "/v1/users", map[string]any{"username": name, "password": pw, "role": role, "unit_id": unitID,
			"display_name": display, "phone": phone})
		s.login(name, pw)
	}
	user("sup-east", "supervisor", east, "王督办", "13911112222")
	user("sup-west", "supervisor", west, "赵督办", "13933334444")
	user("lead-east", "unit_lead", east, "钱区长", "13955556666")
	user("insp", "inspector", epb, "孙核查", "13977778888")
	s.ids["insp"] = s.must(200, "insp", "GET", "/v1/me", nil)["id"].(string)
	site := s.must(201, "admin", "POST", "/v1/sites", map[string]any{"unit_id": east, "name": "城北排口", "kind": "sewage_outfall",
		"lat": 43.4672, "lng": 11.8849, "radius_m": 100})["id"].(string)
	tmpl := s.must(201, "admin", "POST", "/v1/templates", map[string]any{"name": "排口核查", "questions": []map[string]any{
		{"id": "q1", "text": "排口是否封堵", "type": "yes_no", "required": true}}})["id"].(string)
	item := s.importItems()
	itemPath := "/v1/items/" + item

	// A progress check, done offline with real photos.
	s.must(201, "sup-east", "POST", "/v1/tasks", map[string]any{"item_id": item, "site_id": site, "kind": "progress_check",
		"template_id": tmpl, "window_start": time.Now().Add(-time.Hour), "due_at": time.Now().AddDate(0, 0, 7), "assignee_id": s.ids["insp"]})
	phone := s.device("insp", pw)
	ctx := context.Background()
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.fieldVisit(phone, task(t, phone, "progress_check", "")["id"].(string), "partially_rectified", "DSCN0010.jpg")

	// The unit submits; the phone receives the acceptance check and
	// verifies; the supervisor rejects with reasons.
	version := s.must(200, "admin", "GET", itemPath, nil)["version"]
	s.must(201, "lead-east", "POST", itemPath+"/submit", map[string]any{"statement": "截污纳管已完工", "version": version,
		"inspector_ids": []string{s.ids["insp"]}})
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.fieldVisit(phone, task(t, phone, "acceptance_check", "")["id"].(string), "rectified", "DSCN0012.jpg")
	review := s.must(200, "sup-east", "GET", itemPath+"/review", nil)
	rejection := s.must(201, "sup-east", "POST", itemPath+"/decisions", map[string]any{"decision": "reject",
		"reasons": []string{"未拍摄排口封堵近景"}, "required_evidence": "排口近景照片", "evidence_digest": review["evidence_digest"]})

	// The rework reaches the phone with the reasons; it is done, the
	// unit resubmits, the supervisor acknowledges every flag and accepts.
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rework := task(t, phone, "acceptance_check", rejection["id"].(string))
	if reasons := rework["reasons"].([]any); len(reasons) != 1 || reasons[0] != "未拍摄排口封堵近景" || rework["required_evidence"] != "排口近景照片" {
		t.Fatalf("rework on the phone: %v", rework)
	}
	if _, ok := phone.Records("decisions")[rejection["id"].(string)]; !ok {
		t.Fatalf("the phone did not receive the rejection")
	}
	s.fieldVisit(phone, rework["id"].(string), "rectified", "DSCN0021.jpg", "DSCN0025.jpg")
	version = s.must(200, "admin", "GET", itemPath, nil)["version"]
	s.must(201, "lead-east", "POST", itemPath+"/submit", map[string]any{"statement": "已补拍排口近景", "version": version})
	review = s.must(200, "sup-east", "GET", itemPath+"/review", nil)
	flags := review["flags_to_acknowledge"].([]any)
	if review["acceptable"] != true || len(flags) == 0 {
		t.Fatalf("review before acceptance: acceptable %v, blockers %v, flags %v", review["acceptable"], review["blockers"], flags)
	}
	var acks []map[string]any
	for _, f := range flags {
		f := f.(map[string]any)
		acks = append(acks, map[string]any{"evidence_id": f["evidence_id"], "verification_id": f["verification_id"], "code": f["code"], "comment": "已现场复核"})
	}
	accept := map[string]any{"decision": "accept", "comment": "同意销号", "evidence_digest": review["evidence_digest"], "flag_acks": acks}
	s.refused(404, "not_found", "sup-west", "POST", itemPath+"/decisions", accept)
	s.refused(404, "not_found", "sup-west", "GET", itemPath+"/review", nil)
	s.refused(403, "forbidden", "insp", "POST", itemPath+"/decisions", accept)
	s.must(201, "sup-east", "POST", itemPath+"/decisions", accept)
	if it := s.must(200, "lead-east", "GET", itemPath, nil); it["status"] != "accepted" || it["closed_at"] == nil {
		t.Fatalf("the item after acceptance: %v", it)
	}
	s.publicLeaksNothing(review)
	s.packVerifies(item)
	s.auditChainHolds()
}

// importItems writes the inspection's items as a ledger spreadsheet and
// imports it with fieldctl: a file with a bad row writes nothing; the good
// one creates the items. It returns the id of the first.
func (s *story) importItems() string {
	t := s.t
	deadline := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	row := map[string]string{"问题编号": "DC-E2E-1", "问题名称": "城北排口污水直排", "问题来源": "第三轮中央生态环境保护督察",
		"问题类别": "水污染", "整改目标": "消除直排", "整改措施": "截污纳管", "责任单位编码": "EAST", "责任单位": "东湖区",
		"第一责任人": "钱区长", "具体责任人": "李科长", "整改时限": deadline, "督办级别": "重点督办", "是否重点问题": "是"}
	second := map[string]string{}
	for k, v := range row {
		second[k] = v
	}
	second["问题编号"], second["问题名称"] = "DC-E2E-2", "西山县垃圾堆场渗滤液"
	bad := map[string]string{}
	for k, v := range second {
		bad[k] = v
	}
	bad["责任单位编码"], bad["责任单位"] = "NOWHERE", "不存在的单位"
	dir := t.TempDir()
	write := func(name string, rows ...map[string]string) string {
		f := excelize.NewFile()
		var headers []string
		for _, c := range sheets.Columns {
			if c.Field != "" {
				headers = append(headers, c.Header)
			}
		}
		for i, h := range headers {
			cell, _ := excelize.CoordinatesToCellName(i+1, 1)
			f.SetCellValue("Sheet1", cell, h)
			for r, row := range rows {
				cell, _ := excelize.CoordinatesToCellName(i+1, r+2)
				f.SetCellValue("Sheet1", cell, row[h])
			}
		}
		path := filepath.Join(dir, name)
		if err := f.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	out, code := s.ctl("", "import", "items", write("bad.xlsx", row, bad))
	if code == 0 || !strings.Contains(out, "第 3 行：") || !strings.Contains(out, "unknown_unit") {
		t.Fatalf("importing a file with a bad row: exit %d\n%s", code, out)
	}
	if items := s.must(200, "admin", "GET", "/v1/items", nil)["items"].([]any); len(items) != 0 {
		t.Fatalf("a refused import wrote %d items", len(items))
	}
	s.mustCtl("", "import", "items", write("good.xlsx", row, second))
	items := s.must(200, "admin", "GET", "/v1/items?supervision_level=key", nil)["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("the import made %d items: %v", len(items), items)
	}
	for _, it := range items {
		if it := it.(map[string]any); it["code"] == "DC-E2E-1" {
			return it["id"].(string)
		}
	}
	t.Fatal("DC-E2E-1 was not imported")
	return ""
}

// packVerifies exports the item's evidence pack, verifies it with
// fieldctl, and changes one byte of each file in turn: every change is
// caught and the file named.
func (s *story) packVerifies(item string) {
	t := s.t
	req, _ := http.NewRequest("GET", s.base+"/v1/items/"+item+"/evidence-pack", nil)
	req.Header.Set("Authorization", "Bearer "+s.tokens["sup-east"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("evidence pack: %d %s", res.StatusCode, zipped)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "pack.zip")
	os.WriteFile(good, zipped, 0o600)
	out := s.mustCtl("", "verify-pack", good)
	t.Logf("fieldctl verify-pack:\n%s", out)
	if !strings.Contains(out, "校验通过：") || strings.Contains(out, "校验未通过") || !regexp.MustCompile(`验收销号 .* 基于本证据作出`).MatchString(out) {
		t.Fatalf("verify-pack on the exported pack:\n%s", out)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range zr.File {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range zr.File {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if f.Name == target.Name {
				b[len(b)/2] ^= 0x01
			}
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method})
			w.Write(b)
		}
		zw.Close()
		bad := filepath.Join(dir, "changed.zip")
		os.WriteFile(bad, buf.Bytes(), 0o600)
		out, code := s.ctl("", "verify-pack", bad)
		if code == 0 || !strings.Contains(out, target.Name) && target.Name != "manifest.json" && target.Name != "manifest.sig" {
			t.Errorf("a byte changed in %s: verify-pack exit %d\n%s", target.Name, code, out)
		}
	}
}

// auditChainHolds verifies the audit chain with fieldctl, then deletes
// one entry behind the server's back: verify must fail and name it.
func (s *story) auditChainHolds() {
	t := s.t
	out := s.mustCtl("", "audit", "verify")
	if !strings.Contains(out, "审计链完整：") {
		t.Fatalf("fieldctl audit verify: %s", out)
	}
	var n int64
	if err := s.m.DB.Gorm().Raw("SELECT COUNT(*) FROM audit_log WHERE seq IS NOT NULL").Scan(&n).Error; err != nil || n < 20 {
		t.Fatalf("the chain holds %d entries (%v)", n, err)
	}
	if err := s.m.DB.Gorm().Exec("DELETE FROM audit_log WHERE seq = ?", n/2).Error; err != nil {
		t.Fatal(err)
	}
	out, code := s.ctl("", "audit", "verify")
	if code == 0 || !strings.Contains(out, fmt.Sprint(n/2)) {
		t.Fatalf("audit verify after deleting entry %d: exit %d\n%s", n/2, code, out)
	}
}

// publicLeaksNothing publishes one photo of the accepted item and reads
// every public endpoint as an anonymous visitor: no name, phone number,
// user id or exact coordinate may appear, nor the photo's metadata.
func (s *story) publicLeaksNothing(review map[string]any) {
	t := s.t
	ev := review["evidence"].([]any)
	photoID := ev[len(ev)-1].(map[string]any)["id"].(string)
	s.must(200, "sup-east", "POST", "/v1/evidence/"+photoID+"/public", map[string]any{"public": true})
	var bodies [][]byte
	for _, path := range []string{"/v1/public/progress", "/v1/public/items", "/v1/public/photos/" + photoID} {
		code, b := s.call("", "GET", path, nil)
		if code != 200 {
			t.Fatalf("GET %s anonymously: %d %s", path, code, b)
		}
		bodies = append(bodies, b)
	}
	if !bytes.Contains(bodies[1], []byte(photoID)) || !bytes.Contains(bodies[1], []byte("DC-E2E-1")) {
		t.Fatalf("the public list lacks the accepted item or its photo: %s", bodies[1])
	}
	private := []string{"王督办", "赵督办", "钱区长", "孙核查", "李科长", "sup-east", "lead-east", "insp", "1391111", "1395555", "1397777",
		"43.4672", "11.8849", "43.46", "11.884", s.ids["insp"], "Exif", "NIKON"}
	for i, b := range bodies {
		for _, p := range private {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("public response %d contains %q", i, p)
			}
		}
	}
	if bytes.Equal(bodies[2], photo(t, "DSCN0025.jpg")) || bytes.Equal(bodies[2], photo(t, "DSCN0021.jpg")) {
		t.Errorf("the public photo is the original file")
	}
}
