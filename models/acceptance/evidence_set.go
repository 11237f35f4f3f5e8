package acceptance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// EvidenceSet is everything a decision on an item rests on: the item, its
// units and people, every task with its site and checklist, what the
// inspectors recorded, and every file. It is the "evidence" member of an
// evidence pack's manifest, and its Digest binds a decision to exactly
// what the decider saw. Decisions are not part of it: they are what is
// made on it.
//
// Every list is ordered by id, and the JSON encoding of Go structs is
// deterministic, so the same records always give the same bytes.
type EvidenceSet struct {
	Item          models.RectificationItem   `json:"item"`
	Units         []models.Unit              `json:"units"`
	People        []Person                   `json:"people"`
	Submissions   []models.Submission        `json:"submissions"`
	Tasks         []models.InspectionTask    `json:"tasks"`
	Sites         []models.Site              `json:"sites"`
	Templates     []models.ChecklistTemplate `json:"templates"`
	Verifications []models.Verification      `json:"verifications"`
	Answers       []models.Answer            `json:"answers"`
	Notes         []models.Note              `json:"notes"`
	Evidence      []models.Evidence          `json:"evidence"`
}

// Person is a user as a pack names them: no phone, no credentials.
type Person struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	UnitID      string `json:"unit_id"`
}

func personOf(u models.User) Person {
	return Person{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, UnitID: u.UnitID}
}

// Canonical returns the set's canonical JSON encoding. Workflow state is
// blanked in it: the item's status, closing, supervision level,
// escalation, public summary, version and update time, each task's
// status, version and update time, and the versions and update times of
// units, sites and checklists. A decision moves exactly that state (an acceptance
// closes the item and cancels its open tasks; an escalation raises the
// level), and it must leave the evidence it was made on as it was, so
// that a pack exported afterwards shows the decision made on this very
// evidence. What the field brings in (records, files, flags, new tasks
// and submissions) changes the encoding.
func (es *EvidenceSet) Canonical() ([]byte, error) {
	c := *es
	c.Item.Status, c.Item.ClosedAt, c.Item.SupervisionLevel, c.Item.EscalatedAt = "", nil, "", nil
	c.Item.Version, c.Item.UpdatedAt, c.Item.PublicSummary = 0, time.Time{}, ""
	c.Tasks = make([]models.InspectionTask, len(es.Tasks))
	for i, t := range es.Tasks {
		t.Status, t.Version, t.UpdatedAt = "", 0, time.Time{}
		c.Tasks[i] = t
	}
	// Of the records around the evidence, their content counts, not how
	// often they were saved.
	c.Units = blankVersions(es.Units, func(u *models.Unit) (*int64, *time.Time) { return &u.Version, &u.UpdatedAt })
	c.Sites = blankVersions(es.Sites, func(st *models.Site) (*int64, *time.Time) { return &st.Version, &st.UpdatedAt })
	c.Templates = blankVersions(es.Templates, func(t *models.ChecklistTemplate) (*int64, *time.Time) { return &t.Version, &t.UpdatedAt })
	return json.Marshal(&c)
}

// blankVersions copies records with their version and update time zeroed.
func blankVersions[T any](rows []T, fields func(*T) (*int64, *time.Time)) []T {
	out := append([]T(nil), rows...)
	for i := range out {
		v, at := fields(&out[i])
		*v, *at = 0, time.Time{}
	}
	if out == nil {
		out = []T{}
	}
	return out
}

// Digest is the hex SHA-256 of the canonical encoding.
func (es *EvidenceSet) Digest() (string, error) {
	b, err := es.Canonical()
	if err != nil {
		return "", err
	}
	return DigestOf(b), nil
}

// DigestOf is the hex SHA-256 of b, the form every digest of a pack takes.
func DigestOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// EvidenceOf loads an item's evidence set and its decisions (oldest
// first) for a reader of the item's unit subtree. Inspectors, who see
// only their own work, are refused.
func (s *Service) EvidenceOf(ctx context.Context, a models.Actor, itemID string) (EvidenceSet, []models.Decision, error) {
	var (
		es  EvidenceSet
		dec []models.Decision
	)
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		if es, err = loadEvidenceSet(tx, it); err != nil {
			return err
		}
		dec, err = itemDecisions(tx, it.ID)
		return err
	})
	return es, dec, err
}

