package models

import (
	"context"
	"strings"
	"time"
)

// ItemInput creates or patches a rectification item; nil fields are left
// alone. Status is not set here: it moves only through the status machine.
type ItemInput struct {
	Code                *string   `json:"code"`
	Title               *string   `json:"title"`
	Description         *string   `json:"description"`
	Source              *string   `json:"source"`
	Category            *string   `json:"category"`
	Area                *string   `json:"area"`
	Target              *string   `json:"target"`
	Measures            *string   `json:"measures"`
	ResponsibleUnitID   *string   `json:"responsible_unit_id"`
	CooperatingUnitIDs  *[]string `json:"cooperating_unit_ids"`
	FirstResponsible    *string   `json:"first_responsible"`
	SpecificResponsible *string   `json:"specific_responsible"`
	// Deadline may be a date alone: the end of that day in the
	// deadline policy's zone. It may lie in the past (a ledger loaded
	// part-way through a campaign): the item is overdue at once.
	Deadline *DateTime `json:"deadline"`
	// ReviewCadence makes the item open-ended (长期坚持): without a
	// deadline, its first review is due at the end of the current
	// cadence period. An empty string makes it an item with a deadline
	// again.
	ReviewCadence *string `json:"review_cadence"`
	// IssuedAt is when the feedback document issued the item; a date
	// alone is the start of that day.
	IssuedAt         *DateTime `json:"issued_at"`
	SupervisionLevel *string   `json:"supervision_level"`
	KeyItem          *bool     `json:"key_item"`
	PublicSummary    *string   `json:"public_summary"`
	Version          *int64    `json:"version"`
}

// ItemFilter narrows an item list; the review queue, the ledger and the
// item list share it.
type ItemFilter struct {
	Status           string
	UnitID           string
	Category         string
	Area             string
	SupervisionLevel string
	// OverdueAt keeps the items overdue at that time (IsOverdue).
	OverdueAt *time.Time
	// Flagged keeps the items with verified evidence that carries at
	// least one flag, on any of their tasks.
	Flagged bool
}

// conds turns the filter into conditions on the items table.
func (f ItemFilter) conds() []Cond {
	var conds []Cond
	for _, c := range []struct{ col, v string }{
		{"status", f.Status}, {"responsible_unit_id", f.UnitID}, {"category", f.Category},
		{"area", f.Area}, {"supervision_level", f.SupervisionLevel},
	} {
		if c.v != "" {
			conds = append(conds, Eq(c.col, c.v))
		}
	}
	if f.OverdueAt != nil {
		conds = append(conds, overdueConds(*f.OverdueAt)...)
	}
	if f.Flagged {
		// Two nested IN subqueries rather than ids fetched first: with
		// tens of thousands of tasks the id lists would be too long to
		// send, and the database joins them through the indexes.
		// evidence.flagged is a column the database generates from
		// flags (migration 00007), indexed with the status and task.
		flaggedTasks := Subquery{Model: &Evidence{}, Column: "task_id", Where: []Cond{
			Eq("flagged", true), Eq("status", EvidenceVerified),
		}}
		conds = append(conds, Cond{Column: "id", Op: OpInQuery, Value: Subquery{
			Model: &InspectionTask{}, Column: "item_id", Where: []Cond{{Column: "id", Op: OpInQuery, Value: flaggedTasks}},
		}})
	}
	return conds
}

