package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// TestDatabaseOutage stops a private MariaDB, cleanly and by a crash,
// while transactions that read and write run against it, and starts it
// again: every failure must be models.ErrUnavailable (which the API
// answers with 503 and Retry-After, so that devices retry), never an
// untranslated driver error (a 500) or a domain error (which a push would
// record as the mutation's rejection), and the pool must recover by
// itself once the server is back.
func TestDatabaseOutage(t *testing.T) {
	mdb := testenv.StartPrivateMariaDB(t)
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{MySQLDSN: mdb.DSN, MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	unit := mkUnit(t, db, "OUTAGE", nil)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			var (
				stop     atomic.Bool
				wg       sync.WaitGroup
				ok, down atomic.Int64
				mu       sync.Mutex
				wrong    = map[string]int{}
			)
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						err := db.Tx(ctx, func(tx models.Tx) error {
							var u models.Unit
							if err := tx.Get(&u, unit.ID); err != nil {
								return err
							}
							_, err := tx.UpdateWhere(&models.Unit{}, []models.Cond{models.Eq("id", unit.ID)}, models.Set{"updated_at": time.Now().UTC()})
							return err
						})
						switch {
						case err == nil:
							ok.Add(1)
						case errors.Is(err, models.ErrUnavailable):
							down.Add(1)
						default:
							mu.Lock()
							wrong[fmt.Sprintf("%T: %v", errors.Unwrap(err), err)]++
							mu.Unlock()
						}
						if err != nil {
							time.Sleep(20 * time.Millisecond) // a client backing off, not a busy loop
						}
					}
				}()
			}
			waitFor(t, "transactions to run", func() bool { return ok.Load() > 50 })
			if err := mdb.Stop(sig); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "transactions to fail", func() bool { return down.Load() > 20 })
			if err := mdb.Start(); err != nil {
				t.Fatal(err)
			}
			before := ok.Load()
			waitFor(t, "transactions to succeed again", func() bool { return ok.Load() > before+50 })
			stop.Store(true)
			wg.Wait()
			for msg, n := range wrong {
				t.Errorf("%d× not ErrUnavailable: %s", n, msg)
			}
			if err := db.Ping(ctx); err != nil {
				t.Errorf("ping after the restart: %v", err)
			}
			t.Logf("%v: %d transactions succeeded, %d failed as unavailable", sig, ok.Load(), down.Load())
		})
	}
}

// waitFor polls cond until it holds, failing the test after a minute: the
// machine is shared and slow, so no fixed sleep can stand in for it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
