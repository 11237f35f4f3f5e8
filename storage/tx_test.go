package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
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
			inserts := storagetest.CountStatements(t, db, storagetest.Inserts, "changes")
			scope := "test:" + newID()
			rows := func(n int) *[]models.Change {
				out := make([]models.Change, n)
				for i := range out {
					out[i] = models.Change{ID: newID(), Entity: models.EntityNotes, RecordID: newID(), Version: 1, Op: models.OpUpsert, Scope: scope, CreatedAt: time.Now().UTC()}
				}
				return &out
			}
			count := func(tx models.Tx) int64 { return mustCount(t, tx, &models.Change{}, models.Eq("scope", scope)) }

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

			// A subquery on the log, even nested in an OpAny, writes the
			// held rows first.
			mustTx(t, db, func(tx models.Tx) error {
				held := rows(1)
				if err := tx.Create(held); err != nil {
					return err
				}
				before := inserts.Load()
				sub := models.Subquery{Model: &models.Change{}, Column: "record_id", Where: []models.Cond{models.Eq("scope", scope)}}
				if _, err := tx.Count(&models.Unit{}, []models.Cond{{Op: models.OpAny, Value: []models.Cond{{Column: "id", Op: models.OpInQuery, Value: sub}}}}); err != nil {
					return err
				}
				if got := inserts.Load() - before; got != 1 {
					t.Errorf("a count of units with a subquery on the log nested in an OpAny ran %d INSERTs into the log; want the held row written first (1)", got)
				}
				return nil
			})
		})
	}
}

// mustCount counts model's rows that match conds in tx.
func mustCount(t *testing.T, tx models.Tx, model any, conds ...models.Cond) int64 {
	t.Helper()
	n, err := tx.Count(model, conds)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHoldInserts: after HoldInserts a transaction's single-record
// Creates wait and go in one INSERT per table, before the next statement
// on their table (directly or in a subquery) or the commit; a duplicate
// key then fails Tx and nothing of the transaction is written; without
// HoldInserts each Create is its own INSERT, as before.
func TestHoldInserts(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			inserts := storagetest.CountStatements(t, db, storagetest.Inserts, "mutation_results")
			client := newID()
			result := func(id int64) *models.SyncResult {
				return &models.SyncResult{ClientID: client, MutationID: id, Name: "note.add", Status: "applied", CreatedAt: time.Now().UTC()}
			}
			count := func(tx models.Tx) int64 {
				return mustCount(t, tx, &models.SyncResult{}, models.Eq("client_id", client))
			}

			mustTx(t, db, func(tx models.Tx) error {
				tx.HoldInserts()
				for id := range int64(3) {
					if err := tx.Create(result(id + 1)); err != nil {
						return err
					}
				}
				if got := inserts.Load(); got != 0 {
					t.Errorf("%d INSERTs before the table was read; want 0", got)
				}
				if n := count(tx); n != 3 {
					t.Errorf("the transaction reads %d of its 3 held results", n)
				}
				if got := inserts.Load(); got != 1 {
					t.Errorf("reading the table wrote the 3 held results in %d INSERTs; want 1", got)
				}
				// A subquery on the table writes what is held first.
				if err := tx.Create(result(4)); err != nil {
					return err
				}
				sub := models.Subquery{Model: &models.SyncResult{}, Column: "client_id", Where: []models.Cond{models.Eq("client_id", client)}}
				if _, err := tx.Count(&models.Unit{}, []models.Cond{{Column: "id", Op: models.OpInQuery, Value: sub}}); err != nil {
					return err
				}
				if got := inserts.Load(); got != 2 {
					t.Errorf("a subquery on the table left %d INSERTs; want 2", got)
				}
				return tx.Create(result(5))
			})
			if got := inserts.Load(); got != 3 {
				t.Errorf("the commit wrote the last held result in %d INSERTs; want 1", got-2)
			}

			// A clash with a stored row fails the transaction, from its end.
			err := db.Tx(context.Background(), func(tx models.Tx) error {
				tx.HoldInserts()
				if err := tx.Create(result(6)); err != nil {
					return err
				}
				return tx.Create(result(1))
			})
			if !errors.Is(err, models.ErrDuplicate) {
				t.Fatalf("a held duplicate: %v, want ErrDuplicate", err)
			}

			mustTx(t, db, func(tx models.Tx) error {
				if n := count(tx); n != 5 {
					t.Errorf("%d results stored; want the 5 committed, none of the failed transaction's", n)
				}
				before := inserts.Load()
				if err := tx.Create(result(7)); err != nil {
					return err
				}
				if got := inserts.Load() - before; got != 1 {
					t.Errorf("without HoldInserts a Create ran %d INSERTs; want 1", got)
				}
				if err := tx.Create(result(7)); !errors.Is(err, models.ErrDuplicate) {
					t.Errorf("without HoldInserts a duplicate Create: %v, want ErrDuplicate at once", err)
				}
				return nil
			})
		})
	}
}

