package sync_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

func forEachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, newEnv(t, d)) })
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestInitialSyncAndDelta: a new device gets its tasks and what they
// need; after a change, a delta pull carries only that change.
func TestInitialSyncAndDelta(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ups, _, cur := e.pullAll(e.insp[0], nil)
		if len(ups["tasks"]) != 2 || len(ups["items"]) != 1 || len(ups["sites"]) != 2 || len(ups["templates"]) != 1 {
			t.Fatalf("initial sync of insp0: tasks %v items %v sites %v templates %v", keys(ups["tasks"]), keys(ups["items"]), keys(ups["sites"]), keys(ups["templates"]))
		}
		if _, ok := ups["tasks"][e.tasks[2].ID]; ok {
			t.Fatal("insp0 received insp1's task")
		}
		// Nothing changed: an empty delta with the same position.
		ups, rems, cur2 := e.pullAll(e.insp[0], &cur)
		if len(ups) != 0 || len(rems) != 0 {
			t.Fatalf("empty delta carried %v %v", ups, rems)
		}
		// A supervisor edits the item: insp0 and insp1 both hear of it once.
		it := must(items.New(e.svc).UpdateItem(context.Background(), e.sup, e.item.ID, items.ItemInput{Measures: ptr("1. 封堵 2. 复核"), Version: &e.item.Version}))
		ups, _, _ = e.pullAll(e.insp[0], &cur2)
		if len(ups) != 1 || len(ups["items"]) != 1 || !strings.Contains(string(ups["items"][e.item.ID]), "复核") {
			t.Fatalf("delta after item edit: %v", ups)
		}
		var got models.RectificationItem
		json.Unmarshal(ups["items"][it.ID], &got)
		if got.Version != it.Version {
			t.Fatalf("delta sent version %d, want the latest %d", got.Version, it.Version)
		}
		ups, _, _ = e.pullAll(e.insp[1], nil)
		if len(ups["tasks"]) != 1 || len(ups["items"]) != 1 {
			t.Fatalf("insp1 initial sync: %v", ups)
		}
		// The supervisor's device syncs the whole county.
		ups, _, _ = e.pullAll(e.sup, nil)
		if len(ups["tasks"]) != 3 || len(ups["sites"]) != 2 || len(ups["templates"]) != 1 {
			t.Fatalf("supervisor sync: tasks %d sites %d templates %d", len(ups["tasks"]), len(ups["sites"]), len(ups["templates"]))
		}
	})
}

