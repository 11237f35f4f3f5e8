package models

import (
	"context"
	"time"
)

// Extension statuses.
const (
	ExtensionPending  = "pending"
	ExtensionApproved = "approved"
	ExtensionRefused  = "refused"
)

// DeadlineExtension is a request to extend an item's deadline (延期),
// made with a reason by the responsible side (a unit lead or supervisor
// of the item's unit) and approved or refused by a supervisor over the
// item. An approved extension moves the item's deadline; the item keeps
// its first deadline as OriginalDeadline.
type DeadlineExtension struct {
	ID                string     `json:"id" gorm:"primaryKey"`
	ItemID            string     `json:"item_id"`
	UnitPath          string     `json:"-"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason"`
	PreviousDeadline  time.Time  `json:"previous_deadline"`
	RequestedDeadline time.Time  `json:"requested_deadline"`
	RequestedBy       string     `json:"requested_by"`
	DecidedBy         string     `json:"decided_by"`
	DecisionComment   string     `json:"decision_comment"`
	DecidedAt         *time.Time `json:"decided_at"`
	Version           int64      `json:"version"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// TableName names the table.
func (DeadlineExtension) TableName() string { return "deadline_extensions" }

// RecordID implements Record.
func (e DeadlineExtension) RecordID() string { return e.ID }

// ExtensionRequest asks for a later deadline.
type ExtensionRequest struct {
	Deadline *DateTime `json:"deadline"`
	Reason   *string   `json:"reason"`
}

// ExtensionDecision answers a request: approve or refuse, with a comment
// (required when refusing).
type ExtensionDecision struct {
	Decision *string `json:"decision"`
	Comment  *string `json:"comment"`
}

// Extension decisions.
const (
	ExtensionDecisionApprove = "approve"
	ExtensionDecisionRefuse  = "refuse"
)

// RequestExtension records a request to extend the item's deadline. The
// item's unit lead, a supervisor over it or an admin may ask; an item
// that is accepted or open-ended has no deadline to extend, and one
// request at a time may be pending.
func (s *Service) RequestExtension(ctx context.Context, a Actor, itemID string, in ExtensionRequest) (DeadlineExtension, error) {
	var ext DeadlineExtension
	err := s.Store.Tx(ctx, func(tx Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		reason, err := text("reason", in.Reason, true, 2000)
		if err != nil {
			return err
		}
		if in.Deadline == nil {
			return FieldError(CodeRequired, "deadline", "deadline is required")
		}
		loc := s.Deadlines.Location()
		deadline, err := timeField("deadline", in.Deadline.EndOfDay(loc))
		if err != nil {
			return err
		}
		switch {
		case it.Status == ItemAccepted:
			return Errorf(CodeExtensionNotPossible, "the item is accepted; its deadline no longer runs")
		case it.ReviewCadence != "":
			return Errorf(CodeExtensionNotPossible, "the item is open-ended (reviewed %s); it has no deadline to extend", it.ReviewCadence)
		case !deadline.After(it.Deadline):
			return FieldError(CodeExtensionNotLater, "deadline", "the new deadline %s is not after the current one, %s",
				deadline.In(loc).Format(time.DateOnly), it.Deadline.In(loc).Format(time.DateOnly))
		}
		n, err := tx.Count(&DeadlineExtension{}, []Cond{Eq("item_id", it.ID), Eq("status", ExtensionPending)})
		if err != nil {
			return err
		}
		if n > 0 {
			return Errorf(CodeExtensionPending, "an extension of this item is already waiting for a decision")
		}
		now := s.now()
		ext = DeadlineExtension{ID: s.NewID(), ItemID: it.ID, UnitPath: it.UnitPath, Status: ExtensionPending, Reason: reason,
			PreviousDeadline: it.Deadline, RequestedDeadline: deadline, RequestedBy: a.UserID, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&ext); err != nil {
			return err
		}
		return s.audit(tx, a, AuditExtensionRequest, EntityItems, it.ID, map[string]any{
			"extension_id": ext.ID, "reason": reason, "deadline": auditChange{From: it.Deadline, To: deadline}})
	})
	return ext, err
}

// DecideExtension approves or refuses a pending request. Supervisors over
// the item's unit and admins decide; an approval moves the item's
// deadline (keeping the first one as OriginalDeadline), and an escalation
// already made stays.
func (s *Service) DecideExtension(ctx context.Context, a Actor, itemID, extID string, in ExtensionDecision) (DeadlineExtension, error) {
	var ext DeadlineExtension
	err := s.Store.Tx(ctx, func(tx Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		if !a.canWriteUnitRecord(it.UnitPath) {
			return errForbidden("decide on deadline extensions")
		}
		if err := getVisible(tx, &ext, extID, "extension", func() bool { return ext.ItemID == it.ID }); err != nil {
			return err
		}
		if in.Decision == nil {
			return FieldError(CodeRequired, "decision", "decision is required")
		}
		if err := oneOf("decision", *in.Decision, []string{ExtensionDecisionApprove, ExtensionDecisionRefuse}); err != nil {
			return err
		}
		approve := *in.Decision == ExtensionDecisionApprove
		comment, err := text("comment", in.Comment, !approve, 2000)
		if err != nil {
			return err
		}
		if ext.Status != ExtensionPending {
			return Errorf(CodeExtensionDecided, "the request was already %s", ext.Status).With("Status", ext.Status)
		}
		if approve && (it.Status == ItemAccepted || it.ReviewCadence != "") {
			return Errorf(CodeExtensionNotPossible, "the item is accepted or open-ended; its deadline cannot be extended")
		}
		now := s.now()
		ext.Status, ext.DecidedBy, ext.DecisionComment, ext.DecidedAt = ExtensionRefused, a.UserID, comment, &now
		action := AuditExtensionRefuse
		detail := map[string]any{"extension_id": ext.ID, "comment": comment}
		if approve {
			ext.Status, action = ExtensionApproved, AuditExtensionApprove
			detail["deadline"] = auditChange{From: it.Deadline, To: ext.RequestedDeadline}
		}
		ext.Version++
		ext.UpdatedAt = now
		if err := tx.Update(&ext); err != nil {
			return err
		}
		if err := s.audit(tx, a, action, EntityItems, it.ID, detail); err != nil {
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
		return s.saveItem(tx, &it)
	})
	return ext, err
}

// ListExtensions lists an item's extension requests, oldest first, for
// those who may review the item.
func (s *Service) ListExtensions(ctx context.Context, a Actor, itemID string) ([]DeadlineExtension, error) {
	out := []DeadlineExtension{}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if _, err := s.reviewItem(tx, a, itemID); err != nil {
			return err
		}
		return tx.List(&out, Query{Where: []Cond{Eq("item_id", itemID)}, OrderBy: "created_at"})
	})
	return out, err
}
