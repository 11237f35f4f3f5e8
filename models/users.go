package models

import (
	"context"
	"regexp"
	"unicode/utf8"
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

func (s *Service) applyUser(tx Tx, u *User, in UserInput) error {
	if in.Username != nil {
		if !usernamePattern.MatchString(*in.Username) {
			return FieldError(CodeValidation, "username", "username must be 3-64 lower-case letters, digits, '.', '_' or '-'")
		}
		u.Username = *in.Username
	}
	if u.Username == "" {
		return FieldError(CodeRequired, "username", "username is required")
	}
	if err := setText(&u.DisplayName, "display_name", in.DisplayName, false, 100); err != nil {
		return err
	}
	if err := setText(&u.Phone, "phone", in.Phone, false, 32); err != nil {
		return err
	}
	if err := setText(&u.Role, "role", in.Role, true, 32); err != nil {
		return err
	}
	if err := oneOf("role", u.Role, Roles); err != nil {
		return err
	}
	if in.MustChangePassword != nil {
		u.MustChangePassword = *in.MustChangePassword
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if in.UnitID != nil {
		var unit Unit
		if err := lookup(tx, &unit, *in.UnitID, CodeUnknownUnit, "unit_id"); err != nil {
			return err
		}
		u.UnitID, u.UnitPath = unit.ID, unit.Path
	}
	if u.UnitID == "" {
		return FieldError(CodeRequired, "unit_id", "unit_id is required")
	}
	if in.Password != nil {
		h, err := s.hashPassword(*in.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	if u.PasswordHash == "" {
		return FieldError(CodeRequired, "password", "password is required")
	}
	return nil
}

func (s *Service) hashPassword(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen || n > 128 {
		return "", FieldError(CodeWeakPassword, "password", "password must be %d to 128 characters", MinPasswordLen).With("Min", MinPasswordLen)
	}
	return s.Hasher.Hash(pw)
}

// CreateUser adds an account. Admins only.
func (s *Service) CreateUser(ctx context.Context, a Actor, in UserInput) (User, error) {
	if !a.IsAdmin() {
		return User{}, errForbidden("create users")
	}
	now := s.now()
	u := User{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := s.applyUser(tx, &u, in); err != nil {
			return err
		}
		if err := translateDup(tx.Create(&u), CodeUsernameTaken, "username", "username %q is taken", u.Username); err != nil {
			return err
		}
		return s.audit(tx, a, AuditUserCreate, EntityUsers, u.ID, map[string]any{"username": u.Username, "role": u.Role, "unit_id": u.UnitID})
	})
	return u, err
}

// UpdateUser changes an account. Admins only. Disabling a user or
// changing the password ends the user's sessions.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id string, in UserInput) (User, error) {
	if !a.IsAdmin() {
		return User{}, errForbidden("change users")
	}
	var u User
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := getVisible(tx, &u, id, "user", func() bool { return true }); err != nil {
			return err
		}
		if err := checkVersion(u.Version, in.Version); err != nil {
			return err
		}
		before := u
		if err := s.applyUser(tx, &u, in); err != nil {
			return err
		}
		u.Version++
		u.UpdatedAt = s.now()
		if err := translateDup(tx.Update(&u), CodeUsernameTaken, "username", "username %q is taken", u.Username); err != nil {
			return err
		}
		// The password hash is never named by fieldChanges (clients never
		// see it); that a new password was set is.
		detail := fieldChanges(&before, &u, "username", "role", "unit_id", "disabled")
		if in.Password != nil {
			detail["fields"] = append(detail["fields"].([]string), "password")
		}
		if err := s.audit(tx, a, AuditUserUpdate, EntityUsers, u.ID, detail); err != nil {
			return err
		}
		if u.Disabled || in.Password != nil {
			return s.revokeSessions(tx, []Cond{Eq("user_id", u.ID)}, "account changed")
		}
		return nil
	})
	return u, err
}

func (a Actor) canReadUser(u *User) bool {
	return a.UserID == u.ID || a.canReadUnitRecord(u.UnitPath)
}

// GetUser returns one user the actor may see.
func (s *Service) GetUser(ctx context.Context, a Actor, id string) (User, error) {
	var u User
	err := s.Store.Tx(ctx, func(tx Tx) error {
		return getVisible(tx, &u, id, "user", func() bool { return a.canReadUser(&u) })
	})
	return u, err
}

// ListUsers lists the users the actor may see.
func (s *Service) ListUsers(ctx context.Context, a Actor, f UserFilter, p ListParams) (Page[User], error) {
	var conds []Cond
	switch a.Role {
	case RoleAdmin:
	case RoleSupervisor, RoleUnitLead:
		conds = append(conds, a.subtreeCond())
	default:
		conds = append(conds, Eq("id", a.UserID))
	}
	if f.UnitID != "" {
		conds = append(conds, Eq("unit_id", f.UnitID))
	}
	if f.Role != "" {
		conds = append(conds, Eq("role", f.Role))
	}
	return list[User](ctx, s, conds, p)
}

// AdminExists reports whether an administrator account that is not
// disabled exists: a server without one says so at start-up, with the
// command that creates one.
func (s *Service) AdminExists(ctx context.Context) (bool, error) {
	var n int64
	err := s.Store.Tx(ctx, func(tx Tx) (err error) {
		n, err = tx.Count(&User{}, []Cond{Eq("role", RoleAdmin), Eq("disabled", false)})
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
func (s *Service) ChangeOwnPassword(ctx context.Context, a Actor, in PasswordChange) error {
	if in.CurrentPassword == nil || *in.CurrentPassword == "" {
		return FieldError(CodeRequired, "current_password", "current_password is required")
	}
	if in.NewPassword == nil {
		return FieldError(CodeRequired, "new_password", "new_password is required")
	}
	return s.Store.Tx(ctx, func(tx Tx) error {
		var u User
		if err := tx.Get(&u, a.UserID); err != nil {
			return err
		}
		if !s.Hasher.Verify(u.PasswordHash, *in.CurrentPassword) {
			return FieldError(CodeCurrentPasswordWrong, "current_password", "the current password is not right")
		}
		h, err := s.hashPassword(*in.NewPassword)
		if err != nil {
			if e := AsError(err); e != nil && e.Field == "password" {
				e.Field = "new_password"
			}
			return err
		}
		u.PasswordHash, u.MustChangePassword = h, false
		u.Version++
		u.UpdatedAt = s.now()
		if err := tx.Update(&u); err != nil {
			return err
		}
		if err := s.revokeSessions(tx, []Cond{Eq("user_id", u.ID), {Column: "id", Op: OpNe, Value: a.SessionID}}, "password changed"); err != nil {
			return err
		}
		return s.audit(tx, a, AuditPasswordChange, EntityUsers, u.ID, map[string]any{"other_sessions_ended": true})
	})
}
