package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/items"
)

// testIDORPush: insp2 pushes mutations that name insp1's task, evidence
// and verification. Each is rejected, and nothing of insp1's changes.
func testIDORPush(t *testing.T, e *env, v victims, dir string) {
	f := e.fx
	// insp2's own verification, for the attachments below.
	own := uuid.NewString()
	client := uuid.NewString()
	e.must(200, "insp2", "POST", "/v1/sync/push", map[string]any{"client_id": client, "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "verification.record", "args": map[string]any{"id": own, "task_id": f.task2.ID, "conclusion": "rectified", "notes": "",
			"location": map[string]any{"lat": 29.7, "lng": 116, "accuracy_m": 5, "mocked": false}, "recorded_at": e.now, "evidence_ids": []string{}}}}})
	loc := map[string]any{"lat": 29.7, "lng": 116, "accuracy_m": 5, "mocked": false}
	// insp2's task with a photo question.
	photoTask := must(items.New(e.svc).CreateTask(context.Background(), system, items.TaskInput{ItemID: &f.itemA.ID, SiteID: &f.siteA.ID,
		Kind: ptr(models.TaskProgressCheck), TemplateID: &v.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)),
		AssigneeID: ptr(f.users["insp2"].ID)}))
	cases := []struct {
		name string
		args map[string]any
		code string
	}{
		{"task.start", map[string]any{"task_id": v.task.ID}, "not_found"},
		{"task.complete", map[string]any{"task_id": v.task.ID}, "not_found"},
		{"note.add", map[string]any{"id": uuid.NewString(), "task_id": v.task.ID, "text": "到场"}, "not_found"},
		{"checklist.answer", map[string]any{"id": uuid.NewString(), "task_id": v.task.ID, "question_id": "q1", "value": false}, "not_found"},
		{"verification.record", map[string]any{"id": uuid.NewString(), "task_id": v.task.ID, "conclusion": "not_rectified", "notes": "",
			"location": loc, "recorded_at": e.now, "evidence_ids": []string{}}, "not_found"},
		// Their photo claimed for my own verification.
		{"verification.record", map[string]any{"id": uuid.NewString(), "task_id": f.task2.ID, "conclusion": "rectified", "notes": "",
			"location": loc, "recorded_at": e.now, "evidence_ids": []string{v.photo}}, "evidence_mismatch"},
		{"evidence.attach", map[string]any{"evidence_id": v.photo, "verification_id": own}, "evidence_mismatch"},
		{"evidence.attach", map[string]any{"evidence_id": v.pending, "verification_id": own}, "evidence_mismatch"},
		// My photo slipped into their verification.
		{"evidence.attach", map[string]any{"evidence_id": uuid.NewString(), "verification_id": v.verif}, "not_found"},
		// Their ids reused for records of mine: refused, theirs untouched.
		{"verification.record", map[string]any{"id": v.verif, "task_id": f.task2.ID, "conclusion": "rectified", "notes": "",
			"location": loc, "recorded_at": e.now, "evidence_ids": []string{}}, "record_exists"},
		{"note.add", map[string]any{"id": v.note, "task_id": f.task2.ID, "text": "覆盖"}, "record_exists"},
		{"checklist.answer", map[string]any{"id": v.answer, "task_id": f.task2.ID, "question_id": "q1", "value": false}, "record_exists"},
		// Their photo as the answer to a photo question of mine.
		{"checklist.answer", map[string]any{"id": uuid.NewString(), "task_id": photoTask.ID, "question_id": "p1", "value": v.photo}, "evidence_mismatch"},
	}
	var muts []map[string]any
	for i, c := range cases {
		muts = append(muts, map[string]any{"id": i + 2, "name": c.name, "args": c.args})
	}
	before := e.snapshot(t, dir)
	theirs := victimVersions(e, v)
	res := e.must(200, "insp2", "POST", "/v1/sync/push", map[string]any{"client_id": client, "schema_version": 1, "mutations": muts})
	for i, r := range res["results"].([]any) {
		m := r.(map[string]any)
		if m["status"] != "rejected" || m["code"] != cases[i].code {
			t.Errorf("%s %v: %v, want rejected %s", cases[i].name, cases[i].args, m, cases[i].code)
		}
		for _, s := range v.secrets {
			if msg, _ := m["message"].(string); strings.Contains(msg, s) {
				t.Errorf("%s: the rejection shows %q", cases[i].name, s)
			}
		}
	}
	unchanged(t, "mutations naming another inspector's records", before, e.snapshot(t, dir))
	if after := victimVersions(e, v); after != theirs {
		t.Errorf("insp1's records changed: before %v, after %v", theirs, after)
	}
}

// victimVersions sums up insp1's records as the admin reads them.
func victimVersions(e *env, v victims) string {
	var b strings.Builder
	for _, p := range []string{"/v1/tasks/" + v.task.ID, "/v1/evidence/" + v.photo, "/v1/evidence/" + v.pending} {
		r := e.must(200, "admin", "GET", p, nil)
		fmt.Fprintf(&b, "%s %v v%v %v; ", p, r["status"], r["version"], r["verification_id"])
	}
	for _, ver := range must(acceptance.New(e.svc).Review(context.Background(), system, v.item.ID)).Verifications {
		fmt.Fprintf(&b, "verification %s v%d %v; ", ver.ID, ver.Version, ver.EvidenceIDs)
	}
	return b.String()
}

// testIDORDeclare: evidence declared against another's task, under
// another's evidence id, or for another's verification is not found, and
// nothing is recorded.
func testIDORDeclare(t *testing.T, e *env, v victims, dir string) {
	data := []byte("bytes of insp2")
	before := e.snapshot(t, dir)
	for name, over := range map[string]map[string]any{
		"their task":         {"task_id": v.task.ID},
		"their evidence id":  {"id": v.photo},
		"their pending id":   {"id": v.pending},
		"their verification": {"verification_id": v.verif},
	} {
		d := declaration(e, e.fx.task2.ID, data)
		for k, val := range over {
			d[k] = val
		}
		refusedWith(t, "declaring evidence with "+name, e.do("insp2", "POST", "/v1/evidence", d), v.secrets, "not_found")
	}
	unchanged(t, "declarations against another's records", before, e.snapshot(t, dir))
}