// TestScopeReassign: reassigning a task moves it from one device to the
// other at the next pull, and the old holder loses the site it no longer
// needs but keeps the item its other task needs.
func TestScopeReassign(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		_, _, c0 := e.pullAll(e.insp[0], nil)
		_, _, c1 := e.pullAll(e.insp[1], nil)
		task := e.tasks[1] // insp0's task at site 1; insp0's task 0 is at site 0
		must(items.New(e.svc).AssignTask(context.Background(), e.sup, task.ID, e.insp[1].UserID, &task.Version))
		ups, rems, _ := e.pullAll(e.insp[0], &c0)
		if !contains(rems["tasks"], task.ID) || !contains(rems["sites"], e.sites[1].ID) {
			t.Fatalf("old holder: removes %v", rems)
		}
		if contains(rems["items"], e.item.ID) || contains(rems["sites"], e.sites[0].ID) || len(ups["tasks"]) != 0 {
			t.Fatalf("old holder lost what its other task needs: removes %v upserts %v", rems, ups)
		}
		ups, rems, _ = e.pullAll(e.insp[1], &c1)
		if _, ok := ups["tasks"][task.ID]; !ok || len(rems) != 0 {
			t.Fatalf("new holder: upserts %v removes %v", keys(ups["tasks"]), rems)
		}
		if _, ok := ups["sites"][e.sites[1].ID]; !ok {
			t.Fatal("new holder did not receive the task's site")
		}
		// Cancelling removes it from the new holder too.
		cur := must(items.New(e.svc).GetTask(context.Background(), e.sup, task.ID))
		must(items.New(e.svc).CancelTask(context.Background(), e.sup, task.ID, &cur.Version))
		_, rems, _ = e.pullAll(e.insp[1], &c1)
		if !contains(rems["tasks"], task.ID) {
			t.Fatalf("cancelled task not removed: %v", rems)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPushExactlyOnce: a batch sent again (its response was lost) is
// answered with the stored results and applied once.
func TestPushExactlyOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		a := e.insp[0]
		task := e.tasks[0].ID
		vid, aid, nid := uuid.NewString(), uuid.NewString(), uuid.NewString()
		batch := []fsync.Mutation{
			mut(1, "task.start", map[string]any{"task_id": task}),
			mut(2, "checklist.answer", map[string]any{"id": aid, "task_id": task, "question_id": "q2", "value": 35.5}),
			mut(3, "verification.record", map[string]any{"id": vid, "task_id": task, "conclusion": "rectified", "notes": "已封堵",
				"location":    map[string]any{"lat": 43.4674, "lng": 11.8851, "accuracy_m": 8, "mocked": false},
				"recorded_at": e.now, "evidence_ids": []string{uuid.NewString()}}),
			mut(4, "note.add", map[string]any{"id": nid, "task_id": task, "text": "现场有新排口"}),
			mut(5, "task.start", map[string]any{"task_id": task}), // already started: rejected, still advances
			mut(6, "task.complete", map[string]any{"task_id": task}),
		}
		first := e.push(a, batch...)
		again := e.push(a, batch...)
		if first.LastMutationID != 6 || again.LastMutationID != 6 {
			t.Fatalf("last mutation ids %d and %d, want 6", first.LastMutationID, again.LastMutationID)
		}
		for i, r := range first.Results {
			want := fsync.StatusApplied
			if i == 4 {
				want = fsync.StatusRejected
			}
			if r.Status != want {
				t.Errorf("mutation %d: %+v, want %s", r.ID, r, want)
			}
			// A retried batch is answered from the stored results: what a
			// device reads (id, status, code, message, version) is the same.
			ag := again.Results[i]
			sameVersion := (r.ServerVersion == nil) == (ag.ServerVersion == nil) && (r.ServerVersion == nil || *ag.ServerVersion == *r.ServerVersion)
			if ag.ID != r.ID || ag.Status != r.Status || ag.Code != r.Code || ag.Message != r.Message || !sameVersion {
				t.Errorf("retried mutation %d answered %+v, first %+v", r.ID, again.Results[i], r)
			}
		}
		if first.Results[4].Code != "task_transition_in_progress_to_in_progress" {
			t.Errorf("rejection code %q", first.Results[4].Code)
		}
		counts := map[string]int64{}
		e.db.Tx(context.Background(), func(tx models.Tx) error {
			for name, m := range map[string]any{"verifications": &models.Verification{}, "answers": &models.Answer{}, "notes": &models.Note{}, "evidence": &models.Evidence{}} {
				counts[name], _ = tx.Count(m, nil)
			}
			return nil
		})
		for name, n := range counts {
			if n != 1 {
				t.Errorf("%d %s after a retried batch, want 1", n, name)
			}
		}
		got := must(items.New(e.svc).GetTask(context.Background(), a, task))
		if got.Status != models.TaskCompleted {
			t.Fatalf("task status %s", got.Status)
		}
		// The device sees its own records, and the pending evidence.
		ups, _, _ := e.pullAll(a, nil)
		if len(ups["verifications"]) != 1 || len(ups["answers"]) != 1 || len(ups["notes"]) != 1 || len(ups["evidence"]) != 1 {
			t.Fatalf("own records not pulled: %v", ups)
		}
		if !strings.Contains(string(ups["evidence"][keys(ups["evidence"])[0]]), `"status":"pending"`) {
			t.Fatalf("evidence named before its bytes must be pending: %s", ups["evidence"])
		}
	})
}

// TestDecisionWins: a supervisor's change made while the device was
// offline wins over the field edit that arrives later.
func TestDecisionWins(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		task := e.tasks[0]
		must(items.New(e.svc).CancelTask(context.Background(), e.sup, task.ID, &task.Version))
		res := e.push(e.insp[0], mut(1, "task.start", map[string]any{"task_id": task.ID}),
			mut(2, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task.ID, "text": "到场"}))
		for _, r := range res.Results {
			if r.Status != fsync.StatusRejected || r.Code != "not_found" || r.Message == "" {
				t.Errorf("field edit on a task cancelled before it arrived: %+v", r)
			}
		}
		if res.LastMutationID != 2 {
			t.Fatalf("rejections must advance the id: %d", res.LastMutationID)
		}
	})
}

