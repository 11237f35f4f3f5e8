package api_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestAudit: the API's writes leave audit entries, GET /v1/audit reads
// them with filters and pages, admins only, and the chain verifies.
func TestAudit(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testAudit(t, newEnv(t, dialect)) })
	}
}

// auditList reads one filtered page as admin, chaining first (the server
// does it on a ticker).
func (e *env) auditList(query string) (items []map[string]any, next string) {
	e.t.Helper()
	if _, err := audit.New(e.svc).ChainAudit(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	page := e.must(200, "admin", "GET", "/v1/audit?"+query, nil)
	for _, it := range page["items"].([]any) {
		items = append(items, it.(map[string]any))
	}
	next, _ = page["next_page_token"].(string)
	return items, next
}

// one reads the entries matching query and fails unless there is exactly
// one.
func (e *env) auditOne(query string) map[string]any {
	e.t.Helper()
	items, _ := e.auditList(query)
	if len(items) != 1 {
		e.t.Fatalf("GET /v1/audit?%s: %d entries, want 1: %v", query, len(items), items)
	}
	return items[0]
}

func detail(it map[string]any) map[string]any { return it["detail"].(map[string]any) }

func fieldsOf(it map[string]any) []string {
	var out []string
	for _, f := range detail(it)["fields"].([]any) {
		out = append(out, f.(string))
	}
	return out
}

func testAudit(t *testing.T, e *env) {
	f := e.fx
	q := url.QueryEscape
	start := e.now

	// Signing in, well and badly.
	insp1Device := e.must(200, "insp1", "GET", "/v1/me", nil)["device_id"].(string)
	if r := e.do("", "POST", "/v1/auth/login", map[string]any{"username": "insp1", "password": "wrong-password", "device_id": uuid.NewString()}); r.Status != 401 {
		t.Fatalf("bad password: %d %s", r.Status, r.Body)
	}
	if r := e.do("", "POST", "/v1/auth/login", map[string]any{"username": "nobody", "password": "wrong-password", "device_id": uuid.NewString()}); r.Status != 401 {
		t.Fatalf("unknown user: %d %s", r.Status, r.Body)
	}
	logins, _ := e.auditList("action=auth.login&entity=users&record_id=" + f.users["insp1"].ID)
	if len(logins) != 1 || logins[0]["actor"].(map[string]any)["device_id"] != insp1Device || detail(logins[0])["session_id"] == "" {
		t.Fatalf("insp1's sign-in: %v", logins)
	}
	failed, _ := e.auditList("action=auth.login_failed")
	if len(failed) != 2 {
		t.Fatalf("two refused sign-ins, got %v", failed)
	}
	if failed[0]["record_id"] != f.users["insp1"].ID || detail(failed[0])["code"] != "bad_credentials" || detail(failed[0])["username"] != "insp1" {
		t.Errorf("refused sign-in of a known user: %v", failed[0])
	}
	if failed[1]["record_id"] != "" || detail(failed[1])["username"] != "nobody" || failed[1]["actor"].(map[string]any)["id"] != "" {
		t.Errorf("refused sign-in of an unknown user: %v", failed[1])
	}

	// A revoked device.
	dev := uuid.NewString()
	e.login("insp2", "password-insp2", dev)
	e.must(200, "admin", "POST", "/v1/devices/"+dev+"/revoke", nil)
	rev := e.auditOne("action=device.revoke")
	if rev["entity"] != "devices" || rev["record_id"] != dev || detail(rev)["user_id"] != f.users["insp2"].ID || rev["actor"].(map[string]any)["name"] != "admin" {
		t.Errorf("revocation: %v", rev)
	}

	// From here on the clock is ten minutes later (access tokens live 15),
	// for the time filters.
	e.now = e.now.Add(10 * time.Minute)
	later := e.now

	// An item created and changed by county A's supervisor.
	item := e.must(201, "supa", "POST", "/v1/items", map[string]any{"code": "AUD-1", "title": "扬尘治理", "source": "省级督察", "category": "扬尘",
		"target": "达标", "measures": "覆盖", "responsible_unit_id": f.countyA.ID, "first_responsible": "县长", "deadline": e.now.AddDate(1, 0, 0)})
	itemID := item["id"].(string)
	newDeadline := e.now.AddDate(1, 6, 0)
	e.must(200, "supa", "PATCH", "/v1/items/"+itemID, map[string]any{"measures": "覆盖并洒水", "deadline": newDeadline, "version": 1})
	upd := e.auditOne("action=item.update&record_id=" + itemID)
	if got := fieldsOf(upd); !slices.Equal(got, []string{"measures", "deadline"}) {
		t.Errorf("item update names %v", got)
	}
	if dl := detail(upd)["deadline"].(map[string]any); dl["to"] != newDeadline.Format(time.RFC3339Nano) {
		t.Errorf("deadline change %v, want to %s", dl, newDeadline.Format(time.RFC3339Nano))
	}
	if _, ok := detail(upd)["measures"]; ok {
		t.Errorf("free text must not be copied into the detail: %v", upd)
	}
	supaItems, _ := e.auditList("entity=items&actor_id=" + f.users["supa"].ID)
	if len(supaItems) != 2 || supaItems[0]["action"] != "item.create" || supaItems[1]["action"] != "item.update" {
		t.Errorf("supa's item entries: %v", supaItems)
	}

	// A user created and changed by the admin; no password hash anywhere.
	user := e.must(201, "admin", "POST", "/v1/users", map[string]any{"username": "auditee", "password": "first-long-password", "role": "inspector", "unit_id": f.deptA.ID})
	userID := user["id"].(string)
	e.must(200, "admin", "PATCH", "/v1/users/"+userID, map[string]any{"display_name": "审计对象", "password": "second-long-password", "disabled": true, "version": 1})
	userEntries, _ := e.auditList("entity=users&record_id=" + userID)
	if len(userEntries) != 2 || userEntries[0]["action"] != "user.create" || userEntries[1]["action"] != "user.update" {
		t.Fatalf("the user's entries: %v", userEntries)
	}
	if got := fieldsOf(userEntries[1]); !slices.Equal(got, []string{"display_name", "disabled", "password"}) {
		t.Errorf("user update names %v", got)
	}
	if d := detail(userEntries[1])["disabled"].(map[string]any); d["from"] != false || d["to"] != true {
		t.Errorf("disabled change: %v", d)
	}

	// A task created, assigned and cancelled.
	task := e.must(201, "supa", "POST", "/v1/tasks", map[string]any{"item_id": f.itemA.ID, "site_id": f.siteA.ID, "kind": "progress_check",
		"template_id": f.tmpl.ID, "window_start": e.now, "due_at": e.now.AddDate(0, 0, 3)})
	taskID := task["id"].(string)
	e.must(200, "supa", "POST", "/v1/tasks/"+taskID+"/assign", map[string]any{"assignee_id": f.users["insp2"].ID, "version": 1})
	e.must(200, "supa", "POST", "/v1/tasks/"+taskID+"/cancel", map[string]any{"version": 2})
	taskEntries, _ := e.auditList("entity=tasks&record_id=" + taskID)
	if len(taskEntries) != 3 {
		t.Fatalf("the task's entries: %v", taskEntries)
	}
	for i, want := range []string{"task.create", "task.assign", "task.cancel"} {
		if taskEntries[i]["action"] != want {
			t.Errorf("task entry %d is %v, want %s", i, taskEntries[i]["action"], want)
		}
	}
	assign := detail(taskEntries[1])
	if assign["assignee_id"].(map[string]any)["to"] != f.users["insp2"].ID || assign["status"].(map[string]any)["to"] != "assigned" {
		t.Errorf("assignment detail: %v", assign)
	}
	if st := detail(taskEntries[2])["status"].(map[string]any); st["from"] != "assigned" || st["to"] != "cancelled" {
		t.Errorf("cancellation detail: %v", st)
	}

	// The inspector's phone starts a task through sync.
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "task.start", "args": map[string]any{"task_id": f.task1.ID}}}})
	if r := res["results"].([]any)[0].(map[string]any); r["status"] != "applied" {
		t.Fatalf("task.start: %v", r)
	}
	started := e.auditOne("action=task.start")
	actor := started["actor"].(map[string]any)
	if started["record_id"] != f.task1.ID || actor["id"] != f.users["insp1"].ID || actor["role"] != "inspector" || actor["device_id"] != insp1Device {
		t.Errorf("task.start entry: %v", started)
	}
	if st := detail(started)["status"].(map[string]any); st["from"] != "assigned" || st["to"] != "in_progress" {
		t.Errorf("task.start detail: %v", st)
	}

	// Time filters: from is inclusive, to exclusive.
	before, _ := e.auditList("limit=500&to=" + q(later.Format(time.RFC3339)))
	after, _ := e.auditList("limit=500&from=" + q(later.Format(time.RFC3339)))
	for _, it := range before {
		if at, _ := time.Parse(time.RFC3339Nano, it["at"].(string)); !at.Before(later) {
			t.Errorf("entry at %s is not before %s", at, later)
		}
	}
	for _, it := range after {
		if at, _ := time.Parse(time.RFC3339Nano, it["at"].(string)); at.Before(later) {
			t.Errorf("entry at %s is before %s", at, later)
		}
	}
	if len(before) == 0 || len(after) == 0 || after[0]["action"] != "item.create" {
		t.Errorf("time filters split %d/%d, first after is %v", len(before), len(after), after[0]["action"])
	}
	window, _ := e.auditList("from=" + q(start.Format(time.RFC3339)) + "&to=" + q(later.Format(time.RFC3339)))
	if len(window) == 0 {
		t.Error("no entry in the first ten minutes")
	}

	// Every page in turn: the whole chain, gap-free and linked.
	var all []map[string]any
	query := "limit=7"
	for {
		items, next := e.auditList(query)
		all = append(all, items...)
		if next == "" {
			break
		}
		query = "limit=7&page_token=" + next
	}
	prev := models.AuditGenesis
	for i, it := range all {
		if it["seq"].(float64) != float64(i+1) || it["prev_hash"] != prev {
			t.Fatalf("entry %d: seq %v, prev_hash %v, want %s", i+1, it["seq"], it["prev_hash"], prev)
		}
		prev = it["hash"].(string)
	}
	rep, err := audit.New(e.svc).VerifyAudit(context.Background())
	if err != nil || !rep.OK || rep.Checked != int64(len(all)) || rep.Head.Hash != prev {
		t.Fatalf("verify after %d entries: %+v %v", len(all), rep, err)
	}
	t.Logf("%d entries over %d pages of 7; head %s", len(all), (len(all)+6)/7, rep.Head)
	body := string(e.do("admin", "GET", "/v1/audit?limit=500", nil).Body)
	for _, secret := range []string{"second-long-password", "first-long-password", "argon2", "wrong-password"} {
		if strings.Contains(body, secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}

	// Admins only; bad filters are 400 with their code.
	for who, want := range map[string]int{"": 401, "supa": 403, "leada": 403, "insp1": 403} {
		if r := e.do(who, "GET", "/v1/audit", nil); r.Status != want {
			t.Errorf("GET /v1/audit as %q: %d, want %d", who, r.Status, want)
		}
	}
	zero := base64.RawURLEncoding.EncodeToString([]byte("0"))
	for query, code := range map[string]string{
		"action=task.delete": "invalid_enum",
		"entity=people":      "invalid_enum",
		"record_id=42":       "invalid_id",
		"actor_id=admin":     "invalid_id",
		"from=yesterday":     "validation_failed",
		"to=2026-11-28":      "validation_failed",
		"from=2026-11-28T10:00:00Z&to=2026-11-28T09:00:00Z": "validation_failed",
		"limit=0":            "validation_failed",
		"limit=501":          "validation_failed",
		"page_token=%21%21":  "invalid_page_cursor",
		"page_token=" + zero: "invalid_page_cursor",
		"page_token=" + base64.RawURLEncoding.EncodeToString([]byte(uuid.NewString())): "invalid_page_cursor",
	} {
		r := e.do("admin", "GET", "/v1/audit?"+query, nil)
		if r.Status != 400 || r.code(t) != code {
			t.Errorf("GET /v1/audit?%s: %d %s, want 400 %s", query, r.Status, r.Body, code)
		}
	}
}

// TestAuditEvidence: completing a photo audits its verification, bound to
// the bytes' SHA-256.
func TestAuditEvidence(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	task := evidenceSite(t, e, "insp1", 0)
	ev := e.upload("insp1", task, readPhoto(t, "DSCN0010.jpg"), "image/jpeg", nil)
	if ev["status"] != "verified" {
		t.Fatalf("evidence: %v", ev)
	}
	it := e.auditOne("action=evidence.verified")
	d := detail(it)
	if it["record_id"] != ev["id"] || d["sha256"] != ev["sha256"] || d["task_id"] != task.ID || d["flags"] == nil {
		t.Fatalf("evidence.verified entry: %v", it)
	}
	if st := d["status"].(map[string]any); st["from"] != "pending" || st["to"] != "verified" {
		t.Errorf("status change %v", st)
	}
}
