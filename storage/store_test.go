package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestStore is the store conformance suite; it runs on every dialect.
func TestStore(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			t.Logf("store suite running on %s", db.Dialect())
			t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, db) })
			t.Run("Duplicate", func(t *testing.T) { testDuplicate(t, db) })
			t.Run("VersionGuard", func(t *testing.T) { testVersionGuard(t, db) })
			t.Run("ListAndConds", func(t *testing.T) { testList(t, db) })
			t.Run("CountBy", func(t *testing.T) { testCountBy(t, db) })
			t.Run("Rollback", func(t *testing.T) { testRollback(t, db) })
			t.Run("ReadOutsideTx", func(t *testing.T) { testRead(t, db) })
			t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, db) })
			t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, db) })
			t.Run("Principal", func(t *testing.T) { testPrincipal(t, db) })
			t.Run("MigrateTwice", func(t *testing.T) {
				applied, err := db.Migrate(context.Background())
				if err != nil || len(applied) != 0 {
					t.Fatalf("second migrate applied %v, err %v; want nothing", applied, err)
				}
				v, err := db.SchemaVersion(context.Background())
				if err != nil || v < 1 {
					t.Fatalf("schema version %d, %v", v, err)
				}
			})
		})
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func mustTx(t *testing.T, db *storage.DB, fn func(tx models.Tx) error) {
	t.Helper()
	if err := db.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func mkUnit(t *testing.T, db *storage.DB, code string, parent *models.Unit) models.Unit {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := models.Unit{ID: newID(), Code: code, Name: "生态环境局 " + code, Kind: "department", Version: 1, CreatedAt: now, UpdatedAt: now}
	u.Path = "/" + u.ID + "/"
	if parent != nil {
		u.ParentID = &parent.ID
		u.Path = parent.Path + u.ID + "/"
	}
	mustTx(t, db, func(tx models.Tx) error { return tx.Create(&u) })
	return u
}

func testRoundTrip(t *testing.T, db *storage.DB) {
	root := mkUnit(t, db, "RT-ROOT", nil)
	deadline := time.Date(2027, 6, 30, 23, 59, 59, 123456000, time.UTC)
	it := models.RectificationItem{
		ID: newID(), Code: "RT-1", Title: "长江岸线非法码头整治（第二轮中央督察）", Description: "描述", Source: "第二轮中央生态环境保护督察",
		Category: "入河排污口", Area: "水环境", Target: "目标", Measures: "1. 排查\n2. 整治", ResponsibleUnitID: root.ID, UnitPath: root.Path,
		CooperatingUnitIDs: models.StringList{root.ID}, FirstResponsible: "区长 王某", Deadline: deadline,
		SupervisionLevel: models.SupervisionKey, KeyItem: true, Status: models.ItemNotStarted, Version: 1,
		CreatedAt: deadline.Add(-time.Hour), UpdatedAt: deadline.Add(-time.Hour),
	}
	mustTx(t, db, func(tx models.Tx) error { return tx.Create(&it) })
	var got models.RectificationItem
	mustTx(t, db, func(tx models.Tx) error { return tx.Get(&got, it.ID) })
	if got.Title != it.Title || !got.Deadline.Equal(deadline) || len(got.CooperatingUnitIDs) != 1 || !got.KeyItem || got.UnitPath != root.Path {
		t.Fatalf("round trip changed the item:\n got %+v\nwant %+v", got, it)
	}
	poly := &models.Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{116, 29.7}, {116.01, 29.7}, {116.01, 29.71}, {116, 29.7}}}}
	st := models.Site{ID: newID(), UnitID: root.ID, UnitPath: root.Path, Name: "排口", Kind: "sewage_outfall", Lat: 29.7, Lng: 116, Polygon: poly, Version: 1}
	mustTx(t, db, func(tx models.Tx) error { return tx.Create(&st) })
	var gs models.Site
	mustTx(t, db, func(tx models.Tx) error { return tx.Get(&gs, st.ID) })
	if gs.Polygon == nil || len(gs.Polygon.Coordinates[0]) != 4 {
		t.Fatalf("polygon did not round-trip: %+v", gs.Polygon)
	}
	err := db.Tx(context.Background(), func(tx models.Tx) error { return tx.Get(&got, newID()) })
	if !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("missing record: got %v, want ErrNotFound", err)
	}
}

