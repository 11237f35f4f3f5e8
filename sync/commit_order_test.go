package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

const orderScope = "test:commit-order"

// readAfter is the puller's read: the rows of the test scope after the
// cursor, in order, read as a pull reads the log (up to its horizon).
func readAfter(t *testing.T, eng *fsync.Engine, after int64) []models.Change {
	t.Helper()
	var rows []models.Change
	err := eng.ReadLog(context.Background(), func(tx models.Tx, horizon int64) error {
		return tx.List(&rows, models.Query{Where: []models.Cond{models.Eq("scope", orderScope), {Column: "seq", Op: models.OpGt, Value: after}, {Column: "seq", Op: models.OpLe, Value: horizon}}, OrderBy: "seq", Limit: 200})
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func change() *models.Change {
	return &models.Change{ID: uuid.Must(uuid.NewV7()).String(), Entity: "tasks", RecordID: uuid.NewString(), Version: 1, Op: models.OpUpsert, Scope: orderScope, CreatedAt: time.Now().UTC()}
}

// changes makes n change rows of the test scope.
func changes(n int) []models.Change {
	rows := make([]models.Change, n)
	for i := range rows {
		rows[i] = *change()
	}
	return rows
}

// TestCommitOrder: many writers, some holding their transaction open for a
// random while, and a device pulling all along, through Engine.Pull, that
// must receive every change exactly once. Most writers number their rows
// as they commit; one in four writes them unnumbered, as a server older
// than commit-time numbering still running in a rolling upgrade would, for
// the two stampers to number. Each row names a task that does not exist,
// so the pull sends it as a remove, and its record id says which row it
// was.
func TestCommitOrder(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			db, ctx := e.db, context.Background()
			puller := e.insp[1]
			scope := models.ScopeUser(puller.UserID)
			// Two engines stamp at once, as two server processes would.
			engines := []*fsync.Engine{e.eng, fsync.New(fsync.Config{Store: db, Service: e.svc, CursorKey: []byte("cursor-key-for-tests")})}
			writers, perWriter := 8, 30
			if dialect == storage.DialectSQLite {
				writers, perWriter = 4, 20 // one connection: writers queue, the test stays short
			}
			var (
				mu gosync.Mutex
				// written and legacy are by record id.
				written = map[string]bool{}
				legacy  = map[string]bool{}
				wg      gosync.WaitGroup
			)
			for w := range writers {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 42))
					for range perWriter {
						var ids []string
						hold := func() {
							if r.IntN(3) == 0 {
								// Hold the transaction open while others commit.
								time.Sleep(time.Duration(r.IntN(15)) * time.Millisecond)
							}
						}
						var err error
						if w%4 == 3 {
							rows := changes(1 + r.IntN(3))
							for i := range rows {
								rows[i].Scope = scope
							}
							err = db.Gorm().Transaction(func(g *gorm.DB) error {
								ids = ids[:0]
								for _, c := range rows {
									ids = append(ids, c.RecordID)
								}
								err := g.Create(&rows).Error
								hold()
								return err
							})
						} else {
							err = db.Tx(ctx, func(tx models.Tx) error {
								ids = ids[:0]
								for range 1 + r.IntN(3) {
									c := change()
									c.Scope = scope
									if err := tx.Create(c); err != nil {
										return err
									}
									ids = append(ids, c.RecordID)
								}
								hold()
								return nil
							})
						}
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						for _, id := range ids {
							written[id] = true
							legacy[id] = w%4 == 3
						}
						mu.Unlock()
					}
				})
			}
			done := make(chan struct{})
			stamped := make(chan struct{})
			var stampers gosync.WaitGroup
			for _, eng := range engines {
				stampers.Go(func() {
					for {
						select {
						case <-done:
							if _, err := eng.Stamp(ctx); err != nil {
								t.Error(err)
							}
							return
						default:
							if _, err := eng.Stamp(ctx); err != nil {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			go func() { stampers.Wait(); close(stamped) }()
			seen := map[string]int{}
			client := uuid.NewString()
			var cursor *string
			// pull pulls until the page says nothing more is waiting.
			pull := func() {
				for {
					res, err := e.eng.Pull(ctx, puller, fsync.PullRequest{ClientID: client, Cursor: cursor, SchemaVersion: fsync.SchemaVersion})
					if err != nil || res.Reset {
						t.Errorf("pull: %v, reset %v", err, res.Reset)
						return
					}
					if ch := res.Changes[models.EntityTasks]; ch != nil {
						for _, id := range ch.Removes {
							seen[id]++
						}
					}
					cursor = &res.Cursor
					if !res.HasMore {
						return
					}
				}
			}
			pulling := make(chan struct{})
			go func() {
				defer close(pulling)
				for {
					select {
					case <-stamped:
						return
					default:
						pull()
					}
				}
			}()
			wg.Wait()
			close(done)
			<-pulling
			pull()
			missed, dup := 0, 0
			var missing []string
			for id := range written {
				switch seen[id] {
				case 0:
					missed++
					missing = append(missing, id)
				case 1:
				default:
					dup++
				}
			}
			t.Logf("%s: %d changes written by %d writers, %d missed, %d seen twice", dialect, len(written), writers, missed, dup)
			if missed != 0 {
				var rows []models.Change
				if err := db.Tx(ctx, func(tx models.Tx) error {
					return tx.List(&rows, models.Query{Where: []models.Cond{{Column: "record_id", Op: models.OpIn, Value: missing}}})
				}); err != nil {
					t.Fatal(err)
				}
				for _, c := range rows {
					seq := "none"
					if c.Seq != nil {
						seq = fmt.Sprint(*c.Seq)
					}
					t.Errorf("missed the row of %s: seq %s, written unnumbered %v", c.RecordID, seq, legacy[c.RecordID])
				}
			}
			if missed != 0 || dup != 0 {
				t.Fatalf("the puller missed %d and received twice %d of %d changes", missed, dup, len(written))
			}
		})
	}
}

// TestNaiveCursorSkips shows the trap commit-time numbering avoids, with the
// schedule that exposes it: transaction A takes AUTO_INCREMENT id 1 and
// stays open; B takes id 2 and commits; a puller reads up to 2; A commits
// and id 1 is behind the cursor for ever. The change log, under the same
// schedule, delivers both. It needs concurrent writers, so it runs on
// MySQL; SQLite has a single writer and cannot interleave them.
func TestNaiveCursorSkips(t *testing.T) {
	db := storagetest.MustOpen(t, storage.DialectMySQL)
	eng := fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")})
	g := db.Gorm()
	// The pool's databases outlive the test binary: the table goes with
	// the test, and one left by a run that died is dropped first.
	drop := func() error { return g.Exec("DROP TABLE IF EXISTS naive_log").Error }
	if err := drop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop() })
	if err := g.Exec("CREATE TABLE naive_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, ref VARCHAR(8) NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	naiveRead := func(after int64) (ids []int64, refs []string) {
		rows, err := g.Raw("SELECT id, ref FROM naive_log WHERE id > ? ORDER BY id", after).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var ref string
			rows.Scan(&id, &ref)
			ids, refs = append(ids, id), append(refs, ref)
		}
		return
	}
	txA := g.Begin()
	txA.Exec("INSERT INTO naive_log (ref) VALUES ('A')")
	txB := g.Begin()
	txB.Exec("INSERT INTO naive_log (ref) VALUES ('B')")
	txB.Commit()
	ids, refs := naiveRead(0)
	cursor := ids[len(ids)-1]
	txA.Commit()
	_, late := naiveRead(cursor)
	seenNaive := append(refs, late...)
	if len(seenNaive) != 1 || seenNaive[0] != "B" {
		t.Fatalf("expected the naive cursor to see only B, saw %v", seenNaive)
	}
	t.Logf("naive AUTO_INCREMENT cursor: saw %v, skipped A for ever (its id 1 < cursor %d)", seenNaive, cursor)

	// The same schedule against the change log, which numbers rows as
	// their transaction commits.
	ctx := context.Background()
	inserted, commit, finished := make(chan string), make(chan struct{}), make(chan error)
	go func() {
		finished <- db.Tx(ctx, func(tx models.Tx) error {
			c := change()
			if err := tx.Create(c); err != nil {
				return err
			}
			inserted <- c.ID
			<-commit
			return nil
		})
	}()
	idA := <-inserted
	cB := change()
	if err := db.Tx(ctx, func(tx models.Tx) error { return tx.Create(cB) }); err != nil {
		t.Fatal(err)
	}
	first := readAfter(t, eng, 0)
	if len(first) != 1 || first[0].ID != cB.ID {
		t.Fatalf("before A commits the puller must see only B: %v", first)
	}
	close(commit)
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	second := readAfter(t, eng, *first[0].Seq)
	if len(second) != 1 || second[0].ID != idA {
		t.Fatalf("after A commits the puller must see A: %v", second)
	}
	t.Logf("change log: B got seq %d, A (committed later) got seq %d; both delivered", *first[0].Seq, *second[0].Seq)
}