// TestGetReadsOncePerTransaction checks the transaction's read cache: a
// record read twice with Get costs one SELECT, the copies share nothing
// (changing one's slice leaves the next read alone), a record written
// whole by Update is read back without one, and any other write to the
// table, or a lock on it, makes the next Get read the database again.
func TestGetReadsOncePerTransaction(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			selects := storagetest.CountStatements(t, db, storagetest.Selects, "templates")
			now := time.Now().UTC().Truncate(time.Microsecond)
			tmpl := models.ChecklistTemplate{ID: newID(), Name: "排口核查", Questions: models.Questions{{ID: "q1", Text: "是否直排", Type: models.QuestionYesNo}},
				Version: 1, CreatedAt: now, UpdatedAt: now}
			mustTx(t, db, func(tx models.Tx) error { return tx.Create(&tmpl) })

			mustTx(t, db, func(tx models.Tx) error {
				selects.Store(0)
				var a, b models.ChecklistTemplate
				if err := tx.Get(&a, tmpl.ID); err != nil {
					return err
				}
				a.Questions[0].Text = "changed in the caller's copy only"
				a.Questions = append(a.Questions, models.Question{ID: "q2"})
				if err := tx.Get(&b, tmpl.ID); err != nil {
					return err
				}
				if n := selects.Load(); n != 1 {
					t.Errorf("two Gets of one record ran %d SELECTs; want 1", n)
				}
				if len(b.Questions) != 1 || b.Questions[0].Text != "是否直排" {
					t.Errorf("the second Get sees the first caller's changes: %+v", b.Questions)
				}
				if err := tx.Get(&models.ChecklistTemplate{}, newID()); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("a missing record: %v, want ErrNotFound", err)
				}

				b.Name = "排口核查（修订）"
				b.Version++
				if err := tx.Update(&b); err != nil {
					return err
				}
				var c models.ChecklistTemplate
				selects.Store(0)
				if err := tx.Get(&c, tmpl.ID); err != nil {
					return err
				}
				if selects.Load() != 0 || !reflect.DeepEqual(c, b) {
					t.Errorf("after an Update, Get ran %d SELECTs and read %+v; want none and the record as updated, %+v", selects.Load(), c, b)
				}
				if _, err := tx.UpdateWhere(&models.ChecklistTemplate{}, []models.Cond{models.Eq("id", tmpl.ID)}, models.Set{"name": "第三版"}); err != nil {
					return err
				}
				if err := tx.Get(&c, tmpl.ID); err != nil || c.Name != "第三版" {
					t.Errorf("after an UpdateWhere, Get read %q (%v); want 第三版", c.Name, err)
				}
				if dialect == storage.DialectMySQL {
					selects.Store(0)
					if err := tx.Lock(&models.ChecklistTemplate{}, []models.Cond{models.Eq("id", tmpl.ID)}); err != nil {
						return err
					}
					if err := tx.Get(&c, tmpl.ID); err != nil || selects.Load() != 2 {
						t.Errorf("after a Lock, Get ran %d SELECTs besides the lock's (%v); want it to read again", selects.Load()-1, err)
					}
				}
				return nil
			})
		})
	}
}