func testDuplicate(t *testing.T, db *storage.DB) {
	mkUnit(t, db, "DUP", nil)
	u := models.Unit{ID: newID(), Code: "DUP", Name: "x", Kind: "city", Path: "/x/", Version: 1}
	err := db.Tx(context.Background(), func(tx models.Tx) error { return tx.Create(&u) })
	if !errors.Is(err, models.ErrDuplicate) {
		t.Fatalf("duplicate code: got %v, want ErrDuplicate", err)
	}
	var n int64
	mustTx(t, db, func(tx models.Tx) (err error) {
		n, err = tx.Count(&models.Unit{}, []models.Cond{models.Eq("code", "DUP")})
		return err
	})
	if n != 1 {
		t.Fatalf("%d units with code DUP, want 1", n)
	}
}

func testVersionGuard(t *testing.T, db *storage.DB) {
	u := mkUnit(t, db, "VER", nil)
	a, b := u, u
	a.Name, a.Version = "first", 2
	mustTx(t, db, func(tx models.Tx) error { return tx.Update(&a) })
	b.Name, b.Version = "stale", 2
	err := db.Tx(context.Background(), func(tx models.Tx) error { return tx.Update(&b) })
	if !errors.Is(err, models.ErrVersionConflict) {
		t.Fatalf("stale update: got %v, want ErrVersionConflict", err)
	}
	var got models.Unit
	mustTx(t, db, func(tx models.Tx) error { return tx.Get(&got, u.ID) })
	if got.Name != "first" || got.Version != 2 {
		t.Fatalf("got %q v%d, want first v2", got.Name, got.Version)
	}
}

func testList(t *testing.T, db *storage.DB) {
	root := mkUnit(t, db, "L-ROOT", nil)
	var kids []models.Unit
	for i := 0; i < 5; i++ {
		kids = append(kids, mkUnit(t, db, fmt.Sprintf("L-KID-%d", i), &root))
	}
	other := mkUnit(t, db, "L_OTHER%", nil) // LIKE metacharacters in data
	var page []models.Unit
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&page, models.Query{Where: []models.Cond{{Column: "path", Op: models.OpPrefix, Value: root.Path}}, Limit: 3})
	})
	if len(page) != 3 || page[0].ID != root.ID || page[1].ID != kids[0].ID {
		t.Fatalf("first page wrong: %v", ids(page))
	}
	var rest []models.Unit
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&rest, models.Query{Where: []models.Cond{{Column: "path", Op: models.OpPrefix, Value: root.Path}}, After: page[2].ID})
	})
	if len(rest) != 3 || rest[2].ID != kids[4].ID {
		t.Fatalf("second page wrong: %v", ids(rest))
	}
	var none []models.Unit
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&none, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: []string{}}}})
	})
	if len(none) != 0 {
		t.Fatalf("empty IN matched %d rows", len(none))
	}
	var like []models.Unit
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&like, models.Query{Where: []models.Cond{{Column: "code", Op: models.OpPrefix, Value: "L_"}}})
	})
	if len(like) != 1 || like[0].ID != other.ID {
		t.Fatalf("prefix L_ must match only L_OTHER%%, got %v", ids(like))
	}
	var parents []string
	mustTx(t, db, func(tx models.Tx) error {
		return tx.Pluck(&models.Unit{}, "parent_id", []models.Cond{{Column: "parent_id", Op: models.OpIn, Value: []string{root.ID}}}, &parents)
	})
	if len(parents) != 1 || parents[0] != root.ID {
		t.Fatalf("pluck distinct parent ids: %v", parents)
	}
	// A nested subquery, with its own placeholders between the outer
	// query's, and paging after it: the units whose parent is a unit
	// coded L-ROOT, after the first kid.
	var sub []models.Unit
	mustTx(t, db, func(tx models.Tx) error {
		return tx.List(&sub, models.Query{Where: []models.Cond{
			{Column: "code", Op: models.OpPrefix, Value: "L-"},
			{Column: "parent_id", Op: models.OpInQuery, Value: models.Subquery{Model: &models.Unit{}, Column: "id", Where: []models.Cond{
				{Column: "id", Op: models.OpInQuery, Value: models.Subquery{Model: &models.Unit{}, Column: "id", Where: []models.Cond{models.Eq("code", "L-ROOT")}}},
			}}},
			{Column: "kind", Op: models.OpEq, Value: "department"},
		}, After: kids[0].ID})
	})
	if len(sub) != 4 || sub[0].ID != kids[1].ID {
		t.Fatalf("subquery matched %v, want the last four kids", ids(sub))
	}
}

