package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// roles are the callers of the matrix: anonymous, and one user per role,
// supb being a supervisor of the other county.
var roles = []string{"", "admin", "supa", "supb", "leada", "insp1"}

// expect gives the status per caller, in the order of roles.
type expect [6]int

var (
	everyone    = expect{401, 200, 200, 200, 200, 200}
	adminOnly   = expect{401, 200, 403, 403, 403, 403}
	adminCreate = expect{401, 201, 403, 403, 403, 403}
	// a record of county A: its supervisor and lead see it, county B's
	// supervisor gets 404.
	readA   = expect{401, 200, 200, 404, 200, 200}
	writeA  = expect{401, 200, 200, 404, 403, 403}
	createA = expect{401, 201, 201, 403, 403, 403}
	// reviewA: the review of a county A item, which inspectors may not read.
	reviewA = expect{401, 200, 200, 404, 200, 403}
	// reviewers read the ledger and the reports of their subtree.
	reviewers = expect{401, 200, 200, 200, 200, 403}
)

// TestAuthorizationMatrix sends every endpoint as every role.
func TestAuthorizationMatrix(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testMatrix(t, newEnv(t, dialect)) })
	}
}

func testMatrix(t *testing.T, e *env) {
	f := e.fx
	n := 0
	uniq := func(p string) string { n++; return fmt.Sprintf("%s-%d", p, n) }
	// version reads the current version of a record, so that each write
	// in the matrix is not refused as stale.
	version := func(path string) float64 { return e.must(200, "admin", "GET", path, nil)["version"].(float64) }
	// verified is one finished photo of insp1's task in county A.
	var photoID string
	verified := func() string {
		if photoID == "" {
			task := must(items.New(e.svc).GetTask(context.Background(), system, f.task1.ID))
			photoID = e.upload("insp1", task, readPhoto(t, "DSCN0010.jpg"), "image/jpeg", nil)["id"].(string)
		}
		return photoID
	}
	tiny := []byte("tiny bytes that are not a photo")
	// last is the item the latest row made for itself.
	var last models.RectificationItem
	newItem := func() models.RectificationItem {
		last = must(items.New(e.svc).CreateItem(context.Background(), system, items.ItemInput{Code: ptr(uniq("ACC")), Title: ptr("验收"), Source: ptr("督察"),
			Category: ptr("水"), Target: ptr("达标"), Measures: ptr("整治"), ResponsibleUnitID: &f.countyA.ID, FirstResponsible: ptr("县长"),
			Deadline: models.At(e.now.AddDate(0, 3, 0))}))
		return last
	}
	submitted := func() models.RectificationItem {
		it := newItem()
		admin := models.Actor{UserID: f.users["admin"].ID, Role: models.RoleAdmin, UnitPath: f.root.Path}
		must(acceptance.New(e.svc).SubmitForAcceptance(context.Background(), admin, it.ID, acceptance.SubmitInput{Statement: ptr("已完成"), Version: ptr(int64(1)),
			InspectorIDs: []string{f.users["insp1"].ID}, SiteIDs: []string{f.siteA.ID}, TemplateID: &f.tmpl.ID}))
		return it
	}
	digestOf := func(it models.RectificationItem) string {
		return must(acceptance.New(e.svc).Review(context.Background(), system, it.ID)).EvidenceDigest
	}
	taskBody := func() map[string]any {
		return map[string]any{"item_id": f.itemA.ID, "site_id": f.siteA.ID, "kind": "progress_check", "template_id": f.tmpl.ID,
			"window_start": e.now, "due_at": e.now.AddDate(0, 0, 3)}
	}
	cases := []struct {
		method string
		path   func() string
		body   func() any
		want   expect
	}{
		{"GET", fixed("/v1/me"), nil, everyone},
		// A wrong current password: every signed-in user reaches the check.
		{"POST", fixed("/v1/me/password"), func() any {
			return map[string]any{"current_password": "not-the-password", "new_password": "a-new-long-password"}
		}, expect{401, 400, 400, 400, 400, 400}},
		{"GET", fixed("/v1/units"), nil, everyone},
		{"POST", fixed("/v1/units"), func() any {
			return map[string]any{"code": uniq("U"), "name": "新单位", "kind": "department", "parent_id": f.countyA.ID}
		}, adminCreate},
		{"GET", fixed("/v1/units/" + f.countyA.ID), nil, everyone},
		{"PATCH", fixed("/v1/units/" + f.countyA.ID), func() any {
			return map[string]any{"name": uniq("县"), "version": version("/v1/units/" + f.countyA.ID)}
		}, adminOnly},
		{"GET", fixed("/v1/users"), nil, everyone},
		{"POST", fixed("/v1/users"), func() any {
			return map[string]any{"username": uniq("user"), "password": "long-enough-pw", "role": "inspector", "unit_id": f.deptA.ID}
		}, adminCreate},
		{"GET", fixed("/v1/users/" + f.users["insp2"].ID), nil, expect{401, 200, 200, 404, 200, 404}},
		{"PATCH", fixed("/v1/users/" + f.users["insp2"].ID), func() any {
			return map[string]any{"display_name": uniq("名"), "version": version("/v1/users/" + f.users["insp2"].ID)}
		}, adminOnly},
		{"GET", fixed("/v1/devices"), nil, adminOnly},
		{"POST", func() string {
			dev := uuid.NewString()
			e.login("insp2", "password-insp2", dev)
			// The new login ended insp2's earlier session; sign in again
			// on the usual device so that later rows still work.
			e.tokens["insp2"] = e.login("insp2", "password-insp2", uuid.NewString())["access_token"].(string)
			return "/v1/devices/" + dev + "/revoke"
		}, nil, adminOnly},
		{"GET", fixed("/v1/items"), nil, everyone},
		{"POST", fixed("/v1/items"), func() any {
			return map[string]any{"code": uniq("IT"), "title": "扬尘治理", "source": "省级督察", "category": "扬尘", "target": "达标",
				"measures": "覆盖", "responsible_unit_id": f.countyA.ID, "first_responsible": "县长", "deadline": e.now.AddDate(1, 0, 0)}
		}, createA},
		{"GET", fixed("/v1/items/" + f.itemA.ID), nil, readA},
		{"PATCH", fixed("/v1/items/" + f.itemA.ID), func() any {
			return map[string]any{"measures": uniq("措施"), "version": version("/v1/items/" + f.itemA.ID)}
		}, writeA},
		// Acceptance: each call acts on an item of its own in county A.
		{"GET", fixed("/v1/review-queue"), nil, expect{401, 200, 200, 200, 200, 403}},
		{"GET", fixed("/v1/items/" + f.itemA.ID + "/review"), nil, reviewA},
		{"GET", fixed("/v1/items/" + f.itemA.ID + "/decisions"), nil, reviewA},
		// Deadline extensions: those who review the item ask; supervisors
		// over it and admins decide.
		{"GET", fixed("/v1/items/" + f.itemA.ID + "/extensions"), nil, reviewA},
		{"POST", func() string { return "/v1/items/" + newItem().ID + "/extensions" }, func() any {
			return map[string]any{"deadline": "2027-12-31", "reason": "汛期停工"}
		}, expect{401, 201, 201, 404, 201, 403}},
		{"POST", func() string {
			it := newItem()
			ext := must(acceptance.New(e.svc).RequestExtension(context.Background(), system, it.ID, models.ExtensionRequest{
				Deadline: models.At(e.now.AddDate(1, 0, 0)), Reason: ptr("汛期停工")}))
			return "/v1/items/" + it.ID + "/extensions/" + ext.ID + "/decision"
		}, func() any { return map[string]any{"decision": "approve"} }, expect{401, 200, 200, 404, 403, 403}},
		{"POST", fixed("/v1/items/import"), nil, expect{401, 415, 415, 415, 403, 403}},
		{"POST", func() string { return "/v1/items/" + newItem().ID + "/submit" }, func() any {
			return map[string]any{"statement": "已完成", "version": 1, "inspector_ids": []string{f.users["insp1"].ID},
				"site_ids": []string{f.siteA.ID}, "template_id": f.tmpl.ID}
		}, expect{401, 201, 201, 404, 201, 403}},
		{"POST", func() string { return "/v1/items/" + submitted().ID + "/decisions" }, func() any {
			return map[string]any{"decision": "reject", "reasons": []string{"证据不足"}, "evidence_digest": digestOf(last)}
		}, expect{401, 201, 201, 404, 403, 403}},
		{"POST", func() string { return "/v1/items/" + newItem().ID + "/reopen" }, func() any {
			return map[string]any{"reason": "复查", "evidence_digest": digestOf(last)}
		}, expect{401, 409, 403, 403, 403, 403}},
		// Evidence packs: reviewers of the item's subtree; inspectors refused.
		{"GET", fixed("/v1/items/" + f.itemA.ID + "/evidence-pack"), nil, expect{401, 200, 200, 404, 200, 403}},
		{"GET", fixed("/v1/sites"), nil, everyone},
		{"POST", fixed("/v1/sites"), func() any {
			return map[string]any{"unit_id": f.countyA.ID, "name": "工地", "kind": "construction_site", "lat": 29.7, "lng": 116.1, "radius_m": 150}
		}, createA},
		{"GET", fixed("/v1/sites/" + f.siteA.ID), nil, readA},
		{"PATCH", fixed("/v1/sites/" + f.siteA.ID), func() any {
			return map[string]any{"address": uniq("地址"), "version": version("/v1/sites/" + f.siteA.ID)}
		}, writeA},
		{"GET", fixed("/v1/templates"), nil, everyone},
		{"POST", fixed("/v1/templates"), func() any {
			return map[string]any{"name": "表", "questions": []map[string]any{{"id": "q1", "text": "是否整改", "type": "yes_no", "required": true}}}
		}, expect{401, 201, 201, 201, 403, 403}},
		{"GET", fixed("/v1/templates/" + f.tmpl.ID), nil, everyone},
		{"PATCH", fixed("/v1/templates/" + f.tmpl.ID), func() any {
			return map[string]any{"name": uniq("表"), "version": version("/v1/templates/" + f.tmpl.ID)}
		}, expect{401, 200, 200, 200, 403, 403}},
		{"GET", fixed("/v1/tasks"), nil, everyone},
		// County B's supervisor cannot see county A's item: the task's
		// item_id is not found, as an id that does not exist would be.
		{"POST", fixed("/v1/tasks"), func() any { return taskBody() }, expect{401, 201, 201, 404, 403, 403}},
		{"GET", fixed("/v1/tasks/" + f.task1.ID), nil, readA},
		// An inspector asking for another inspector's task by id.
		{"GET", fixed("/v1/tasks/" + f.task2.ID), nil, expect{401, 200, 200, 404, 200, 404}},
		{"PATCH", fixed("/v1/tasks/" + f.task1.ID), func() any {
			return map[string]any{"instructions": uniq("说明"), "version": version("/v1/tasks/" + f.task1.ID)}
		}, writeA},
		{"POST", fixed("/v1/tasks/" + f.task1.ID + "/assign"), func() any {
			return map[string]any{"assignee_id": f.users["insp1"].ID, "version": version("/v1/tasks/" + f.task1.ID)}
		}, writeA},
		{"POST", func() string {
			return "/v1/tasks/" + e.must(201, "admin", "POST", "/v1/tasks", taskBody())["id"].(string) + "/cancel"
		}, func() any { return map[string]any{"version": 1} }, expect{401, 200, 200, 404, 403, 404}},
		// Evidence: only the inspector holding the task uploads; reads as
		// for the task's unit.
		{"POST", fixed("/v1/evidence"), func() any { return declaration(e, f.task1.ID, tiny) }, expect{401, 403, 403, 403, 403, 201}},
		{"GET", fixed("/v1/evidence"), nil, everyone},
		{"GET", func() string { return "/v1/evidence/" + verified() }, nil, readA},
		{"GET", func() string { return "/v1/evidence/" + verified() + "/content" }, nil, readA},
		{"GET", func() string { return "/v1/evidence/" + verified() + "/thumbnail" }, nil, readA},
		// Publishing a photo: admins and the unit's supervisors; those
		// who only read it are refused.
		{"POST", func() string { return "/v1/evidence/" + verified() + "/public" }, func() any { return map[string]any{"public": true} }, writeA},
		{"PUT", func() string {
			d := declaration(e, f.task1.ID, tiny)
			e.must(201, "insp1", "POST", "/v1/evidence", d)
			return "/v1/evidence/" + d["id"].(string) + "/content"
		}, func() any { return tiny }, expect{401, 404, 404, 404, 404, 200}},
		{"POST", func() string {
			d := declaration(e, f.task1.ID, tiny)
			e.must(201, "insp1", "POST", "/v1/evidence", d)
			e.must(200, "insp1", "PUT", "/v1/evidence/"+d["id"].(string)+"/content", tiny)
			return "/v1/evidence/" + d["id"].(string) + "/complete"
		}, nil, expect{401, 404, 404, 404, 404, 200}},
		{"POST", func() string {
			d := declaration(e, f.task1.ID, tiny)
			e.must(201, "insp1", "POST", "/v1/evidence", d)
			return "/v1/evidence/" + d["id"].(string) + "/multipart"
		}, nil, expect{401, 404, 404, 404, 404, 409}},
		{"POST", func() string {
			d := declaration(e, f.task1.ID, tiny)
			e.must(201, "insp1", "POST", "/v1/evidence", d)
			return "/v1/evidence/" + d["id"].(string) + "/multipart/complete"
		}, nil, expect{401, 404, 404, 404, 404, 409}},
		// Sync: every signed-in role pulls its own view; only inspectors'
		// mutations apply, others are rejected per mutation (still 200).
		{"POST", fixed("/v1/sync/pull"), func() any {
			return map[string]any{"client_id": uuid.NewString(), "cursor": nil, "schema_version": 1}
		}, everyone},
		{"POST", fixed("/v1/sync/push"), func() any {
			return map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
				{"id": 1, "name": "note.add", "args": map[string]any{"id": uuid.NewString(), "task_id": f.task1.ID, "text": "到场"}}}}
		}, everyone},
		{"GET", fixed("/v1/audit"), nil, adminOnly},
		// Ledger and reports: everyone who reviews, each over their own
		// subtree; inspectors, who see only their tasks, are refused.
		{"GET", fixed("/v1/ledger.xlsx"), nil, reviewers},
		{"GET", fixed("/v1/ledger.csv"), nil, reviewers},
		{"GET", fixed("/v1/reports/dispatch"), nil, reviewers},
		{"GET", fixed("/v1/reports/dispatch.xlsx"), nil, reviewers},
		// Last: it ends every caller's session.
		{"POST", fixed("/v1/auth/logout"), nil, expect{401, 204, 204, 204, 204, 204}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		for i, who := range roles {
			path := c.path()
			var body any
			if c.body != nil {
				body = c.body()
			}
			r := e.do(who, c.method, path, body)
			if r.Status != c.want[i] {
				t.Errorf("%s %s as %q: %d, want %d: %s", c.method, path, who, r.Status, c.want[i], r.Body)
			}
			if r.Status >= 400 && r.Status != c.want[i] {
				continue
			}
			if r.Status >= 400 {
				wantCode, checked := map[int]string{401: "unauthenticated", 403: "forbidden", 404: "not_found"}[r.Status]
				if got := r.code(t); checked && got != wantCode && !(r.Status == 403 && got == "outside_your_unit") {
					t.Errorf("%s %s as %q: code %q, want %q", c.method, path, who, got, wantCode)
				}
			}
		}
		covered[c.method+" "+routeOf(e, c.method, c.path())] = true
	}
	for _, r := range e.protectedRoutes() {
		if !covered[r] {
			t.Errorf("route %s is not in the authorization matrix", r)
		}
	}
}

func fixed(p string) func() string { return func() string { return p } }

// declaration is a fresh evidence declaration for data.
func declaration(e *env, taskID string, data []byte) map[string]any {
	sum := sha256.Sum256(data)
	return map[string]any{"id": uuid.NewString(), "task_id": taskID, "kind": "photo", "sha256": hex.EncodeToString(sum[:]),
		"size": len(data), "content_type": "image/jpeg", "captured_at": e.now}
}
