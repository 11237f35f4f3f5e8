package sync_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	fsync "github.com/fieldsync/fieldsync/sync"
)

// TestConcurrencyLimit holds the engine's only slot: a pull or push whose
// request ends while it waits for one returns the context's error and
// writes nothing; once the slot is free the same push applies.
func TestConcurrencyLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.eng = fsync.New(fsync.Config{Store: e.db, Service: e.svc, CursorKey: []byte("cursor-key-for-tests"), Compactor: e.db,
			Limits: fsync.Limits{Concurrent: 1}})
		a := e.insp[0]
		leave, err := e.eng.Enter(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// A request that would have had time for its work, had it run.
		gone, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		nid := uuid.NewString()
		note := mut(1, "note.add", map[string]any{"id": nid, "task_id": e.tasks[0].ID, "text": "排口已封堵"})
		req := fsync.PushRequest{ClientID: e.client(a), SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{note}}
		if _, err := e.eng.Push(gone, a, req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("push while the slot is held: %v, want context.DeadlineExceeded", err)
		}
		if _, err := e.eng.Pull(gone, a, fsync.PullRequest{ClientID: e.client(a), SchemaVersion: fsync.SchemaVersion}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("pull while the slot is held: %v, want context.DeadlineExceeded", err)
		}
		leave()
		if ups, _, _ := e.pullAll(a, nil); ups["notes"][nid] != nil {
			t.Fatal("the push that never got a slot wrote its note")
		}
		res := e.push(a, note)
		if res.LastMutationID != 1 || res.Results[0].Status != fsync.StatusApplied {
			t.Fatalf("push after the slot was freed: %+v", res)
		}
		if ups, _, _ := e.pullAll(a, nil); ups["notes"][nid] == nil {
			t.Fatal("the applied note is not in the pull")
		}
	})
}
