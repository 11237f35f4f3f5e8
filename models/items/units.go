package items

import (
	"context"
	"regexp"

	"github.com/fieldsync/fieldsync/models"
)

// UnitInput creates or patches a unit; nil fields are left alone.
type UnitInput struct {
	ParentID *string `json:"parent_id"`
	Code     *string `json:"code"`
	Name     *string `json:"name"`
	Kind     *string `json:"kind"`
	Version  *int64  `json:"version"`
}

// UnitFilter narrows a unit list.
type UnitFilter struct {
	ParentID string
	Kind     string
}

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkCode(field, code string) error {
	if !codePattern.MatchString(code) {
		return models.FieldError(models.CodeValidation, field, "%s must be 1-64 letters, digits, '.', '_' or '-'", field)
	}
	return nil
}

func (in UnitInput) apply(u *models.Unit) error {
	if err := models.SetText(&u.Name, "name", in.Name, true, 200); err != nil {
		return err
	}
	if err := models.SetText(&u.Code, "code", in.Code, true, 64); err != nil {
		return err
	}
	if err := checkCode("code", u.Code); err != nil {
		return err
	}
	if err := models.SetText(&u.Kind, "kind", in.Kind, true, 32); err != nil {
		return err
	}
	return models.OneOf("kind", u.Kind, models.UnitKinds)
}

// CreateUnit adds a unit under its parent (or as a root). Admins only.
func (s *Service) CreateUnit(ctx context.Context, a models.Actor, in UnitInput) (models.Unit, error) {
	var u models.Unit
	err := s.Store.Tx(ctx, func(tx models.Tx) (err error) {
		u, err = s.createUnit(tx, a, in)
		return err
	})
	return u, err
}

// CreateUnitAndUser adds a unit and an account in it, in one transaction:
// the first administrator of an empty server (fieldctl admin create),
// whose unit must not stay behind when the account is refused.
func (s *Service) CreateUnitAndUser(ctx context.Context, a models.Actor, unit UnitInput, user UserInput) (models.Unit, models.User, error) {
	var (
		un models.Unit
		us models.User
	)
	err := s.Store.Tx(ctx, func(tx models.Tx) (err error) {
		if un, err = s.createUnit(tx, a, unit); err != nil {
			return err
		}
		user.UnitID = &un.ID
		us, err = s.createUser(tx, a, user)
		return err
	})
	return un, us, err
}

func (s *Service) createUnit(tx models.Tx, a models.Actor, in UnitInput) (models.Unit, error) {
	if !a.IsAdmin() {
		return models.Unit{}, models.Forbidden("create units")
	}
	now := s.Time()
	u := models.Unit{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&u); err != nil {
		return models.Unit{}, err
	}
	u.Path = "/" + u.ID + "/"
	if in.ParentID != nil {
		var parent models.Unit
		if err := models.Lookup(tx, &parent, *in.ParentID, "parent_id"); err != nil {
			return models.Unit{}, err
		}
		u.ParentID = &parent.ID
		u.Path = parent.Path + u.ID + "/"
	}
	if err := models.TranslateDup(tx.Create(&u), models.CodeUnitCodeTaken, "code", "unit code %q is taken", u.Code); err != nil {
		return models.Unit{}, err
	}
	return u, s.AuditTx(tx, a, models.AuditUnitCreate, models.EntityUnits, u.ID, map[string]any{"code": u.Code, "kind": u.Kind, "parent_id": u.ParentID})
}

// UpdateUnit renames or recodes a unit. A unit never moves to another
// parent: paths of its records would go stale.
func (s *Service) UpdateUnit(ctx context.Context, a models.Actor, id string, in UnitInput) (models.Unit, error) {
	if !a.IsAdmin() {
		return models.Unit{}, models.Forbidden("change units")
	}
	var u models.Unit
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := models.GetVisible(tx, &u, id, "unit", func() bool { return true }); err != nil {
			return err
		}
		if err := models.CheckVersion(u.Version, in.Version); err != nil {
			return err
		}
		if in.ParentID != nil && (u.ParentID == nil || *in.ParentID != *u.ParentID) {
			return models.FieldError(models.CodeUnitParentFixed, "parent_id", "a unit cannot move to another parent")
		}
		before := u
		if err := in.apply(&u); err != nil {
			return err
		}
		u.Version++
		u.UpdatedAt = s.Time()
		if err := models.TranslateDup(tx.Update(&u), models.CodeUnitCodeTaken, "code", "unit code %q is taken", u.Code); err != nil {
			return err
		}
		return s.AuditTx(tx, a, models.AuditUnitUpdate, models.EntityUnits, u.ID, models.FieldChanges(&before, &u, "code", "kind"))
	})
	return u, err
}

// GetUnit returns one unit; every signed-in user reads the unit tree.
func (s *Service) GetUnit(ctx context.Context, a models.Actor, id string) (models.Unit, error) {
	var u models.Unit
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		return models.GetVisible(tx, &u, id, "unit", func() bool { return true })
	})
	return u, err
}

// ListUnits lists units.
func (s *Service) ListUnits(ctx context.Context, a models.Actor, f UnitFilter, p models.ListParams) (models.Page[models.Unit], error) {
	var conds []models.Cond
	if f.ParentID != "" {
		conds = append(conds, models.Eq("parent_id", f.ParentID))
	}
	if f.Kind != "" {
		conds = append(conds, models.Eq("kind", f.Kind))
	}
	return models.List[models.Unit](ctx, s.Service, conds, p)
}
