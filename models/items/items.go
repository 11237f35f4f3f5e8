package items

import (
	"context"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
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
	Deadline *models.DateTime `json:"deadline"`
	// ReviewCadence makes the item open-ended (长期坚持): without a
	// deadline, its first review is due at the end of the current
	// cadence period. An empty string makes it an item with a deadline
	// again.
	ReviewCadence *string `json:"review_cadence"`
	// IssuedAt is when the feedback document issued the item; a date
	// alone is the start of that day.
	IssuedAt         *models.DateTime `json:"issued_at"`
	SupervisionLevel *string          `json:"supervision_level"`
	KeyItem          *bool            `json:"key_item"`
	PublicSummary    *string          `json:"public_summary"`
	Version          *int64           `json:"version"`
}

func (s *Service) applyItem(tx models.Tx, it *models.RectificationItem, in ItemInput) error {
	if in.Code != nil {
		if err := checkCode("code", *in.Code); err != nil {
			return err
		}
		it.Code = *in.Code
	}
	if it.Code == "" {
		return models.FieldError(models.CodeRequired, "code", "code is required")
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
		if err := models.SetText(f.dst, f.name, f.v, f.required, f.max); err != nil {
			return err
		}
	}
	if in.SupervisionLevel != nil {
		it.SupervisionLevel = *in.SupervisionLevel
	}
	if it.SupervisionLevel == "" {
		it.SupervisionLevel = models.SupervisionDaily
	}
	if err := models.OneOf("supervision_level", it.SupervisionLevel, models.SupervisionLevels); err != nil {
		return err
	}
	if in.KeyItem != nil {
		it.KeyItem = *in.KeyItem
	}
	loc := s.Deadlines.Location()
	if in.IssuedAt != nil {
		t, err := models.TimeField("issued_at", in.IssuedAt.StartOfDay(loc))
		if err != nil {
			return err
		}
		it.IssuedAt = &t
	}
	cadenceChanged := false
	if in.ReviewCadence != nil {
		c := strings.TrimSpace(*in.ReviewCadence)
		if c != "" {
			if err := models.OneOf("review_cadence", c, models.ReviewCadences); err != nil {
				return err
			}
		}
		cadenceChanged, it.ReviewCadence = c != it.ReviewCadence, c
	}
	if in.Deadline != nil {
		var err error
		if it.Deadline, err = models.TimeField("deadline", in.Deadline.EndOfDay(loc)); err != nil {
			return err
		}
	} else if it.ReviewCadence != "" && (it.Deadline.IsZero() || cadenceChanged) {
		it.Deadline = models.Stamp(models.ReviewDue(it.ReviewCadence, s.Time(), loc))
	}
	if it.Deadline.IsZero() {
		return models.FieldError(models.CodeRequired, "deadline", "deadline is required, or a review_cadence for an open-ended item")
	}
	if it.IssuedAt != nil && it.ReviewCadence == "" && it.Deadline.Before(*it.IssuedAt) {
		d, i := it.Deadline.In(loc).Format(time.DateOnly), it.IssuedAt.In(loc).Format(time.DateOnly)
		return models.FieldError(models.CodeDeadlineBeforeIssue, "deadline", "the deadline %s is before the item was issued (%s)", d, i).
			With("Deadline", d, "IssuedAt", i)
	}
	if in.ResponsibleUnitID != nil {
		var u models.Unit
		if err := models.Lookup(tx, &u, *in.ResponsibleUnitID, "responsible_unit_id"); err != nil {
			return err
		}
		it.ResponsibleUnitID, it.UnitPath = u.ID, u.Path
	}
	if it.ResponsibleUnitID == "" {
		return models.FieldError(models.CodeRequired, "responsible_unit_id", "responsible_unit_id is required")
	}
	if in.CooperatingUnitIDs != nil {
		ids := models.StringList{}
		for _, id := range *in.CooperatingUnitIDs {
			var u models.Unit
			if err := models.Lookup(tx, &u, id, "cooperating_unit_ids"); err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		it.CooperatingUnitIDs = ids
	}
	if it.CooperatingUnitIDs == nil {
		it.CooperatingUnitIDs = models.StringList{}
	}
	return nil
}

// CreateItem adds a rectification item. Admins anywhere, supervisors in
// their unit subtree.
func (s *Service) CreateItem(ctx context.Context, a models.Actor, in ItemInput) (models.RectificationItem, error) {
	if !a.CanManage() {
		return models.RectificationItem{}, models.Forbidden("create items")
	}
	now := s.Time()
	it := models.RectificationItem{ID: s.NewID(), Status: models.ItemNotStarted, Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := s.applyItem(tx, &it, in); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(it.UnitPath) {
			return models.Forbidden("create items for a unit outside your own")
		}
		if err := withCode(models.TranslateDup(tx.Create(&it), models.CodeItemCodeTaken, "code", "item code %q is taken", it.Code), it.Code); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditItemCreate, models.EntityItems, it.ID, map[string]any{"code": it.Code, "responsible_unit_id": it.ResponsibleUnitID, "status": it.Status}); err != nil {
			return err
		}
		return s.Changed(tx, models.EntityItems, it.ID, it.Version, models.OpUpsert, models.ScopeUnit(it.UnitPath))
	})
	return it, err
}

