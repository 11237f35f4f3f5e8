package sync_test

import (
	"context"
	gosync "sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// TestStampNumbersUnnumberedRows: more than a batch of rows committed
// unnumbered (by an older server), stamped by sixteen callers at once (as
// many processes' tickers), get the numbers 1..n each once; the counts the
// callers report add up to n, and no row is left unnumbered.
func TestStampNumbersUnnumberedRows(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			ctx := context.Background()
			const n = 2500
			storagetest.CommitUnnumbered(t, db, changes(n))
			var wg gosync.WaitGroup
			counts := make([]int, 16)
			for i := range counts {
				eng := fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")})
				wg.Go(func() {
					k, err := eng.Stamp(ctx)
					if err != nil {
						t.Error(err)
					}
					counts[i] = k
				})
			}
			wg.Wait()
			total := 0
			for _, k := range counts {
				total += k
			}
			if total != n {
				t.Errorf("the stampers report %d rows stamped, want %d", total, n)
			}
			reader := fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")})
			rows := readAfter(t, reader, 0)
			for len(rows) < n {
				more := readAfter(t, reader, *rows[len(rows)-1].Seq)
				if len(more) == 0 {
					break
				}
				rows = append(rows, more...)
			}
			if len(rows) != n {
				t.Fatalf("%d numbered rows, want %d", len(rows), n)
			}
			for i, r := range rows {
				if *r.Seq != int64(i+1) {
					t.Fatalf("row %d has seq %d", i, *r.Seq)
				}
			}
			var left int64
			err := db.Tx(ctx, func(tx models.Tx) (err error) {
				left, err = tx.Count(&models.Change{}, []models.Cond{{Column: models.ChangeCols.Seq, Op: models.OpNull}})
				return err
			})
			if err != nil || left != 0 {
				t.Fatalf("%d rows left unstamped (%v)", left, err)
			}
		})
	}
}

// perRow numbers change rows one per statement, as the sequencer did
// before Tx.SetOnce (then StampChanges) set them together, for comparison.
type perRow struct{ models.Tx }

func (t perRow) SetOnce(model any, cols []models.Column, rows [][]any) (int64, error) {
	var n int64
	for _, r := range rows {
		k, err := t.Tx.SetOnce(model, cols, [][]any{r})
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

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
					storagetest.CommitUnnumbered(b, db, changes(1000))
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

// TestStampWithNothingToStampTakesNoLock: with every row numbered, Stamp
// does not wait for the counter's lock, which a writer holds until it
// commits; once there is an unnumbered row, it numbers it.
func TestStampWithNothingToStampTakesNoLock(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			eng := fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")})
			locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				done <- db.Tx(context.Background(), func(tx models.Tx) error {
					counter := []models.Cond{models.Eq(models.SyncStateCols.Name, models.SyncStateSeq)}
					if _, err := tx.UpdateWhere(&models.SyncState{}, counter, models.Set{models.SyncStateCols.Text: ""}); err != nil {
						return err
					}
					close(locked)
					<-release
					return nil
				})
			}()
			<-locked
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			n, err := eng.Stamp(ctx)
			cancel()
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err != nil || n != 0 {
				t.Fatalf("Stamp with nothing to stamp, while a writer holds the counter: %d, %v; want 0 at once", n, err)
			}
			storagetest.CommitUnnumbered(t, db, changes(1))
			if n, err := eng.Stamp(context.Background()); err != nil || n != 1 {
				t.Fatalf("Stamp with one unnumbered row: %d, %v; want 1", n, err)
			}
		})
	}
}
