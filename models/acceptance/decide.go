package acceptance

import (
	"context"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// DecisionInput is a supervisor's accept or reject. EvidenceDigest is the
// digest of the review the decider looked at: a decision made on a view
// that new evidence has since changed is refused.
type DecisionInput struct {
	Decision         string           `json:"decision"`
	Comment          *string          `json:"comment"`
	Reasons          []string         `json:"reasons"`
	RequiredEvidence *string          `json:"required_evidence"`
	FlagAcks         []models.FlagAck `json:"flag_acks"`
	EvidenceDigest   string           `json:"evidence_digest"`
	ReworkDueAt      *time.Time       `json:"rework_due_at"`
	// ViewedEvidence lists the files the decider opened in full before
	// deciding (the web console's viewer tells); it is recorded in the
	// decision's audit entry.
	ViewedEvidence []string `json:"-"`
}

// ReopenInput is an admin's reopening of an accepted item.
type ReopenInput struct {
	Reason         *string `json:"reason"`
	EvidenceDigest string  `json:"evidence_digest"`
}

// Decide accepts or rejects an item pending acceptance, on exactly the
// evidence the decider saw.
//
// Accepting needs every acceptance task of the round verified as
// rectified on verified evidence (AcceptanceOf), and an acknowledgement
// with a comment for every flag of that evidence; it closes the item and
// cancels its open tasks. Rejecting needs reasons; it sends the work back
// to the field as new acceptance tasks, one per inspector and site of the
// round, carrying the reasons and the evidence asked for, which the
// inspectors' phones receive at their next pull.
func (s *Service) Decide(ctx context.Context, a models.Actor, itemID string, in DecisionInput) (models.Decision, error) {
	if err := models.OneOf("decision", in.Decision, []string{models.DecisionAccept, models.DecisionReject}); err != nil {
		return models.Decision{}, err
	}
	comment, err := models.Text("comment", in.Comment, false, 5000)
	if err != nil {
		return models.Decision{}, err
	}
	var d models.Decision
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := lockFieldWork(tx, itemID); err != nil {
			return err
		}
		to := map[string]string{models.DecisionAccept: models.ItemAccepted, models.DecisionReject: models.ItemRejected}[in.Decision]
		it, es, digest, err := s.decisionBasis(tx, a, itemID, to, in.EvidenceDigest)
		if err != nil {
			return err
		}
		ac := AcceptanceOf(&es)
		d = s.newDecision(a, &it, in.Decision, comment, digest)
		if ac.Round != nil {
			d.RoundID = &ac.Round.ID
		}
		switch in.Decision {
		case models.DecisionAccept:
			err = s.accept(tx, a, &it, &d, ac, in.FlagAcks)
		default:
			err = s.reject(tx, a, &it, &d, &es, ac, in)
		}
		if err != nil {
			return err
		}
		return s.recordDecision(tx, a, &it, &d, in.ViewedEvidence)
	})
	return d, err
}

// lockFieldWork takes the row locks of an item's tasks and verifications
// before anything is read, so that a decision and the field records that
// arrive meanwhile are serialised: a new verification or photo (whose
// insert checks its task's row) waits for the decision, or the decision,
// whose snapshot starts after the locks, sees it. On SQLite, with one
// writer, transactions are serial anyway.
func lockFieldWork(tx models.Tx, itemID string) error {
	if !models.ValidID(itemID) {
		return nil // reviewItem answers not found
	}
	if err := tx.Lock(&models.InspectionTask{}, []models.Cond{models.Eq(models.TaskCols.ItemID, itemID)}); err != nil {
		return err
	}
	// Attaching a photo to a verification updates the verification.
	tasks := models.Subquery{Model: &models.InspectionTask{}, Column: models.TaskCols.ID, Where: []models.Cond{models.Eq(models.TaskCols.ItemID, itemID)}}
	return tx.Lock(&models.Verification{}, []models.Cond{{Column: "task_id", Op: models.OpInQuery, Value: tasks}})
}

// decisionBasis loads the item a decision takes to status to and its
// evidence, and checks that the decider saw exactly this evidence.
func (s *Service) decisionBasis(tx models.Tx, a models.Actor, itemID, to, seen string) (models.RectificationItem, EvidenceSet, string, error) {
	it, err := s.reviewItem(tx, a, itemID)
	if err != nil {
		return it, EvidenceSet{}, "", err
	}
	if !a.CanDecide(it.UnitPath) {
		return it, EvidenceSet{}, "", models.Forbidden("decide on items")
	}
	if err := models.ItemMachine.Check(it.Status, to); err != nil {
		return it, EvidenceSet{}, "", err
	}
	if seen == "" {
		return it, EvidenceSet{}, "", models.FieldError(models.CodeRequired, "evidence_digest", "evidence_digest is required: send the digest of the review you decided on")
	}
	es, err := loadEvidenceSet(tx, it)
	if err != nil {
		return it, es, "", err
	}
	digest, err := es.Digest()
	if err != nil {
		return it, es, "", err
	}
	if digest != strings.ToLower(seen) {
		return it, es, "", models.FieldError(models.CodeEvidenceChanged, "evidence_digest",
			"the evidence changed since you loaded it; review it again before deciding")
	}
	return it, es, digest, nil
}

