package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// victims are insp1's records in county A, on an item of their own that no
// other inspector works on, so that every caller but insp1, the admin and
// county A's supervisor and lead is a stranger to them.
type victims struct {
	item        models.RectificationItem
	site        models.Site
	tmpl        models.ChecklistTemplate
	task        models.InspectionTask
	device      string
	photo       string // verified evidence
	pending     string // declared evidence, no bytes yet
	pendingData []byte
	verif       string
	note        string
	answer      string
	extension   string // a pending deadline extension of the item
	// secrets are strings of the victims' that no refusal may show.
	secrets []string
}

const secretMark = "机密"

func newVictims(t *testing.T, e *env) victims {
	t.Helper()
	ctx := context.Background()
	f := e.fx
	var v victims
	v.item = must(items.New(e.svc).CreateItem(ctx, system, items.ItemInput{Code: ptr("IDOR-C"), Title: ptr(secretMark + "整改事项"), Source: ptr("督察"),
		Category: ptr("水"), Target: ptr("达标"), Measures: ptr(secretMark + "措施"), ResponsibleUnitID: &f.countyA.ID, FirstResponsible: ptr("县长"),
		Deadline: models.At(e.now.AddDate(0, 3, 0))}))
	v.site = must(items.New(e.svc).CreateSite(ctx, system, items.SiteInput{UnitID: &f.countyA.ID, Name: ptr(secretMark + "排口"), Kind: ptr("sewage_outfall"),
		Lat: ptr(43.4672), Lng: ptr(11.8849), RadiusM: ptr(100.0)}))
	v.tmpl = must(items.New(e.svc).CreateTemplate(ctx, system, items.TemplateInput{Name: ptr(secretMark + "核查表"), Questions: &[]models.Question{
		{ID: "q1", Text: "排口是否封堵", Type: models.QuestionYesNo}, {ID: "p1", Text: "封堵照片", Type: models.QuestionPhoto}}}))
	v.task = must(items.New(e.svc).CreateTask(ctx, system, items.TaskInput{ItemID: &v.item.ID, SiteID: &v.site.ID, Kind: ptr(models.TaskProgressCheck),
		TemplateID: &v.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)), AssigneeID: ptr(f.users["insp1"].ID)}))
	v.device = uuid.NewString()
	e.tokens["insp1"] = e.login("insp1", "password-insp1", v.device)["access_token"].(string)

	photo := readPhoto(t, "DSCN0010.jpg")
	v.photo = e.upload("insp1", v.task, photo, "image/jpeg", nil)["id"].(string)
	v.pendingData = []byte("a document that is declared but not sent")
	d := declaration(e, v.task.ID, v.pendingData)
	d["kind"], d["content_type"] = "document", "application/pdf"
	v.pending = d["id"].(string)
	e.must(201, "insp1", "POST", "/v1/evidence", d)
	v.verif, v.note, v.answer = uuid.NewString(), uuid.NewString(), uuid.NewString()
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "verification.record", "args": map[string]any{"id": v.verif, "task_id": v.task.ID, "conclusion": "rectified",
			"notes": secretMark + "记录", "location": map[string]any{"lat": 43.4672, "lng": 11.8849, "accuracy_m": 5, "mocked": false},
			"recorded_at": e.now, "evidence_ids": []string{v.photo}}},
		{"id": 2, "name": "note.add", "args": map[string]any{"id": v.note, "task_id": v.task.ID, "text": secretMark + "备注"}},
		{"id": 3, "name": "checklist.answer", "args": map[string]any{"id": v.answer, "task_id": v.task.ID, "question_id": "q1", "value": true}},
	}})
	for _, r := range res["results"].([]any) {
		if r.(map[string]any)["status"] != "applied" {
			t.Fatalf("victims' push: %v", res)
		}
	}
	v.extension = must(acceptance.New(e.svc).RequestExtension(ctx, system, v.item.ID, models.ExtensionRequest{
		Deadline: models.At(e.now.AddDate(0, 6, 0)), Reason: ptr(secretMark + "延期理由")})).ID
	sum := sha256.Sum256(photo)
	v.secrets = []string{secretMark, v.item.Code, hex.EncodeToString(sum[:]), "13800000000"}
	return v
}

// idorCase is one id-taking route: the path with the victims' ids, a body
// that would be accepted from someone allowed, and the callers it serves
// by design (with why), who are therefore not expected to be refused.
type idorCase struct {
	path func(v victims) string
	body func(e *env, v victims) any
	open map[string]string
}

// version reads a record's version as the admin, for bodies that must not
// be refused as stale.
func version(e *env, path string) float64 {
	return e.must(200, "admin", "GET", path, nil)["version"].(float64)
}

func byID(prefix, suffix string, id func(v victims) string) func(v victims) string {
	return func(v victims) string { return prefix + id(v) + suffix }
}

var (
	itemID    = func(v victims) string { return v.item.ID }
	photoID   = func(v victims) string { return v.photo }
	pendingID = func(v victims) string { return v.pending }
	taskID    = func(v victims) string { return v.task.ID }
)

