package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// phone pushes mutations as one inspector's device, numbering them.
type phone struct {
	e      *env
	who    string
	client string
	next   int
}

func (e *env) phone(who string) *phone {
	return &phone{e: e, who: who, client: uuid.NewString(), next: 1}
}

// push sends mutations (name, args pairs) and fails unless each is applied.
func (p *phone) push(muts ...map[string]any) {
	p.e.t.Helper()
	for _, m := range muts {
		m["id"] = p.next
		p.next++
	}
	res := p.e.must(200, p.who, "POST", "/v1/sync/push", map[string]any{"client_id": p.client, "schema_version": 1, "mutations": muts})
	for _, r := range res["results"].([]any) {
		if st := r.(map[string]any)["status"]; st != "applied" {
			p.e.t.Fatalf("mutation not applied: %v", r)
		}
	}
}

func mut(name string, args map[string]any) map[string]any {
	return map[string]any{"name": name, "args": args}
}

// verify starts (when asked) and records a verification with a photo on
// the task, and returns the photo's evidence record.
func (p *phone) verify(task models.InspectionTask, start bool, conclusion, photo string) map[string]any {
	p.e.t.Helper()
	if start {
		p.push(mut("task.start", map[string]any{"task_id": task.ID}))
	}
	ev := p.e.upload(p.who, task, readPhoto(p.e.t, photo), "image/jpeg", nil)
	p.push(mut("verification.record", map[string]any{"id": uuid.NewString(), "task_id": task.ID, "conclusion": conclusion,
		"notes": "现场核查", "location": map[string]any{"lat": 43.4672, "lng": 11.8849, "accuracy_m": 5, "mocked": false},
		"recorded_at": p.e.now, "evidence_ids": []string{ev["id"].(string)}}))
	return ev
}

// tasksOf lists an item's tasks of a kind, by status, as the admin sees them.
func (e *env) tasksOf(itemID, kind, status string) []models.InspectionTask {
	e.t.Helper()
	page := must(items.New(e.svc).ListTasks(context.Background(), system, items.TaskFilter{ItemID: itemID, Kind: kind, Status: status}, models.ListParams{}))
	return page.Items
}

func (e *env) itemJSON(id string) map[string]any {
	return e.must(200, "admin", "GET", "/v1/items/"+id, nil)
}

// acks acknowledges every flag a review lists.
func acks(review map[string]any) []map[string]any {
	out := []map[string]any{}
	for _, f := range review["flags_to_acknowledge"].([]any) {
		f := f.(map[string]any)
		out = append(out, map[string]any{"evidence_id": f["evidence_id"], "verification_id": f["verification_id"], "code": f["code"],
			"comment": "已核实：" + f["code"].(string)})
	}
	return out
}

// TestAcceptanceWorkflow walks an item through submission, a blocked and a
// stale decision, rejection with rework on the phone, resubmission and
// acceptance with every flag acknowledged, and reopening.
func TestAcceptanceWorkflow(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testAcceptanceWorkflow(t, newEnv(t, dialect)) })
	}
}

