package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// TestClientInspection: a pull registers its client and notes where its
// cursor stands, at most once a minute; pushes show as the last mutation
// id with the rejected ones kept; another user's pull with the same
// client id changes nothing of it.
func TestClientInspection(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testClientInspection(t, newEnv(t, dialect)) })
	}
}

func testClientInspection(t *testing.T, e *env) {
	ctx := context.Background()
	insp := e.insp[0]
	only := func() fsync.Client {
		t.Helper()
		cs := must(e.eng.Clients(ctx, fsync.ClientFilter{DeviceID: insp.DeviceID}))
		if len(cs) != 1 || cs[0].ID != e.client(insp) || cs[0].UserID != insp.UserID {
			t.Fatalf("clients of the device: %+v", cs)
		}
		return cs[0]
	}
	if cs := must(e.eng.Clients(ctx, fsync.ClientFilter{})); len(cs) != 0 {
		t.Fatalf("clients before any sync: %+v", cs)
	}

	_, _, cur := e.pullAll(insp, nil)
	head := must(e.eng.Head(ctx))
	c := only()
	if c.PulledSeq == nil || *c.PulledSeq != head.Seq || c.PulledEpoch != head.Epoch || c.PulledAt == nil || c.LastMutationID != 0 {
		t.Fatalf("after the initial pull, head %+v: %+v", head, c)
	}
	firstPull := *c.PulledAt

	res := e.push(insp,
		mut(1, "note.add", map[string]any{"id": e.svc.NewID(), "task_id": e.tasks[0].ID, "text": "到场"}),
		mut(2, "task.start", map[string]any{"task_id": e.tasks[2].ID})) // insp1's task
	if res.LastMutationID != 2 || res.Results[1].Status != fsync.StatusRejected {
		t.Fatalf("push: %+v", res)
	}
	if c := only(); c.LastMutationID != 2 || c.LastMutationAt.Before(firstPull) {
		t.Fatalf("after the push: %+v", c)
	}
	rej := must(e.eng.Rejections(ctx, e.client(insp), 10))
	if len(rej) != 1 || rej[0].MutationID != 2 || rej[0].Name != "task.start" || rej[0].Code != res.Results[1].Code || rej[0].Message == "" {
		t.Fatalf("rejections: %+v (push said %+v)", rej, res.Results[1])
	}

	// The push's note moved the head; a pull within the minute is not
	// written down.
	_, _, cur = e.pullAll(insp, &cur)
	moved := must(e.eng.Head(ctx))
	if moved.Seq <= head.Seq {
		t.Fatalf("the push did not move the head: %d → %d", head.Seq, moved.Seq)
	}
	if c := only(); *c.PulledSeq != head.Seq || !c.PulledAt.Equal(firstPull) {
		t.Fatalf("a pull within the minute was noted: %+v", c)
	}
	// What waits for the device since the noted cursor: the note, in its
	// scope; nothing after the head; and none of it for the other inspector.
	if n := must(e.eng.Waiting(ctx, insp, head.Seq)); n != 1 {
		t.Errorf("rows waiting for insp0 after %d: %d, want its note's", head.Seq, n)
	}
	if n := must(e.eng.Waiting(ctx, insp, moved.Seq)); n != 0 {
		t.Errorf("rows waiting after the head: %d", n)
	}
	if n := must(e.eng.Waiting(ctx, e.insp[1], head.Seq)); n != 0 {
		t.Errorf("rows waiting for insp1 after insp0's note: %d", n)
	}
	// A minute on, it is.
	e.now = e.now.Add(2 * time.Minute)
	e.pullAll(insp, &cur)
	if c := only(); *c.PulledSeq != moved.Seq || !c.PulledAt.After(firstPull) {
		t.Fatalf("a pull a minute on was not noted (head %d): %+v", moved.Seq, c)
	}

	// Another user pulling with this client id is served, and the row
	// stays the first device's.
	if err := e.db.Gorm().Exec("UPDATE sync_clients SET pulled_at = ?", firstPull.Add(-2*time.Minute)).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Pull(ctx, e.insp[1], fsync.PullRequest{ClientID: e.client(insp), SchemaVersion: fsync.SchemaVersion}); err != nil {
		t.Fatal(err)
	}
	if c := only(); *c.PulledSeq != moved.Seq || c.PulledAt.After(firstPull) {
		t.Fatalf("another user's pull changed the client: %+v", c)
	}
	if cs := must(e.eng.Clients(ctx, fsync.ClientFilter{UserID: e.insp[1].UserID})); len(cs) != 0 {
		t.Fatalf("insp1 has no client of its own: %+v", cs)
	}

	// A reset is no position: nothing is noted.
	if _, err := e.eng.NewEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Gorm().Exec("UPDATE sync_clients SET pulled_at = ?", firstPull.Add(-2*time.Minute)).Error; err != nil {
		t.Fatal(err)
	}
	r, err := e.eng.Pull(ctx, insp, fsync.PullRequest{ClientID: e.client(insp), Cursor: &cur, SchemaVersion: fsync.SchemaVersion})
	if err != nil || !r.Reset {
		t.Fatalf("pull after a new epoch: %+v, %v", r, err)
	}
	if c := only(); c.PulledEpoch != moved.Epoch {
		t.Fatalf("a reset was noted as a position: %+v", c)
	}
}

// TestPushAfterRestore: a backup restored under a device that had pushed
// further makes a gap the device cannot fill (it dropped the mutations
// once they were answered). Before fieldctl sync new-epoch that gap is a
// 409, as every gap is; after it, the restored client, and one whose row
// the backup did not have, go on from their next mutation, once; a gap
// made later is a 409 again.
func TestPushAfterRestore(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testPushAfterRestore(t, newEnv(t, dialect)) })
	}
}

func testPushAfterRestore(t *testing.T, e *env) {
	ctx := context.Background()
	insp := e.insp[0]
	note := func(id int64) fsync.Mutation {
		return mut(id, "note.add", map[string]any{"id": e.svc.NewID(), "task_id": e.tasks[0].ID, "text": "记录"})
	}
	push := func(a models.Actor, m fsync.Mutation) (fsync.PushResult, error) {
		return e.eng.Push(ctx, a, fsync.PushRequest{ClientID: e.client(a), SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{m}})
	}
	e.push(insp, note(1), note(2), note(3))
	// The restore: the backup knew mutations up to 1.
	if err := e.db.Gorm().Exec("UPDATE sync_clients SET last_mutation_id = 1, updated_at = ? WHERE id = ?",
		e.now.Add(-time.Hour), e.client(insp)).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := push(insp, note(4)); models.ErrorCode(err) != models.CodeMutationGap {
		t.Fatalf("a gap before the new epoch: %v, want mutation_gap", err)
	}
	if _, err := e.eng.NewEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := push(insp, note(4))
	if err != nil || res.LastMutationID != 4 || res.Results[0].Status != fsync.StatusApplied {
		t.Fatalf("the restored client after the new epoch: %+v, %v", res, err)
	}
	if _, err := push(insp, note(6)); models.ErrorCode(err) != models.CodeMutationGap {
		t.Fatalf("a gap made after the new epoch: %v, want mutation_gap", err)
	}
	// insp1's phone had registered after the backup: its row is gone.
	res, err = push(e.insp[1], mut(7, "note.add", map[string]any{"id": e.svc.NewID(), "task_id": e.tasks[2].ID, "text": "记录"}))
	if err != nil || res.LastMutationID != 7 || res.Results[0].Status != fsync.StatusApplied {
		t.Fatalf("a client the backup did not have: %+v, %v", res, err)
	}
}