// TestReset: a cursor from another epoch, or older than the retained
// removes, is answered with reset.
func TestReset(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, _, old := e.pullAll(e.insp[0], nil)
		// A remove goes into the log, then compaction long after drops it.
		task := e.tasks[1]
		must(items.New(e.svc).AssignTask(ctx, e.sup, task.ID, e.insp[1].UserID, &task.Version))
		st, err := e.eng.Compact(ctx, time.Now().Add(100*24*time.Hour))
		if err != nil || st.ExpiredRemoves == 0 {
			t.Fatalf("compaction: %+v %v", st, err)
		}
		res, err := e.eng.Pull(ctx, e.insp[0], fsync.PullRequest{ClientID: e.client(e.insp[0]), Cursor: &old, SchemaVersion: fsync.SchemaVersion})
		if err != nil || !res.Reset {
			t.Fatalf("cursor below retention: reset %v, err %v", res.Reset, err)
		}
		// From null the device converges: task 1 is gone.
		ups, _, fresh := e.pullAll(e.insp[0], nil)
		if _, ok := ups["tasks"][task.ID]; ok || len(ups["tasks"]) != 1 {
			t.Fatalf("after reset: tasks %v", keys(ups["tasks"]))
		}
		// The same user in another role (or unit) sees other records: the
		// cursor made for the old view resets.
		moved := e.insp[0]
		moved.Role = models.RoleSupervisor
		res, err = e.eng.Pull(ctx, moved, fsync.PullRequest{ClientID: e.client(e.insp[0]), Cursor: &fresh, SchemaVersion: fsync.SchemaVersion})
		if err != nil || !res.Reset {
			t.Fatalf("cursor of another view: reset %v, err %v", res.Reset, err)
		}
		// After the server secret is rotated, cursors signed with the old
		// key still serve; a server that no longer knows the old key
		// refuses them as invalid.
		rotated := fsync.New(fsync.Config{Store: e.db, Service: e.svc, CursorKey: []byte("a new cursor key"), PreviousCursorKey: []byte("cursor-key-for-tests")})
		if res, err := rotated.Pull(ctx, e.insp[0], fsync.PullRequest{ClientID: e.client(e.insp[0]), Cursor: &fresh, SchemaVersion: fsync.SchemaVersion}); err != nil || res.Reset {
			t.Fatalf("cursor signed before a rotation: reset %v, err %v", res.Reset, err)
		}
		forgotten := fsync.New(fsync.Config{Store: e.db, Service: e.svc, CursorKey: []byte("a new cursor key")})
		if _, err := forgotten.Pull(ctx, e.insp[0], fsync.PullRequest{ClientID: e.client(e.insp[0]), Cursor: &fresh, SchemaVersion: fsync.SchemaVersion}); models.ErrorCode(err) != models.CodeSyncCursorInvalid {
			t.Fatalf("cursor of an unknown key: %v", err)
		}
		if _, err := e.eng.NewEpoch(ctx); err != nil {
			t.Fatal(err)
		}
		res, err = e.eng.Pull(ctx, e.insp[0], fsync.PullRequest{ClientID: e.client(e.insp[0]), Cursor: &fresh, SchemaVersion: fsync.SchemaVersion})
		if err != nil || !res.Reset {
			t.Fatalf("cursor of an old epoch: reset %v, err %v", res.Reset, err)
		}
	})
}

// TestPaging: pages are bounded by rows and by bytes, each page moves the
// cursor, and paging through gives the same records as one big page.
func TestPaging(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		all, _, _ := e.pullAll(e.sup, nil)
		total := 0
		for _, m := range all {
			total += len(m)
		}
		count := func(eng *fsync.Engine, limit int) (pages, records int) {
			var cur *string
			for {
				res, err := eng.Pull(context.Background(), e.sup, fsync.PullRequest{ClientID: e.client(e.sup), Cursor: cur, SchemaVersion: fsync.SchemaVersion, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, ch := range res.Changes {
					records += len(ch.Upserts)
				}
				if !res.HasMore {
					return
				}
				cur = &res.Cursor
			}
		}
		pages, records := count(e.eng, 2)
		if pages < total/2 || records < total {
			t.Fatalf("limit 2: %d pages, %d records; want >= %d pages and all %d records", pages, records, total/2, total)
		}
		tiny := fsync.New(fsync.Config{Store: e.db, Service: e.svc, CursorKey: []byte("cursor-key-for-tests"), Limits: fsync.Limits{PullBytes: 10}})
		pages, records = count(tiny, 0)
		if pages != records || records < total {
			t.Fatalf("10-byte pages: %d pages, %d records; want one record a page, all %d", pages, records, total)
		}
	})
}
