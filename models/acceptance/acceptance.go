package acceptance

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
)

// SubmitInput is the responsible unit's request for acceptance (申请验收):
// its statement, and who checks the item where. Inspectors and sites
// default to those of the item's rework and tasks so far.
type SubmitInput struct {
	Statement    *string    `json:"statement"`
	InspectorIDs []string   `json:"inspector_ids"`
	SiteIDs      []string   `json:"site_ids"`
	TemplateID   *string    `json:"template_id"`
	DueAt        *time.Time `json:"due_at"`
	Version      *int64     `json:"version"`
}

// DefaultCheckWindow is how long acceptance and rework tasks stay open
// when no due date is given.
const DefaultCheckWindow = 7 * 24 * time.Hour

// SubmitForAcceptance records the responsible unit's statement that the
// item is done and opens a round of acceptance checks: one acceptance
// task per named inspector and site, plus any rework tasks of an earlier
// rejection that no round holds yet. An item not yet in progress (new,
// rejected or reopened) passes through in_progress on the way.
func (s *Service) SubmitForAcceptance(ctx context.Context, a models.Actor, itemID string, in SubmitInput) (models.Submission, error) {
	var sub models.Submission
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		// Whoever reviews the item may submit it: the responsible unit's
		// lead, a supervisor over it, an admin.
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		if err := models.CheckVersion(it.Version, in.Version); err != nil {
			return err
		}
		statement, err := models.Text("statement", in.Statement, true, 5000)
		if err != nil {
			return err
		}
		from := it.Status
		if err := s.moveItem(tx, a, &it, models.ItemPendingAcceptance); err != nil {
			return err
		}
		n, err := tx.Count(&models.Submission{}, []models.Cond{models.Eq("item_id", it.ID)})
		if err != nil {
			return err
		}
		now := s.Time()
		sub = models.Submission{ID: s.NewID(), ItemID: it.ID, UnitPath: it.UnitPath, Round: int(n) + 1, SubmittedBy: a.UserID,
			Statement: statement, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := models.TranslateDup(tx.Create(&sub), models.CodeVersionConflict, "version", "the item was submitted by someone else at the same time"); err != nil {
			return err
		}
		adopted, err := s.adoptRework(tx, a, &it, sub.ID)
		if err != nil {
			return err
		}
		created, err := s.createChecks(tx, a, &it, &sub, in)
		if err != nil {
			return err
		}
		if adopted+created == 0 {
			return models.FieldError(models.CodeRequired, "inspector_ids", "name at least one inspector to check the item")
		}
		detail := models.StatusChange(from, it.Status)
		detail["submission_id"], detail["round"], detail["tasks"] = sub.ID, sub.Round, adopted+created
		if err := s.AuditTx(tx, a, models.AuditItemSubmit, models.EntityItems, it.ID, detail); err != nil {
			return err
		}
		return s.SaveItem(tx, &it)
	})
	return sub, err
}

// moveItem takes an item to status to, through in_progress when it is not
// there yet and may go there.
func (s *Service) moveItem(tx models.Tx, a models.Actor, it *models.RectificationItem, to string) error {
	if to != models.ItemInProgress && it.Status != models.ItemInProgress && models.ItemMachine.Check(it.Status, models.ItemInProgress) == nil {
		if err := s.moveItem(tx, a, it, models.ItemInProgress); err != nil {
			return err
		}
	}
	if err := models.ItemMachine.Check(it.Status, to); err != nil {
		return err
	}
	it.Status = to
	return nil
}

