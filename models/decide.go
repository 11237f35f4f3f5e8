package models

import (
	"context"
	"strings"
	"time"
)

// DecisionInput is a supervisor's accept or reject. EvidenceDigest is the
// digest of the review the decider looked at: a decision made on a view
// that new evidence has since changed is refused.
type DecisionInput struct {
	Decision         string     `json:"decision"`
	Comment          *string    `json:"comment"`
	Reasons          []string   `json:"reasons"`
	RequiredEvidence *string    `json:"required_evidence"`
	FlagAcks         []FlagAck  `json:"flag_acks"`
	EvidenceDigest   string     `json:"evidence_digest"`
	ReworkDueAt      *time.Time `json:"rework_due_at"`
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

// canDecide reports whether a may accept or reject an item at path.
func (a Actor) canDecide(path string) bool {
	return a.Role == RoleAdmin || a.Role == RoleSupervisor && a.InSubtree(path)
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
func (s *Service) Decide(ctx context.Context, a Actor, itemID string, in DecisionInput) (Decision, error) {
	if err := oneOf("decision", in.Decision, []string{DecisionAccept, DecisionReject}); err != nil {
		return Decision{}, err
	}
	comment, err := text("comment", in.Comment, false, 5000)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	err = s.Store.Tx(ctx, func(tx Tx) error {
		if err := lockFieldWork(tx, itemID); err != nil {
			return err
		}
		to := map[string]string{DecisionAccept: ItemAccepted, DecisionReject: ItemRejected}[in.Decision]
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
		case DecisionAccept:
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
func lockFieldWork(tx Tx, itemID string) error {
	if !ValidID(itemID) {
		return nil // reviewItem answers not found
	}
	if err := tx.Lock(&InspectionTask{}, []Cond{Eq("item_id", itemID)}); err != nil {
		return err
	}
	// Attaching a photo to a verification updates the verification.
	tasks := Subquery{Model: &InspectionTask{}, Column: "id", Where: []Cond{Eq("item_id", itemID)}}
	return tx.Lock(&Verification{}, []Cond{{Column: "task_id", Op: OpInQuery, Value: tasks}})
}

// decisionBasis loads the item a decision takes to status to and its
// evidence, and checks that the decider saw exactly this evidence.
func (s *Service) decisionBasis(tx Tx, a Actor, itemID, to, seen string) (RectificationItem, EvidenceSet, string, error) {
	it, err := s.reviewItem(tx, a, itemID)
	if err != nil {
		return it, EvidenceSet{}, "", err
	}
	if !a.canDecide(it.UnitPath) {
		return it, EvidenceSet{}, "", errForbidden("decide on items")
	}
	if err := ItemMachine.Check(it.Status, to); err != nil {
		return it, EvidenceSet{}, "", err
	}
	if seen == "" {
		return it, EvidenceSet{}, "", FieldError(CodeRequired, "evidence_digest", "evidence_digest is required: send the digest of the review you decided on")
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
		return it, es, "", FieldError(CodeEvidenceChanged, "evidence_digest",
			"the evidence changed since you loaded it; review it again before deciding")
	}
	return it, es, digest, nil
}

func (s *Service) newDecision(a Actor, it *RectificationItem, kind, comment, digest string) Decision {
	now := s.now()
	return Decision{ID: s.NewID(), ItemID: it.ID, UnitPath: it.UnitPath, Kind: kind, FromStatus: it.Status,
		DeciderID: a.UserID, Comment: comment, Reasons: StringList{}, FlagAcks: FlagAcks{}, EvidenceDigest: digest,
		Version: 1, CreatedAt: now, UpdatedAt: now}
}

func (s *Service) accept(tx Tx, a Actor, it *RectificationItem, d *Decision, ac Acceptance, acks []FlagAck) error {
	if !ac.Acceptable() {
		b := ac.Blockers[0]
		return Errorf(CodeAcceptanceBlocked, "the item cannot be accepted yet (%d problems): %s: %s", len(ac.Blockers), b.Code, b.Message)
	}
	checked, err := checkAcks(ac.Flags, acks)
	if err != nil {
		return err
	}
	d.FlagAcks = checked
	now := s.now()
	it.Status, it.ClosedAt = ItemAccepted, &now
	return s.cancelOpenTasks(tx, a, []Cond{Eq("item_id", it.ID)})
}

// checkAcks requires one acknowledgement with a comment for every flagged
// (file or record, code) pair, and none for anything else.
func checkAcks(flags []FlagRef, acks []FlagAck) (FlagAcks, error) {
	type key struct{ evidence, verification, code string }
	want := map[key]bool{}
	for _, f := range flags {
		want[key{f.EvidenceID, f.VerificationID, f.Code}] = true
	}
	got := map[key]bool{}
	out := FlagAcks{}
	for _, ack := range acks {
		k := key{ack.EvidenceID, ack.VerificationID, ack.Code}
		of := "evidence " + ack.EvidenceID
		if ack.EvidenceID == "" {
			of = "verification " + ack.VerificationID
		}
		if !want[k] {
			return nil, FieldError(CodeFlagAckUnknown, "flag_acks", "%s has no flag %q to acknowledge", of, ack.Code)
		}
		if got[k] {
			return nil, FieldError(CodeValidation, "flag_acks", "flag %q of %s is acknowledged twice", ack.Code, of)
		}
		c, err := text("flag_acks.comment", &ack.Comment, true, 2000)
		if err != nil {
			return nil, err
		}
		got[k] = true
		out = append(out, FlagAck{EvidenceID: ack.EvidenceID, VerificationID: ack.VerificationID, Code: ack.Code, Comment: c})
	}
	for _, f := range flags {
		if !got[key{f.EvidenceID, f.VerificationID, f.Code}] {
			of := "evidence " + f.EvidenceID
			if f.EvidenceID == "" {
				of = "verification " + f.VerificationID
			}
			return nil, FieldError(CodeFlagNotAcknowledged, "flag_acks", "acknowledge flag %q of %s (%s) with a comment", f.Code, of, f.Detail)
		}
	}
	return out, nil
}

func (s *Service) reject(tx Tx, a Actor, it *RectificationItem, d *Decision, es *EvidenceSet, ac Acceptance, in DecisionInput) error {
	if ac.Round == nil {
		return Errorf(CodeAcceptanceBlocked, "the item has no round of acceptance checks to reject")
	}
	if len(in.Reasons) == 0 {
		return FieldError(CodeRequired, "reasons", "a rejection needs at least one reason")
	}
	if len(in.Reasons) > 20 {
		return FieldError(CodeValidation, "reasons", "at most 20 reasons")
	}
	for i := range in.Reasons {
		r, err := text("reasons", &in.Reasons[i], true, 500)
		if err != nil {
			return err
		}
		d.Reasons = append(d.Reasons, r)
	}
	required, err := text("required_evidence", in.RequiredEvidence, false, 2000)
	if err != nil {
		return err
	}
	d.RequiredEvidence = required
	due := s.now().Add(DefaultCheckWindow)
	if in.ReworkDueAt != nil {
		if due, err = timeField("rework_due_at", *in.ReworkDueAt); err != nil {
			return err
		}
	}
	if err := s.cancelOpenTasks(tx, a, []Cond{Eq("item_id", it.ID), Eq("round_id", ac.Round.ID)}); err != nil {
		return err
	}
	// The rework goes to whoever checked this round, at the same sites.
	type pair struct{ inspector, site string }
	sent := map[pair]bool{}
	for _, t := range es.Tasks {
		if t.RoundID == nil || *t.RoundID != ac.Round.ID || t.AssigneeID == nil || t.Status == TaskCancelled {
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
	it.Status = ItemRejected
	return nil
}

// cancelOpenTasks cancels the open tasks that conds select: the work they
// were for has been decided (an accepted item's tasks, a rejected round's
// checks).
func (s *Service) cancelOpenTasks(tx Tx, a Actor, conds []Cond) error {
	var open []InspectionTask
	if err := tx.List(&open, Query{Where: append(conds,
		Cond{Column: "status", Op: OpIn, Value: []string{TaskUnassigned, TaskAssigned, TaskInProgress}})}); err != nil {
		return err
	}
	for i := range open {
		before := open[i]
		t := &open[i]
		t.Status = TaskCancelled
		t.Version++
		t.UpdatedAt = s.now()
		if err := tx.Update(t); err != nil {
			return err
		}
		if err := s.audit(tx, a, AuditTaskCancel, EntityTasks, t.ID, statusChange(before.Status, t.Status)); err != nil {
			return err
		}
		if err := s.taskChanged(tx, &before, t); err != nil {
			return err
		}
	}
	return nil
}

// recordDecision stores the decision and the item's new status, and tells
// the unit and every inspector holding the item's tasks.
func (s *Service) recordDecision(tx Tx, a Actor, it *RectificationItem, d *Decision, viewed []string) error {
	d.ToStatus = it.Status
	if err := tx.Create(d); err != nil {
		return err
	}
	action := map[string]string{DecisionAccept: AuditDecisionAccept, DecisionReject: AuditDecisionReject, DecisionReopen: AuditItemReopen}[d.Kind]
	detail := statusChange(d.FromStatus, d.ToStatus)
	detail["decision_id"], detail["evidence_digest"], detail["flags_acknowledged"] = d.ID, d.EvidenceDigest, len(d.FlagAcks)
	if viewed != nil {
		detail["viewed_evidence"] = viewed
	}
	if err := s.audit(tx, a, action, EntityItems, it.ID, detail); err != nil {
		return err
	}
	if err := s.saveItem(tx, it); err != nil {
		return err
	}
	users, err := holders(tx, "item_id", it.ID)
	if err != nil {
		return err
	}
	scopes := []string{ScopeUnit(it.UnitPath)}
	for _, u := range users {
		scopes = append(scopes, ScopeUser(u))
	}
	return s.changed(tx, EntityDecisions, d.ID, d.Version, OpUpsert, scopes...)
}

// Reopen takes an accepted item back into the work (admins only, with a
// reason): the sign-off is withdrawn and the item goes back to the
// responsible unit.
func (s *Service) Reopen(ctx context.Context, a Actor, itemID string, in ReopenInput) (Decision, error) {
	if !a.IsAdmin() {
		return Decision{}, errForbidden("reopen accepted items")
	}
	reason, err := text("reason", in.Reason, true, 2000)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	err = s.Store.Tx(ctx, func(tx Tx) error {
		it, _, digest, err := s.decisionBasis(tx, a, itemID, ItemReopened, in.EvidenceDigest)
		if err != nil {
			return err
		}
		d = s.newDecision(a, &it, DecisionReopen, reason, digest)
		d.Reasons = StringList{reason}
		it.Status, it.ClosedAt = ItemReopened, nil
		return s.recordDecision(tx, a, &it, &d, nil)
	})
	return d, err
}

// Decisions lists an item's decisions, oldest first.
func (s *Service) Decisions(ctx context.Context, a Actor, itemID string) ([]Decision, error) {
	var out []Decision
	err := s.Store.Tx(ctx, func(tx Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		out, err = itemDecisions(tx, it.ID)
		return err
	})
	return out, err
}