func testAcceptanceWorkflow(t *testing.T, e *env) {
	f := e.fx
	itemPath := "/v1/items/" + f.itemA.ID
	insp := e.phone("insp1")
	task := evidenceSite(t, e, "insp1", 0)
	insp.push(mut("task.start", map[string]any{"task_id": task.ID}))
	if st := e.itemJSON(f.itemA.ID)["status"]; st != "in_progress" {
		t.Fatalf("item is %v after field work started, want in_progress", st)
	}

	// The unit leader submits; bad submissions first.
	version := e.itemJSON(f.itemA.ID)["version"]
	submit := func(body map[string]any) response { return e.do("leada", "POST", itemPath+"/submit", body) }
	wantProblem(t, submit(map[string]any{"version": version, "inspector_ids": []string{f.users["insp1"].ID}}), 400, "required")
	wantProblem(t, submit(map[string]any{"statement": "已完成", "version": version, "inspector_ids": []string{uuid.NewString()}}), 400, "unknown_user")
	wantProblem(t, submit(map[string]any{"statement": "已完成", "version": version, "inspector_ids": []string{f.users["supa"].ID}}), 400, "assignee_not_inspector")
	wantProblem(t, submit(map[string]any{"statement": "已完成", "version": version}), 400, "required")
	wantProblem(t, submit(map[string]any{"statement": "已完成", "version": 99, "inspector_ids": []string{f.users["insp1"].ID}}), 409, "version_conflict")
	wantProblem(t, e.do("insp1", "POST", itemPath+"/submit", map[string]any{"statement": "x", "version": version}), 403, "forbidden")
	wantProblem(t, e.do("supb", "POST", itemPath+"/submit", map[string]any{"statement": "x", "version": version}), 404, "not_found")
	if st := e.itemJSON(f.itemA.ID)["status"]; st != "in_progress" {
		t.Fatalf("refused submissions changed the item to %v", st)
	}
	sub := e.must(201, "leada", "POST", itemPath+"/submit", map[string]any{"statement": "截污纳管工程已完工", "version": version,
		"inspector_ids": []string{f.users["insp1"].ID}, "site_ids": []string{task.SiteID}})
	if sub["round"].(float64) != 1 || e.itemJSON(f.itemA.ID)["status"] != "pending_acceptance" {
		t.Fatalf("submission %v, item %v", sub, e.itemJSON(f.itemA.ID)["status"])
	}
	checks := e.tasksOf(f.itemA.ID, models.TaskAcceptanceCheck, "")
	if len(checks) != 1 || *checks[0].AssigneeID != f.users["insp1"].ID || *checks[0].RoundID != sub["id"] {
		t.Fatalf("acceptance tasks %+v", checks)
	}
	check := checks[0]

	// Nothing verified yet: the review says why, acceptance is refused.
	review := e.must(200, "supa", "GET", itemPath+"/review", nil)
	if review["acceptable"] != false || review["blockers"].([]any)[0].(map[string]any)["code"] != acceptance.BlockNotVerified {
		t.Fatalf("review before verification: acceptable %v blockers %v", review["acceptable"], review["blockers"])
	}
	stale := review["evidence_digest"].(string)
	wantProblem(t, e.do("supa", "POST", itemPath+"/decisions", map[string]any{"decision": "accept", "evidence_digest": stale}), 409, "acceptance_blocked")

	// The inspector checks on site; the old view is now stale.
	insp.verify(check, true, models.ConclusionRectified, "DSCN0010.jpg")
	wantProblem(t, e.do("supa", "POST", itemPath+"/decisions", map[string]any{"decision": "reject", "reasons": []string{"x"}, "evidence_digest": stale}), 409, "evidence_changed")
	review = e.must(200, "supa", "GET", itemPath+"/review", nil)
	digest := review["evidence_digest"].(string)
	if digest == stale || review["acceptable"] != true {
		t.Fatalf("review after verification: acceptable %v blockers %v", review["acceptable"], review["blockers"])
	}

	// Who may not decide, and bad decisions.
	decide := func(who string, body map[string]any) response { return e.do(who, "POST", itemPath+"/decisions", body) }
	reject := map[string]any{"decision": "reject", "reasons": []string{"照片未显示排口封堵情况"}, "required_evidence": "排口近景照片", "evidence_digest": digest}
	wantProblem(t, decide("insp1", reject), 403, "forbidden")
	wantProblem(t, decide("leada", reject), 403, "forbidden")
	wantProblem(t, decide("supb", reject), 404, "not_found")
	wantProblem(t, decide("supa", map[string]any{"decision": "maybe", "evidence_digest": digest}), 400, "invalid_enum")
	wantProblem(t, decide("supa", map[string]any{"decision": "reject"}), 400, "required")
	wantProblem(t, decide("supa", map[string]any{"decision": "reject", "evidence_digest": digest}), 400, "required")
	wantProblem(t, decide("supa", map[string]any{"decision": "reject", "reasons": []string{" "}, "evidence_digest": digest}), 400, "required")

	// Rejected: the rework reaches the phone with the reasons.
	rejection := e.must(201, "supa", "POST", itemPath+"/decisions", reject)
	if rejection["to_status"] != "rejected" || e.itemJSON(f.itemA.ID)["status"] != "rejected" {
		t.Fatalf("rejection %v", rejection)
	}
	pull := e.syncPull("insp1", insp.client, nil)
	var rework models.InspectionTask
	for _, raw := range pull.Changes["tasks"].Upserts {
		var tk models.InspectionTask
		if err := json.Unmarshal(raw, &tk); err != nil {
			t.Fatal(err)
		}
		if tk.ReworkOf != nil && *tk.ReworkOf == rejection["id"] {
			rework = tk
		}
	}
	if rework.ID == "" || len(rework.Reasons) != 1 || rework.Reasons[0] != "照片未显示排口封堵情况" || rework.RequiredEvidence != "排口近景照片" || rework.RoundID != nil {
		t.Fatalf("the phone did not receive the rework with its reasons: %+v", rework)
	}
	if ids := upsertIDs(t, pull, "decisions"); len(ids) != 1 || ids[0] != rejection["id"] {
		t.Fatalf("the phone received decisions %v", ids)
	}
	if got := must(items.New(e.svc).GetTask(context.Background(), system, check.ID)).Status; got != models.TaskCancelled {
		t.Fatalf("the rejected round's open task is %s, want cancelled", got)
	}

	// Rework, resubmission (adopting the rework), acceptance.
	// This time the phone reports a mock location for the record itself.
	insp.push(mut("task.start", map[string]any{"task_id": rework.ID}))
	second := e.upload("insp1", rework, readPhoto(t, "DSCN0012.jpg"), "image/jpeg", nil)
	insp.push(mut("verification.record", map[string]any{"id": uuid.NewString(), "task_id": rework.ID, "conclusion": "rectified",
		"notes": "补拍", "location": map[string]any{"lat": 43.4672, "lng": 11.8849, "accuracy_m": 5, "mocked": true},
		"recorded_at": e.now, "evidence_ids": []string{second["id"].(string)}}))
	if st := e.itemJSON(f.itemA.ID)["status"]; st != "in_progress" {
		t.Fatalf("item is %v during rework", st)
	}
	sub2 := e.must(201, "leada", "POST", itemPath+"/submit", map[string]any{"statement": "已按意见补充整改", "version": e.itemJSON(f.itemA.ID)["version"]})
	if sub2["round"].(float64) != 2 {
		t.Fatalf("resubmission %v", sub2)
	}
	review = e.must(200, "supa", "GET", itemPath+"/review", nil)
	if review["acceptable"] != true || len(review["flags_to_acknowledge"].([]any)) == 0 {
		t.Fatalf("review of round 2: acceptable %v blockers %v flags %v", review["acceptable"], review["blockers"], review["flags_to_acknowledge"])
	}
	mockedRecord := false
	for _, fl := range review["flags_to_acknowledge"].([]any) {
		fl := fl.(map[string]any)
		mockedRecord = mockedRecord || fl["code"] == "mocked_location" && fl["verification_id"] != nil && fl["evidence_id"] == nil
	}
	if !mockedRecord {
		t.Fatalf("a verification recorded with a mock location is not among the flags to acknowledge: %v", review["flags_to_acknowledge"])
	}
	digest = review["evidence_digest"].(string)
	all := acks(review)
	accept := func(a []map[string]any) map[string]any {
		return map[string]any{"decision": "accept", "comment": "同意销号", "evidence_digest": digest, "flag_acks": a}
	}
	wantProblem(t, decide("supa", accept(all[1:])), 400, "flag_not_acknowledged")
	wantProblem(t, decide("supa", accept(append(all, map[string]any{"evidence_id": uuid.NewString(), "code": "outside_geofence", "comment": "x"}))), 400, "flag_ack_unknown")
	noComment := append([]map[string]any{}, all...)
	noComment[0] = map[string]any{"evidence_id": all[0]["evidence_id"], "verification_id": all[0]["verification_id"], "code": all[0]["code"], "comment": ""}
	wantProblem(t, decide("supa", accept(noComment)), 400, "required")
	acceptance := e.must(201, "supa", "POST", itemPath+"/decisions", accept(all))
	it := e.itemJSON(f.itemA.ID)
	if acceptance["to_status"] != "accepted" || it["status"] != "accepted" || it["closed_at"] == nil || len(acceptance["flag_acks"].([]any)) != len(all) {
		t.Fatalf("acceptance %v, item %v", acceptance, it)
	}
	if open := e.tasksOf(f.itemA.ID, "", models.TaskAssigned); len(open) != 0 {
		t.Fatalf("an accepted item still has %d assigned tasks", len(open))
	}
	history := e.must(200, "leada", "GET", itemPath+"/decisions", nil)["items"].([]any)
	if len(history) != 2 || history[0].(map[string]any)["kind"] != "reject" || history[1].(map[string]any)["kind"] != "accept" {
		t.Fatalf("decision history %v", history)
	}
	wantProblem(t, e.do("supb", "GET", itemPath+"/decisions", nil), 404, "not_found")
	wantProblem(t, decide("supa", accept(all)), 409, "item_transition_accepted_to_accepted")

	// Reopening is the admin's, with a reason.
	digest = e.must(200, "admin", "GET", itemPath+"/review", nil)["evidence_digest"].(string)
	wantProblem(t, e.do("supa", "POST", itemPath+"/reopen", map[string]any{"reason": "群众举报反弹", "evidence_digest": digest}), 403, "forbidden")
	wantProblem(t, e.do("admin", "POST", itemPath+"/reopen", map[string]any{"evidence_digest": digest}), 400, "required")
	reopen := e.must(201, "admin", "POST", itemPath+"/reopen", map[string]any{"reason": "群众举报反弹", "evidence_digest": digest})
	if it := e.itemJSON(f.itemA.ID); reopen["to_status"] != "reopened" || it["status"] != "reopened" || it["closed_at"] != nil {
		t.Fatalf("reopen %v, item %v", reopen, it)
	}

	// Every step is in the audit trail, in order.
	if _, err := audit.New(e.svc).ChainAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range e.must(200, "admin", "GET", "/v1/audit?entity=items&record_id="+f.itemA.ID+"&limit=100", nil)["items"].([]any) {
		actions = append(actions, en.(map[string]any)["action"].(string))
	}
	want := []string{"item.create", "item.start", "item.submit", "decision.reject", "item.start", "item.submit", "decision.accept", "item.reopen"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Fatalf("the item's audit trail is %v, want %v", actions, want)
	}
}

