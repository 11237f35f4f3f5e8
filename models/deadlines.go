package models

import (
	"context"
	"time"
)

// DeadlinePolicy is how deadlines are read and enforced.
type DeadlinePolicy struct {
	// Zone is where calendar dates are read: a deadline given as a date
	// alone is the end of that day there, and report periods begin at
	// midnight there. Nil is UTC.
	Zone *time.Location
	// EscalateAfter is how long an item may be overdue before its
	// supervision level goes up one step, and how long it then stays at
	// that level before the next step; 0 disables escalation.
	EscalateAfter time.Duration
}

// Location returns the zone dates are read in.
func (p DeadlinePolicy) Location() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
}

// IsOverdue reports whether the item is overdue at t: its deadline has
// passed and it is not accepted. An item waiting for acceptance, or
// rejected, is still overdue: only acceptance (销号) stops the clock.
func (it RectificationItem) IsOverdue(t time.Time) bool { return Overdue(it.Status, it.Deadline, t) }

// Overdue is IsOverdue of an item with the given status and deadline.
func Overdue(status string, deadline, t time.Time) bool {
	return status != ItemAccepted && deadline.Before(t)
}

// OverdueConds selects the items that IsOverdue at t.
func OverdueConds(t time.Time) []Cond {
	return []Cond{{Column: "deadline", Op: OpLt, Value: t}, {Column: "status", Op: OpNe, Value: ItemAccepted}}
}

// DaysOverdue is, for an open item, how many days past its deadline it is
// at t, and for an accepted one, how many days late it was closed. A day
// begun counts as a day, so an overdue item is never 0 days overdue.
func (it RectificationItem) DaysOverdue(t time.Time) int {
	end := t
	if it.Status == ItemAccepted {
		if it.ClosedAt == nil {
			return 0
		}
		end = *it.ClosedAt
	}
	if !end.After(it.Deadline) {
		return 0
	}
	const day = 24 * time.Hour
	return int((end.Sub(it.Deadline) + day - 1) / day)
}

// nextLevel is the supervision level one step above level; the last one
// has none.
func nextLevel(level string) (string, bool) {
	for i, l := range SupervisionLevels {
		if l == level && i+1 < len(SupervisionLevels) {
			return SupervisionLevels[i+1], true
		}
	}
	return "", false
}

// escalateBatch bounds how many candidates EscalateOverdue reads at once.
const escalateBatch = 100

// EscalateOverdue raises the supervision level of every item that has
// been overdue for at least Deadlines.EscalateAfter at now, and was not
// escalated within that long, by one step (daily → special → key). It
// returns how many items went up. Each item changes in a transaction of
// its own, through the same version check and change log as UpdateItem,
// so phones hear of the new level; an item changed concurrently (another
// server running the same job) is left to that change.
func (s *Service) EscalateOverdue(ctx context.Context, now time.Time) (int, error) {
	after := s.Deadlines.EscalateAfter
	if after <= 0 {
		return 0, nil
	}
	now = Stamp(now)
	cutoff := now.Add(-after)
	due := []Cond{
		{Column: "deadline", Op: OpLe, Value: cutoff},
		{Column: "status", Op: OpNe, Value: ItemAccepted},
		{Column: "supervision_level", Op: OpNe, Value: SupervisionLevels[len(SupervisionLevels)-1]},
		{Column: "escalated_at", Op: OpAny, Value: []Cond{
			{Column: "escalated_at", Op: OpNull}, {Column: "escalated_at", Op: OpLe, Value: cutoff},
		}},
	}
	n, from := 0, ""
	for {
		var batch []RectificationItem
		if err := s.Store.Tx(ctx, func(tx Tx) error {
			batch = nil
			return tx.List(&batch, Query{Where: due, After: from, Limit: escalateBatch})
		}); err != nil {
			return n, err
		}
		for _, it := range batch {
			ok, err := s.escalate(ctx, it.ID, now, cutoff)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(batch) < escalateBatch {
			return n, nil
		}
		from = batch[len(batch)-1].ID
	}
}

// escalationActor is who the audit trail names for the server's own
// escalations.
var escalationActor = Actor{UserID: "system", Username: "escalation", Role: RoleAdmin}

// escalate raises one item a level if it is still due for it.
func (s *Service) escalate(ctx context.Context, id string, now, cutoff time.Time) (bool, error) {
	raised := false
	err := s.Store.Tx(ctx, func(tx Tx) error {
		raised = false
		var it RectificationItem
		if err := tx.Get(&it, id); err != nil {
			return err
		}
		level, ok := nextLevel(it.SupervisionLevel)
		// Read again in this transaction: the item may have been accepted,
		// moved or escalated since the candidates were listed.
		if !ok || it.Status == ItemAccepted || it.Deadline.After(cutoff) || (it.EscalatedAt != nil && it.EscalatedAt.After(cutoff)) {
			return nil
		}
		detail := map[string]any{"supervision_level": auditChange{From: it.SupervisionLevel, To: level}, "escalated": true}
		it.SupervisionLevel, it.EscalatedAt = level, &now
		it.Version++
		it.UpdatedAt = now
		if err := tx.Update(&it); err != nil {
			return err
		}
		if err := s.AuditTx(tx, escalationActor, AuditItemUpdate, EntityItems, it.ID, detail); err != nil {
			return err
		}
		raised = true
		return s.ChangedShared(tx, EntityItems, "item_id", it.ID, it.Version, ScopeUnit(it.UnitPath))
	})
	if ErrorCode(err) == CodeVersionConflict || IsNotFound(err) {
		return false, nil
	}
	return raised, err
}
