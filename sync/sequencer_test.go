package sync_test

import (
	"context"
	"runtime"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// TestStampsShareRuns: more than a batch of rows committed unnumbered (by
// an older server), stamped by many callers at once, gets the numbers 1..n each once; the callers that waited share
// one run, so the counts they report add up to n and two runs serve
// sixteen callers.
func TestStampsShareRuns(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			ctx := context.Background()
			const n = 2500
			storagetest.CommitUnnumbered(t, db, changes(n))
			// The first stamping's first transaction waits until every
			// other caller is parked on the engine's lock, so that all of
			// them arrive while it runs.
			gate := &gatedStore{Store: db, release: make(chan struct{})}
			eng := fsync.New(fsync.Config{Store: gate, CursorKey: []byte("k")})
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
			waitParked(t, len(counts)-1)
			close(gate.release)
			wg.Wait()
			total := 0
			for _, k := range counts {
				total += k
			}
			if total != n {
				t.Errorf("the stampers report %d rows stamped, want %d", total, n)
			}
			// One run numbers the 2,500 rows in three batches. The fifteen
			// callers that arrived during it either asked before it started
			// (it covered them) or share one more run, which finds nothing:
			// three or four transactions. Without sharing each of them
			// would run its own, eighteen in all.
			batches := int64((n + 999) / 1000)
			if got := gate.txs.Load(); got < batches || got > batches+1 {
				t.Errorf("%d stamping transactions for %d callers, want %d or %d (one run, or two)", got, len(counts), batches, batches+1)
			}
			rows := readAfter(t, db, 0)
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
// before Tx.StampChanges, for comparison.
type perRow struct{ models.Tx }

func (t perRow) StampChanges(ids []string, first int64) (int64, error) {
	var n int64
	for i, id := range ids {
		k, err := t.UpdateWhere(&models.Change{}, []models.Cond{models.Eq(models.ChangeCols.ID, id), {Column: models.ChangeCols.Seq, Op: models.OpNull}},
			models.Set{models.ChangeCols.Seq: first + int64(i)})
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

// gatedStore counts transactions and holds the first until release is
// closed.
type gatedStore struct {
	models.Store
	release chan struct{}
	txs     atomic.Int64
}

func (s *gatedStore) Tx(ctx context.Context, fn func(models.Tx) error) error {
	if s.txs.Add(1) == 1 {
		<-s.release
	}
	return s.Store.Tx(ctx, fn)
}

// waitParked waits until n goroutines are blocked on a lock inside
// Engine.Stamp, reading the goroutine dump rather than sleeping.
func waitParked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		dump := string(buf[:runtime.Stack(buf, true)])
		parked := 0
		for _, g := range strings.Split(dump, "\n\n") {
			if strings.Contains(g, "sync.(*Mutex).Lock") && strings.Contains(g, "(*Engine).Stamp") {
				parked++
			}
		}
		if parked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers parked on the stamping lock after 30 s, want %d", parked, n)
		}
		runtime.Gosched()
	}
}