func (s *Service) newDecision(a models.Actor, it *models.RectificationItem, kind, comment, digest string) models.Decision {
	now := s.Time()
	return models.Decision{ID: s.NewID(), ItemID: it.ID, UnitPath: it.UnitPath, Kind: kind, FromStatus: it.Status,
		DeciderID: a.UserID, Comment: comment, Reasons: models.StringList{}, FlagAcks: models.FlagAcks{}, EvidenceDigest: digest,
		Version: 1, CreatedAt: now, UpdatedAt: now}
}

func (s *Service) accept(tx models.Tx, a models.Actor, it *models.RectificationItem, d *models.Decision, ac Acceptance, acks []models.FlagAck) error {
	if !ac.Acceptable() {
		b := ac.Blockers[0]
		return models.Errorf(models.CodeAcceptanceBlocked, "the item cannot be accepted yet (%d problems): %s: %s", len(ac.Blockers), b.Code, b.Message)
	}
	checked, err := checkAcks(ac.Flags, acks)
	if err != nil {
		return err
	}
	d.FlagAcks = checked
	now := s.Time()
	it.Status, it.ClosedAt = models.ItemAccepted, &now
	return s.cancelOpenTasks(tx, a, []models.Cond{models.Eq("item_id", it.ID)})
}

// checkAcks requires one acknowledgement with a comment for every flagged
// (file or record, code) pair, and none for anything else.
func checkAcks(flags []FlagRef, acks []models.FlagAck) (models.FlagAcks, error) {
	type key struct{ evidence, verification, code string }
	want := map[key]bool{}
	for _, f := range flags {
		want[key{f.EvidenceID, f.VerificationID, f.Code}] = true
	}
	got := map[key]bool{}
	out := models.FlagAcks{}
	for _, ack := range acks {
		k := key{ack.EvidenceID, ack.VerificationID, ack.Code}
		of := "evidence " + ack.EvidenceID
		if ack.EvidenceID == "" {
			of = "verification " + ack.VerificationID
		}
		if !want[k] {
			return nil, models.FieldError(models.CodeFlagAckUnknown, "flag_acks", "%s has no flag %q to acknowledge", of, ack.Code)
		}
		if got[k] {
			return nil, models.FieldError(models.CodeValidation, "flag_acks", "flag %q of %s is acknowledged twice", ack.Code, of)
		}
		c, err := models.Text("flag_acks.comment", &ack.Comment, true, 2000)
		if err != nil {
			return nil, err
		}
		got[k] = true
		out = append(out, models.FlagAck{EvidenceID: ack.EvidenceID, VerificationID: ack.VerificationID, Code: ack.Code, Comment: c})
	}
	for _, f := range flags {
		if !got[key{f.EvidenceID, f.VerificationID, f.Code}] {
			of := "evidence " + f.EvidenceID
			if f.EvidenceID == "" {
				of = "verification " + f.VerificationID
			}
			return nil, models.FieldError(models.CodeFlagNotAcknowledged, "flag_acks", "acknowledge flag %q of %s (%s) with a comment", f.Code, of, f.Detail)
		}
	}
	return out, nil
}

func (s *Service) reject(tx models.Tx, a models.Actor, it *models.RectificationItem, d *models.Decision, es *EvidenceSet, ac Acceptance, in DecisionInput) error {
	if ac.Round == nil {
		return models.Errorf(models.CodeAcceptanceBlocked, "the item has no round of acceptance checks to reject")
	}
	if len(in.Reasons) == 0 {
		return models.FieldError(models.CodeRequired, "reasons", "a rejection needs at least one reason")
	}
	if len(in.Reasons) > 20 {
		return models.FieldError(models.CodeValidation, "reasons", "at most 20 reasons")
	}
	for i := range in.Reasons {
		r, err := models.Text("reasons", &in.Reasons[i], true, 500)
		if err != nil {
			return err
		}
		d.Reasons = append(d.Reasons, r)
	}
	required, err := models.Text("required_evidence", in.RequiredEvidence, false, 2000)
	if err != nil {
		return err
	}
	d.RequiredEvidence = required
	due := s.Time().Add(DefaultCheckWindow)
	if in.ReworkDueAt != nil {
		if due, err = models.TimeField("rework_due_at", *in.ReworkDueAt); err != nil {
			return err
		}
	}
	if err := s.cancelOpenTasks(tx, a, []models.Cond{models.Eq("item_id", it.ID), models.Eq("round_id", ac.Round.ID)}); err != nil {
		return err
	}
	// The rework goes to whoever checked this round, at the same sites.
	type pair struct{ inspector, site string }
	sent := map[pair]bool{}
	for _, t := range es.Tasks {
		if t.RoundID == nil || *t.RoundID != ac.Round.ID || t.AssigneeID == nil || t.Status == models.TaskCancelled {
			continue
		}
		p := pair{*t.AssigneeID, t.SiteID}
		if sent[p] {
			continue
		}
		sent[p] = true
		c := check{item: it, siteID: t.SiteID, templateID: t.TemplateID, assignee: *t.AssigneeID, due: due,
			reworkOf: &d.ID, reasons: d.Reasons, required: required, instructions: "验收未通过，请按退回意见重新核查"}
		if _, err := s.createCheck(tx, a, c); err != nil {
			return err
		}
	}
	it.Status = models.ItemRejected
	return nil
}