func (s *Service) applyItem(tx Tx, it *RectificationItem, in ItemInput) error {
	if in.Code != nil {
		if err := checkCode("code", *in.Code); err != nil {
			return err
		}
		it.Code = *in.Code
	}
	if it.Code == "" {
		return FieldError(CodeRequired, "code", "code is required")
	}
	for _, f := range []struct {
		dst      *string
		name     string
		v        *string
		required bool
		max      int
	}{
		{&it.Title, "title", in.Title, true, 300},
		{&it.Description, "description", in.Description, false, 10000},
		{&it.Source, "source", in.Source, true, 200},
		{&it.Category, "category", in.Category, true, 100},
		{&it.Area, "area", in.Area, false, 100},
		{&it.Target, "target", in.Target, true, 5000},
		{&it.Measures, "measures", in.Measures, true, 10000},
		{&it.FirstResponsible, "first_responsible", in.FirstResponsible, true, 100},
		{&it.SpecificResponsible, "specific_responsible", in.SpecificResponsible, false, 100},
		{&it.PublicSummary, "public_summary", in.PublicSummary, false, 2000},
	} {
		if err := setText(f.dst, f.name, f.v, f.required, f.max); err != nil {
			return err
		}
	}
	if in.SupervisionLevel != nil {
		it.SupervisionLevel = *in.SupervisionLevel
	}
	if it.SupervisionLevel == "" {
		it.SupervisionLevel = SupervisionDaily
	}
	if err := oneOf("supervision_level", it.SupervisionLevel, SupervisionLevels); err != nil {
		return err
	}
	if in.KeyItem != nil {
		it.KeyItem = *in.KeyItem
	}
	loc := s.Deadlines.Location()
	if in.IssuedAt != nil {
		t, err := timeField("issued_at", in.IssuedAt.StartOfDay(loc))
		if err != nil {
			return err
		}
		it.IssuedAt = &t
	}
	cadenceChanged := false
	if in.ReviewCadence != nil {
		c := strings.TrimSpace(*in.ReviewCadence)
		if c != "" {
			if err := oneOf("review_cadence", c, ReviewCadences); err != nil {
				return err
			}
		}
		cadenceChanged, it.ReviewCadence = c != it.ReviewCadence, c
	}
	if in.Deadline != nil {
		var err error
		if it.Deadline, err = timeField("deadline", in.Deadline.EndOfDay(loc)); err != nil {
			return err
		}
	} else if it.ReviewCadence != "" && (it.Deadline.IsZero() || cadenceChanged) {
		it.Deadline = stamp(ReviewDue(it.ReviewCadence, s.now(), loc))
	}
	if it.Deadline.IsZero() {
		return FieldError(CodeRequired, "deadline", "deadline is required, or a review_cadence for an open-ended item")
	}
	if it.IssuedAt != nil && it.ReviewCadence == "" && it.Deadline.Before(*it.IssuedAt) {
		d, i := it.Deadline.In(loc).Format(time.DateOnly), it.IssuedAt.In(loc).Format(time.DateOnly)
		return FieldError(CodeDeadlineBeforeIssue, "deadline", "the deadline %s is before the item was issued (%s)", d, i).
			With("Deadline", d, "IssuedAt", i)
	}
	if in.ResponsibleUnitID != nil {
		var u Unit
		if err := lookup(tx, &u, *in.ResponsibleUnitID, CodeUnknownUnit, "responsible_unit_id"); err != nil {
			return err
		}
		it.ResponsibleUnitID, it.UnitPath = u.ID, u.Path
	}
	if it.ResponsibleUnitID == "" {
		return FieldError(CodeRequired, "responsible_unit_id", "responsible_unit_id is required")
	}
	if in.CooperatingUnitIDs != nil {
		ids := StringList{}
		for _, id := range *in.CooperatingUnitIDs {
			var u Unit
			if err := lookup(tx, &u, id, CodeUnknownUnit, "cooperating_unit_ids"); err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		it.CooperatingUnitIDs = ids
	}
	if it.CooperatingUnitIDs == nil {
		it.CooperatingUnitIDs = StringList{}
	}
	return nil
}

// CreateItem adds a rectification item. Admins anywhere, supervisors in
// their unit subtree.
func (s *Service) CreateItem(ctx context.Context, a Actor, in ItemInput) (RectificationItem, error) {
	if a.Role != RoleAdmin && a.Role != RoleSupervisor {
		return RectificationItem{}, errForbidden("create items")
	}
	now := s.now()
	it := RectificationItem{ID: s.NewID(), Status: ItemNotStarted, Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := s.applyItem(tx, &it, in); err != nil {
			return err
		}
		if !a.canWriteUnitRecord(it.UnitPath) {
			return errForbidden("create items for a unit outside your own")
		}
		if err := withCode(translateDup(tx.Create(&it), CodeItemCodeTaken, "code", "item code %q is taken", it.Code), it.Code); err != nil {
			return err
		}
		if err := s.audit(tx, a, AuditItemCreate, EntityItems, it.ID, map[string]any{"code": it.Code, "responsible_unit_id": it.ResponsibleUnitID, "status": it.Status}); err != nil {
			return err
		}
		return s.changed(tx, EntityItems, it.ID, it.Version, OpUpsert, ScopeUnit(it.UnitPath))
	})
	return it, err
}

