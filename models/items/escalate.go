package items

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// nextLevel is the supervision level one step above level; the last one
// has none.
func nextLevel(level string) (string, bool) {
	for i, l := range models.SupervisionLevels {
		if l == level && i+1 < len(models.SupervisionLevels) {
			return models.SupervisionLevels[i+1], true
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
	now = models.Stamp(now)
	cutoff := now.Add(-after)
	due := []models.Cond{
		{Column: "deadline", Op: models.OpLe, Value: cutoff},
		{Column: "status", Op: models.OpNe, Value: models.ItemAccepted},
		{Column: "supervision_level", Op: models.OpNe, Value: models.SupervisionLevels[len(models.SupervisionLevels)-1]},
		{Column: "escalated_at", Op: models.OpAny, Value: []models.Cond{
			{Column: "escalated_at", Op: models.OpNull}, {Column: "escalated_at", Op: models.OpLe, Value: cutoff},
		}},
	}
	n, from := 0, ""
	for {
		var batch []models.RectificationItem
		if err := s.Store.Tx(ctx, func(tx models.Tx) error {
			batch = nil
			return tx.List(&batch, models.Query{Where: due, After: from, Limit: escalateBatch})
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
var escalationActor = models.Actor{UserID: "system", Username: "escalation", Role: models.RoleAdmin}

// escalate raises one item a level if it is still due for it.
func (s *Service) escalate(ctx context.Context, id string, now, cutoff time.Time) (bool, error) {
	raised := false
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		raised = false
		var it models.RectificationItem
		if err := tx.Get(&it, id); err != nil {
			return err
		}
		level, ok := nextLevel(it.SupervisionLevel)
		// Read again in this transaction: the item may have been accepted,
		// moved or escalated since the candidates were listed.
		if !ok || it.Status == models.ItemAccepted || it.Deadline.After(cutoff) || (it.EscalatedAt != nil && it.EscalatedAt.After(cutoff)) {
			return nil
		}
		detail := map[string]any{"supervision_level": models.AuditChange{From: it.SupervisionLevel, To: level}, "escalated": true}
		it.SupervisionLevel, it.EscalatedAt = level, &now
		it.Version++
		it.UpdatedAt = now
		if err := tx.Update(&it); err != nil {
			return err
		}
		if err := s.AuditTx(tx, escalationActor, models.AuditItemUpdate, models.EntityItems, it.ID, detail); err != nil {
			return err
		}
		raised = true
		return s.ChangedShared(tx, models.EntityItems, models.TaskCols.ItemID, it.ID, it.Version, models.ScopeUnit(it.UnitPath))
	})
	if models.ErrorCode(err) == models.CodeVersionConflict || models.IsNotFound(err) {
		return false, nil
	}
	return raised, err
}