// TestReviewQueue lists what waits for a decision, within the
// supervisor's subtree only.
func TestReviewQueue(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testReviewQueue(t, newEnv(t, dialect)) })
	}
}

func testReviewQueue(t *testing.T, e *env) {
	f := e.fx
	for _, it := range []models.RectificationItem{f.itemA, f.itemB} {
		e.must(201, "admin", "POST", "/v1/items/"+it.ID+"/submit", map[string]any{"statement": "已完成", "version": e.itemJSON(it.ID)["version"],
			"inspector_ids": []string{f.users["insp1"].ID}, "site_ids": []string{f.siteA.ID}, "template_id": f.tmpl.ID})
	}
	queue := func(who, query string) []any {
		return e.must(200, who, "GET", "/v1/review-queue"+query, nil)["items"].([]any)
	}
	if q := queue("supa", ""); len(q) != 1 || q[0].(map[string]any)["item"].(map[string]any)["id"] != f.itemA.ID || q[0].(map[string]any)["round"].(map[string]any)["round"] != 1.0 {
		t.Fatalf("county A's queue: %v", q)
	}
	if q := queue("supb", ""); len(q) != 1 || q[0].(map[string]any)["item"].(map[string]any)["id"] != f.itemB.ID {
		t.Fatalf("county B's queue: %v", q)
	}
	if q := queue("admin", ""); len(q) != 2 {
		t.Fatalf("the admin's queue has %d items", len(q))
	}
	if q := queue("admin", "?status=not_started"); len(q) != 0 {
		t.Fatalf("filtered queue: %v", q)
	}
	wantProblem(t, e.do("insp1", "GET", "/v1/review-queue", nil), 403, "forbidden")
	wantProblem(t, e.do("supa", "GET", "/v1/review-queue?status=nonsense", nil), 400, "invalid_enum")
	wantProblem(t, e.do("supb", "GET", "/v1/items/"+f.itemA.ID+"/review", nil), 404, "not_found")
	wantProblem(t, e.do("insp1", "GET", "/v1/items/"+f.itemA.ID+"/review", nil), 403, "forbidden")
}