// reviewItem loads an item for someone who reviews it: admins, and
// supervisors and unit leads of its unit subtree.
func (s *Service) reviewItem(tx models.Tx, a models.Actor, id string) (models.RectificationItem, error) {
	var it models.RectificationItem
	if !a.CanReview() {
		return it, models.Forbidden("review items")
	}
	if err := models.CheckID("id", id); err != nil {
		return it, err
	}
	err := models.GetVisible(tx, &it, id, "item", func() bool { return a.CanReadUnitRecord(it.UnitPath) })
	return it, err
}

func itemDecisions(tx models.Tx, itemID string) ([]models.Decision, error) {
	var out []models.Decision
	err := tx.List(&out, models.Query{Where: []models.Cond{models.Eq("item_id", itemID)}, OrderBy: "created_at"})
	if out == nil {
		out = []models.Decision{}
	}
	return out, err
}

// loadEvidenceSet reads an item's evidence set in tx.
func loadEvidenceSet(tx models.Tx, it models.RectificationItem) (EvidenceSet, error) {
	es := EvidenceSet{Item: it}
	byItem := []models.Cond{models.Eq("item_id", it.ID)}
	if err := tx.List(&es.Tasks, models.Query{Where: byItem}); err != nil {
		return es, err
	}
	if err := tx.List(&es.Submissions, models.Query{Where: byItem}); err != nil {
		return es, err
	}
	taskIDs := models.IDsOf(es.Tasks, func(t models.InspectionTask) []string { return []string{t.ID} })
	byTask := []models.Cond{{Column: "task_id", Op: models.OpIn, Value: taskIDs}}
	for _, l := range []any{&es.Verifications, &es.Answers, &es.Notes, &es.Evidence} {
		if err := tx.List(l, models.Query{Where: byTask}); err != nil {
			return es, err
		}
	}
	sites := models.IDsOf(es.Tasks, func(t models.InspectionTask) []string { return []string{t.SiteID} })
	templates := models.IDsOf(es.Tasks, func(t models.InspectionTask) []string { return []string{t.TemplateID} })
	units := append([]string{it.ResponsibleUnitID}, it.CooperatingUnitIDs...)
	people := models.IDsOf(es.Tasks, func(t models.InspectionTask) []string {
		if t.AssigneeID == nil {
			return nil
		}
		return []string{*t.AssigneeID}
	})
	for _, v := range es.Verifications {
		people = append(people, v.InspectorID)
	}
	for _, n := range es.Notes {
		people = append(people, n.AuthorID)
	}
	for _, sub := range es.Submissions {
		people = append(people, sub.SubmittedBy)
	}
	var users []models.User
	for _, q := range []struct {
		dst any
		ids []string
	}{{&es.Sites, sites}, {&es.Templates, templates}, {&es.Units, units}, {&users, people}} {
		if err := tx.List(q.dst, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: models.UniqueSorted(q.ids)}}}); err != nil {
			return es, err
		}
	}
	for _, u := range users {
		es.People = append(es.People, personOf(u))
	}
	es.normalise()
	return es, nil
}

// normalise makes empty lists [] rather than null, so that a set reads the
// same whichever way it was loaded.
func (es *EvidenceSet) normalise() {
	if es.Units == nil {
		es.Units = []models.Unit{}
	}
	if es.People == nil {
		es.People = []Person{}
	}
	if es.Submissions == nil {
		es.Submissions = []models.Submission{}
	}
	if es.Tasks == nil {
		es.Tasks = []models.InspectionTask{}
	}
	if es.Sites == nil {
		es.Sites = []models.Site{}
	}
	if es.Templates == nil {
		es.Templates = []models.ChecklistTemplate{}
	}
	if es.Verifications == nil {
		es.Verifications = []models.Verification{}
	}
	if es.Answers == nil {
		es.Answers = []models.Answer{}
	}
	if es.Notes == nil {
		es.Notes = []models.Note{}
	}
	if es.Evidence == nil {
		es.Evidence = []models.Evidence{}
	}
}
