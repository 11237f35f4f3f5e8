package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// bodyless are the writing routes that read no JSON body, and why.
var bodyless = map[string]string{
	"PUT /v1/evidence/:id/content":             "the file's bytes",
	"PUT /v1/blobs/:token":                     "the file's bytes",
	"POST /v1/evidence/:id/complete":           "no body",
	"POST /v1/evidence/:id/multipart":          "no body",
	"POST /v1/evidence/:id/multipart/complete": "no body",
	"POST /v1/auth/logout":                     "no body",
	"POST /v1/devices/:id/revoke":              "no body",
	"POST /v1/items/import":                    "the ledger file (XLSX or CSV)",
}

// jsonCaller is who may send each JSON route, so that a refusal comes
// from the body and not from the caller; the admin otherwise.
var jsonCaller = map[string]string{
	"POST /v1/auth/login": "", "POST /v1/auth/refresh": "", "POST /v1/evidence": "insp1",
	"POST /v1/sync/pull": "insp1", "POST /v1/sync/push": "insp1",
}

// TestAttackJSON sends every route that reads a JSON body (from the app's
// routes; a new one is covered at once) a body nested deeper than 32
// levels and one over the body limit; then huge arrays and long strings
// within the limit to the routes that take arrays and text. Each is
// refused with its code, quickly, and nothing is written.
func TestAttackJSON(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dialect)
			dir := localStore(t, e)
			submitted := submittedItem(t, e)
			before := e.snapshot(t, dir)
			t.Run("EveryRoute", func(t *testing.T) { testJSONEveryRoute(t, e) })
			t.Run("HugeArrays", func(t *testing.T) { testJSONHugeArrays(t, e, submitted) })
			t.Run("LongStrings", func(t *testing.T) { testJSONLongStrings(t, e, submitted) })
			unchanged(t, "hostile JSON", before, e.snapshot(t, dir))
		})
	}
}

// concrete fills a route's parameters with records of the fixture.
func concrete(e *env, method, route string) string {
	id := map[string]string{
		"/v1/units/": e.fx.countyA.ID, "/v1/users/": e.fx.users["insp2"].ID, "/v1/items/": e.fx.itemA.ID, "/v1/sites/": e.fx.siteA.ID,
		"/v1/templates/": e.fx.tmpl.ID, "/v1/tasks/": e.fx.task1.ID, "/v1/evidence/": uuid.NewString(),
	}
	for prefix, v := range id {
		if strings.HasPrefix(route, prefix) {
			return strings.Replace(route, ":id", v, 1)
		}
	}
	return route
}

// quick sends a request and logs how long the refusal took. Hostile JSON
// must be cheap to refuse, but a wall-clock bound in a test fails on a
// loaded machine, not on a slow server: the time is logged for a person
// to read, and the refusal's cost belongs in a benchmark.
func (e *env) quick(who, method, path string, body any) response {
	e.t.Helper()
	start := time.Now()
	r := e.do(who, method, path, body)
	e.t.Logf("%s %s answered %d in %v", method, path, r.Status, time.Since(start).Round(time.Millisecond))
	return r
}

func testJSONEveryRoute(t *testing.T, e *env) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	deepArrays := `{"mutations":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}"
	oversized := `{"name":"` + strings.Repeat("长", 400000) + `"}`
	seen, tested := map[string]bool{}, 0
	for _, r := range e.srv.App().GetRoutes(true) {
		route := r.Method + " " + r.Path
		if r.Method == "GET" || r.Method == "HEAD" || seen[route] {
			continue
		}
		seen[route] = true
		if _, ok := bodyless[route]; ok {
			continue
		}
		who, ok := jsonCaller[route]
		if !ok {
			who = "admin"
		}
		path := concrete(e, r.Method, r.Path)
		for name, body := range map[string]string{"nested 40 deep": deep, "arrays nested 100 deep": deepArrays} {
			refusedWith(t, route+" "+name, e.quick(who, r.Method, path, body), nil, "malformed_json")
		}
		refusedWith(t, route+" over the body limit", e.quick(who, r.Method, path, oversized), nil, "body_too_large")
		tested++
	}
	t.Logf("%d routes read a JSON body", tested)
	for route := range bodyless {
		if !seen[route] && route != "PUT /v1/blobs/:token" { // served only with the local presigner
			t.Errorf("bodyless lists %s, which is not a route", route)
		}
	}
}

// ids is n UUIDs as a JSON array.
func ids(n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%08d-0000-4000-8000-000000000000"`, i)
	}
	b.WriteByte(']')
	return b.String()
}

