package storage_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestChangeRowsWrittenTogether checks that a transaction's change-log
// rows are held back and written in multi-row INSERTs of at most 500 rows
// when it ends, that the transaction still reads its own rows (a
// statement on the log writes them first), and that a rolled-back
// transaction leaves none.
func TestChangeRowsWrittenTogether(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			var inserts atomic.Int64
			if err := db.Gorm().Callback().Create().After("gorm:create").Register("test:count_change_inserts", func(g *gorm.DB) {
				if g.Statement.Table == "changes" && g.Error == nil {
					inserts.Add(1)
				}
			}); err != nil {
				t.Fatal(err)
			}
			scope := "test:" + newID()
			rows := func(n int) *[]models.Change {
				out := make([]models.Change, n)
				for i := range out {
					out[i] = models.Change{ID: newID(), Entity: models.EntityNotes, RecordID: newID(), Version: 1, Op: models.OpUpsert, Scope: scope, CreatedAt: time.Now().UTC()}
				}
				return &out
			}
			count := func(tx models.Tx) int64 {
				n, err := tx.Count(&models.Change{}, []models.Cond{models.Eq("scope", scope)})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}

			mustTx(t, db, func(tx models.Tx) error {
				for range 3 {
					if err := tx.Create(rows(2)); err != nil {
						return err
					}
				}
				if inserts.Load() != 0 {
					t.Errorf("%d INSERTs into the log before the transaction read it or ended; want 0", inserts.Load())
				}
				if n := count(tx); n != 6 {
					t.Errorf("the transaction reads %d of its 6 change rows", n)
				}
				if inserts.Load() != 1 {
					t.Errorf("reading the log wrote the 6 rows in %d INSERTs; want 1", inserts.Load())
				}
				for range 3 {
					if err := tx.Create(rows(400)); err != nil {
						return err
					}
				}
				return nil
			})
			if got := inserts.Load(); got != 1+3 {
				t.Errorf("1,200 rows held back were written in %d INSERTs; want 3 (500, 500, 200)", got-1)
			}
			mustTx(t, db, func(tx models.Tx) error {
				if n := count(tx); n != 1206 {
					t.Errorf("%d change rows after commit; want 1206", n)
				}
				return nil
			})

			boom := errors.New("boom")
			err := db.Tx(context.Background(), func(tx models.Tx) error {
				if err := tx.Create(rows(3)); err != nil {
					return err
				}
				if n := count(tx); n != 1209 {
					t.Errorf("the transaction reads %d rows; want 1209", n)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want boom", err)
			}
			mustTx(t, db, func(tx models.Tx) error {
				if n := count(tx); n != 1206 {
					t.Errorf("%d change rows after a rollback; want the 1206 committed before", n)
				}
				return nil
			})
		})
	}
}