// TestUpdateKeepsTheStoredRecord: the record an Update keeps for the
// transaction's next Get is the one the database then holds: to the
// microsecond of the UpdatedAt GORM stamps on it, with a nil JSON list as
// the empty list it reads back as; and on MariaDB, whose collation finds
// an id in either case, a Get by another spelling of the id reads the
// update too, not the record as it was.
func TestUpdateKeepsTheStoredRecord(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			now := time.Now().UTC().Truncate(time.Microsecond)
			tmpl := models.ChecklistTemplate{ID: newID(), Name: "雨污分流核查", Questions: models.Questions{{ID: "q1", Text: "是否混接", Type: models.QuestionYesNo}},
				Version: 1, CreatedAt: now, UpdatedAt: now}
			mustTx(t, db, func(tx models.Tx) error { return tx.Create(&tmpl) })
			spelling := tmpl.ID
			if dialect == storage.DialectMySQL {
				spelling = strings.ToUpper(tmpl.ID)
			}
			check := func(name string, change func(r *models.ChecklistTemplate)) {
				t.Helper()
				var kept models.ChecklistTemplate
				mustTx(t, db, func(tx models.Tx) error {
					var r, before models.ChecklistTemplate
					if err := tx.Get(&before, spelling); err != nil {
						return err
					}
					if err := tx.Get(&r, tmpl.ID); err != nil {
						return err
					}
					change(&r)
					r.Version++
					at := r.UpdatedAt
					if err := tx.Update(&r); err != nil {
						return err
					}
					if r.UpdatedAt.Equal(at) {
						t.Errorf("%s: Update left UpdatedAt at %v; GORM stamps it", name, r.UpdatedAt)
					}
					return tx.Get(&kept, spelling)
				})
				var stored models.ChecklistTemplate
				mustTx(t, db, func(tx models.Tx) error { return tx.Get(&stored, tmpl.ID) })
				// Times compare as instants: SQLite's driver and time.UTC
				// spell the zone differently.
				same := kept.UpdatedAt.Equal(stored.UpdatedAt) && kept.CreatedAt.Equal(stored.CreatedAt)
				kept.UpdatedAt, kept.CreatedAt = stored.UpdatedAt, stored.CreatedAt
				if !same || !reflect.DeepEqual(kept, stored) {
					t.Errorf("%s: the record an Update kept differs from the stored one:\nkept   %#v\nstored %#v", name, kept, stored)
				}
			}
			check("a question added", func(r *models.ChecklistTemplate) {
				r.Questions = append(r.Questions, models.Question{ID: "q2", Text: "管径（毫米）", Type: models.QuestionNumber})
			})
			check("the questions nil", func(r *models.ChecklistTemplate) { r.Questions = nil })
		})
	}
}

// TestTxRunsAgainAfterALockError: a closure that fails with an error that
// goes away on its own (a deadlock, SQLite's busy snapshot) is run again
// from the start, after a pause, and its writes of the failed attempts are
// rolled back; any other error is returned at once.
func TestTxRunsAgainAfterALockError(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			ctx := context.Background()
			runs := 0
			err := db.Tx(ctx, func(tx models.Tx) error {
				runs++
				u := &models.Unit{ID: newID(), Code: fmt.Sprintf("U%d", runs), Name: "单位", Kind: "city", Path: fmt.Sprintf("/U%d/", runs), Version: 1}
				if err := tx.Create(u); err != nil {
					return err
				}
				if runs < 3 {
					return errors.New("database is locked (517)")
				}
				return nil
			})
			if err != nil || runs != 3 {
				t.Fatalf("after two lock errors: %v, %d runs; want success on the third", err, runs)
			}
			var n int64
			if err := db.Gorm().Table("units").Count(&n).Error; err != nil || n != 1 {
				t.Fatalf("%d units kept (%v): the failed attempts' writes must be rolled back", n, err)
			}
			runs = 0
			plain := errors.New("the rule says no")
			if err := db.Tx(ctx, func(models.Tx) error { runs++; return plain }); !errors.Is(err, plain) || runs != 1 {
				t.Fatalf("a plain error: %v after %d runs, want it at once", err, runs)
			}
		})
	}
}