// testJSONHugeArrays: submitted is an item waiting for acceptance.
func testJSONHugeArrays(t *testing.T, e *env, submitted string) {
	f := e.fx
	client := uuid.NewString()
	push := func(args string) string {
		return `{"client_id":"` + client + `","schema_version":1,"mutations":[{"id":1,"name":"verification.record","args":` + args + `}]}`
	}
	verification := func(evidence string) string {
		return `{"id":"` + uuid.NewString() + `","task_id":"` + f.task1.ID + `","conclusion":"rectified","notes":"","location":{"lat":29.7,"lng":116,"accuracy_m":5,"mocked":false},"recorded_at":"2026-11-28T09:00:00Z","evidence_ids":` + evidence + `}`
	}
	// A million ids cannot be sent at all.
	refusedWith(t, "a push with 10^6 evidence ids", e.quick("insp1", "POST", "/v1/sync/push", push(verification(ids(1_000_000)))), nil, "body_too_large")
	// As many as fit: the mutation is rejected, not applied in part.
	r := e.quick("insp1", "POST", "/v1/sync/push", push(verification(ids(25_000))))
	if r.Status != 200 {
		t.Fatalf("push with 25,000 evidence ids: %d %s", r.Status, r.Body)
	}
	if res := r.json(t)["results"].([]any)[0].(map[string]any); res["status"] != "rejected" || res["code"] != "validation_failed" {
		t.Errorf("verification with 25,000 evidence ids: %v", res)
	}
	many := make([]map[string]any, 20_000)
	for i := range many {
		many[i] = map[string]any{"id": i + 1, "name": "task.start", "args": map[string]any{}}
	}
	refusedWith(t, "a push of 20,000 mutations", e.quick("insp1", "POST", "/v1/sync/push", map[string]any{"client_id": client, "schema_version": 1, "mutations": many}), nil, "batch_too_large")

	digest := digest(e, submitted)
	acks := make([]map[string]any, 8_000)
	for i := range acks {
		acks[i] = map[string]any{"evidence_id": uuid.NewString(), "code": "no_exif_gps", "comment": "已核实"}
	}
	for name, c := range map[string]struct {
		path string
		body any
		code []string
	}{
		"a decision with 8,000 flag acknowledgements": {"/v1/items/" + submitted + "/decisions",
			map[string]any{"decision": "accept", "comment": "同意", "evidence_digest": digest, "flag_acks": acks}, []string{"flag_ack_unknown", "acceptance_blocked"}},
		"a rejection with 20,000 reasons": {"/v1/items/" + submitted + "/decisions",
			map[string]any{"decision": "reject", "reasons": strings.Split(strings.Repeat("原因,", 20_000), ","), "evidence_digest": digest}, []string{"validation_failed"}},
		"a submission naming 20,000 inspectors": {"/v1/items/" + f.itemA.ID + "/submit",
			json.RawMessage(`{"statement":"已完成","version":1,"inspector_ids":` + ids(20_000) + `}`), []string{"validation_failed"}},
		"a template of 10,000 questions": {"/v1/templates", map[string]any{"name": "表", "questions": questions(10_000)}, []string{"template_invalid", "validation_failed"}},
		"a polygon of 50,000 points": {"/v1/sites", map[string]any{"unit_id": f.countyA.ID, "name": "堆场", "kind": "waste_yard", "lat": 29.7, "lng": 116,
			"polygon": map[string]any{"type": "Polygon", "coordinates": [][][]float64{points(50_000)}}}, []string{"polygon_too_many_points"}},
		"an item with 20,000 cooperating units": {"/v1/items", json.RawMessage(`{"code":"HUGE-1","title":"t","source":"s","category":"c","target":"t","measures":"m","responsible_unit_id":"` + f.countyA.ID + `","first_responsible":"p","deadline":"2027-01-01T00:00:00Z","cooperating_unit_ids":` + ids(20_000) + `}`), []string{"validation_failed", "not_found"}},
	} {
		body := c.body
		if raw, ok := body.(json.RawMessage); ok {
			body = []byte(raw)
		}
		refusedWith(t, name, e.quick("admin", "POST", c.path, body), nil, c.code...)
	}
}

