package sync_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// countingStore counts the transactions run through it.
type countingStore struct {
	models.Store
	n atomic.Int64
}

func (s *countingStore) Tx(ctx context.Context, fn func(models.Tx) error) error {
	s.n.Add(1)
	return s.Store.Tx(ctx, fn)
}

// TestPushOneTransaction: a push's new mutations, a rejected one among
// them, go in one transaction (one commit), with the results they would
// have had one by one, and the rejected one leaves nothing behind.
func TestPushOneTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		cs := &countingStore{Store: e.db}
		eng := fsync.New(fsync.Config{Store: cs, Service: e.svc, CursorKey: []byte("k")})
		task := e.tasks[0].ID
		notes := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		req := fsync.PushRequest{ClientID: uuid.NewString(), SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(1, "task.start", map[string]any{"task_id": task}),
			mut(2, "note.add", map[string]any{"id": notes[0], "task_id": task, "text": "第一条"}),
			mut(3, "note.add", map[string]any{"id": notes[1], "task_id": e.tasks[2].ID, "text": "别人的任务"}), // not theirs
			mut(4, "note.add", map[string]any{"id": notes[2], "task_id": task, "text": "第三条"}),
		}}
		res, err := eng.Push(context.Background(), e.insp[0], req)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fsync.StatusApplied, fsync.StatusApplied, fsync.StatusRejected, fsync.StatusApplied}
		for i, r := range res.Results {
			if r.ID != int64(i+1) || r.Status != want[i] {
				t.Errorf("result %d: %+v, want %s", i, r, want[i])
			}
		}
		if res.LastMutationID != 4 || res.Results[2].Code != "not_found" {
			t.Errorf("last mutation id %d, rejection %+v", res.LastMutationID, res.Results[2])
		}
		// The client, the batch, one stamping.
		if n := cs.n.Load(); n > 3 {
			t.Errorf("a push of 4 mutations ran %d transactions, want the batch in one", n)
		}
		for i, id := range notes {
			var n models.Note
			err := e.db.Tx(context.Background(), func(tx models.Tx) error { return tx.Get(&n, id) })
			if (i == 1) != models.IsNotFound(err) {
				t.Errorf("note %d: %v", i, err)
			}
		}
		again, err := eng.Push(context.Background(), e.insp[0], req)
		if err != nil || len(again.Results) != 4 || again.Results[2].Code != "not_found" || again.Results[3].Status != fsync.StatusApplied {
			t.Fatalf("the repeated push: %+v, %v", again, err)
		}
	})
}