// TestSetOnce: SetOnce sets each row's columns by primary key where the
// first column is still NULL, leaves a record already set alone (and does
// not count it), and refuses rows of the wrong width before writing
// anything.
func TestSetOnce(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			now := time.Now().UTC().Truncate(time.Microsecond)
			set, hash := int64(7), "已链"
			entries := []models.AuditEntry{
				{ID: newID(), At: now, Action: models.AuditItemUpdate, Entity: models.EntityItems, RecordID: newID()},
				{ID: newID(), At: now, Action: models.AuditItemUpdate, Entity: models.EntityItems, RecordID: newID()},
				{ID: newID(), At: now, Action: models.AuditItemUpdate, Entity: models.EntityItems, RecordID: newID(), Seq: &set, Hash: &hash},
			}
			mustTx(t, db, func(tx models.Tx) error {
				for i := range entries {
					if err := tx.Create(&entries[i]); err != nil {
						return err
					}
				}
				return nil
			})
			cols := []models.Column{"seq", "prev_hash", "hash"}
			for name, rows := range map[string][][]any{
				"a row without its hash":  {{entries[0].ID, 1, "p1", "h1"}, {entries[1].ID, 2, "p2"}},
				"a row with one too many": {{entries[0].ID, 1, "p1", "h1", "x"}},
			} {
				err := db.Tx(context.Background(), func(tx models.Tx) error {
					_, err := tx.SetOnce(&models.AuditEntry{}, cols, rows)
					return err
				})
				if err == nil {
					t.Errorf("%s: SetOnce succeeded; want it refused", name)
				}
			}
			if err := db.Tx(context.Background(), func(tx models.Tx) error {
				_, err := tx.SetOnce(&models.AuditEntry{}, nil, [][]any{{entries[0].ID}})
				return err
			}); err == nil {
				t.Error("SetOnce with no columns succeeded; want it refused")
			}
			var n int64
			mustTx(t, db, func(tx models.Tx) error {
				var err error
				n, err = tx.SetOnce(&models.AuditEntry{}, cols, [][]any{
					{entries[0].ID, 1, "p1", "h1"}, {entries[1].ID, 2, "p2", "h2"}, {entries[2].ID, 3, "p3", "h3"}, {newID(), 4, "p4", "h4"}})
				return err
			})
			if n != 2 {
				t.Errorf("SetOnce set %d records; want 2 (one was set before, one does not exist)", n)
			}
			want := map[string][3]any{entries[0].ID: {int64(1), "p1", "h1"}, entries[1].ID: {int64(2), "p2", "h2"}, entries[2].ID: {int64(7), "", "已链"}}
			deref := func(s *string) string {
				if s == nil {
					return ""
				}
				return *s
			}
			for _, e := range entries {
				var got models.AuditEntry
				mustTx(t, db, func(tx models.Tx) error { return tx.Get(&got, e.ID) })
				w := want[e.ID]
				if got.Seq == nil || *got.Seq != w[0] || deref(got.PrevHash) != w[1] || deref(got.Hash) != w[2] {
					t.Errorf("entry %s: seq %v, prev %q, hash %q; want %v", e.ID, got.Seq, deref(got.PrevHash), deref(got.Hash), w)
				}
			}
		})
	}
}

// TestPrefetch: Prefetch reads the records Get has not read yet in one
// statement, returns those found with the ones already read, leaves a
// missing id out (its Get still reports it), keeps them for Get, and
// refuses a destination that is not a slice of records.
func TestPrefetch(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			selects := storagetest.CountStatements(t, db, storagetest.Selects, "templates")
			now := time.Now().UTC().Truncate(time.Microsecond)
			var ids []string
			mustTx(t, db, func(tx models.Tx) error {
				for i := range 3 {
					tmpl := models.ChecklistTemplate{ID: newID(), Name: fmt.Sprintf("核查表%d", i), Version: 1, CreatedAt: now, UpdatedAt: now}
					if err := tx.Create(&tmpl); err != nil {
						return err
					}
					ids = append(ids, tmpl.ID)
				}
				return nil
			})
			missing := newID()
			mustTx(t, db, func(tx models.Tx) error {
				var first models.ChecklistTemplate
				if err := tx.Get(&first, ids[0]); err != nil {
					return err
				}
				selects.Store(0)
				var got []models.ChecklistTemplate
				if err := tx.Prefetch(&got, []string{ids[0], ids[1], missing, ids[2], ids[1]}); err != nil {
					return err
				}
				if n := selects.Load(); n != 1 {
					t.Errorf("Prefetch ran %d SELECTs; want 1", n)
				}
				names := map[string]string{}
				for _, r := range got {
					names[r.ID] = r.Name
				}
				if len(got) != 3 || names[ids[0]] != "核查表0" || names[ids[1]] != "核查表1" || names[ids[2]] != "核查表2" {
					t.Errorf("Prefetch returned %+v; want the three templates once each", got)
				}
				got[1].Name = "changed in the caller's copy only"
				for i, id := range ids {
					var r models.ChecklistTemplate
					if err := tx.Get(&r, id); err != nil || r.Name != fmt.Sprintf("核查表%d", i) {
						t.Errorf("Get %d after Prefetch: %q (%v)", i, r.Name, err)
					}
				}
				if n := selects.Load(); n != 1 {
					t.Errorf("the Gets after Prefetch ran %d more SELECTs; want none", n-1)
				}
				if err := tx.Get(&models.ChecklistTemplate{}, missing); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("Get of the missing id: %v, want ErrNotFound", err)
				}
				for _, bad := range []any{[]models.ChecklistTemplate{}, &models.ChecklistTemplate{}, &[]string{}} {
					if err := tx.Prefetch(bad, ids); err == nil {
						t.Errorf("Prefetch into %T succeeded; want it refused", bad)
					}
				}
				return nil
			})
		})
	}
}

