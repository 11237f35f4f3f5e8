package contract_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// mustFileStore opens a FileStore or stops the test.
func mustFileStore(tb testing.TB, path string) *contract.FileStore {
	tb.Helper()
	s, err := contract.NewFileStore(path)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestFileStoreSurvivesARestart(t *testing.T) {
	srv := newFakeServer(t)
	srv.addChanges(task("t1"), task("t2"), task("t3"), task("t4"))
	dir := t.TempDir()
	path := filepath.Join(dir, "phone.json")

	// The first life: pull part of the log, queue three notes, die.
	p := newPhone(t, srv, func(c *contract.Config) { c.Store = mustFileStore(t, path); c.PullLimit = 3 })
	srv.with(func(s *fakeServer) { s.refusePullAfter = 1 })
	if _, err := p.Pull(context.Background()); err == nil {
		t.Fatal("pull did not fail")
	}
	p.mustNotes(t, 3)
	before := p.Records("tasks")

	// The second life, on the same file.
	q := newPhone(t, srv, func(c *contract.Config) { c.Store = mustFileStore(t, path); c.PullLimit = 3 })
	if got := q.Records("tasks"); len(got) != 3 || string(got["t2"]) != string(before["t2"]) {
		t.Errorf("tasks after restart = %v", got)
	}
	if got := deref(q.Store().Cursor()); got != "e1:3" {
		t.Errorf("cursor after restart = %s", got)
	}
	if got := outboxIDs(q.Client); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("outbox after restart = %v", got)
	}
	if got := q.mustNotes(t, 1); got[0] != 4 {
		t.Errorf("next id after restart = %v, want 4", got)
	}
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAppliedOnce(t, srv, 4)
	if got := recordIDs(q.Client, "tasks"); len(got) != 4 {
		t.Errorf("tasks = %v", got)
	}

	// A third life sees the synced state, and no temporary file is left.
	r := mustFileStore(t, path)
	if len(r.Outbox()) != 0 || len(r.All("notes")) != 4 || r.LastMutationID() != 4 {
		t.Errorf("third life: outbox %v, %d notes, last id %d", r.Outbox(), len(r.All("notes")), r.LastMutationID())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}
}

func TestFileStoreKeepsStateWhenAWriteFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := mustFileStore(t, filepath.Join(dir, "phone.json"))
	if err := s.Update(func(tx contract.StoreTx) { tx.Append("note.add", json.RawMessage(`{}`), nil) }); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	err := s.Update(func(tx contract.StoreTx) {
		tx.RemoveThrough(1)
		tx.Put("tasks", "t1", json.RawMessage(`{"id":"t1"}`))
		tx.SetCursor(new("c"))
	})
	if err == nil {
		t.Fatal("no error")
	}
	if len(s.Outbox()) != 1 || len(s.All("tasks")) != 0 || s.Cursor() != nil || s.LastMutationID() != 1 {
		t.Errorf("state changed by a failed write: outbox %v, cursor %v", s.Outbox(), s.Cursor())
	}
}

func TestFileStoreRefusesACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phone.json")
	if err := os.WriteFile(path, []byte(`{"format":1,"outbox":[`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := contract.NewFileStore(path); err == nil {
		t.Error("opened a corrupt file")
	}
}

func TestStoresAssignUniqueIDsConcurrently(t *testing.T) {
	for name, s := range map[string]contract.Store{
		"memory": contract.NewMemoryStore(),
		"file":   mustFileStore(t, filepath.Join(t.TempDir(), "phone.json")),
	} {
		t.Run(name, func(t *testing.T) {
			c := contract.New(contract.Config{BaseURL: "http://127.0.0.1:1", DeviceID: testDevice, Store: s})
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if _, err := c.Enqueue(contract.MutTaskStart, contract.TaskArgs{TaskID: "t1"}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			var want []int64
			for i := range int64(20) {
				want = append(want, i+1)
			}
			if got := outboxIDs(c); !slices.Equal(got, want) {
				t.Errorf("outbox ids = %v", got)
			}
		})
	}
}

func TestStoreTxSeesItsOwnChanges(t *testing.T) {
	s := contract.NewMemoryStore()
	err := s.Update(func(tx contract.StoreTx) {
		tx.Put("tasks", "t1", json.RawMessage(`{"id":"t1"}`))
		if _, ok := tx.Get("tasks", "t1"); !ok {
			t.Error("Get in the same Update missed a Put")
		}
		tx.Delete("tasks", "t1")
		tx.AdvanceMutationID(7)
		tx.AdvanceMutationID(3)
		if m := tx.Append("task.start", json.RawMessage(`{"task_id":"t1"}`), nil); m.ID != 8 {
			t.Errorf("id = %d, want 8", m.ID)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.All("tasks")) != 0 || s.LastMutationID() != 8 {
		t.Errorf("tasks %v, last %d", s.All("tasks"), s.LastMutationID())
	}
}
