package api_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/reporting"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// Scale of TestLedgerAtScale: a city's whole inspection, with one task of
// every item visited 25 times.
const (
	scaleItems = 2000
	scaleTasks = 50000
)

// TestLedgerAtScale fills the database with 2,000 items and 50,000 tasks,
// each with a verified photo (one in 97 flagged), a verification and a
// note, then times the flagged item list, the ledger export and the
// dispatch report, and samples the heap while the ledger is written.
func TestLedgerAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 200,000 rows")
	}
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			e := &env{t: t, now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
			e.svc = &models.Service{Store: db, Now: func() time.Time { return e.now }, NewID: newUUID, Hasher: cheapHasher,
				Auth: models.DefaultAuthPolicy, Deadlines: models.DeadlinePolicy{Zone: shanghai}}
			e.fx = loadFixture(t, e.svc, e.now)
			start := time.Now()
			fill(t, db, e.fx, e.now)
			t.Logf("%s: filled %d items, %d tasks, evidence, verifications and notes in %s", dialect, scaleItems, scaleTasks, time.Since(start).Round(time.Millisecond))
			ctx := context.Background()
			admin := models.Actor{UserID: e.fx.users["admin"].ID, Role: models.RoleAdmin}
			supa := e.fx.users["supa"]
			sup := models.Actor{UserID: supa.ID, Role: supa.Role, UnitPath: supa.UnitPath}

			for _, a := range []models.Actor{admin, sup} {
				start = time.Now()
				page, err := items.New(e.svc).ListItems(ctx, a, models.ItemFilter{Flagged: true}, models.ListParams{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				t.Logf("%s: flagged items, first page as %s: %d in %s", dialect, a.Role, len(page.Items), took.Round(time.Millisecond))
				if len(page.Items) == 0 {
					t.Errorf("flagged list: %d items in %s", len(page.Items), took)
				}
			}

			var peak uint64
			stop := sampleHeap(&peak)
			start = time.Now()
			x, err := sheets.NewLedgerXLSX(shanghai)
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			err = reporting.New(e.svc).Ledger(ctx, admin, models.ItemFilter{}, func(r *reporting.LedgerRow) error {
				rows++
				return x.Row(r)
			})
			var n int64
			if err == nil {
				n, err = x.WriteTo(io.Discard)
			}
			x.Close()
			took := time.Since(start)
			stop()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: ledger of %d items, %d KB of XLSX, in %s; heap peak %d MB", dialect, rows, n/1024, took.Round(time.Millisecond), peak>>20)
			if rows != scaleItems+2 || peak > 256<<20 {
				t.Errorf("ledger: %d rows in %s, heap peak %d MB", rows, took, peak>>20)
			}

			start = time.Now()
			rep, err := reporting.New(e.svc).Dispatch(ctx, admin, reporting.DispatchQuery{Start: "2026-11-01"})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: dispatch report over %d items, %d with notes, in %s", dialect, rep.Total.Items, len(rep.Progress), time.Since(start).Round(time.Millisecond))
			// The fixture's two items were made at the report's as-of
			// time: not before it.
			if rep.Total.Items != scaleItems || rep.Total.Overdue == 0 {
				t.Errorf("dispatch: %+v", rep.Total)
			}
			if dialect == storage.DialectMySQL {
				explainFlagged(t, db)
			}
		})
	}
}