var referenceData = "reference data every signed-in user reads"

var idorCases = map[string]idorCase{
	"POST /v1/devices/:id/revoke": {path: func(v victims) string { return "/v1/devices/" + v.device + "/revoke" }},
	"GET /v1/units/:id": {path: func(victims) string { return "" }, open: map[string]string{
		"supb": referenceData, "leadb": referenceData, "insp2": referenceData}},
	"PATCH /v1/units/:id": {path: func(victims) string { return "" }, body: func(e *env, _ victims) any {
		return map[string]any{"name": "改名", "version": version(e, "/v1/units/"+e.fx.countyA.ID)}
	}},
	"GET /v1/users/:id": {path: func(victims) string { return "" }},
	"PATCH /v1/users/:id": {path: func(victims) string { return "" }, body: func(e *env, _ victims) any {
		return map[string]any{"display_name": "改名", "version": version(e, "/v1/users/"+e.fx.users["insp1"].ID)}
	}},
	"GET /v1/items/:id": {path: byID("/v1/items/", "", itemID)},
	"PATCH /v1/items/:id": {path: byID("/v1/items/", "", itemID), body: func(e *env, v victims) any {
		return map[string]any{"measures": "改", "version": version(e, "/v1/items/"+v.item.ID)}
	}},
	"GET /v1/items/:id/evidence-pack": {path: byID("/v1/items/", "/evidence-pack", itemID)},
	"GET /v1/items/:id/review":        {path: byID("/v1/items/", "/review", itemID)},
	"GET /v1/items/:id/decisions":     {path: byID("/v1/items/", "/decisions", itemID)},
	"GET /v1/items/:id/extensions":    {path: byID("/v1/items/", "/extensions", itemID)},
	"POST /v1/items/:id/extensions": {path: byID("/v1/items/", "/extensions", itemID), body: func(e *env, _ victims) any {
		return map[string]any{"deadline": "2027-12-31", "reason": "汛期停工"}
	}, open: map[string]string{"leada": "the unit's lead asks for more time (answered 409: one request is pending)"}},
	"POST /v1/items/:id/extensions/:ext/decision": {path: func(v victims) string {
		return "/v1/items/" + v.item.ID + "/extensions/" + v.extension + "/decision"
	}, body: func(*env, victims) any { return map[string]any{"decision": "approve", "comment": "同意"} }},
	"POST /v1/items/:id/submit": {path: byID("/v1/items/", "/submit", itemID), body: func(e *env, v victims) any {
		return map[string]any{"statement": "已完成", "version": version(e, "/v1/items/"+v.item.ID), "inspector_ids": []string{e.fx.users["insp1"].ID},
			"site_ids": []string{v.site.ID}, "template_id": v.tmpl.ID}
	}, open: map[string]string{"leada": "the unit's lead submits its items"}},
	"POST /v1/items/:id/decisions": {path: byID("/v1/items/", "/decisions", itemID), body: func(e *env, v victims) any {
		return map[string]any{"decision": "reject", "reasons": []string{"证据不足"}, "evidence_digest": digest(e, v.item.ID)}
	}},
	"POST /v1/items/:id/reopen": {path: byID("/v1/items/", "/reopen", itemID), body: func(e *env, v victims) any {
		return map[string]any{"reason": "复查", "evidence_digest": digest(e, v.item.ID)}
	}},
	"GET /v1/sites/:id": {path: func(v victims) string { return "/v1/sites/" + v.site.ID }},
	"PATCH /v1/sites/:id": {path: func(v victims) string { return "/v1/sites/" + v.site.ID }, body: func(e *env, v victims) any {
		return map[string]any{"address": "改", "version": version(e, "/v1/sites/"+v.site.ID)}
	}},
	"GET /v1/templates/:id": {path: func(v victims) string { return "/v1/templates/" + v.tmpl.ID }, open: map[string]string{
		"supb": referenceData, "leadb": referenceData}},
	"PATCH /v1/templates/:id": {path: func(v victims) string { return "/v1/templates/" + v.tmpl.ID }, body: func(e *env, v victims) any {
		return map[string]any{"name": "改", "version": version(e, "/v1/templates/"+v.tmpl.ID)}
	}, open: map[string]string{"supb": "templates are shared: every supervisor edits them (README)"}},
	"GET /v1/tasks/:id": {path: byID("/v1/tasks/", "", taskID)},
	"PATCH /v1/tasks/:id": {path: byID("/v1/tasks/", "", taskID), body: func(e *env, v victims) any {
		return map[string]any{"instructions": "改", "version": version(e, "/v1/tasks/"+v.task.ID)}
	}},
	"POST /v1/tasks/:id/assign": {path: byID("/v1/tasks/", "/assign", taskID), body: func(e *env, v victims) any {
		return map[string]any{"assignee_id": e.fx.users["insp2"].ID, "version": version(e, "/v1/tasks/"+v.task.ID)}
	}},
	"POST /v1/tasks/:id/cancel": {path: byID("/v1/tasks/", "/cancel", taskID), body: func(e *env, v victims) any {
		return map[string]any{"version": version(e, "/v1/tasks/"+v.task.ID)}
	}},
	"GET /v1/evidence/:id":           {path: byID("/v1/evidence/", "", photoID)},
	"GET /v1/evidence/:id/content":   {path: byID("/v1/evidence/", "/content", photoID)},
	"GET /v1/evidence/:id/thumbnail": {path: byID("/v1/evidence/", "/thumbnail", photoID)},
	"PUT /v1/evidence/:id/content": {path: byID("/v1/evidence/", "/content", pendingID), body: func(_ *env, v victims) any {
		return v.pendingData
	}},
	"POST /v1/evidence/:id/complete":           {path: byID("/v1/evidence/", "/complete", pendingID)},
	"POST /v1/evidence/:id/multipart":          {path: byID("/v1/evidence/", "/multipart", pendingID)},
	"POST /v1/evidence/:id/multipart/complete": {path: byID("/v1/evidence/", "/multipart/complete", pendingID)},
	"POST /v1/evidence/:id/public": {path: byID("/v1/evidence/", "/public", photoID), body: func(*env, victims) any {
		return map[string]any{"public": true}
	}},
	// Anyone may ask; an unpublished photo is not there.
	"GET /v1/public/photos/:id": {path: byID("/v1/public/photos/", "", photoID)},
}