// UpdateItem changes an item's fields (not its status).
func (s *Service) UpdateItem(ctx context.Context, a models.Actor, id string, in ItemInput) (models.RectificationItem, error) {
	var it models.RectificationItem
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := s.getItem(tx, a, &it, id); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(it.UnitPath) {
			return models.Forbidden("change this item")
		}
		if err := models.CheckVersion(it.Version, in.Version); err != nil {
			return err
		}
		oldPath, before := it.UnitPath, it
		if err := s.applyItem(tx, &it, in); err != nil {
			return err
		}
		if it.UnitPath != oldPath {
			// Tasks and field records carry the unit's path for
			// authorization and sync; an item with tasks stays put.
			n, err := tx.Count(&models.InspectionTask{}, []models.Cond{models.Eq(models.TaskCols.ItemID, it.ID)})
			if err != nil {
				return err
			}
			if n > 0 {
				return models.FieldError(models.CodeItemHasTasks, "responsible_unit_id", "the item has %d tasks; it cannot move to another unit", n)
			}
		}
		if !a.CanWriteUnitRecord(it.UnitPath) {
			return models.Forbidden("move an item to a unit outside your own")
		}
		it.Version++
		it.UpdatedAt = s.Time()
		if err := withCode(models.TranslateDup(tx.Update(&it), models.CodeItemCodeTaken, "code", "item code %q is taken", it.Code), it.Code); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditItemUpdate, models.EntityItems, it.ID,
			models.FieldChanges(&before, &it, "code", "responsible_unit_id", "deadline", "supervision_level", "key_item")); err != nil {
			return err
		}
		if err := s.MovedOut(tx, models.EntityItems, it.ID, it.Version, oldPath, it.UnitPath); err != nil {
			return err
		}
		return s.ChangedShared(tx, models.EntityItems, models.TaskCols.ItemID, it.ID, it.Version, models.ScopeUnit(it.UnitPath))
	})
	return it, err
}

// GetItem returns one item the actor may see.
func (s *Service) GetItem(ctx context.Context, a models.Actor, id string) (models.RectificationItem, error) {
	var it models.RectificationItem
	err := s.Store.Tx(ctx, func(tx models.Tx) error { return s.getItem(tx, a, &it, id) })
	return it, err
}

func (s *Service) getItem(tx models.Tx, a models.Actor, it *models.RectificationItem, id string) error {
	return models.GetReadable(tx, a, it, id, "item")
}

// ListItems lists the items the actor may see, in the order f.Sort names
// (models.PageItems: a keyset over the sort column and id).
func (s *Service) ListItems(ctx context.Context, a models.Actor, f models.ItemFilter, p models.ListParams) (models.Page[models.RectificationItem], error) {
	var page models.Page[models.RectificationItem]
	conds, err := s.ReadScope(ctx, a, models.EntityItems)
	if err != nil {
		return page, err
	}
	conds = append(conds, f.Conds()...)
	err = s.Store.Tx(ctx, func(tx models.Tx) (err error) {
		page, err = models.PageItems(tx, conds, f.Sort, p)
		return err
	})
	return page, err
}

// withCode names the item code in a domain error's specifics.
func withCode(err error, code string) error {
	if e := models.AsError(err); e != nil && e.Code == models.CodeItemCodeTaken {
		return e.With("Code", code)
	}
	return err
}
