package storage_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

var auditBase = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// auditService is one server process's view of db: its own service (and
// so its own in-process chainer lock) over the shared database. The clock
// ticks a microsecond per reading, so that entries' times are distinct
// and known without sleeping.
func auditService(db *storage.DB, ticks *atomic.Int64) *audit.Service {
	return audit.New(&models.Service{Store: db, NewID: newID, Now: func() time.Time {
		return auditBase.Add(time.Duration(ticks.Add(1)) * time.Microsecond)
	}})
}

var auditor = models.Actor{UserID: "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a01", Username: "admin", Role: models.RoleAdmin,
	DeviceID: "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a02"}

// chained reads the whole chain in seq order.
func chained(t *testing.T, db *storage.DB) []models.AuditEntry {
	t.Helper()
	var rows []models.AuditEntry
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&rows, models.Query{Where: []models.Cond{{Column: "seq", Op: models.OpNotNull}}, OrderBy: "seq"})
	})
	return rows
}

func mustVerify(t *testing.T, svc *audit.Service, expect ...audit.Anchor) audit.Report {
	t.Helper()
	rep, err := svc.VerifyAudit(context.Background(), expect...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// wantProblem checks that verification fails at seq with kind.
func wantProblem(t *testing.T, svc *audit.Service, seq int64, kind audit.ProblemKind, expect ...audit.Anchor) {
	t.Helper()
	rep := mustVerify(t, svc, expect...)
	if rep.OK || rep.Problem == nil || rep.Problem.Seq != seq || rep.Problem.Kind != kind {
		t.Fatalf("want %s at entry %d, got OK=%v problem %+v", kind, seq, rep.OK, rep.Problem)
	}
	t.Logf("found: %s", rep.Problem)
}

func wantIntact(t *testing.T, svc *audit.Service, n int64, expect ...audit.Anchor) audit.Report {
	t.Helper()
	rep := mustVerify(t, svc, expect...)
	if !rep.OK || rep.Checked != n || rep.Head.Seq != n {
		t.Fatalf("want an intact chain of %d, got %+v (problem %v)", n, rep, rep.Problem)
	}
	return rep
}

// TestAuditChain: entries written by concurrent writers, some holding
// their transaction open, while two processes chain at once, all end up
// chained exactly once in a gap-free chain that verifies; then every kind
// of tampering is found, and the one that leaves a consistent chain is
// found against an anchor.
func TestAuditChain(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			var ticks atomic.Int64
			procs := []*audit.Service{auditService(db, &ticks), auditService(db, &ticks)}
			svc := procs[0]
			written := writeConcurrently(t, db, procs, dialect)
			if _, err := svc.ChainAudit(context.Background()); err != nil {
				t.Fatal(err)
			}
			// A few batches' worth in one transaction, so that chaining and
			// verification cross their batch boundaries.
			const bulk = 2345
			mustTx(t, db, func(tx models.Tx) error {
				for i := range bulk {
					e := models.AuditEntry{ID: newID(), At: auditBase.Add(time.Hour + time.Duration(i)*time.Microsecond), Action: models.AuditItemUpdate,
						Entity: models.EntityItems, RecordID: newID(), Detail: `{"fields":["title"]}`}
					if err := tx.Create(&e); err != nil {
						return err
					}
					written[e.ID] = true
				}
				return nil
			})
			if n, err := svc.Unchained(context.Background()); err != nil || n != bulk {
				t.Fatalf("backlog before chaining: %d, want %d (%v)", n, bulk, err)
			}
			if n, err := svc.ChainAudit(context.Background()); err != nil || n != bulk {
				t.Fatalf("chained %d of %d: %v", n, bulk, err)
			}
			if n, err := svc.Unchained(context.Background()); err != nil || n != 0 {
				t.Fatalf("backlog after chaining: %d (%v)", n, err)
			}
			rows := chained(t, db)
			seen := map[string]bool{}
			for i, e := range rows {
				if *e.Seq != int64(i+1) {
					t.Fatalf("entry %d has seq %d: the chain has a gap or a duplicate", i+1, *e.Seq)
				}
				if !written[e.ID] || seen[e.ID] {
					t.Fatalf("entry %s chained twice or never written", e.ID)
				}
				seen[e.ID] = true
			}
			if len(rows) != len(written) {
				t.Fatalf("%d entries written, %d chained", len(written), len(rows))
			}
			n := int64(len(rows))
			rep := wantIntact(t, svc, n)
			t.Logf("%s: %d entries chained once each, gap-free; head %s", dialect, n, rep.Head)
			tamper(t, db, svc, rows)
		})
	}
}

