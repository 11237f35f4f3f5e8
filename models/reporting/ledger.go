package reporting

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// LedgerRow is one item as the ledger (台账) shows it: its fields, the
// units it names, how far its work has come and the latest word on it.
type LedgerRow struct {
	Item             models.RectificationItem
	ResponsibleUnit  models.Unit
	CooperatingUnits []models.Unit
	// TasksTotal counts the item's tasks that are not cancelled, and
	// TasksDone those of them completed: the item's progress.
	TasksTotal, TasksDone int
	// LatestNote is the newest note on any of the item's tasks.
	LatestNote *models.Note
	// LastVerification is the latest on-site verification (by the time
	// it was recorded), and Inspector the name of who recorded it.
	LastVerification *models.Verification
	Inspector        string
	LastDecision     *models.Decision
	// Overdue and OverdueDays are the item's IsOverdue and DaysOverdue
	// when the export began.
	Overdue     bool
	OverdueDays int
	// Extension is the item's latest deadline extension request, of any
	// status; nil if none was made.
	Extension *models.DeadlineExtension
}

// ledgerPage bounds the items (and their tasks, notes, verifications and
// decisions) held in memory at once while the ledger is written.
const ledgerPage = 100

// Ledger calls each for every item the actor may see that matches f, in the
// order f.Sort names (entry order, by id, when empty). Admins get every
// item, supervisors and unit leads those of their unit subtree;
// inspectors, who see only their own tasks, are refused.
//
// Items are read a page at a time, each page in a transaction of its own,
// and each is called outside it: a slow reader at the other end never
// holds a transaction (SQLite has one connection for everyone). Pages read
// at different moments, so an item changed during a long export shows its
// state when its page was read.
func (s *Service) Ledger(ctx context.Context, a models.Actor, f models.ItemFilter, each func(*LedgerRow) error) error {
	if !a.CanReview() {
		return models.Forbidden("export the ledger")
	}
	conds, err := s.ReadScope(ctx, a, models.EntityItems)
	if err != nil {
		return err
	}
	conds = append(conds, f.Conds()...)
	if err := s.Audit(ctx, a, models.AuditExportLedger, models.EntityItems, "", map[string]any{"filter": f}); err != nil {
		return err
	}
	now := s.Time()
	for after := ""; ; {
		var rows []LedgerRow
		var next string
		err := s.Store.Tx(ctx, func(tx models.Tx) error {
			page, err := models.PageItems(tx, conds, f.Sort, models.ListParams{Limit: ledgerPage, After: after})
			if err != nil {
				return err
			}
			next = page.Next
			rows, err = ledgerRows(tx, page.Items, now)
			return err
		})
		if err != nil {
			return err
		}
		for i := range rows {
			if err := each(&rows[i]); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// ledgerRows completes a page of items with what the ledger shows of
// them, in one query per related table.
func ledgerRows(tx models.Tx, items []models.RectificationItem, now time.Time) ([]LedgerRow, error) {
	if len(items) == 0 {
		return nil, nil
	}
	ids := make([]string, len(items))
	var unitIDs []string
	for i, it := range items {
		ids[i] = it.ID
		unitIDs = append(append(unitIDs, it.ResponsibleUnitID), it.CooperatingUnitIDs...)
	}
	byItem := []models.Cond{{Column: "item_id", Op: models.OpIn, Value: ids}}
	var (
		units         []models.Unit
		tasks         []models.InspectionTask
		notes         []models.Note
		verifications []models.Verification
		decisions     []models.Decision
		extensions    []models.DeadlineExtension
	)
	for _, q := range []struct {
		dst   any
		where []models.Cond
	}{
		{&units, []models.Cond{{Column: "id", Op: models.OpIn, Value: models.UniqueSorted(unitIDs)}}},
		{&tasks, byItem},
		{&notes, []models.Cond{{Column: "task_id", Op: models.OpInQuery, Value: models.Subquery{Model: &models.InspectionTask{}, Column: models.TaskCols.ID, Where: byItem}}}},
		{&verifications, byItem},
		{&decisions, byItem},
		{&extensions, byItem},
	} {
		if err := tx.List(q.dst, models.Query{Where: q.where}); err != nil {
			return nil, err
		}
	}
	unitByID := map[string]models.Unit{}
	for _, u := range units {
		unitByID[u.ID] = u
	}
	rows := make([]LedgerRow, len(items))
	at := map[string]*LedgerRow{}
	for i, it := range items {
		r := &rows[i]
		r.Item, r.ResponsibleUnit = it, unitByID[it.ResponsibleUnitID]
		for _, id := range it.CooperatingUnitIDs {
			r.CooperatingUnits = append(r.CooperatingUnits, unitByID[id])
		}
		r.Overdue, r.OverdueDays = it.IsOverdue(now), it.DaysOverdue(now)
		at[it.ID] = r
	}
	itemOfTask := map[string]string{}
	for _, t := range tasks {
		itemOfTask[t.ID] = t.ItemID
		r := at[t.ItemID]
		if t.Status == models.TaskCancelled {
			continue
		}
		r.TasksTotal++
		if t.Status == models.TaskCompleted {
			r.TasksDone++
		}
	}
	for i := range notes {
		n := &notes[i]
		if r := at[itemOfTask[n.TaskID]]; r != nil && (r.LatestNote == nil || later(n.CreatedAt, n.ID, r.LatestNote.CreatedAt, r.LatestNote.ID)) {
			r.LatestNote = n
		}
	}
	var inspectors []string
	for i := range verifications {
		v := &verifications[i]
		if r := at[v.ItemID]; r != nil && (r.LastVerification == nil || later(v.RecordedAt, v.ID, r.LastVerification.RecordedAt, r.LastVerification.ID)) {
			r.LastVerification = v
		}
		inspectors = append(inspectors, v.InspectorID)
	}
	for i := range decisions {
		d := &decisions[i]
		if r := at[d.ItemID]; r != nil && (r.LastDecision == nil || later(d.CreatedAt, d.ID, r.LastDecision.CreatedAt, r.LastDecision.ID)) {
			r.LastDecision = d
		}
	}
	for i := range extensions {
		e := &extensions[i]
		if r := at[e.ItemID]; r != nil && (r.Extension == nil || later(e.CreatedAt, e.ID, r.Extension.CreatedAt, r.Extension.ID)) {
			r.Extension = e
		}
	}
	names, err := displayNames(tx, inspectors)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if v := rows[i].LastVerification; v != nil {
			rows[i].Inspector = names[v.InspectorID]
		}
	}
	return rows, nil
}

// later orders records by time, and by id among records of the same
// time, so that "the latest" does not depend on the order rows came in.
func later(t time.Time, id string, than time.Time, thanID string) bool {
	return t.After(than) || t.Equal(than) && id > thanID
}

// displayNames maps user ids to the names people know them by.
func displayNames(tx models.Tx, ids []string) (map[string]string, error) {
	out := map[string]string{}
	ids = models.UniqueSorted(ids)
	if len(ids) == 0 {
		return out, nil
	}
	var users []models.User
	if err := tx.List(&users, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: ids}}}); err != nil {
		return nil, err
	}
	for _, u := range users {
		out[u.ID] = u.DisplayName
		if u.DisplayName == "" {
			out[u.ID] = u.Username
		}
	}
	return out, nil
}
