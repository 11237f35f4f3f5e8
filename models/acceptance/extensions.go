package acceptance

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// RequestExtension records a request to extend the item's deadline. The
// item's unit lead, a supervisor over it or an admin may ask; an item
// that is accepted or open-ended has no deadline to extend, and one
// request at a time may be pending.
func (s *Service) RequestExtension(ctx context.Context, a models.Actor, itemID string, in models.ExtensionRequest) (models.DeadlineExtension, error) {
	var ext models.DeadlineExtension
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		reason, err := models.Text("reason", in.Reason, true, 2000)
		if err != nil {
			return err
		}
		if in.Deadline == nil {
			return models.FieldError(models.CodeRequired, "deadline", "deadline is required")
		}
		loc := s.Deadlines.Location()
		deadline, err := models.TimeField("deadline", in.Deadline.EndOfDay(loc))
		if err != nil {
			return err
		}
		switch {
		case it.Status == models.ItemAccepted:
			return models.Errorf(models.CodeExtensionNotPossible, "the item is accepted; its deadline no longer runs")
		case it.ReviewCadence != "":
			return models.Errorf(models.CodeExtensionNotPossible, "the item is open-ended (reviewed %s); it has no deadline to extend", it.ReviewCadence)
		case !deadline.After(it.Deadline):
			return models.FieldError(models.CodeExtensionNotLater, "deadline", "the new deadline %s is not after the current one, %s",
				deadline.In(loc).Format(time.DateOnly), it.Deadline.In(loc).Format(time.DateOnly))
		}
		n, err := tx.Count(&models.DeadlineExtension{}, []models.Cond{models.Eq("item_id", it.ID), models.Eq("status", models.ExtensionPending)})
		if err != nil {
			return err
		}
		if n > 0 {
			return models.Errorf(models.CodeExtensionPending, "an extension of this item is already waiting for a decision")
		}
		now := s.Time()
		ext = models.DeadlineExtension{ID: s.NewID(), ItemID: it.ID, UnitPath: it.UnitPath, Status: models.ExtensionPending, Reason: reason,
			PreviousDeadline: it.Deadline, RequestedDeadline: deadline, RequestedBy: a.UserID, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&ext); err != nil {
			return err
		}
		return s.AuditTx(tx, a, models.AuditExtensionRequest, models.EntityItems, it.ID, map[string]any{
			"extension_id": ext.ID, "reason": reason, "deadline": models.AuditChange{From: it.Deadline, To: deadline}})
	})
	return ext, err
}

// DecideExtension approves or refuses a pending request. Supervisors over
// the item's unit and admins decide; an approval moves the item's
// deadline (keeping the first one as OriginalDeadline), and an escalation
// already made stays.
func (s *Service) DecideExtension(ctx context.Context, a models.Actor, itemID, extID string, in models.ExtensionDecision) (models.DeadlineExtension, error) {
	var ext models.DeadlineExtension
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(it.UnitPath) {
			return models.Forbidden("decide on deadline extensions")
		}
		if err := models.GetVisible(tx, &ext, extID, "extension", func() bool { return ext.ItemID == it.ID }); err != nil {
			return err
		}
		if in.Decision == nil {
			return models.FieldError(models.CodeRequired, "decision", "decision is required")
		}
		if err := models.OneOf("decision", *in.Decision, []string{models.ExtensionDecisionApprove, models.ExtensionDecisionRefuse}); err != nil {
			return err
		}
		approve := *in.Decision == models.ExtensionDecisionApprove
		comment, err := models.Text("comment", in.Comment, !approve, 2000)
		if err != nil {
			return err
		}
		if ext.Status != models.ExtensionPending {
			return models.Errorf(models.CodeExtensionDecided, "the request was already %s", ext.Status).With("Status", ext.Status)
		}
		if approve && (it.Status == models.ItemAccepted || it.ReviewCadence != "") {
			return models.Errorf(models.CodeExtensionNotPossible, "the item is accepted or open-ended; its deadline cannot be extended")
		}
		now := s.Time()
		ext.Status, ext.DecidedBy, ext.DecisionComment, ext.DecidedAt = models.ExtensionRefused, a.UserID, comment, &now
		action := models.AuditExtensionRefuse
		detail := map[string]any{"extension_id": ext.ID, "comment": comment}
		if approve {
			ext.Status, action = models.ExtensionApproved, models.AuditExtensionApprove
			detail["deadline"] = models.AuditChange{From: it.Deadline, To: ext.RequestedDeadline}
		}
		ext.Version++
		ext.UpdatedAt = now
		if err := tx.Update(&ext); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, action, models.EntityItems, it.ID, detail); err != nil {
			return err
		}
		if !approve {
			return nil
		}
		if it.OriginalDeadline == nil {
			first := it.Deadline
			it.OriginalDeadline = &first
		}
		it.Deadline = ext.RequestedDeadline
		return s.SaveItem(tx, &it)
	})
	return ext, err
}

// ListExtensions lists an item's extension requests, oldest first, for
// those who may review the item.
func (s *Service) ListExtensions(ctx context.Context, a models.Actor, itemID string) ([]models.DeadlineExtension, error) {
	out := []models.DeadlineExtension{}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if _, err := s.reviewItem(tx, a, itemID); err != nil {
			return err
		}
		return tx.List(&out, models.Query{Where: []models.Cond{models.Eq("item_id", itemID)}, OrderBy: "created_at"})
	})
	return out, err
}
