package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestEscalation runs the escalation rule with an injected clock: an
// overdue item goes up one level per period it stays overdue, an accepted
// one never, and each step is an item change the phones pull.
func TestEscalation(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			ctx := context.Background()
			f := e.fx
			const week = 7 * 24 * time.Hour
			e.svc.Deadlines.EscalateAfter = week
			deadline := e.now.Add(24 * time.Hour)
			daily := e.item("E-1", "扬尘未覆盖", "扬尘", f.countyA, deadline, models.SupervisionDaily)
			special := e.item("E-2", "餐饮油烟", "大气", f.countyB, deadline, models.SupervisionSpecial)
			accepted := e.item("E-3", "已销号", "大气", f.countyA, deadline, models.SupervisionDaily)
			later := e.item("E-4", "期限未到", "大气", f.countyA, deadline.Add(30*24*time.Hour), models.SupervisionDaily)
			accepted = e.setItem(accepted.ID, func(it *models.RectificationItem) { it.Status = models.ItemAccepted })
			// insp1 holds a task on E-1, so its phones must hear of the
			// new level.
			must(items.New(e.svc).CreateTask(ctx, system, items.TaskInput{ItemID: &daily.ID, SiteID: &f.siteA.ID, Kind: ptr(models.TaskProgressCheck),
				TemplateID: &f.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.Add(72 * time.Hour)), AssigneeID: ptr(f.users["insp1"].ID)}))

			level := func(it models.RectificationItem) (string, int64) {
				got := must(items.New(e.svc).GetItem(ctx, system, it.ID))
				return got.SupervisionLevel, got.Version
			}
			for _, step := range []struct {
				after time.Duration
				want  int
				e1    string
				e2    string
			}{
				{week - time.Second, 0, models.SupervisionDaily, models.SupervisionSpecial},
				{week, 2, models.SupervisionSpecial, models.SupervisionKey},
				{week, 0, models.SupervisionSpecial, models.SupervisionKey}, // just escalated
				{2*week - time.Minute, 0, models.SupervisionSpecial, models.SupervisionKey},
				{2 * week, 1, models.SupervisionKey, models.SupervisionKey},
				{5 * week, 0, models.SupervisionKey, models.SupervisionKey}, // no level above key
			} {
				now := deadline.Add(step.after)
				_, v1 := level(daily)
				n, err := items.New(e.svc).EscalateOverdue(ctx, now)
				if err != nil || n != step.want {
					t.Fatalf("%s past the deadline: escalated %d, %v; want %d", step.after, n, err, step.want)
				}
				l1, nv1 := level(daily)
				if l2, _ := level(special); l1 != step.e1 || l2 != step.e2 {
					t.Fatalf("%s past the deadline: levels %s, %s; want %s, %s", step.after, l1, l2, step.e1, step.e2)
				}
				if l1 != models.SupervisionDaily && nv1 > v1 {
					// The step is a change of the item: a new version,
					// logged for its unit and for insp1's phones.
					got := must(items.New(e.svc).GetItem(ctx, system, daily.ID))
					if got.EscalatedAt == nil || !got.EscalatedAt.Equal(now) {
						t.Errorf("E-1 escalated at %v, want %v", got.EscalatedAt, now)
					}
					scopes := changeScopes(t, e, daily.ID, nv1)
					if !scopes[models.ScopeUnit(daily.UnitPath)] || !scopes[models.ScopeUser(f.users["insp1"].ID)] {
						t.Errorf("E-1 version %d is logged for %v", nv1, scopes)
					}
				}
			}
			for _, it := range []models.RectificationItem{accepted, later} {
				if l, v := level(it); l != models.SupervisionDaily || v != it.Version {
					t.Errorf("%s changed: %s, version %d", it.Code, l, v)
				}
			}
			e.svc.Deadlines.EscalateAfter = 0
			if n, err := items.New(e.svc).EscalateOverdue(ctx, deadline.Add(100*week)); n != 0 || err != nil {
				t.Errorf("escalation off: %d, %v", n, err)
			}
		})
	}
}

// changeScopes lists the scopes a record's version is logged for.
func changeScopes(t *testing.T, e *env, id string, version int64) map[string]bool {
	t.Helper()
	var rows []models.Change
	err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		return tx.List(&rows, models.Query{Where: []models.Cond{models.Eq("entity", models.EntityItems), models.Eq("record_id", id), models.Eq("version", version)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.Scope] = true
	}
	return out
}