// writeConcurrently runs writers while both processes chain, and returns
// the ids of the entries written.
func writeConcurrently(t *testing.T, db *storage.DB, procs []*audit.Service, dialect string) map[string]bool {
	writers, perWriter := 8, 30
	if dialect == storage.DialectSQLite {
		writers, perWriter = 4, 20 // one connection: writers queue
	}
	var (
		mu       sync.Mutex
		written  = map[string]bool{}
		exported atomic.Int64
		wg       sync.WaitGroup
	)
	for w := range writers {
		svc := procs[w%len(procs)]
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range perWriter {
				var ids []string
				err := db.Tx(context.Background(), func(tx models.Tx) error {
					// A domain transaction: its entries, then maybe a while
					// before it commits, with others committing meanwhile.
					ids = ids[:0]
					for range 1 + r.IntN(3) {
						e := models.AuditEntry{ID: newID(), At: svc.Now().UTC().Truncate(time.Microsecond), ActorID: auditor.UserID,
							ActorName: auditor.Username, ActorRole: auditor.Role, DeviceID: auditor.DeviceID,
							Action: models.AuditTaskStart, Entity: models.EntityTasks, RecordID: newID(), Detail: `{"status":{"from":"assigned","to":"in_progress"}}`}
						if err := tx.Create(&e); err != nil {
							return err
						}
						ids = append(ids, e.ID)
					}
					if r.IntN(3) == 0 {
						time.Sleep(time.Duration(r.IntN(10)) * time.Millisecond)
					}
					return nil
				})
				if err == nil && r.IntN(2) == 0 {
					// The exported writer, in a transaction of its own.
					err = svc.Audit(context.Background(), auditor, models.AuditExportLedger, models.EntityItems, "", map[string]string{"format": "xlsx"})
					if err == nil {
						exported.Add(1)
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					written[id] = true
				}
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	var chainers sync.WaitGroup
	for _, svc := range procs {
		chainers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := svc.ChainAudit(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	chainers.Wait()
	// Audit makes its entries' ids; take them from the table, where every
	// entry of that action is one of those calls'.
	var exports []models.AuditEntry
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&exports, models.Query{Where: []models.Cond{models.Eq("action", models.AuditExportLedger)}})
	})
	if int64(len(exports)) != exported.Load() {
		t.Fatalf("%d entries written through Audit, %d stored", exported.Load(), len(exports))
	}
	for _, e := range exports {
		written[e.ID] = true
	}
	return written
}

// tamper changes the chain behind the service's back, the way someone with
// database access would, and checks each change is found; each is undone
// before the next.
func tamper(t *testing.T, db *storage.DB, svc *audit.Service, rows []models.AuditEntry) {
	g := db.Gorm()
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := g.Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	n := int64(len(rows))
	k := n / 2
	mid := rows[k-1]

	t.Run("ChangedColumn", func(t *testing.T) {
		for _, c := range []struct {
			col        string
			bad, value any
		}{
			{"actor_name", "mallory", mid.ActorName},
			{"detail", `{"status":{"from":"assigned","to":"completed"}}`, mid.Detail},
			{"at", mid.At.Add(time.Microsecond), mid.At},
			{"action", models.AuditTaskCancel, mid.Action},
			{"record_id", newID(), mid.RecordID},
			{"prev_hash", models.AuditGenesis, *mid.PrevHash},
		} {
			exec("UPDATE audit_log SET "+c.col+" = ? WHERE seq = ?", c.bad, k)
			wantProblem(t, svc, k, audit.Changed)
			exec("UPDATE audit_log SET "+c.col+" = ? WHERE seq = ?", c.value, k)
			wantIntact(t, svc, n)
		}
	})
	t.Run("RewrittenWithItsHash", func(t *testing.T) {
		e := mid
		e.ActorName = "mallory"
		exec("UPDATE audit_log SET actor_name = ?, hash = ? WHERE seq = ?", e.ActorName, models.AuditHash(*e.PrevHash, k, &e), k)
		wantProblem(t, svc, k+1, audit.LinkBroken)
		exec("UPDATE audit_log SET actor_name = ?, hash = ? WHERE seq = ?", mid.ActorName, *mid.Hash, k)
		wantIntact(t, svc, n)
	})
	t.Run("DeletedMiddle", func(t *testing.T) {
		exec("DELETE FROM audit_log WHERE seq = ?", k)
		wantProblem(t, svc, k, audit.Deleted)
		mustTx(t, db, func(tx models.Tx) error { e := mid; return tx.Create(&e) })
		wantIntact(t, svc, n)
	})
	t.Run("UnchainedAgain", func(t *testing.T) {
		// Clearing an entry's seq hides it from the walk: a gap.
		exec("UPDATE audit_log SET seq = NULL WHERE seq = ?", k)
		wantProblem(t, svc, k, audit.Deleted)
		exec("UPDATE audit_log SET seq = ? WHERE id = ?", k, mid.ID)
		wantIntact(t, svc, n)
	})
	t.Run("HeadMovedBack", func(t *testing.T) {
		exec("UPDATE audit_head SET seq = ?, hash = ? WHERE name = 'chain'", n-3, *rows[n-4].Hash)
		wantProblem(t, svc, n-2, audit.HeadMismatch)
		// A listing goes no further than the head it read first.
		page, err := svc.ListAudit(context.Background(), auditor, audit.Filter{}, audit.Params{After: n - 5})
		if err != nil || len(page.Items) != 2 || *page.Items[1].Seq != n-3 {
			t.Fatalf("listing after %d with the head at %d: %d entries, %v", n-5, n-3, len(page.Items), err)
		}
		exec("UPDATE audit_head SET hash = ? WHERE name = 'chain'", models.AuditGenesis)
		wantProblem(t, svc, n-3, audit.HeadMismatch)
		exec("UPDATE audit_head SET seq = ?, hash = ? WHERE name = 'chain'", n, *rows[n-1].Hash)
		wantIntact(t, svc, n)
	})
	t.Run("TruncatedWithTheHead", func(t *testing.T) {
		anchor := audit.Anchor{Seq: n, Hash: *rows[n-1].Hash}
		wantIntact(t, svc, n, anchor)
		exec("DELETE FROM audit_log WHERE seq = ?", n)
		// The head still names the deleted entry.
		wantProblem(t, svc, n, audit.Deleted)
		// Moved back too, the chain is consistent again: only the anchor
		// recorded before shows what is missing.
		exec("UPDATE audit_head SET seq = ?, hash = ? WHERE name = 'chain'", n-1, *rows[n-2].Hash)
		wantIntact(t, svc, n-1)
		wantProblem(t, svc, n, audit.AnchorMismatch, anchor)
		// An anchor inside the chain still holds; a forged one does not.
		wantIntact(t, svc, n-1, audit.Anchor{Seq: k, Hash: *mid.Hash})
		wantProblem(t, svc, k, audit.AnchorMismatch, audit.Anchor{Seq: k, Hash: models.AuditGenesis})
	})
}

// TestAuditLateCommit: an entry whose transaction is still open when the
// chainer runs is not chained, nor waited for; it is chained, after the
// entries that committed before it, once it commits. It needs two
// connections, so it runs on MySQL.
func TestAuditLateCommit(t *testing.T) {
	db := storagetest.MustOpen(t, storage.DialectMySQL)
	var ticks atomic.Int64
	svc := auditService(db, &ticks)
	ctx := context.Background()
	inserted, commit, finished := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		finished <- db.Tx(ctx, func(tx models.Tx) error {
			if err := tx.Create(&models.AuditEntry{ID: newID(), At: auditBase, Action: models.AuditLogin, Entity: models.EntityUsers, Detail: "{}"}); err != nil {
				return err
			}
			inserted <- struct{}{}
			<-commit
			return nil
		})
	}()
	<-inserted
	if err := svc.Audit(ctx, auditor, models.AuditLogout, models.EntityUsers, auditor.UserID, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ChainAudit(ctx); err != nil || n != 1 {
		t.Fatalf("chained %d while a writer is open, want 1: %v", n, err)
	}
	close(commit)
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, svc)
	if !rep.OK || rep.Unchained != 1 || rep.Checked != 1 {
		t.Fatalf("after the late commit: %+v", rep)
	}
	if n, err := svc.ChainAudit(ctx); err != nil || n != 1 {
		t.Fatalf("chained %d after the commit, want 1: %v", n, err)
	}
	rows := chained(t, db)
	if len(rows) != 2 || rows[0].Action != models.AuditLogout || rows[1].Action != models.AuditLogin {
		t.Fatalf("the late entry must come second: %+v", rows)
	}
	wantIntact(t, svc, 2)
}

// TestChainAuditWithNothingToChainTakesNoLock: with every entry chained,
// ChainAudit does not wait for the head's lock, which another process's
// chainer holds until it commits; with an unchained entry it does, and
// chains it.
func TestChainAuditWithNothingToChainTakesNoLock(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			var ticks atomic.Int64
			svc := auditService(db, &ticks)
			locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				done <- db.Tx(context.Background(), func(tx models.Tx) error {
					// The UPDATE changes nothing (MySQL counts no row) but
					// locks the row, which the Get shows is there.
					_, err := tx.UpdateWhere(&auditHeadRow{}, []models.Cond{models.Eq("name", "chain")}, models.Set{"name": "chain"})
					if err == nil {
						err = tx.Get(&auditHeadRow{}, "chain")
					}
					close(locked)
					if err != nil {
						return err
					}
					<-release
					return nil
				})
			}()
			<-locked
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			n, err := svc.ChainAudit(ctx)
			cancel()
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err != nil || n != 0 {
				t.Fatalf("ChainAudit with nothing to chain, while another chainer holds the head: %d, %v; want 0 at once", n, err)
			}
			mustTx(t, db, func(tx models.Tx) error {
				return tx.Create(&models.AuditEntry{ID: newID(), At: auditBase, Action: models.AuditItemUpdate,
					Entity: models.EntityItems, RecordID: newID(), Detail: `{"fields":["title"]}`})
			})
			if n, err := svc.ChainAudit(context.Background()); err != nil || n != 1 {
				t.Fatalf("ChainAudit with one unchained entry: %d, %v; want 1", n, err)
			}
			wantIntact(t, svc, 1)
		})
	}
}

// auditHeadRow is the audit chain's head row (table audit_head), for
// taking its lock as another process's chainer does.
type auditHeadRow struct {
	Name string `gorm:"primaryKey"`
	Seq  int64
	Hash string
}

func (auditHeadRow) TableName() string { return "audit_head" }