// cancelOpenTasks cancels the open tasks that conds select: the work they
// were for has been decided (an accepted item's tasks, a rejected round's
// checks).
func (s *Service) cancelOpenTasks(tx models.Tx, a models.Actor, conds []models.Cond) error {
	var open []models.InspectionTask
	if err := tx.List(&open, models.Query{Where: append(conds,
		models.Cond{Column: models.TaskCols.Status, Op: models.OpIn, Value: models.TaskUnfinished})}); err != nil {
		return err
	}
	for i := range open {
		before := open[i]
		t := &open[i]
		t.Status = models.TaskCancelled
		t.Version++
		t.UpdatedAt = s.Time()
		if err := tx.Update(t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditTaskCancel, models.EntityTasks, t.ID, models.StatusChange(before.Status, t.Status)); err != nil {
			return err
		}
		if err := s.TaskChanged(tx, &before, t); err != nil {
			return err
		}
	}
	return nil
}

// recordDecision stores the decision and the item's new status, and tells
// the unit and every inspector holding the item's tasks.
func (s *Service) recordDecision(tx models.Tx, a models.Actor, it *models.RectificationItem, d *models.Decision, viewed []string) error {
	d.ToStatus = it.Status
	if err := tx.Create(d); err != nil {
		return err
	}
	action := map[string]string{models.DecisionAccept: models.AuditDecisionAccept, models.DecisionReject: models.AuditDecisionReject, models.DecisionReopen: models.AuditItemReopen}[d.Kind]
	detail := models.StatusChange(d.FromStatus, d.ToStatus)
	detail["decision_id"], detail["evidence_digest"], detail["flags_acknowledged"] = d.ID, d.EvidenceDigest, len(d.FlagAcks)
	if viewed != nil {
		detail["viewed_evidence"] = viewed
	}
	if err := s.AuditTx(tx, a, action, models.EntityItems, it.ID, detail); err != nil {
		return err
	}
	if err := s.SaveItem(tx, it); err != nil {
		return err
	}
	users, err := models.Holders(tx, models.TaskCols.ItemID, it.ID)
	if err != nil {
		return err
	}
	scopes := []string{models.ScopeUnit(it.UnitPath)}
	for _, u := range users {
		scopes = append(scopes, models.ScopeUser(u))
	}
	return s.Changed(tx, models.EntityDecisions, d.ID, d.Version, models.OpUpsert, scopes...)
}

// Reopen takes an accepted item back into the work (admins only, with a
// reason): the sign-off is withdrawn and the item goes back to the
// responsible unit.
func (s *Service) Reopen(ctx context.Context, a models.Actor, itemID string, in ReopenInput) (models.Decision, error) {
	if !a.IsAdmin() {
		return models.Decision{}, models.Forbidden("reopen accepted items")
	}
	reason, err := models.Text("reason", in.Reason, true, 2000)
	if err != nil {
		return models.Decision{}, err
	}
	var d models.Decision
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		it, _, digest, err := s.decisionBasis(tx, a, itemID, models.ItemReopened, in.EvidenceDigest)
		if err != nil {
			return err
		}
		d = s.newDecision(a, &it, models.DecisionReopen, reason, digest)
		d.Reasons = models.StringList{reason}
		it.Status, it.ClosedAt = models.ItemReopened, nil
		return s.recordDecision(tx, a, &it, &d, nil)
	})
	return d, err
}

// Decisions lists an item's decisions, oldest first.
func (s *Service) Decisions(ctx context.Context, a models.Actor, itemID string) ([]models.Decision, error) {
	var out []models.Decision
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		out, err = itemDecisions(tx, it.ID)
		return err
	})
	return out, err
}