func digest(e *env, itemID string) string {
	return must(acceptance.New(e.svc).Review(context.Background(), system, itemID)).EvidenceDigest
}

// TestAttackIDOR sends every route that takes an id, as it appears in the
// app's routes (a new route without a case fails the test), with the ids
// of insp1's records, as strangers to them: county B's supervisor and unit
// lead, an inspector of the same department who does not hold the task,
// and, for changes, county A's own unit lead, who only reads. Each is
// refused with 403 or 404 and shows nothing of the records, and nothing
// is written.
func TestAttackIDOR(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			dir := localStore(t, e)
			v := newVictims(t, e)
			lead := must(items.New(e.svc).CreateUser(context.Background(), system, items.UserInput{Username: ptr("leadb"), Password: ptr("password-leadb"),
				Role: ptr(models.RoleUnitLead), UnitID: &e.fx.countyB.ID}))
			e.tokens["leadb"] = e.login(lead.Username, "password-leadb", uuid.NewString())["access_token"].(string)
			t.Run("Routes", func(t *testing.T) { testIDORRoutes(t, e, v, dir) })
			t.Run("Push", func(t *testing.T) { testIDORPush(t, e, v, dir) })
			t.Run("Declare", func(t *testing.T) { testIDORDeclare(t, e, v, dir) })
		})
	}
}

func testIDORRoutes(t *testing.T, e *env, v victims, dir string) {
	// The unit and the user routes take the victims' unit and user.
	unitPath, userPath := "/v1/units/"+e.fx.countyA.ID, "/v1/users/"+e.fx.users["insp1"].ID
	before := e.snapshot(t, dir)
	seen := map[string]bool{}
	for _, r := range e.srv.App().GetRoutes(true) {
		route := r.Method + " " + r.Path
		if r.Method == "HEAD" || !strings.Contains(r.Path, "/:") || seen[route] {
			continue
		}
		seen[route] = true
		if strings.Contains(r.Path, ":token") {
			continue // the token is the credential: TestAttackSignedURLs
		}
		c, ok := idorCases[route]
		if !ok {
			t.Errorf("%s takes an id but has no case in idorCases", route)
			continue
		}
		path := c.path(v)
		switch {
		case strings.HasPrefix(r.Path, "/v1/units/"):
			path = unitPath
		case strings.HasPrefix(r.Path, "/v1/users/"):
			path = userPath
		}
		attackers := []string{"supb", "leadb", "insp2"}
		switch {
		case strings.HasPrefix(r.Path, "/v1/public/"):
			attackers = []string{"", "supb", "insp2"}
		case r.Method != "GET":
			attackers = append(attackers, "leada")
		}
		for _, who := range attackers {
			if why, ok := c.open[who]; ok {
				t.Logf("%s as %q: served by design (%s)", route, who, why)
				continue
			}
			var body any
			if c.body != nil {
				body = c.body(e, v)
			}
			refusedWith(t, route+" as "+who, e.do(who, r.Method, path, body), v.secrets, "not_found", "forbidden", "outside_your_unit")
		}
	}
	for route := range idorCases {
		if !seen[route] {
			t.Errorf("idorCases has %s, which is not a route", route)
		}
	}
	// The ids are real: their owner still reads every one of them.
	for _, p := range []string{"/v1/items/" + v.item.ID, "/v1/sites/" + v.site.ID, "/v1/tasks/" + v.task.ID, "/v1/evidence/" + v.photo,
		"/v1/evidence/" + v.pending, "/v1/templates/" + v.tmpl.ID} {
		e.must(200, "insp1", "GET", p, nil)
	}
	unchanged(t, "id-taking routes as strangers", before, e.snapshot(t, dir))
}