// adoptRework puts the rework of the item's latest rejection, the tasks
// no round holds yet, into round roundID. Nothing else joins a round:
// checks made before the submission, by hand or for an earlier round,
// cannot stand in for a check of what the unit now says it did.
func (s *Service) adoptRework(tx models.Tx, a models.Actor, it *models.RectificationItem, roundID string) (int, error) {
	var last models.Decision
	err := tx.First(&last, models.Query{Where: []models.Cond{models.Eq("item_id", it.ID), models.Eq("kind", models.DecisionReject)}, OrderBy: "created_at DESC"})
	if models.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var tasks []models.InspectionTask
	if err := tx.List(&tasks, models.Query{Where: []models.Cond{models.Eq(models.TaskCols.ItemID, it.ID), models.Eq(models.TaskCols.ReworkOf, last.ID),
		{Column: models.TaskCols.RoundID, Op: models.OpNull}, {Column: models.TaskCols.Status, Op: models.OpNe, Value: models.TaskCancelled}}}); err != nil {
		return 0, err
	}
	for i := range tasks {
		before := tasks[i]
		t := &tasks[i]
		t.RoundID = &roundID
		t.Version++
		t.UpdatedAt = s.Time()
		if err := tx.Update(t); err != nil {
			return 0, err
		}
		if err := s.AuditTx(tx, a, models.AuditTaskUpdate, models.EntityTasks, t.ID, map[string]any{"round_id": roundID}); err != nil {
			return 0, err
		}
		if err := s.TaskChanged(tx, &before, t); err != nil {
			return 0, err
		}
	}
	return len(tasks), nil
}

