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
// random while, and a concurrent puller that must see every change exactly
// once. Most writers number their rows as they commit; one in four writes
// them unnumbered, as a server older than commit-time numbering still
// running in a rolling upgrade would, for the two stampers to number.
func TestCommitOrder(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			// Two engines stamp at once, as two server processes would.
			engines := []*fsync.Engine{fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")}), fsync.New(fsync.Config{Store: db, CursorKey: []byte("k")})}
			writers, perWriter := 8, 30
			if dialect == storage.DialectSQLite {
				writers, perWriter = 4, 20 // one connection: writers queue, the test stays short
			}
			var (
				mu      gosync.Mutex
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
							err = db.Gorm().Transaction(func(g *gorm.DB) error {
								ids = ids[:0]
								for _, c := range rows {
									ids = append(ids, c.ID)
								}
								err := g.Create(&rows).Error
								hold()
								return err
							})
						} else {
							err = db.Tx(context.Background(), func(tx models.Tx) error {
								ids = ids[:0]
								for range 1 + r.IntN(3) {
									c := change()
									if err := tx.Create(c); err != nil {
										return err
									}
									ids = append(ids, c.ID)
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
							if _, err := eng.Stamp(context.Background()); err != nil {
								t.Error(err)
							}
							return
						default:
							if _, err := eng.Stamp(context.Background()); err != nil {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			go func() { stampers.Wait(); close(stamped) }()
			seen := map[string]int{}
			var cursor int64
			// passed records each pull's cursor before and after, for the
			// failure message.
			var passed [][2]int64
			pull := func() {
				from := cursor
				defer func() { passed = append(passed, [2]int64{from, cursor}) }()
				for _, c := range readAfter(t, engines[0], cursor) {
					seen[c.ID]++
					if *c.Seq <= cursor {
						t.Fatalf("seq %d after cursor %d", *c.Seq, cursor)
					}
					cursor = *c.Seq
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
			for range 100 {
				before := len(seen)
				pull()
				if len(seen) == before {
					break
				}
			}
			missed, dup := 0, 0
			for id := range written {
				switch seen[id] {
				case 0:
					missed++
				case 1:
				default:
					dup++
				}
			}
			t.Logf("%s: %d changes written by %d writers, %d seen, %d missed, %d seen twice", dialect, len(written), writers, len(seen), missed, dup)
			if missed != 0 {
				// Which pull went past each missed row, and how it was written.
				var stored []models.Change
				for after := int64(-1); ; {
					page := readAfter(t, engines[0], after)
					if len(page) == 0 {
						break
					}
					stored, after = append(stored, page...), *page[len(page)-1].Seq
				}
				numbered := map[string]bool{}
				for _, c := range stored {
					numbered[c.ID] = true
					if written[c.ID] && seen[c.ID] == 0 {
						past := "no pull"
						for i, p := range passed {
							if p[0] < *c.Seq && *c.Seq <= p[1] {
								past = fmt.Sprintf("pull %d of %d (cursor %d to %d)", i+1, len(passed), p[0], p[1])
								break
							}
						}
						t.Errorf("missed %s: seq %d, written unnumbered %v, passed by %s", c.ID, *c.Seq, legacy[c.ID], past)
					}
				}
				for id := range written {
					if !numbered[id] {
						t.Errorf("missed %s: never numbered, written unnumbered %v", id, legacy[id])
					}
				}
			}
			if missed != 0 || dup != 0 || len(seen) != len(written) {
				t.Fatalf("the puller missed %d and duplicated %d of %d changes", missed, dup, len(written))
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