// sampleHeap records the largest heap in use until the returned function
// is called.
func sampleHeap(peak *uint64) func() {
	runtime.GC()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// fill inserts the scale's rows with one statement per table.
func fill(t *testing.T, db *storage.DB, f fixture, now time.Time) {
	t.Helper()
	// uid makes the canonical text of a UUID from a table number and a
	// row number, in SQL.
	uid := func(table int, n string) string {
		if db.Dialect() == storage.DialectMySQL {
			return fmt.Sprintf("CONCAT('%08x-0000-4000-8000-', LPAD(HEX(%s), 12, '0'))", table, n)
		}
		return fmt.Sprintf("printf('%08x-0000-4000-8000-%%012x', %s)", table, n)
	}
	seq := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d) ", n)
	}
	// item is the row number of task j's item.
	item := "((i - 1) % " + fmt.Sprint(scaleItems) + " + 1)"
	unitPath := func(n string) string {
		return fmt.Sprintf("CASE WHEN %s %% 2 = 0 THEN '%s' ELSE '%s' END", n, f.countyA.Path, f.countyB.Path)
	}
	flags := `'[{"code":"outside_geofence","value":250,"unit":"m","detail":"250 m outside"}]'`
	stmts := []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO items (id, code, title, description, source, category, area, target, measures, responsible_unit_id, unit_path, " +
			"cooperating_unit_ids, first_responsible, specific_responsible, deadline, supervision_level, key_item, status, version, created_at, updated_at) " +
			seq(scaleItems) + "SELECT " + uid(1, "i") + ", " + concat(db, "'S-'", "i") + ", '城区黑臭水体整治', '排口超标', '中央督察', " +
			"CASE WHEN i % 3 = 0 THEN '扬尘' ELSE '黑臭水体' END, '水', '消除黑臭', '截污纳管；清淤疏浚；生态补水', " +
			fmt.Sprintf("CASE WHEN i %% 2 = 0 THEN '%s' ELSE '%s' END, ", f.countyA.ID, f.countyB.ID) + unitPath("i") + ", '[]', '区长', '局长', " +
			"CASE WHEN i % 4 = 0 THEN ? ELSE ? END, 'daily', 0, CASE WHEN i % 5 = 0 THEN 'accepted' ELSE 'in_progress' END, 1, ?, ? FROM n",
			[]any{now.AddDate(0, 0, -20), now.AddDate(0, 6, 0), now.AddDate(0, -1, 0), now.AddDate(0, -1, 0)}},
		{"INSERT INTO tasks (id, item_id, site_id, assignee_id, unit_path, kind, template_id, window_start, due_at, instructions, status, version, created_at, updated_at) " +
			seq(scaleTasks) + "SELECT " + uid(2, "i") + ", " + uid(1, item) + fmt.Sprintf(", '%s', '%s', ", f.siteA.ID, f.users["insp1"].ID) + unitPath(item) +
			fmt.Sprintf(", 'progress_check', '%s', ?, ?, '', CASE WHEN i %% 4 = 0 THEN 'completed' ELSE 'assigned' END, 1, ?, ? FROM n", f.tmpl.ID),
			[]any{now.AddDate(0, -1, 0), now.AddDate(0, 1, 0), now.AddDate(0, -1, 0), now.AddDate(0, -1, 0)}},
		{"INSERT INTO evidence (id, task_id, inspector_id, unit_path, kind, status, flags, version, created_at, updated_at) " +
			seq(scaleTasks) + "SELECT " + uid(3, "i") + ", " + uid(2, "i") + fmt.Sprintf(", '%s', ", f.users["insp1"].ID) + unitPath(item) +
			", 'photo', 'verified', CASE WHEN i % 97 = 0 THEN " + flags + " ELSE '[]' END, 1, ?, ? FROM n",
			[]any{now, now}},
		{"INSERT INTO verifications (id, task_id, item_id, inspector_id, device_id, unit_path, conclusion, notes, lat, lng, accuracy_m, mocked, recorded_at, evidence_ids, version, created_at, updated_at) " +
			seq(scaleTasks) + "SELECT " + uid(4, "i") + ", " + uid(2, "i") + ", " + uid(1, item) + fmt.Sprintf(", '%s', '', ", f.users["insp1"].ID) + unitPath(item) +
			", 'partially_rectified', '排口仍有渗漏，需复查', 29.7, 116, 5, 0, ?, '[]', 1, ?, ? FROM n",
			[]any{now.AddDate(0, 0, -3), now, now}},
		{"INSERT INTO notes (id, task_id, author_id, device_id, unit_path, text, version, created_at, updated_at) " +
			seq(scaleTasks) + "SELECT " + uid(5, "i") + ", " + uid(2, "i") + fmt.Sprintf(", '%s', '', ", f.users["insp1"].ID) + unitPath(item) +
			", '截污管网施工中', 1, ?, ? FROM n",
			[]any{now.AddDate(0, 0, -2), now.AddDate(0, 0, -2)}},
	}
	err := db.Gorm().Connection(func(c *gorm.DB) error {
		if db.Dialect() == storage.DialectMySQL {
			if err := c.Exec("SET SESSION max_recursive_iterations = 1000000").Error; err != nil {
				return err
			}
		}
		for _, s := range stmts {
			if err := c.Exec(s.sql, s.args...).Error; err != nil {
				return fmt.Errorf("%s: %w", s.sql[:40], err)
			}
		}
		if db.Dialect() == storage.DialectMySQL {
			return c.Exec("ANALYZE TABLE items, tasks, evidence, verifications, notes").Error
		}
		return c.Exec("ANALYZE").Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

func concat(db *storage.DB, parts ...string) string {
	if db.Dialect() == storage.DialectMySQL {
		return "CONCAT(" + strings.Join(parts, ", ") + ")"
	}
	return strings.Join(parts, " || ")
}

// explainFlagged logs MariaDB's plan for the flagged item page: the
// subqueries must go through the task and evidence indexes, never scan
// the tasks.
func explainFlagged(t *testing.T, db *storage.DB) {
	t.Helper()
	var plan []struct {
		ID     *int
		Table  string  `gorm:"column:table"`
		Type   string  `gorm:"column:type"`
		Key    *string `gorm:"column:key"`
		Rows   *int64
		Extra  *string
		Select string `gorm:"column:select_type"`
	}
	q := "EXPLAIN SELECT * FROM `items` WHERE `id` IN (SELECT `item_id` FROM `tasks` WHERE `id` IN " +
		"(SELECT `task_id` FROM `evidence` WHERE `flagged` = 1 AND `status` = 'verified')) ORDER BY `id` LIMIT 51"
	if err := db.Gorm().Raw(q).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	for _, p := range plan {
		key, extra, rows := "", "", int64(0)
		if p.Key != nil {
			key = *p.Key
		}
		if p.Extra != nil {
			extra = *p.Extra
		}
		if p.Rows != nil {
			rows = *p.Rows
		}
		t.Logf("plan: %s %s type=%s key=%s rows=%d %s", p.Select, p.Table, p.Type, key, rows, extra)
		if p.Table == "tasks" && p.Type == "ALL" {
			t.Errorf("the flagged filter scans the tasks")
		}
	}
}

func newUUID() string { return uuid.Must(uuid.NewV7()).String() }
