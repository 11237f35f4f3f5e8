package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/fieldwork"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestSyncResetKeepsOutbox: a device whose cursor comes from an older
// epoch (the server was restored from a backup) is told to reset; it
// pushes its unsent work first, then rebuilds its store from a null
// cursor, and ends with the server's view.
func TestSyncResetKeepsOutbox(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			ctx := context.Background()
			phone := contract.New(contract.Config{BaseURL: e.listen(), DeviceID: uuid.NewString(),
				Sleep: func(context.Context, time.Duration) error { return nil }})
			if err := phone.Login(ctx, "insp1", "password-insp1"); err != nil {
				t.Fatal(err)
			}
			if _, err := phone.Pull(ctx); err != nil {
				t.Fatal(err)
			}
			if len(phone.Records("tasks")) != 1 {
				t.Fatalf("insp1 should hold one task, has %d", len(phone.Records("tasks")))
			}
			// Offline: a note the server has not seen.
			noteID := uuid.NewString()
			if _, err := phone.Enqueue(fieldwork.MutNoteAdd, map[string]any{"id": noteID, "task_id": e.fx.task1.ID, "text": "离线记录"}); err != nil {
				t.Fatal(err)
			}
			// Meanwhile the server is restored and the task is reassigned.
			if _, err := e.sync.NewEpoch(ctx); err != nil {
				t.Fatal(err)
			}
			rep, err := phone.Pull(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Reset {
				t.Fatal("a cursor of an older epoch must reset")
			}
			if len(phone.Outbox()) != 0 {
				t.Fatalf("the outbox was not pushed before the reset: %v", phone.Outbox())
			}
			var n int64
			e.svc.Store.Tx(ctx, func(tx models.Tx) (err error) {
				n, err = tx.Count(&models.Note{}, []models.Cond{models.Eq("id", noteID)})
				return err
			})
			if n != 1 {
				t.Fatalf("the offline note was lost in the reset (%d rows)", n)
			}
			if _, ok := phone.Records("notes")[noteID]; !ok || len(phone.Records("tasks")) != 1 {
				t.Fatalf("after the reset the phone holds notes %v and %d tasks", phone.Records("notes"), len(phone.Records("tasks")))
			}
		})
	}
}