// UpdateItem changes an item's fields (not its status).
func (s *Service) UpdateItem(ctx context.Context, a Actor, id string, in ItemInput) (RectificationItem, error) {
	var it RectificationItem
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := s.getItem(tx, a, &it, id); err != nil {
			return err
		}
		if !a.canWriteUnitRecord(it.UnitPath) {
			return errForbidden("change this item")
		}
		if err := checkVersion(it.Version, in.Version); err != nil {
			return err
		}
		oldPath, before := it.UnitPath, it
		if err := s.applyItem(tx, &it, in); err != nil {
			return err
		}
		if it.UnitPath != oldPath {
			// Tasks and field records carry the unit's path for
			// authorization and sync; an item with tasks stays put.
			n, err := tx.Count(&InspectionTask{}, []Cond{Eq("item_id", it.ID)})
			if err != nil {
				return err
			}
			if n > 0 {
				return FieldError(CodeItemHasTasks, "responsible_unit_id", "the item has %d tasks; it cannot move to another unit", n)
			}
		}
		if !a.canWriteUnitRecord(it.UnitPath) {
			return errForbidden("move an item to a unit outside your own")
		}
		it.Version++
		it.UpdatedAt = s.now()
		if err := withCode(translateDup(tx.Update(&it), CodeItemCodeTaken, "code", "item code %q is taken", it.Code), it.Code); err != nil {
			return err
		}
		if err := s.audit(tx, a, AuditItemUpdate, EntityItems, it.ID,
			fieldChanges(&before, &it, "code", "responsible_unit_id", "deadline", "supervision_level", "key_item")); err != nil {
			return err
		}
		if err := s.movedOut(tx, EntityItems, it.ID, it.Version, oldPath, it.UnitPath); err != nil {
			return err
		}
		return s.changedShared(tx, EntityItems, "item_id", it.ID, it.Version, ScopeUnit(it.UnitPath))
	})
	return it, err
}

// GetItem returns one item the actor may see.
func (s *Service) GetItem(ctx context.Context, a Actor, id string) (RectificationItem, error) {
	var it RectificationItem
	err := s.Store.Tx(ctx, func(tx Tx) error { return s.getItem(tx, a, &it, id) })
	return it, err
}

func (s *Service) getItem(tx Tx, a Actor, it *RectificationItem, id string) error {
	if a.Role == RoleInspector {
		if ok, err := s.inspectorNeeds(tx, a, "item_id", id); err != nil || !ok {
			if err == nil {
				err = errNotFound("item")
			}
			return err
		}
	}
	return getVisible(tx, it, id, "item", func() bool {
		return a.Role == RoleInspector || a.canReadUnitRecord(it.UnitPath)
	})
}

// ListItems lists the items the actor may see.
func (s *Service) ListItems(ctx context.Context, a Actor, f ItemFilter, p ListParams) (Page[RectificationItem], error) {
	conds, err := s.readScope(ctx, a, "item_id")
	if err != nil {
		return Page[RectificationItem]{}, err
	}
	return list[RectificationItem](ctx, s, append(conds, f.conds()...), p)
}

// readScope returns the conditions that limit a unit-owned table to what
// the actor may read. For inspectors, refColumn names the tasks column
// that references the table ("item_id", "site_id", "template_id").
func (s *Service) readScope(ctx context.Context, a Actor, refColumn string) ([]Cond, error) {
	switch a.Role {
	case RoleAdmin:
		return nil, nil
	case RoleSupervisor, RoleUnitLead:
		return []Cond{a.subtreeCond()}, nil
	case RoleInspector:
		var ids []string
		err := s.Store.Tx(ctx, func(tx Tx) error {
			return tx.Pluck(&InspectionTask{}, refColumn, inspectorTaskConds(a), &ids)
		})
		if ids == nil {
			ids = []string{}
		}
		return []Cond{{Column: "id", Op: OpIn, Value: ids}}, err
	}
	return nil, errForbidden("read records")
}

// inspectorTaskConds selects the tasks an inspector holds: assigned to
// them and not cancelled.
func inspectorTaskConds(a Actor) []Cond {
	return []Cond{Eq("assignee_id", a.UserID), {Column: "status", Op: OpNe, Value: TaskCancelled}}
}

// inspectorNeeds reports whether one of the inspector's tasks references
// id through refColumn.
func (s *Service) inspectorNeeds(tx Tx, a Actor, refColumn, id string) (bool, error) {
	n, err := tx.Count(&InspectionTask{}, append(inspectorTaskConds(a), Eq(refColumn, id)))
	return n > 0, err
}

// withCode names the item code in a domain error's specifics.
func withCode(err error, code string) error {
	if e := AsError(err); e != nil && e.Code == CodeItemCodeTaken {
		return e.With("Code", code)
	}
	return err
}
