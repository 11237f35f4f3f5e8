package sync_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// countingStore counts the transactions and the reads run through it.
type countingStore struct {
	models.Store
	n, reads atomic.Int64
}

func (s *countingStore) Tx(ctx context.Context, fn func(models.Tx) error) error {
	s.n.Add(1)
	return s.Store.Tx(ctx, fn)
}

func (s *countingStore) Read(ctx context.Context, fn func(models.Tx) error) error {
	s.reads.Add(1)
	return s.Store.Read(ctx, fn)
}

// TestPushOneTransaction: a push's new mutations go in one transaction
// (one commit); a push with a rejection among them falls back to a
// transaction per mutation, with the same results as ever, and the
// rejected one leaves nothing behind.
func TestPushOneTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		cs := &countingStore{Store: e.db}
		eng := fsync.New(fsync.Config{Store: cs, Service: e.svc, CursorKey: []byte("k")})
		ctx := context.Background()
		task := e.tasks[0].ID
		client := uuid.NewString()
		notes := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
		note := func(id int64, n int, task string) fsync.Mutation {
			return mut(id, "note.add", map[string]any{"id": notes[n], "task_id": task, "text": "现场记录"})
		}
		clean := fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(1, "task.start", map[string]any{"task_id": task}), note(2, 0, task),
		}}
		res, err := eng.Push(ctx, e.insp[0], clean)
		if err != nil || len(res.Results) != 2 || res.Results[0].Status != fsync.StatusApplied || res.Results[1].Status != fsync.StatusApplied {
			t.Fatalf("push: %+v, %v", res, err)
		}
		// A new client: the batch tried first finds no client row, then
		// the client is registered and the batch runs.
		if n := cs.n.Load(); n != 3 {
			t.Errorf("a new client's first push of 2 mutations ran %d transactions, want 3 (the batch tried, the client, the batch)", n)
		}
		// The next push is one transaction, with no read of the client row
		// before it.
		cs.n.Store(0)
		cs.reads.Store(0)
		next := fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(3, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task, "text": "下一次"}),
			mut(4, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task, "text": "再下一次"}),
		}}
		if res, err := eng.Push(ctx, e.insp[0], next); err != nil || res.LastMutationID != 4 || len(res.Results) != 2 || res.Results[1].Status != fsync.StatusApplied {
			t.Fatalf("the next push: %+v, %v", res, err)
		}
		if n, r := cs.n.Load(), cs.reads.Load(); n != 1 || r != 0 {
			t.Errorf("the next push ran %d transactions and %d reads, want 1 and 0", n, r)
		}
		// Another device of the same user cannot push into this client.
		other := e.insp[0]
		other.DeviceID = uuid.NewString()
		stolen := fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(5, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task, "text": "别的设备"}),
			mut(6, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task, "text": "别的设备"}),
		}}
		if _, err := eng.Push(ctx, other, stolen); models.AsError(err) == nil || models.AsError(err).Code != models.CodeClientOwnedByOther {
			t.Fatalf("a push into another device's client: %v, want %s", err, models.CodeClientOwnedByOther)
		}
		mixed := fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			note(5, 1, task), note(6, 2, e.tasks[2].ID), note(7, 3, task), // the second is not theirs
		}}
		res, err = eng.Push(ctx, e.insp[0], mixed)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fsync.StatusApplied, fsync.StatusRejected, fsync.StatusApplied}
		for i, r := range res.Results {
			if r.ID != int64(i+5) || r.Status != want[i] {
				t.Errorf("result %d: %+v, want %s", i, r, want[i])
			}
		}
		if res.LastMutationID != 7 || res.Results[1].Code != "not_found" {
			t.Errorf("last mutation id %d, rejection %+v", res.LastMutationID, res.Results[1])
		}
		for i, id := range notes {
			var n models.Note
			err := e.db.Tx(ctx, func(tx models.Tx) error { return tx.Get(&n, id) })
			if (i == 2) != models.IsNotFound(err) {
				t.Errorf("note %d: %v", i, err)
			}
		}
		again, err := eng.Push(ctx, e.insp[0], mixed)
		if err != nil || len(again.Results) != 3 || again.Results[1].Code != "not_found" || again.Results[2].Status != fsync.StatusApplied {
			t.Fatalf("the repeated push: %+v, %v", again, err)
		}

		// A batch's notes go in one INSERT (HoldInserts).
		inserts := storagetest.CountStatements(t, e.db, storagetest.Inserts, "notes")
		fresh := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		three := fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(8, "note.add", map[string]any{"id": fresh[0], "task_id": task, "text": "一"}),
			mut(9, "note.add", map[string]any{"id": fresh[1], "task_id": task, "text": "二"}),
			mut(10, "note.add", map[string]any{"id": fresh[2], "task_id": task, "text": "三"}),
		}}
		if res, err := eng.Push(ctx, e.insp[0], three); err != nil || res.LastMutationID != 10 || res.Results[2].Status != fsync.StatusApplied {
			t.Fatalf("a push of three notes: %+v, %v", res, err)
		}
		if n := inserts.Load(); n != 1 {
			t.Errorf("a batch of three notes ran %d INSERTs into notes, want 1", n)
		}
		// New mutations that carry stored notes' ids (another device of
		// the same inspector sent them first): the held INSERT clashes at
		// the batch's end, and the fallback answers each as ever — the same
		// content applied, other content refused — beside a new note.
		clash := fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(11, "note.add", map[string]any{"id": fresh[0], "task_id": task, "text": "一"}),
			mut(12, "note.add", map[string]any{"id": fresh[1], "task_id": task, "text": "改过的"}),
			mut(13, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task, "text": "四"}),
		}}
		res, err = eng.Push(ctx, e.insp[0], clash)
		if err != nil || len(res.Results) != 3 {
			t.Fatalf("the clashing push: %+v, %v", res, err)
		}
		if res.Results[0].Status != fsync.StatusApplied || res.Results[1].Code != string(models.CodeRecordExists) || res.Results[2].Status != fsync.StatusApplied {
			t.Errorf("the clashing push's results: %+v", res.Results)
		}
	})
}

