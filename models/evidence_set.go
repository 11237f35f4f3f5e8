package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"time"
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
	Item          RectificationItem   `json:"item"`
	Units         []Unit              `json:"units"`
	People        []Person            `json:"people"`
	Submissions   []Submission        `json:"submissions"`
	Tasks         []InspectionTask    `json:"tasks"`
	Sites         []Site              `json:"sites"`
	Templates     []ChecklistTemplate `json:"templates"`
	Verifications []Verification      `json:"verifications"`
	Answers       []Answer            `json:"answers"`
	Notes         []Note              `json:"notes"`
	Evidence      []Evidence          `json:"evidence"`
}

// Person is a user as a pack names them: no phone, no credentials.
type Person struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	UnitID      string `json:"unit_id"`
}

func personOf(u User) Person {
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
	c.Tasks = make([]InspectionTask, len(es.Tasks))
	for i, t := range es.Tasks {
		t.Status, t.Version, t.UpdatedAt = "", 0, time.Time{}
		c.Tasks[i] = t
	}
	// Of the records around the evidence, their content counts, not how
	// often they were saved.
	c.Units = blankVersions(es.Units, func(u *Unit) (*int64, *time.Time) { return &u.Version, &u.UpdatedAt })
	c.Sites = blankVersions(es.Sites, func(st *Site) (*int64, *time.Time) { return &st.Version, &st.UpdatedAt })
	c.Templates = blankVersions(es.Templates, func(t *ChecklistTemplate) (*int64, *time.Time) { return &t.Version, &t.UpdatedAt })
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
func (s *Service) EvidenceOf(ctx context.Context, a Actor, itemID string) (EvidenceSet, []Decision, error) {
	var (
		es  EvidenceSet
		dec []Decision
	)
	err := s.Store.Tx(ctx, func(tx Tx) error {
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
func (s *Service) reviewItem(tx Tx, a Actor, id string) (RectificationItem, error) {
	var it RectificationItem
	if !a.CanReview() {
		return it, Forbidden("review items")
	}
	if err := CheckID("id", id); err != nil {
		return it, err
	}
	err := getVisible(tx, &it, id, "item", func() bool { return a.canReadUnitRecord(it.UnitPath) })
	return it, err
}

func itemDecisions(tx Tx, itemID string) ([]Decision, error) {
	var out []Decision
	err := tx.List(&out, Query{Where: []Cond{Eq("item_id", itemID)}, OrderBy: "created_at"})
	if out == nil {
		out = []Decision{}
	}
	return out, err
}

// loadEvidenceSet reads an item's evidence set in tx.
func loadEvidenceSet(tx Tx, it RectificationItem) (EvidenceSet, error) {
	es := EvidenceSet{Item: it}
	byItem := []Cond{Eq("item_id", it.ID)}
	if err := tx.List(&es.Tasks, Query{Where: byItem}); err != nil {
		return es, err
	}
	if err := tx.List(&es.Submissions, Query{Where: byItem}); err != nil {
		return es, err
	}
	taskIDs := IDsOf(es.Tasks, func(t InspectionTask) []string { return []string{t.ID} })
	byTask := []Cond{{Column: "task_id", Op: OpIn, Value: taskIDs}}
	for _, l := range []any{&es.Verifications, &es.Answers, &es.Notes, &es.Evidence} {
		if err := tx.List(l, Query{Where: byTask}); err != nil {
			return es, err
		}
	}
	sites := IDsOf(es.Tasks, func(t InspectionTask) []string { return []string{t.SiteID} })
	templates := IDsOf(es.Tasks, func(t InspectionTask) []string { return []string{t.TemplateID} })
	units := append([]string{it.ResponsibleUnitID}, it.CooperatingUnitIDs...)
	people := IDsOf(es.Tasks, func(t InspectionTask) []string {
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
	var users []User
	for _, q := range []struct {
		dst any
		ids []string
	}{{&es.Sites, sites}, {&es.Templates, templates}, {&es.Units, units}, {&users, people}} {
		if err := tx.List(q.dst, Query{Where: []Cond{{Column: "id", Op: OpIn, Value: UniqueSorted(q.ids)}}}); err != nil {
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
		es.Units = []Unit{}
	}
	if es.People == nil {
		es.People = []Person{}
	}
	if es.Submissions == nil {
		es.Submissions = []Submission{}
	}
	if es.Tasks == nil {
		es.Tasks = []InspectionTask{}
	}
	if es.Sites == nil {
		es.Sites = []Site{}
	}
	if es.Templates == nil {
		es.Templates = []ChecklistTemplate{}
	}
	if es.Verifications == nil {
		es.Verifications = []Verification{}
	}
	if es.Answers == nil {
		es.Answers = []Answer{}
	}
	if es.Notes == nil {
		es.Notes = []Note{}
	}
	if es.Evidence == nil {
		es.Evidence = []Evidence{}
	}
}

// IDsOf gathers the ids ids returns for each of rows.
func IDsOf[T any](rows []T, ids func(T) []string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, ids(r)...)
	}
	return out
}

// UniqueSorted returns the non-empty ids once each, sorted.
func UniqueSorted(ids []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
