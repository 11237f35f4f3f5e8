package sync_test

import (
	"context"
	gosync "sync"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// TestStampsShareRuns: more than a batch of rows, stamped by many callers
// at once, gets the numbers 1..n each once; the callers that waited share
// runs, so the counts they report add up to n; and the storage adapter
// numbers a batch in one statement.
func TestStampsShareRuns(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			ctx := context.Background()
			err := db.Tx(ctx, func(tx models.Tx) error {
				if _, ok := tx.(models.BatchStamper); !ok {
					t.Errorf("%T does not number changes in one statement", tx)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2500
			err = db.Tx(ctx, func(tx models.Tx) error {
				for range n {
					if err := tx.Create(change()); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			eng := fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")})
			var wg gosync.WaitGroup
			counts := make([]int, 16)
			for i := range counts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k, err := eng.Stamp(ctx)
					if err != nil {
						t.Error(err)
					}
					counts[i] = k
				}()
			}
			wg.Wait()
			total, ran := 0, 0
			for _, k := range counts {
				total += k
				if k > 0 {
					ran++
				}
			}
			if total != n {
				t.Errorf("the stampers report %d rows stamped, want %d", total, n)
			}
			rows := readAfter(t, db, 0)
			for i, r := range rows {
				if *r.Seq != int64(i+1) {
					t.Fatalf("row %d has seq %d", i, *r.Seq)
				}
			}
			var left int64
			err = db.Tx(ctx, func(tx models.Tx) (err error) {
				left, err = tx.Count(&models.Change{}, []models.Cond{{Column: "seq", Op: models.OpNull}})
				return err
			})
			if err != nil || left != 0 {
				t.Fatalf("%d rows left unstamped (%v)", left, err)
			}
			t.Logf("%s: %d callers, %d of them ran a stamping", dialect, len(counts), ran)
		})
	}
}

// perRow hides a transaction's BatchStamper, so that the sequencer
// numbers one row per statement, as it did before.
type perRow struct{ models.Tx }

type perRowStore struct{ models.Store }

func (s perRowStore) Tx(ctx context.Context, fn func(models.Tx) error) error {
	return s.Store.Tx(ctx, func(tx models.Tx) error { return fn(perRow{tx}) })
}

// BenchmarkStamp numbers 1,000 committed change rows, in one statement
// and one statement per row, side by side.
func BenchmarkStamp(b *testing.B) {
	for _, dialect := range storagetest.Dialects {
		db := storagetest.MustOpen(b, dialect)
		for _, c := range []struct {
			name  string
			store models.Store
		}{{"batched", db}, {"per-row", perRowStore{db}}} {
			b.Run(dialect+"/"+c.name, func(b *testing.B) {
				eng := fsync.New(fsync.Config{Store: c.store, CursorKey: []byte("k")})
				ctx := context.Background()
				for range b.N {
					b.StopTimer()
					err := db.Tx(ctx, func(tx models.Tx) error {
						for range 1000 {
							if err := tx.Create(change()); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if n, err := eng.Stamp(ctx); err != nil || n != 1000 {
						b.Fatalf("stamped %d: %v", n, err)
					}
				}
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