// TestPushReadsEachTaskOnce: a push's batch reads the tasks its mutations
// name, their items and their templates in a statement each (Prefetch),
// however many mutations name each task and whichever of them write the
// task or the item, and the results are those of reading them one by one.
func TestPushReadsEachTaskOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		client := uuid.NewString()
		a, b := e.tasks[0].ID, e.tasks[1].ID
		note := func(id int64, task string) fsync.Mutation {
			return mut(id, "note.add", map[string]any{"id": uuid.NewString(), "task_id": task, "text": "现场记录"})
		}
		// The client's first push registers it; the counted one is next.
		if res, err := e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion,
			Mutations: []fsync.Mutation{note(1, a)}}); err != nil || res.Results[0].Status != fsync.StatusApplied {
			t.Fatalf("first push: %+v, %v", res, err)
		}
		selects := map[string]*atomic.Int64{}
		for _, table := range []string{"tasks", "items", "templates"} {
			selects[table] = storagetest.CountStatements(t, e.db, storagetest.Selects, table)
		}
		answer := func(id int64, task, q string, v any) fsync.Mutation {
			return mut(id, "checklist.answer", map[string]any{"id": uuid.NewString(), "task_id": task, "question_id": q, "value": v})
		}
		muts := []fsync.Mutation{
			mut(2, "task.start", map[string]any{"task_id": a}), answer(3, a, "q1", true),
			mut(4, "task.start", map[string]any{"task_id": b}), answer(5, b, "q2", 12.5), note(6, a), answer(7, b, "q3", "已封堵"),
			mut(8, "task.start", map[string]any{"task_id": uuid.NewString()}), // no such task: refused
		}
		res, err := e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: muts[:6]})
		if err != nil || res.LastMutationID != 7 {
			t.Fatalf("push: %+v, %v", res, err)
		}
		for i, r := range res.Results {
			if r.Status != fsync.StatusApplied {
				t.Errorf("mutation %d: %+v", i+2, r)
			}
		}
		// The two tasks share one item and one template. Besides the
		// tasks' read, the first start moves the item to
		// in progress, and whose devices must hear of that is a read of
		// tasks too (models.Holders).
		for table, want := range map[string]int64{"tasks": 2, "items": 1, "templates": 1} {
			if got := selects[table].Load(); got != want {
				t.Errorf("a push naming two tasks read %s in %d statements; want %d", table, got, want)
			}
		}
		var started models.InspectionTask
		if err := e.db.Read(ctx, func(tx models.Tx) error { return tx.Get(&started, b) }); err != nil || started.Status != models.TaskInProgress {
			t.Errorf("task b after the push: %s (%v); want in_progress", started.Status, err)
		}
		// A batch of notes reads neither items nor templates.
		for _, n := range selects {
			n.Store(0)
		}
		if res, err := e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion,
			Mutations: []fsync.Mutation{note(8, a), note(9, b)}}); err != nil || res.LastMutationID != 9 {
			t.Fatalf("a push of notes: %+v, %v", res, err)
		}
		for table, want := range map[string]int64{"tasks": 1, "items": 0, "templates": 0} {
			if got := selects[table].Load(); got != want {
				t.Errorf("a push of two notes read %s in %d statements; want %d", table, got, want)
			}
		}
		// A mutation naming a task that does not exist is refused as it
		// was before the batch read ahead.
		muts[6].ID = 10
		res, err = e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: muts[6:]})
		if err != nil || len(res.Results) != 1 || res.Results[0].Code != "not_found" {
			t.Errorf("a start of a task that does not exist: %+v, %v; want it refused as not_found", res, err)
		}
	})
}