// createChecks creates the round's acceptance tasks: one per inspector and
// site.
func (s *Service) createChecks(tx models.Tx, a models.Actor, it *models.RectificationItem, sub *models.Submission, in SubmitInput) (int, error) {
	if len(in.InspectorIDs) == 0 {
		return 0, nil
	}
	if len(in.InspectorIDs) > 20 || len(in.SiteIDs) > 50 {
		return 0, models.FieldError(models.CodeValidation, "inspector_ids", "at most 20 inspectors and 50 sites per submission")
	}
	var earlier []models.InspectionTask
	if err := tx.List(&earlier, models.Query{Where: []models.Cond{models.Eq(models.TaskCols.ItemID, it.ID)}, OrderBy: models.OrderBy(models.TaskCols.CreatedAt.Desc())}); err != nil {
		return 0, err
	}
	sites := models.UniqueSorted(in.SiteIDs)
	for _, site := range sites {
		if err := checkSiteFor(tx, a, site); err != nil {
			return 0, err
		}
	}
	if len(sites) == 0 {
		sites = models.UniqueSorted(models.IDsOf(earlier, func(t models.InspectionTask) []string { return []string{t.SiteID} }))
	}
	if len(sites) == 0 {
		return 0, models.FieldError(models.CodeRequired, "site_ids", "the item has no tasks yet; name the sites to check")
	}
	tmpl := ""
	switch {
	case in.TemplateID != nil:
		tmpl = *in.TemplateID
	case len(earlier) > 0:
		tmpl = earlier[0].TemplateID
	default:
		return 0, models.FieldError(models.CodeRequired, "template_id", "the item has no tasks yet; name the checklist template")
	}
	due := s.Time().Add(DefaultCheckWindow)
	if in.DueAt != nil {
		var err error
		if due, err = models.TimeField("due_at", *in.DueAt); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, uid := range models.UniqueSorted(in.InspectorIDs) {
		if _, err := models.CheckAssignee(tx, a, uid, "inspector_ids"); err != nil {
			return 0, err
		}
		for _, site := range sites {
			c := check{item: it, siteID: site, templateID: tmpl, assignee: uid, due: due, roundID: &sub.ID,
				instructions: "验收核查（第" + strconv.Itoa(sub.Round) + "轮）"}
			if _, err := s.createCheck(tx, a, c); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

// check is an acceptance task the workflow creates: for a round, or as
// rework of a rejection.
type check struct {
	item               *models.RectificationItem
	siteID, templateID string
	assignee           string
	due                time.Time
	roundID, reworkOf  *string
	reasons            models.StringList
	required           string
	instructions       string
}

// createCheck inserts an acceptance task, assigned at once, and hands it
// to the inspector's devices.
func (s *Service) createCheck(tx models.Tx, a models.Actor, c check) (models.InspectionTask, error) {
	var tm models.ChecklistTemplate
	if err := models.Lookup(tx, &tm, c.templateID, "template_id"); err != nil {
		return models.InspectionTask{}, err
	}
	now := s.Time()
	if !c.due.After(now) {
		return models.InspectionTask{}, models.FieldError(models.CodeWindowInvalid, "due_at", "the due date must be in the future")
	}
	assignee := c.assignee
	t := models.InspectionTask{ID: s.NewID(), ItemID: c.item.ID, SiteID: c.siteID, AssigneeID: &assignee, UnitPath: c.item.UnitPath,
		Kind: models.TaskAcceptanceCheck, TemplateID: tm.ID, WindowStart: now, DueAt: c.due, Instructions: c.instructions,
		Status: models.TaskAssigned, AssignedAt: &now, RoundID: c.roundID, ReworkOf: c.reworkOf, Reasons: c.reasons,
		RequiredEvidence: c.required, Version: 1, CreatedAt: now, UpdatedAt: now}
	if t.Reasons == nil {
		t.Reasons = models.StringList{}
	}
	if err := tx.Create(&t); err != nil {
		return t, err
	}
	if err := s.AuditTx(tx, a, models.AuditTaskCreate, models.EntityTasks, t.ID, map[string]any{"kind": t.Kind, "assignee_id": assignee,
		"round_id": t.RoundID, "rework_of": t.ReworkOf}); err != nil {
		return t, err
	}
	return t, s.TaskChanged(tx, &models.InspectionTask{}, &t)
}

// checkSiteFor loads a site the actor names for a check: it must exist and
// lie in the actor's subtree.
func checkSiteFor(tx models.Tx, a models.Actor, id string) error {
	var st models.Site
	return models.LookupVisible(tx, &st, id, "site_ids", func() bool { return a.IsAdmin() || a.InSubtree(st.UnitPath) })
}

// Blocker is one reason an item cannot be accepted yet.
type Blocker struct {
	Code           string `json:"code"`
	TaskID         string `json:"task_id,omitempty"`
	VerificationID string `json:"verification_id,omitempty"`
	EvidenceID     string `json:"evidence_id,omitempty"`
	Message        string `json:"message"`
}

// Blocker codes.
const (
	BlockNotPending        = "item_not_pending_acceptance"
	BlockNoRound           = "no_acceptance_round"
	BlockNoChecks          = "no_acceptance_tasks"
	BlockNotVerified       = "task_not_verified"
	BlockNotRectified      = "verification_not_rectified"
	BlockNoEvidence        = "verification_without_evidence"
	BlockEvidenceNotReady  = "evidence_not_verified"
	BlockEvidenceNotExists = "evidence_missing"
)

// FlagRef is one flag a decider must acknowledge: of one file, or of
// the verification record itself (where the inspector stood, whether the
// location was mocked).
type FlagRef struct {
	EvidenceID     string `json:"evidence_id,omitempty"`
	VerificationID string `json:"verification_id,omitempty"`
	models.Flag
}

// Acceptance is what stands between an item and its acceptance: the
// current round, the verification each of its tasks is judged by (the
// latest one recorded), what blocks, and the flags to acknowledge.
type Acceptance struct {
	Round    *models.Submission `json:"round"`
	Judged   map[string]string  `json:"judged_verifications"`
	Blockers []Blocker          `json:"blockers"`
	Flags    []FlagRef          `json:"flags_to_acknowledge"`
}

// Acceptable reports whether nothing blocks.
func (ac Acceptance) Acceptable() bool { return len(ac.Blockers) == 0 }

// AcceptanceOf applies the rule of acceptance to an evidence set: every
// acceptance task of the latest round has a verification (its latest)
// whose conclusion is rectified and whose evidence, at least one file, is
// all verified. Flags do not block; they are listed to be acknowledged.
func AcceptanceOf(es *EvidenceSet) Acceptance {
	ac := Acceptance{Judged: map[string]string{}, Blockers: []Blocker{}, Flags: []FlagRef{}}
	block := func(b Blocker) { ac.Blockers = append(ac.Blockers, b) }
	if es.Item.Status != models.ItemPendingAcceptance {
		block(Blocker{Code: BlockNotPending, Message: "the item is " + es.Item.Status + ", not pending acceptance"})
	}
	for i := range es.Submissions {
		if ac.Round == nil || es.Submissions[i].Round > ac.Round.Round {
			ac.Round = &es.Submissions[i]
		}
	}
	if ac.Round == nil {
		block(Blocker{Code: BlockNoRound, Message: "the item has not been submitted for acceptance"})
		return ac
	}
	// The latest verification is the last to reach the server: the
	// phone's recorded_at comes from its clock, which must not decide.
	latest := map[string]*models.Verification{}
	for i := range es.Verifications {
		v := &es.Verifications[i]
		if cur := latest[v.TaskID]; cur == nil || v.CreatedAt.After(cur.CreatedAt) ||
			v.CreatedAt.Equal(cur.CreatedAt) && v.ID > cur.ID {
			latest[v.TaskID] = v
		}
	}
	sites := map[string]*models.Site{}
	for i := range es.Sites {
		sites[es.Sites[i].ID] = &es.Sites[i]
	}
	evidence := map[string]*models.Evidence{}
	// A verification's files are those it names and those declared for
	// it (a photo declared with verification_id before it is attached).
	files := map[string][]string{}
	for i := range es.Evidence {
		e := &es.Evidence[i]
		evidence[e.ID] = e
		if e.VerificationID != nil {
			files[*e.VerificationID] = append(files[*e.VerificationID], e.ID)
		}
	}
	checks := 0
	for _, t := range es.Tasks {
		if t.Kind != models.TaskAcceptanceCheck || t.RoundID == nil || *t.RoundID != ac.Round.ID || t.Status == models.TaskCancelled {
			continue
		}
		checks++
		v := latest[t.ID]
		if v == nil {
			block(Blocker{Code: BlockNotVerified, TaskID: t.ID, Message: "no verification has been recorded for this acceptance task"})
			continue
		}
		ac.Judged[t.ID] = v.ID
		ac.Flags = append(ac.Flags, verificationFlags(v, sites[t.SiteID])...)
		if v.Conclusion != models.ConclusionRectified {
			block(Blocker{Code: BlockNotRectified, TaskID: t.ID, VerificationID: v.ID, Message: "the inspector concluded " + v.Conclusion})
		}
		ids := models.UniqueSorted(append(append([]string(nil), v.EvidenceIDs...), files[v.ID]...))
		if len(ids) == 0 {
			block(Blocker{Code: BlockNoEvidence, TaskID: t.ID, VerificationID: v.ID, Message: "the verification has no photo or document"})
		}
		for _, id := range ids {
			e := evidence[id]
			switch {
			case e == nil:
				block(Blocker{Code: BlockEvidenceNotExists, TaskID: t.ID, VerificationID: v.ID, EvidenceID: id, Message: "the evidence has not reached the server"})
			case e.Status != models.EvidenceVerified:
				block(Blocker{Code: BlockEvidenceNotReady, TaskID: t.ID, VerificationID: v.ID, EvidenceID: id, Message: "the evidence is " + e.Status})
			default:
				for _, f := range e.Flags {
					ac.Flags = append(ac.Flags, FlagRef{EvidenceID: id, Flag: f})
				}
			}
		}
	}
	if checks == 0 {
		block(Blocker{Code: BlockNoChecks, Message: "the round has no open acceptance task"})
	}
	return ac
}

// verificationFlags are what the record itself gives away: a mocked
// location, or a position outside the site's geofence.
func verificationFlags(v *models.Verification, site *models.Site) []FlagRef {
	var out []FlagRef
	add := func(code string, value float64, unit, detail string) {
		out = append(out, FlagRef{VerificationID: v.ID, Flag: models.Flag{Code: code, Value: math.Round(value*10) / 10, Unit: unit, Detail: detail}})
	}
	if v.Mocked {
		add(evidence.FlagMockedLocation, 1, "", "the device reported a mock location when the verification was recorded")
	}
	if site != nil {
		if out := site.DistanceOutsideM(v.Lat, v.Lng); out > 0 {
			add(evidence.FlagOutsideGeofence, out, "m", fmt.Sprintf("the verification was recorded %.0f m outside the site's geofence", out))
		}
	}
	return out
}