// TestChangeRowsNumberedFromTheCounter: a transaction's change rows are
// numbered from the counter row, in the order they were created, and the
// counter moves on by as many; without the counter row the transaction
// fails and writes none of them.
func TestChangeRowsNumberedFromTheCounter(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			counter := func() int64 {
				var st models.SyncState
				mustTx(t, db, func(tx models.Tx) error { return tx.Get(&st, models.SyncStateSeq) })
				return st.Num
			}
			mustTx(t, db, func(tx models.Tx) error {
				_, err := tx.UpdateWhere(&models.SyncState{}, []models.Cond{models.Eq(models.SyncStateCols.Name, models.SyncStateSeq)}, models.Set{models.SyncStateCols.Num: 41})
				return err
			})
			at := time.Date(2026, 12, 7, 9, 30, 0, 123456000, time.UTC)
			var ids []string
			mustTx(t, db, func(tx models.Tx) error {
				for i := range 3 {
					c := models.Change{ID: newID(), Entity: models.EntityNotes, RecordID: newID(), Version: int64(i + 1), Op: models.OpUpsert, Scope: "user:测试", CreatedAt: at}
					ids = append(ids, c.ID)
					if err := tx.Create(&c); err != nil {
						return err
					}
				}
				return nil
			})
			for i, id := range ids {
				var c models.Change
				mustTx(t, db, func(tx models.Tx) error { return tx.Get(&c, id) })
				if c.Seq == nil || *c.Seq != int64(42+i) || c.Version != int64(i+1) || c.Scope != "user:测试" || !c.CreatedAt.Equal(at) {
					t.Errorf("change %d: seq %v, %+v; want seq %d and the row as created", i, c.Seq, c, 42+i)
				}
			}
			if n := counter(); n != 44 {
				t.Errorf("the counter stands at %d after three rows from 41; want 44", n)
			}

			mustTx(t, db, func(tx models.Tx) error {
				_, err := tx.Delete(&models.SyncState{}, []models.Cond{models.Eq(models.SyncStateCols.Name, models.SyncStateSeq)})
				return err
			})
			lost := models.Change{ID: newID(), Entity: models.EntityNotes, RecordID: newID(), Version: 1, Op: models.OpUpsert, Scope: "user:测试", CreatedAt: at}
			if err := db.Tx(context.Background(), func(tx models.Tx) error { return tx.Create(&lost) }); err == nil {
				t.Error("a change row was committed without the counter row")
			}
			if err := db.Read(context.Background(), func(tx models.Tx) error { return tx.Get(&models.Change{}, lost.ID) }); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("the failed transaction left its change row: %v", err)
			}
		})
	}
}

// TestListReadsOnlyTheColumnsAsked: with Query.Columns a List reads those
// columns and leaves the records' other fields zero.
func TestListReadsOnlyTheColumnsAsked(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			mustTx(t, db, func(tx models.Tx) error {
				return tx.Create(&models.SyncState{Name: "probe", Num: 7, Text: "not read"})
			})
			var rows []models.SyncState
			mustTx(t, db, func(tx models.Tx) error {
				return tx.List(&rows, models.Query{Where: []models.Cond{models.Eq(models.SyncStateCols.Name, "probe")},
					Columns: []models.Column{models.SyncStateCols.Name, models.SyncStateCols.Num}, OrderBy: string(models.SyncStateCols.Name)})
			})
			if len(rows) != 1 || rows[0] != (models.SyncState{Name: "probe", Num: 7}) {
				t.Fatalf("List of name and num: %+v; want the two columns and an empty text", rows)
			}
		})
	}
}
