package sync_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestPullReadsTasksOnlyForReferences: an inspector's visibility of
// items, sites, templates and decisions depends on their open tasks, so
// a pull reads those tasks only when its page carries one of them; a
// delta of the inspector's own notes reads none, and an item edited
// afterwards still arrives.
func TestPullReadsTasksOnlyForReferences(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		taskReads := storagetest.CountStatements(t, e.db, storagetest.Selects, "tasks")
		ups, _, cur := e.pullAll(e.insp[0], nil)
		if len(ups["items"]) != 1 || taskReads.Load() == 0 {
			t.Fatalf("initial pull: %d items, %d task reads; want 1 item and the tasks read", len(ups["items"]), taskReads.Load())
		}
		e.push(e.insp[0], mut(1, "note.add", map[string]any{"id": uuid.NewString(), "task_id": e.tasks[0].ID, "text": "现场无人"}))
		taskReads.Store(0)
		ups, _, cur = e.pullAll(e.insp[0], &cur)
		if len(ups["notes"]) != 1 || len(ups) != 1 {
			t.Fatalf("delta after a note: %v", ups)
		}
		if n := taskReads.Load(); n != 0 {
			t.Errorf("a delta of the inspector's own note read the tasks table %d times; want 0", n)
		}
		must(items.New(e.svc).UpdateItem(context.Background(), e.sup, e.item.ID, items.ItemInput{Measures: ptr("封堵并复核"), Version: &e.item.Version}))
		ups, rems, _ := e.pullAll(e.insp[0], &cur)
		if len(ups["items"]) != 1 || len(rems["items"]) != 0 || taskReads.Load() == 0 {
			t.Errorf("delta after an item edit: upserts %v, removes %v, %d task reads; want the item, read against the tasks", ups, rems, taskReads.Load())
		}
	})
}
