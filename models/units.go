package models

import (
	"context"
	"errors"
	"regexp"
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
		return FieldError(CodeValidation, field, "%s must be 1-64 letters, digits, '.', '_' or '-'", field)
	}
	return nil
}

func (in UnitInput) apply(u *Unit) error {
	if err := setText(&u.Name, "name", in.Name, true, 200); err != nil {
		return err
	}
	if err := setText(&u.Code, "code", in.Code, true, 64); err != nil {
		return err
	}
	if err := checkCode("code", u.Code); err != nil {
		return err
	}
	if err := setText(&u.Kind, "kind", in.Kind, true, 32); err != nil {
		return err
	}
	return OneOf("kind", u.Kind, UnitKinds)
}

// CreateUnit adds a unit under its parent (or as a root). Admins only.
func (s *Service) CreateUnit(ctx context.Context, a Actor, in UnitInput) (Unit, error) {
	if !a.IsAdmin() {
		return Unit{}, Forbidden("create units")
	}
	now := s.Time()
	u := Unit{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&u); err != nil {
		return Unit{}, err
	}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		u.Path = "/" + u.ID + "/"
		if in.ParentID != nil {
			var parent Unit
			if err := Lookup(tx, &parent, *in.ParentID, CodeUnknownUnit, "parent_id"); err != nil {
				return err
			}
			u.ParentID = &parent.ID
			u.Path = parent.Path + u.ID + "/"
		}
		if err := TranslateDup(tx.Create(&u), CodeUnitCodeTaken, "code", "unit code %q is taken", u.Code); err != nil {
			return err
		}
		return s.AuditTx(tx, a, AuditUnitCreate, EntityUnits, u.ID, map[string]any{"code": u.Code, "kind": u.Kind, "parent_id": u.ParentID})
	})
	return u, err
}

// UpdateUnit renames or recodes a unit. A unit never moves to another
// parent: paths of its records would go stale.
func (s *Service) UpdateUnit(ctx context.Context, a Actor, id string, in UnitInput) (Unit, error) {
	if !a.IsAdmin() {
		return Unit{}, Forbidden("change units")
	}
	var u Unit
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := GetVisible(tx, &u, id, "unit", func() bool { return true }); err != nil {
			return err
		}
		if err := CheckVersion(u.Version, in.Version); err != nil {
			return err
		}
		if in.ParentID != nil && (u.ParentID == nil || *in.ParentID != *u.ParentID) {
			return FieldError(CodeUnitParentFixed, "parent_id", "a unit cannot move to another parent")
		}
		before := u
		if err := in.apply(&u); err != nil {
			return err
		}
		u.Version++
		u.UpdatedAt = s.Time()
		if err := TranslateDup(tx.Update(&u), CodeUnitCodeTaken, "code", "unit code %q is taken", u.Code); err != nil {
			return err
		}
		return s.AuditTx(tx, a, AuditUnitUpdate, EntityUnits, u.ID, fieldChanges(&before, &u, "code", "kind"))
	})
	return u, err
}

// GetUnit returns one unit; every signed-in user reads the unit tree.
func (s *Service) GetUnit(ctx context.Context, a Actor, id string) (Unit, error) {
	var u Unit
	err := s.Store.Tx(ctx, func(tx Tx) error {
		return GetVisible(tx, &u, id, "unit", func() bool { return true })
	})
	return u, err
}

// ListUnits lists units.
func (s *Service) ListUnits(ctx context.Context, a Actor, f UnitFilter, p ListParams) (Page[Unit], error) {
	var conds []Cond
	if f.ParentID != "" {
		conds = append(conds, Eq("parent_id", f.ParentID))
	}
	if f.Kind != "" {
		conds = append(conds, Eq("kind", f.Kind))
	}
	return List[Unit](ctx, s, conds, p)
}

// TranslateDup turns a unique-key clash into the given code.
func TranslateDup(err error, code Code, field, format string, args ...any) error {
	if errors.Is(err, ErrDuplicate) {
		return FieldError(code, field, format, args...)
	}
	return err
}
