package models

import (
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