// TestAcceptanceRules: what a round judges, and what a decision leaves
// alone.
func TestAcceptanceRules(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testAcceptanceRules(t, newEnv(t, dialect)) })
	}
}

func testAcceptanceRules(t *testing.T, e *env) {
	f := e.fx
	ctx := context.Background()
	itemPath := "/v1/items/" + f.itemA.ID
	insp := e.phone("insp1")
	task := evidenceSite(t, e, "insp1", 0)
	// An acceptance check made by hand before any submission, verified
	// as rectified: it must not stand in for the round's check.
	early := must(items.New(e.svc).CreateTask(ctx, system, items.TaskInput{ItemID: &f.itemA.ID, SiteID: &task.SiteID, Kind: ptr(models.TaskAcceptanceCheck),
		TemplateID: &f.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)), AssigneeID: ptr(f.users["insp1"].ID)}))
	insp.verify(early, true, models.ConclusionRectified, "DSCN0010.jpg")
	// insp2's progress check on the same item is under way.
	other := e.fx.task2
	e.phone("insp2").push(mut("task.start", map[string]any{"task_id": other.ID}))

	wantProblem(t, e.do("leada", "POST", itemPath+"/submit", map[string]any{"statement": "已完成", "version": e.itemJSON(f.itemA.ID)["version"]}), 400, "required")
	e.must(201, "leada", "POST", itemPath+"/submit", map[string]any{"statement": "已完成", "version": e.itemJSON(f.itemA.ID)["version"],
		"inspector_ids": []string{f.users["insp1"].ID}, "site_ids": []string{task.SiteID}})
	var check models.InspectionTask
	for _, tk := range e.tasksOf(f.itemA.ID, models.TaskAcceptanceCheck, "") {
		if tk.RoundID != nil {
			check = tk
		}
		if tk.ID == early.ID && tk.RoundID != nil {
			t.Fatalf("a check made before the submission joined the round")
		}
	}

	// A phone with its clock a year ahead records rectified; the next
	// visit, with a right clock, finds it not rectified: the later
	// arrival is what counts.
	insp.push(mut("task.start", map[string]any{"task_id": check.ID}))
	ahead := e.upload("insp1", check, readPhoto(t, "DSCN0012.jpg"), "image/jpeg", nil)
	insp.push(mut("verification.record", map[string]any{"id": uuid.NewString(), "task_id": check.ID, "conclusion": "rectified",
		"notes": "", "location": map[string]any{"lat": 43.4672, "lng": 11.8849, "accuracy_m": 5, "mocked": false},
		"recorded_at": e.now.AddDate(1, 0, 0), "evidence_ids": []string{ahead["id"].(string)}}))
	e.now = e.now.Add(time.Minute)
	insp.verify(check, false, models.ConclusionNotRectified, "DSCN0021.jpg")
	review := e.must(200, "supa", "GET", itemPath+"/review", nil)
	if review["acceptable"] != false || !hasBlocker(review, acceptance.BlockNotRectified) {
		t.Fatalf("a verification recorded 'in the future' hid the later one: acceptable %v, blockers %v", review["acceptable"], review["blockers"])
	}

	// A photo declared for the judged verification, never uploaded, blocks.
	e.now = e.now.Add(time.Minute)
	insp.verify(check, false, models.ConclusionRectified, "DSCN0025.jpg")
	judged := e.must(200, "supa", "GET", itemPath+"/review", nil)["judged_verifications"].(map[string]any)[check.ID].(string)
	pending := declaration(e, check.ID, readPhoto(t, "jolla.jpg"))
	pending["verification_id"] = judged
	e.must(201, "insp1", "POST", "/v1/evidence", pending)
	review = e.must(200, "supa", "GET", itemPath+"/review", nil)
	if review["acceptable"] != false || !hasBlocker(review, acceptance.BlockEvidenceNotReady) {
		t.Fatalf("a pending photo of the judged verification did not block: %v", review["blockers"])
	}

	// A rejection cancels the round's open checks, not insp2's progress
	// check, whose offline notes still land.
	e.must(201, "supa", "POST", itemPath+"/decisions", map[string]any{"decision": "reject", "reasons": []string{"照片不清"},
		"evidence_digest": review["evidence_digest"]})
	if st := must(items.New(e.svc).GetTask(ctx, system, other.ID)).Status; st != models.TaskInProgress {
		t.Fatalf("the rejection changed another inspector's progress check to %s", st)
	}
	if st := must(items.New(e.svc).GetTask(ctx, system, check.ID)).Status; st != models.TaskCancelled {
		t.Fatalf("the rejected round's open check is %s", st)
	}
	e.phone("insp2").push(mut("note.add", map[string]any{"id": uuid.NewString(), "task_id": other.ID, "text": "继续核查"}))
}

func hasBlocker(review map[string]any, code string) bool {
	for _, b := range review["blockers"].([]any) {
		if b.(map[string]any)["code"] == code {
			return true
		}
	}
	return false
}