// TestPushSeesItsOwnWritesInAnyCase: an app that writes ids in upper case
// (Swift's UUID.uuidString does) names the same task as one in lower
// case on MariaDB, whose collation finds either; a mutation after one
// that completed the task sees it completed, whatever the case, and is
// refused as it would be in a push of its own.
func TestPushSeesItsOwnWritesInAnyCase(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		if e.db.Dialect() != storage.DialectMySQL {
			t.Skip("SQLite compares ids case-sensitively: an upper-case id names no task there")
		}
		ctx := context.Background()
		upper := strings.ToUpper(e.tasks[0].ID)
		res, err := e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: uuid.NewString(), SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
			mut(1, "task.start", map[string]any{"task_id": upper}),
			mut(2, "task.complete", map[string]any{"task_id": e.tasks[0].ID}),
			mut(3, "checklist.answer", map[string]any{"id": uuid.NewString(), "task_id": upper, "question_id": "q1", "value": true}),
		}})
		if err != nil || len(res.Results) != 3 {
			t.Fatalf("push: %+v, %v", res, err)
		}
		if res.Results[0].Status != fsync.StatusApplied || res.Results[1].Status != fsync.StatusApplied {
			t.Fatalf("start and complete: %+v", res.Results[:2])
		}
		if r := res.Results[2]; r.Status != fsync.StatusRejected || r.Code != string(models.CodeTaskClosed) {
			t.Errorf("an answer on the completed task, named in upper case: %+v; want it refused as %s", r, models.CodeTaskClosed)
		}
	})
}

// BenchmarkPush pushes batches of 1, 10 and 100 notes from one device:
// the engine's time for a push, without HTTP. b.Loop times the pushes
// alone, not the database's set-up before them.
func BenchmarkPush(b *testing.B) {
	for _, dialect := range storagetest.Dialects {
		for _, size := range []int{1, 10, 100} {
			b.Run(fmt.Sprintf("%s/batch%d", dialect, size), func(b *testing.B) {
				e := newEnv(b, dialect)
				ctx := context.Background()
				client, next := uuid.NewString(), int64(1)
				for b.Loop() {
					muts := make([]fsync.Mutation, size)
					for i := range muts {
						muts[i] = mut(next, "note.add", map[string]any{"id": uuid.NewString(), "task_id": e.tasks[0].ID, "text": "现场记录"})
						next++
					}
					res, err := e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: muts})
					if err != nil || res.LastMutationID != next-1 {
						b.Fatalf("push: %v, last %d", err, res.LastMutationID)
					}
				}
				b.ReportMetric(float64(int(next-1))/b.Elapsed().Seconds(), "mutations/s")
			})
		}
	}
}

// BenchmarkPushVisits pushes what the field routine sends (fieldsim's
// device.work): pushes of ten mutations on two tasks, checklist answers,
// a verification and notes, from one device.
func BenchmarkPushVisits(b *testing.B) {
	for _, dialect := range storagetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			e := newEnv(b, dialect)
			ctx := context.Background()
			client, next := uuid.NewString(), int64(1)
			tasks := []string{e.tasks[0].ID, e.tasks[1].ID}
			for b.Loop() {
				muts := make([]fsync.Mutation, 0, 10)
				for _, task := range tasks {
					add := func(name string, args map[string]any) {
						args["task_id"] = task
						muts = append(muts, mut(next, name, args))
						next++
					}
					add("checklist.answer", map[string]any{"id": uuid.NewString(), "question_id": "q1", "value": true})
					add("checklist.answer", map[string]any{"id": uuid.NewString(), "question_id": "q2", "value": 12.5})
					add("checklist.answer", map[string]any{"id": uuid.NewString(), "question_id": "q3", "value": "排口已封堵"})
					add("verification.record", map[string]any{"id": uuid.NewString(), "conclusion": "rectified", "notes": "现场无异味",
						"location": map[string]any{"lat": 30.27, "lng": 120.15, "accuracy_m": 8}, "recorded_at": e.now.Format(time.RFC3339), "evidence_ids": []string{}})
					add("note.add", map[string]any{"id": uuid.NewString(), "text": "复查时间另行通知"})
				}
				res, err := e.eng.Push(ctx, e.insp[0], fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: muts})
				if err != nil || res.LastMutationID != next-1 {
					b.Fatalf("push: %v, last %d", err, res.LastMutationID)
				}
				for _, r := range res.Results {
					if r.Status != fsync.StatusApplied {
						b.Fatalf("mutation %d: %+v", r.ID, r)
					}
				}
			}
			b.ReportMetric(float64(int(next-1))/b.Elapsed().Seconds(), "mutations/s")
		})
	}
}