func testCountBy(t *testing.T, db *storage.DB) {
	root := mkUnit(t, db, "CB-ROOT", nil)
	for i, kind := range []string{"county", "county", "town", "county"} {
		u := mkUnit(t, db, fmt.Sprintf("CB-%d", i), &root)
		mustTx(t, db, func(tx models.Tx) error {
			_, err := tx.UpdateWhere(&models.Unit{}, []models.Cond{models.Eq("id", u.ID)}, models.Set{"kind": kind})
			return err
		})
	}
	var groups []models.Group
	under := []models.Cond{{Column: "path", Op: models.OpPrefix, Value: root.Path}, {Column: "id", Op: models.OpNe, Value: root.ID}}
	mustTx(t, db, func(tx models.Tx) (err error) {
		groups, err = tx.CountBy(&models.Unit{}, []models.Column{"parent_id", "kind"}, under)
		return err
	})
	got := map[string]int64{}
	for _, g := range groups {
		if len(g.Keys) != 2 || g.Keys[0] != root.ID {
			t.Fatalf("group keys %v, want [parent kind]", g.Keys)
		}
		got[g.Keys[1]] = g.Count
	}
	if len(got) != 2 || got["county"] != 3 || got["town"] != 1 {
		t.Fatalf("counts by kind: %v, want county 3, town 1", got)
	}
	// A NULL key reads as "": the root has no parent.
	mustTx(t, db, func(tx models.Tx) (err error) {
		groups, err = tx.CountBy(&models.Unit{}, []models.Column{"parent_id"}, []models.Cond{models.Eq("id", root.ID)})
		return err
	})
	if len(groups) != 1 || groups[0].Keys[0] != "" || groups[0].Count != 1 {
		t.Fatalf("NULL group: %+v", groups)
	}
	mustTx(t, db, func(tx models.Tx) (err error) {
		groups, err = tx.CountBy(&models.Unit{}, []models.Column{"kind"}, []models.Cond{{Column: "id", Op: models.OpIn, Value: []string{}}})
		return err
	})
	if len(groups) != 0 {
		t.Fatalf("no rows must give no groups: %+v", groups)
	}
}

func testRollback(t *testing.T, db *storage.DB) {
	boom := errors.New("boom")
	u := models.Unit{ID: newID(), Code: "RB", Name: "x", Kind: "city", Path: "/rb/", Version: 1}
	err := db.Tx(context.Background(), func(tx models.Tx) error {
		if err := tx.Create(&u); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	err = db.Tx(context.Background(), func(tx models.Tx) error { return tx.Get(&models.Unit{}, u.ID) })
	if !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("rolled-back record is visible: %v", err)
	}
}

// testRead: Store.Read reads what is committed and refuses every write.
func testRead(t *testing.T, db *storage.DB) {
	u := mkUnit(t, db, "RD", nil)
	var got models.Unit
	if err := db.Read(context.Background(), func(tx models.Tx) error { return tx.Get(&got, u.ID) }); err != nil || got.Code != "RD" {
		t.Fatalf("read %+v, %v", got, err)
	}
	other := models.Unit{ID: newID(), Code: "RD2", Name: "x", Kind: "city", Path: "/rd2/", Version: 1}
	ch := models.Change{ID: newID(), Entity: models.EntityItems, RecordID: newID(), Op: models.OpUpsert, Scope: models.ScopeGlobal, CreatedAt: time.Now().UTC()}
	storagetest.CommitUnnumbered(t, db, []models.Change{ch})
	writes := map[string]func(tx models.Tx) error{
		"Create": func(tx models.Tx) error { return tx.Create(&other) },
		"Update": func(tx models.Tx) error { got.Version++; return tx.Update(&got) },
		"UpdateWhere": func(tx models.Tx) error {
			_, err := tx.UpdateWhere(&models.Unit{}, []models.Cond{models.Eq("id", u.ID)}, models.Set{"name": "y"})
			return err
		},
		"Delete": func(tx models.Tx) error {
			_, err := tx.Delete(&models.Unit{}, []models.Cond{models.Eq("id", u.ID)})
			return err
		},
		"Lock": func(tx models.Tx) error { return tx.Lock(&models.Unit{}, []models.Cond{models.Eq("id", u.ID)}) },
		"SetOnce": func(tx models.Tx) error {
			_, err := tx.SetOnce(&models.Change{}, []models.Column{models.ChangeCols.Seq}, [][]any{{ch.ID, 1_000_000}})
			return err
		},
	}
	for name, w := range writes {
		if err := db.Read(context.Background(), w); err == nil {
			t.Errorf("%s inside Read succeeded; want it refused", name)
		}
	}
	var after models.Unit
	mustTx(t, db, func(tx models.Tx) error { return tx.Get(&after, u.ID) })
	if after.Name != u.Name || after.Version != u.Version {
		t.Errorf("the unit changed under Read: %+v", after)
	}
	if err := db.Read(context.Background(), func(tx models.Tx) error { return tx.Get(&models.Unit{}, other.ID) }); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("a refused Create inside Read left a record: %v", err)
	}
	var stamped models.Change
	mustTx(t, db, func(tx models.Tx) error { return tx.Get(&stamped, ch.ID) })
	if stamped.Seq != nil {
		t.Errorf("a refused SetOnce inside Read numbered the change %d", *stamped.Seq)
	}
}

