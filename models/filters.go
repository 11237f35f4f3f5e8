package models

import "time"

// ItemFilter narrows an item list; the review queue, the ledger and the
// item list share it.
type ItemFilter struct {
	Status           string
	UnitID           string
	Category         string
	Area             string
	SupervisionLevel string
	// OverdueAt keeps the items overdue at that time (IsOverdue).
	OverdueAt *time.Time
	// Flagged keeps the items with verified evidence that carries at
	// least one flag, on any of their tasks.
	Flagged bool
	// Search keeps the items whose code or title contains it (the web
	// console's ledger search box).
	Search string
	// Sort orders the list (ItemSorts, PageItems); empty is entry order.
	// It narrows nothing: Conds leaves it out.
	Sort string
}

// Conds turns the filter into conditions on the items table.
func (f ItemFilter) Conds() []Cond {
	var conds []Cond
	for _, c := range []struct {
		col Column
		v   string
	}{
		{"status", f.Status}, {"responsible_unit_id", f.UnitID}, {"category", f.Category},
		{"area", f.Area}, {"supervision_level", f.SupervisionLevel},
	} {
		if c.v != "" {
			conds = append(conds, Eq(c.col, c.v))
		}
	}
	if f.OverdueAt != nil {
		conds = append(conds, OverdueConds(*f.OverdueAt)...)
	}
	if f.Search != "" {
		conds = append(conds, Cond{Op: OpAny, Value: []Cond{{Column: "code", Op: OpLike, Value: f.Search}, {Column: "title", Op: OpLike, Value: f.Search}}})
	}
	if f.Flagged {
		// Two nested IN subqueries rather than ids fetched first: with
		// tens of thousands of tasks the id lists would be too long to
		// send, and the database joins them through the indexes.
		// evidence.flagged is a column the database generates from
		// flags (migration 00007), indexed with the status and task.
		flaggedTasks := Subquery{Model: &Evidence{}, Column: EvidenceCols.TaskID, Where: []Cond{
			Eq(EvidenceCols.Flagged, true), Eq(EvidenceCols.Status, EvidenceVerified),
		}}
		conds = append(conds, Cond{Column: "id", Op: OpInQuery, Value: Subquery{
			Model: &InspectionTask{}, Column: TaskCols.ItemID, Where: []Cond{{Column: TaskCols.ID, Op: OpInQuery, Value: flaggedTasks}},
		}})
	}
	return conds
}
