package contract_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// cursorLog is a Store that records the cursor after every Update.
type cursorLog struct {
	contract.Store
	mu      sync.Mutex
	cursors []string
}

func (c *cursorLog) Update(fn func(contract.StoreTx)) error {
	err := c.Store.Update(fn)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cursors = append(c.cursors, deref(c.Store.Cursor()))
	return err
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func task(id string) fakeChange {
	rec := fmt.Sprintf(`{"id":%q,"title":"Rectify the discharge outlet","measures":%q}`, id, strings.Repeat("dredge the channel; ", 20))
	return fakeChange{"tasks", id, json.RawMessage(rec)}
}

func recordIDs(c *contract.Client, entity string) []string {
	var ids []string
	for id := range c.Records(entity) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestClientPullSavesCursorPerPage(t *testing.T) {
	srv := newFakeServer(t)
	srv.addChanges(task("t1"), task("t2"), task("t3"), task("t4"), fakeChange{"tasks", "t2", nil}, task("t5"), task("t6"))
	log := &cursorLog{Store: contract.NewMemoryStore()}
	p := newPhone(t, srv, func(c *contract.Config) { c.Store = log })
	rep, err := p.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pages != 3 || rep.Upserts != 6 || rep.Removes != 1 || rep.Reset {
		t.Errorf("report = %+v", rep)
	}
	if rep.CompressedBytes == 0 || rep.CompressedBytes >= rep.Bytes {
		t.Errorf("bytes %d, compressed %d: want gzip to have shrunk them", rep.Bytes, rep.CompressedBytes)
	}
	if want := []string{"e1:3", "e1:6", "e1:7"}; !slices.Equal(log.cursors, want) {
		t.Errorf("cursors saved = %v, want %v", log.cursors, want)
	}
	if got := recordIDs(p.Client, "tasks"); !slices.Equal(got, []string{"t1", "t3", "t4", "t5", "t6"}) {
		t.Errorf("tasks = %v", got)
	}
	var rec struct{ Title string }
	if err := json.Unmarshal(p.Records("tasks")["t1"], &rec); err != nil || rec.Title == "" {
		t.Errorf("t1 = %s", p.Records("tasks")["t1"])
	}
}

func TestClientPullResumesAfterLastAppliedPage(t *testing.T) {
	srv := newFakeServer(t)
	srv.addChanges(task("t1"), task("t2"), task("t3"), task("t4"), task("t5"))
	p := newPhone(t, srv)
	// Page 1 arrives, page 2 is refused for good (a 4xx is not retried):
	// the cursor after page 1 is kept, and the next Pull resumes from it.
	srv.with(func(s *fakeServer) { s.pageSize, s.refusePullAfter = 2, 1 })
	if _, err := p.Pull(context.Background()); err == nil {
		t.Fatal("pull did not fail")
	}
	if got := deref(p.store.Cursor()); got != "e1:2" {
		t.Fatalf("cursor after the failure = %s, want e1:2", got)
	}
	if _, err := p.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.with(func(s *fakeServer) {
		var got []string
		for _, c := range s.cursors {
			got = append(got, deref(c))
		}
		if want := []string{"<nil>", "e1:2", "e1:2", "e1:4"}; !slices.Equal(got, want) {
			t.Errorf("cursors received = %v, want %v", got, want)
		}
	})
	if got := recordIDs(p.Client, "tasks"); len(got) != 5 {
		t.Errorf("tasks = %v", got)
	}
}

func TestClientPullResetPushesThenResyncsKeepingCounter(t *testing.T) {
	srv := newFakeServer(t)
	srv.addChanges(task("t1"), task("t2"))
	p := newPhone(t, srv)
	if _, err := p.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.mustNotes(t, 2)
	// The server's change log is rebuilt in a new epoch: t1 is gone.
	srv.with(func(s *fakeServer) { s.epoch++; s.log = []fakeChange{task("t2"), task("t3")} })
	rep, err := p.Pull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Reset {
		t.Errorf("report = %+v, want Reset", rep)
	}
	checkAppliedOnce(t, srv, 2)
	if got := recordIDs(p.Client, "tasks"); !slices.Equal(got, []string{"t2", "t3"}) {
		t.Errorf("tasks = %v", got)
	}
	if got := recordIDs(p.Client, "notes"); !slices.Equal(got, []string{"note-1", "note-2"}) {
		t.Errorf("notes = %v", got)
	}
	if got := p.mustNotes(t, 1); got[0] != 3 {
		t.Errorf("next id after reset = %v, want 3", got)
	}
	if _, err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAppliedOnce(t, srv, 3)
}

func TestClientPullResetKeepsEverythingWhenPushFails(t *testing.T) {
	srv := newFakeServer(t)
	srv.addChanges(task("t1"))
	p := newPhone(t, srv)
	if _, err := p.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.mustNotes(t, 2)
	srv.with(func(s *fakeServer) { s.epoch++ })
	for range 5 {
		srv.failNext("/v1/sync/push", fakeFailure{http.StatusServiceUnavailable, "unavailable", ""})
	}
	if _, err := p.Pull(context.Background()); err == nil {
		t.Fatal("pull did not fail")
	}
	if got := outboxIDs(p.Client); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("outbox = %v", got)
	}
	if got := recordIDs(p.Client, "tasks"); !slices.Equal(got, []string{"t1"}) || deref(p.store.Cursor()) != "e1:1" {
		t.Errorf("tasks %v, cursor %s", got, deref(p.store.Cursor()))
	}
	// Store.Reset on its own keeps the outbox and the counter too.
	if err := p.store.(*contract.MemoryStore).Reset(); err != nil {
		t.Fatal(err)
	}
	if p.store.Cursor() != nil || len(p.Records("tasks")) != 0 || len(p.Outbox()) != 2 || p.store.LastMutationID() != 2 {
		t.Errorf("after Reset: cursor %v, %d tasks, outbox %v, last id %d", p.store.Cursor(), len(p.Records("tasks")), outboxIDs(p.Client), p.store.LastMutationID())
	}
}

func TestClientPullDropsMutationsTheServerProcessed(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	p.mustNotes(t, 2)
	p.tr.dropNext("/v1/sync/push", 5) // every attempt's answer is lost
	if _, err := p.Push(context.Background()); err == nil {
		t.Fatal("push did not fail")
	}
	if len(p.Outbox()) != 2 {
		t.Fatalf("outbox = %v", outboxIDs(p.Client))
	}
	if _, err := p.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(p.Outbox()) != 0 {
		t.Errorf("outbox = %v, want the processed mutations dropped", outboxIDs(p.Client))
	}
	checkAppliedOnce(t, srv, 2)
}

func TestClientDetectsReusedDeviceID(t *testing.T) {
	srv := newFakeServer(t)
	old := newPhone(t, srv)
	old.mustNotes(t, 3)
	if err := old.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A reinstalled app: same DeviceID, empty store, and a mutation
	// queued before its first sync. The server would answer id 1 with the
	// old result, so the client must not drop it.
	p := newPhone(t, srv)
	p.mustNotes(t, 1)
	if _, err := p.Push(context.Background()); !errors.Is(err, contract.ErrMutationIDsReused) {
		t.Fatalf("push: %v", err)
	}
	if len(p.Outbox()) != 1 {
		t.Errorf("outbox = %v", outboxIDs(p.Client))
	}
	// One that syncs before queueing anything continues after the server.
	q := newPhone(t, srv)
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := q.mustNotes(t, 1); got[0] != 4 {
		t.Errorf("first id = %v, want 4", got)
	}
	if _, err := q.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAppliedOnce(t, srv, 4)
}

func TestClientPullStartsOverOnARefusedCursor(t *testing.T) {
	srv := newFakeServer(t)
	srv.addChanges(task("t1"), task("t2"))
	p := newPhone(t, srv)
	p.mustNotes(t, 1)
	err := p.store.Update(func(tx contract.StoreTx) {
		tx.Put("tasks", "stale", json.RawMessage(`{"id":"stale"}`))
		tx.SetCursor(new("signed with a key the server no longer has"))
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Pull(context.Background())
	if err != nil || !rep.Reset {
		t.Fatalf("%+v, %v", rep, err)
	}
	if got := recordIDs(p.Client, "tasks"); !slices.Equal(got, []string{"t1", "t2"}) {
		t.Errorf("tasks = %v", got)
	}
	checkAppliedOnce(t, srv, 1)
}
