package items

import (
	"context"
	"regexp"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

// UserInput creates or patches a user; nil fields are left alone.
type UserInput struct {
	Username    *string `json:"username"`
	Password    *string `json:"password"`
	DisplayName *string `json:"display_name"`
	Phone       *string `json:"phone"`
	Role        *string `json:"role"`
	UnitID      *string `json:"unit_id"`
	Disabled    *bool   `json:"disabled"`
	// MustChangePassword (admins) makes the user choose a new password at
	// the next sign-in.
	MustChangePassword *bool  `json:"must_change_password"`
	Version            *int64 `json:"version"`
}

// UserFilter narrows a user list.
type UserFilter struct {
	UnitID string
	Role   string
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

func (s *Service) applyUser(tx models.Tx, u *models.User, in UserInput) error {
	if in.Username != nil {
		if !usernamePattern.MatchString(*in.Username) {
			return models.FieldError(models.CodeValidation, "username", "username must be 3-64 lower-case letters, digits, '.', '_' or '-'")
		}
		u.Username = *in.Username
	}
	if u.Username == "" {
		return models.FieldError(models.CodeRequired, "username", "username is required")
	}
	if err := models.SetText(&u.DisplayName, "display_name", in.DisplayName, false, 100); err != nil {
		return err
	}
	if err := models.SetText(&u.Phone, "phone", in.Phone, false, 32); err != nil {
		return err
	}
	if err := models.SetText(&u.Role, "role", in.Role, true, 32); err != nil {
		return err
	}
	if err := models.OneOf("role", u.Role, models.Roles); err != nil {
		return err
	}
	if in.MustChangePassword != nil {
		u.MustChangePassword = *in.MustChangePassword
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if in.UnitID != nil {
		var unit models.Unit
		if err := models.Lookup(tx, &unit, *in.UnitID, "unit_id"); err != nil {
			return err
		}
		u.UnitID, u.UnitPath = unit.ID, unit.Path
	}
	if u.UnitID == "" {
		return models.FieldError(models.CodeRequired, "unit_id", "unit_id is required")
	}
	if in.Password != nil {
		h, err := s.hashPassword(*in.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	if u.PasswordHash == "" {
		return models.FieldError(models.CodeRequired, "password", "password is required")
	}
	return nil
}

func (s *Service) hashPassword(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen || n > 128 {
		return "", models.FieldError(models.CodeWeakPassword, "password", "password must be %d to 128 characters", MinPasswordLen).With("Min", MinPasswordLen)
	}
	return s.Hasher.Hash(pw)
}

// CreateUser adds an account. Admins only.
func (s *Service) CreateUser(ctx context.Context, a models.Actor, in UserInput) (models.User, error) {
	var u models.User
	err := s.Store.Tx(ctx, func(tx models.Tx) (err error) {
		u, err = s.createUser(tx, a, in)
		return err
	})
	return u, err
}

func (s *Service) createUser(tx models.Tx, a models.Actor, in UserInput) (models.User, error) {
	if !a.IsAdmin() {
		return models.User{}, models.Forbidden("create users")
	}
	now := s.Time()
	u := models.User{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.applyUser(tx, &u, in); err != nil {
		return models.User{}, err
	}
	if err := models.TranslateDup(tx.Create(&u), models.CodeUsernameTaken, "username", "username %q is taken", u.Username); err != nil {
		return models.User{}, err
	}
	return u, s.AuditTx(tx, a, models.AuditUserCreate, models.EntityUsers, u.ID, map[string]any{"username": u.Username, "role": u.Role, "unit_id": u.UnitID})
}

// UpdateUser changes an account. Admins only. Disabling a user or
// changing the password ends the user's sessions.
func (s *Service) UpdateUser(ctx context.Context, a models.Actor, id string, in UserInput) (models.User, error) {
	if !a.IsAdmin() {
		return models.User{}, models.Forbidden("change users")
	}
	var u models.User
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := models.GetVisible(tx, &u, id, "user", func() bool { return true }); err != nil {
			return err
		}
		if err := models.CheckVersion(u.Version, in.Version); err != nil {
			return err
		}
		before := u
		if err := s.applyUser(tx, &u, in); err != nil {
			return err
		}
		u.Version++
		u.UpdatedAt = s.Time()
		if err := models.TranslateDup(tx.Update(&u), models.CodeUsernameTaken, "username", "username %q is taken", u.Username); err != nil {
			return err
		}
		// The password hash is never named by fieldChanges (clients never
		// see it); that a new password was set is.
		detail := models.FieldChanges(&before, &u, "username", "role", "unit_id", "disabled")
		if in.Password != nil {
			detail["fields"] = append(detail["fields"].([]string), "password")
		}
		if err := s.AuditTx(tx, a, models.AuditUserUpdate, models.EntityUsers, u.ID, detail); err != nil {
			return err
		}
		if u.Disabled || in.Password != nil {
			return s.RevokeSessions(tx, []models.Cond{models.Eq("user_id", u.ID)}, "account changed")
		}
		return nil
	})
	return u, err
}

// GetUser returns one user the actor may see.
func (s *Service) GetUser(ctx context.Context, a models.Actor, id string) (models.User, error) {
	var u models.User
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		return models.GetReadable(tx, a, &u, id, "user")
	})
	return u, err
}

// ListUsers lists the users the actor may see.
func (s *Service) ListUsers(ctx context.Context, a models.Actor, f UserFilter, p models.ListParams) (models.Page[models.User], error) {
	conds, err := a.ReadConds(models.EntityUsers)
	if err != nil {
		return models.Page[models.User]{}, err
	}
	if f.UnitID != "" {
		conds = append(conds, models.Eq("unit_id", f.UnitID))
	}
	if f.Role != "" {
		conds = append(conds, models.Eq("role", f.Role))
	}
	return models.List[models.User](ctx, s.Service, conds, p)
}

// AdminExists reports whether an administrator account that is not
// disabled exists: a server without one says so at start-up, with the
// command that creates one.
func (s *Service) AdminExists(ctx context.Context) (bool, error) {
	var n int64
	err := s.Store.Tx(ctx, func(tx models.Tx) (err error) {
		n, err = tx.Count(&models.User{}, []models.Cond{models.Eq("role", models.RoleAdmin), models.Eq("disabled", false)})
		return err
	})
	return n > 0, err
}

// PasswordChange is a user's change of their own password.
type PasswordChange struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

// ChangeOwnPassword sets the actor's password after checking the current
// one, clears MustChangePassword and ends the user's other sessions (the
// one making the change stays signed in).
func (s *Service) ChangeOwnPassword(ctx context.Context, a models.Actor, in PasswordChange) error {
	if in.CurrentPassword == nil || *in.CurrentPassword == "" {
		return models.FieldError(models.CodeRequired, "current_password", "current_password is required")
	}
	if in.NewPassword == nil {
		return models.FieldError(models.CodeRequired, "new_password", "new_password is required")
	}
	return s.Store.Tx(ctx, func(tx models.Tx) error {
		var u models.User
		if err := tx.Get(&u, a.UserID); err != nil {
			return err
		}
		if !s.Hasher.Verify(u.PasswordHash, *in.CurrentPassword) {
			return models.FieldError(models.CodeCurrentPasswordWrong, "current_password", "the current password is not right")
		}
		h, err := s.hashPassword(*in.NewPassword)
		if err != nil {
			if e := models.AsError(err); e != nil && e.Field == "password" {
				e.Field = "new_password"
			}
			return err
		}
		u.PasswordHash, u.MustChangePassword = h, false
		u.Version++
		u.UpdatedAt = s.Time()
		if err := tx.Update(&u); err != nil {
			return err
		}
		if err := s.RevokeSessions(tx, []models.Cond{models.Eq("user_id", u.ID), {Column: "id", Op: models.OpNe, Value: a.SessionID}}, "password changed"); err != nil {
			return err
		}
		return s.AuditTx(tx, a, models.AuditPasswordChange, models.EntityUsers, u.ID, map[string]any{"other_sessions_ended": true})
	})
}