// submittedItem is an item of county A waiting for acceptance, so that
// decisions on it reach their checks of the body.
func submittedItem(t *testing.T, e *env) string {
	t.Helper()
	f := e.fx
	it := must(items.New(e.svc).CreateItem(context.Background(), system, items.ItemInput{Code: ptr("SUB-" + uuid.NewString()[:8]), Title: ptr("验收"),
		Source: ptr("督察"), Category: ptr("水"), Target: ptr("达标"), Measures: ptr("整治"), ResponsibleUnitID: &f.countyA.ID,
		FirstResponsible: ptr("县长"), Deadline: models.At(e.now.AddDate(0, 3, 0))}))
	admin := models.Actor{UserID: f.users["admin"].ID, Role: models.RoleAdmin, UnitPath: f.root.Path}
	must(acceptance.New(e.svc).SubmitForAcceptance(context.Background(), admin, it.ID, acceptance.SubmitInput{Statement: ptr("已完成"), Version: ptr(int64(1)),
		InspectorIDs: []string{f.users["insp1"].ID}, SiteIDs: []string{f.siteA.ID}, TemplateID: &f.tmpl.ID}))
	return it.ID
}

func questions(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprintf("q%d", i), "text": "是否整改", "type": "yes_no"}
	}
	return out
}

func points(n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = []float64{116 + float64(i)*1e-6, 29.7}
	}
	return out
}

func testJSONLongStrings(t *testing.T, e *env, submitted string) {
	f := e.fx
	long := strings.Repeat("长", 300_000) // 900 KB: within the body limit
	for name, c := range map[string]struct {
		who, path string
		body      map[string]any
		code      string
	}{
		"a 900 KB password":      {"", "/v1/auth/login", map[string]any{"username": "insp1", "password": long, "device_id": uuid.NewString()}, "bad_credentials"},
		"a 900 KB username":      {"", "/v1/auth/login", map[string]any{"username": long, "password": "x", "device_id": uuid.NewString()}, "bad_credentials"},
		"a 900 KB refresh token": {"", "/v1/auth/refresh", map[string]any{"refresh_token": long}, "refresh_token_invalid"},
		"a 900 KB item title": {"admin", "/v1/items", map[string]any{"code": "LONG-1", "title": long, "source": "s", "category": "c", "target": "t",
			"measures": "m", "responsible_unit_id": f.countyA.ID, "first_responsible": "p", "deadline": e.now.AddDate(0, 1, 0)}, "validation_failed"},
		"a 900 KB site name": {"admin", "/v1/sites", map[string]any{"unit_id": f.countyA.ID, "name": long, "kind": "waste_yard", "lat": 29.7, "lng": 116, "radius_m": 80}, "validation_failed"},
		"a 900 KB statement": {"admin", "/v1/items/" + f.itemA.ID + "/submit", map[string]any{"statement": long, "version": 1, "inspector_ids": []string{f.users["insp1"].ID}}, "validation_failed"},
		"a 900 KB cursor":    {"insp1", "/v1/sync/pull", map[string]any{"client_id": uuid.NewString(), "cursor": long, "schema_version": 1}, "sync_cursor_invalid"},
		"a 900 KB client id": {"insp1", "/v1/sync/pull", map[string]any{"client_id": long, "cursor": nil, "schema_version": 1}, "invalid_id"},
		"a 900 KB unit name": {"admin", "/v1/units", map[string]any{"code": "LONG", "name": long, "kind": "department", "parent_id": f.countyA.ID}, "validation_failed"},
		"a 900 KB decision":  {"admin", "/v1/items/" + submitted + "/decisions", map[string]any{"decision": "reject", "reasons": []string{long}, "evidence_digest": digest(e, submitted)}, "validation_failed"},
		"a 900 KB evidence id": {"insp1", "/v1/evidence", map[string]any{"id": long, "task_id": f.task1.ID, "kind": "photo", "sha256": strings.Repeat("a", 64),
			"size": 1, "content_type": "image/jpeg", "captured_at": e.now}, "invalid_id"},
	} {
		refusedWith(t, name, e.quick(c.who, "POST", c.path, c.body), nil, c.code)
	}
	r := e.quick("insp1", "POST", "/v1/sync/push", map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "note.add", "args": map[string]any{"id": uuid.NewString(), "task_id": f.task1.ID, "text": long}}}})
	if res := r.json(t)["results"].([]any)[0].(map[string]any); r.Status != 200 || res["status"] != "rejected" || res["code"] != "validation_failed" {
		t.Errorf("a 900 KB note: %d %v", r.Status, res)
	}
}