// testSnapshot: Store.Snapshot reads one committed state throughout and
// refuses writes. On MySQL another connection commits in the middle of
// it; SQLite's one connection cannot, so there the snapshot is its own.
func testSnapshot(t *testing.T, db *storage.DB) {
	u := mkUnit(t, db, "SNAP", nil)
	ctx := context.Background()
	count := func(tx models.Tx) int64 {
		n, err := tx.Count(&models.Unit{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var before, during int64
	committed := 0
	err := db.Snapshot(ctx, func(tx models.Tx) error {
		before = count(tx)
		if db.Dialect() == storage.DialectMySQL {
			if err := db.Tx(ctx, func(tx models.Tx) error {
				return tx.Create(&models.Unit{ID: newID(), Code: "SNAP-LATE", Name: "x", Kind: "city", Path: "/snap-late/", Version: 1})
			}); err != nil {
				return err
			}
			committed = 1
		}
		during = count(tx)
		return tx.Create(&models.Unit{ID: newID(), Code: "SNAP-W", Name: "x", Kind: "city", Path: "/snap-w/", Version: 1})
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a Create inside Snapshot: %v; want it refused as a write in a read-only snapshot", err)
	}
	if before != during {
		t.Errorf("the snapshot saw %d units, then %d after a commit beside it: it is not one snapshot", before, during)
	}
	var after int64
	if err := db.Read(ctx, func(tx models.Tx) error { after = count(tx); return nil }); err != nil || after != before+int64(committed) {
		t.Errorf("after the snapshot %d units (%v), want %d", after, err, before+int64(committed))
	}
	var got models.Unit
	if err := db.Snapshot(ctx, func(tx models.Tx) error { return tx.Get(&got, u.ID) }); err != nil || got.Code != "SNAP" {
		t.Errorf("snapshot read %+v, %v", got, err)
	}
}

// testConcurrentUpdates runs read-modify-write cycles from many goroutines;
// the version guard must let exactly the non-conflicting ones through.
func testConcurrentUpdates(t *testing.T, db *storage.DB) {
	u := mkUnit(t, db, "CONC", nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				err := db.Tx(context.Background(), func(tx models.Tx) error {
					var cur models.Unit
					if err := tx.Get(&cur, u.ID); err != nil {
						return err
					}
					cur.Version++
					return tx.Update(&cur)
				})
				if err == nil {
					mu.Lock()
					applied++
					mu.Unlock()
				} else if !errors.Is(err, models.ErrVersionConflict) {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var got models.Unit
	mustTx(t, db, func(tx models.Tx) error { return tx.Get(&got, u.ID) })
	if got.Version != int64(1+applied) {
		t.Fatalf("version %d after %d applied updates; lost or doubled an update", got.Version, applied)
	}
}

func ids(us []models.Unit) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Code)
	}
	return out
}
