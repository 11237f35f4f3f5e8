package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// AuthPolicy sets session lifetimes and login throttling.
type AuthPolicy struct {
	// RefreshTTL is how long an unused refresh token, and so an idle
	// session, lives.
	RefreshTTL time.Duration
	// FailureWindow is the window in which failed logins are counted.
	FailureWindow time.Duration
	// MaxFailuresPerUser and MaxFailuresPerAddress bound failed logins in
	// the window before further attempts are refused.
	MaxFailuresPerUser    int
	MaxFailuresPerAddress int
}

// RefreshRetryGrace is how soon after a refresh token was spent it may be
// presented again (a retry after a lost answer) without ending the session.
const RefreshRetryGrace = 30 * time.Second

// DefaultAuthPolicy is used when none is configured.
var DefaultAuthPolicy = AuthPolicy{
	RefreshTTL:            30 * 24 * time.Hour,
	FailureWindow:         15 * time.Minute,
	MaxFailuresPerUser:    5,
	MaxFailuresPerAddress: 30,
}

// LoginInput is a password login from a device.
type LoginInput struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name"`
	Platform   string `json:"platform"`
	// Address is the client's network address, for throttling.
	Address string `json:"-"`
}

// Grant is what a successful login or refresh yields; the API adds the
// access token.
type Grant struct {
	User         User
	Session      Session
	RefreshToken string
}

// Login checks a password and opens a session for the device. Failed
// attempts are recorded (in their own transaction, so that they count
// even though the login fails) and throttled per user and per address.
func (s *Service) Login(ctx context.Context, in LoginInput) (Grant, error) {
	if in.Username == "" {
		return Grant{}, FieldError(CodeRequired, "username", "username is required")
	}
	if in.Password == "" {
		return Grant{}, FieldError(CodeRequired, "password", "password is required")
	}
	if len(in.Username) > 64 || len(in.Password) > 1024 {
		return Grant{}, Errorf(CodeBadCredentials, "wrong username or password")
	}
	if err := checkID("device_id", in.DeviceID); err != nil {
		return Grant{}, err
	}
	name, err := text("device_name", &in.DeviceName, false, 100)
	if err != nil {
		return Grant{}, err
	}
	platform, err := text("platform", &in.Platform, false, 32)
	if err != nil {
		return Grant{}, err
	}
	now := s.Time()
	// The attempt is recorded as failed before the throttle check and the
	// password check, and marked good only on success, so that parallel
	// guesses all count against the limit.
	attempt := LoginAttempt{ID: s.NewID(), Username: in.Username, Address: in.Address, CreatedAt: now}
	if err := s.Store.Tx(ctx, func(tx Tx) error { return tx.Create(&attempt) }); err != nil {
		return Grant{}, err
	}
	if err := s.checkThrottle(ctx, in, now); err != nil {
		return Grant{}, s.loginFailed(ctx, in, "", err)
	}
	var u User
	err = s.Store.Tx(ctx, func(tx Tx) error { return tx.First(&u, Query{Where: []Cond{Eq("username", in.Username)}}) })
	if err != nil && !IsNotFound(err) {
		return Grant{}, err
	}
	hash := u.PasswordHash
	if hash == "" {
		// A login for an unknown user costs the same as one for a known
		// user, so that timing does not reveal which usernames exist.
		s.dummyOnce.Do(func() { s.dummyHash, _ = s.Hasher.Hash("fieldsync-timing-equaliser") })
		hash = s.dummyHash
	}
	ok := s.Hasher.Verify(hash, in.Password) && u.ID != ""
	if !ok {
		return Grant{}, s.loginFailed(ctx, in, u.ID, Errorf(CodeBadCredentials, "wrong username or password"))
	}
	if u.Disabled {
		return Grant{}, s.loginFailed(ctx, in, u.ID, Errorf(CodeAccountDisabled, "this account is disabled"))
	}
	var g Grant
	err = s.Store.Tx(ctx, func(tx Tx) error {
		if _, err := tx.UpdateWhere(&LoginAttempt{}, []Cond{Eq("id", attempt.ID)}, map[string]any{"ok": true}); err != nil {
			return err
		}
		var d Device
		err := tx.Get(&d, in.DeviceID)
		known := err == nil
		switch {
		case IsNotFound(err):
			d = Device{ID: in.DeviceID, UserID: u.ID, Name: name, Platform: platform, CreatedAt: now, LastSeenAt: now}
			if err := tx.Create(&d); err != nil {
				return err
			}
		case err != nil:
			return err
		case d.RevokedAt != nil:
			return Errorf(CodeDeviceRevoked, "this device was revoked; ask an administrator")
		case d.UserID != u.ID:
			return Errorf(CodeDeviceOwnedByOther, "this device is registered to another user; reinstall the app to get a new device id")
		default:
			if _, err := tx.UpdateWhere(&Device{}, []Cond{Eq("id", d.ID)}, map[string]any{"last_seen_at": now, "name": name, "platform": platform}); err != nil {
				return err
			}
		}
		// One device, one session: a new login ends the device's old one.
		// A device made just now has none; looking for them anyway locked
		// the index gap where its sessions would go, and on MySQL logins
		// of new devices at once deadlocked on those gaps (each deadlock
		// then counted as a failed login against the address).
		if known {
			if err := s.revokeSessions(tx, []Cond{Eq("device_id", d.ID)}, "signed in again"); err != nil {
				return err
			}
		}
		g = Grant{User: u, Session: Session{ID: s.NewID(), UserID: u.ID, DeviceID: d.ID, CreatedAt: now}}
		if err := s.issueRefresh(tx, &g, now, true); err != nil {
			return err
		}
		a := Actor{UserID: u.ID, Username: u.Username, Role: u.Role, DeviceID: d.ID}
		return s.AuditTx(tx, a, AuditLogin, EntityUsers, u.ID, map[string]any{"session_id": g.Session.ID, "address": in.Address})
	})
	if c := ErrorCode(err); c == CodeDeviceRevoked || c == CodeDeviceOwnedByOther {
		return g, s.loginFailed(ctx, in, u.ID, err)
	}
	return g, err
}

// loginFailed audits a refused login and returns why it was refused. The
// actor is unknown (someone claiming to be the user); the entry names the
// account when there is one, the username tried, the address and the code.
// An attempt that cannot be recorded fails as the database does, not as a
// refused login, so that no refusal goes unrecorded.
func (s *Service) loginFailed(ctx context.Context, in LoginInput, userID string, refused error) error {
	detail := map[string]any{"username": in.Username, "address": in.Address, "code": ErrorCode(refused)}
	if err := s.Audit(ctx, Actor{DeviceID: in.DeviceID}, AuditLoginFailed, EntityUsers, userID, detail); err != nil {
		return err
	}
	return refused
}

func (s *Service) checkThrottle(ctx context.Context, in LoginInput, now time.Time) error {
	since := now.Add(-s.Auth.FailureWindow)
	return s.Store.Tx(ctx, func(tx Tx) error {
		for _, c := range []struct {
			col, val string
			max      int
		}{{"username", in.Username, s.Auth.MaxFailuresPerUser}, {"address", in.Address, s.Auth.MaxFailuresPerAddress}} {
			n, err := tx.Count(&LoginAttempt{}, []Cond{Eq(c.col, c.val), Eq("ok", false), {Column: "created_at", Op: OpGe, Value: since}})
			if err != nil {
				return err
			}
			if int(n) > c.max {
				return &Error{Code: CodeLoginThrottled, Message: "too many failed logins; try again later", RetryAfter: s.Auth.FailureWindow}
			}
		}
		return nil
	})
}

// issueRefresh makes a new refresh token for g.Session and stores its
// hash; a new session is stored first, an existing one has its expiry
// pushed back.
func (s *Service) issueRefresh(tx Tx, g *Grant, now time.Time, newSession bool) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	g.RefreshToken = base64.RawURLEncoding.EncodeToString(raw)
	g.Session.ExpiresAt = now.Add(s.Auth.RefreshTTL)
	if newSession {
		if err := tx.Create(&g.Session); err != nil {
			return err
		}
	} else if _, err := tx.UpdateWhere(&Session{}, []Cond{Eq("id", g.Session.ID)}, map[string]any{"expires_at": g.Session.ExpiresAt}); err != nil {
		return err
	}
	return tx.Create(&RefreshToken{Hash: tokenHash(g.RefreshToken), SessionID: g.Session.ID, CreatedAt: now, ExpiresAt: g.Session.ExpiresAt})
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Refresh spends a refresh token and issues the next one in the same
// session. Presenting a token that was already spent means it was copied:
// the whole session is revoked.
func (s *Service) Refresh(ctx context.Context, token string) (Grant, error) {
	if token == "" {
		return Grant{}, FieldError(CodeRequired, "refresh_token", "refresh_token is required")
	}
	now := s.Time()
	var g Grant
	reused := false
	err := s.Store.Tx(ctx, func(tx Tx) error {
		var rt RefreshToken
		if err := tx.Get(&rt, tokenHash(token)); err != nil {
			if IsNotFound(err) {
				return Errorf(CodeRefreshInvalid, "the refresh token is not valid")
			}
			return err
		}
		n, err := tx.UpdateWhere(&RefreshToken{}, []Cond{Eq("hash", rt.Hash), {Column: "spent_at", Op: OpNull}}, map[string]any{"spent_at": now})
		if err != nil {
			return err
		}
		if n == 0 {
			var spent RefreshToken
			if err := tx.Get(&spent, rt.Hash); err != nil {
				return err
			}
			// A device whose answer was lost retries at once; a copied
			// token shows up later. Within the grace window the retry gets
			// a token of its own, outside it the session ends.
			if spent.SpentAt == nil || now.Sub(*spent.SpentAt) > RefreshRetryGrace {
				reused = true
				return s.refreshReused(tx, rt.SessionID)
			}
		}
		if !rt.ExpiresAt.After(now) {
			return Errorf(CodeRefreshInvalid, "the refresh token has expired; sign in again")
		}
		a, err := s.actorTx(tx, rt.SessionID, now)
		if err != nil {
			return err
		}
		if err := tx.Get(&g.User, a.UserID); err != nil {
			return err
		}
		if err := tx.Get(&g.Session, rt.SessionID); err != nil {
			return err
		}
		return s.issueRefresh(tx, &g, now, false)
	})
	if reused && err == nil {
		err = Errorf(CodeRefreshReused, "this refresh token was already used; the session has been ended for safety, sign in again")
	}
	return g, err
}

// refreshReused ends a session whose spent refresh token came back, and
// audits it: a copied token is a security event. Whoever presented it is
// not known, so the entry names the session's user and device only.
func (s *Service) refreshReused(tx Tx, sessionID string) error {
	if err := s.revokeSessions(tx, []Cond{Eq("id", sessionID)}, "refresh token reused"); err != nil {
		return err
	}
	var sess Session
	if err := tx.Get(&sess, sessionID); err != nil {
		return err
	}
	return s.AuditTx(tx, Actor{DeviceID: sess.DeviceID}, AuditRefreshReused, EntityUsers, sess.UserID, map[string]any{"session_id": sess.ID})
}

// Logout ends the actor's session.
func (s *Service) Logout(ctx context.Context, a Actor) error {
	return s.Store.Tx(ctx, func(tx Tx) error {
		if err := s.revokeSessions(tx, []Cond{Eq("id", a.SessionID)}, "logged out"); err != nil {
			return err
		}
		return s.AuditTx(tx, a, AuditLogout, EntityUsers, a.UserID, map[string]any{"session_id": a.SessionID})
	})
}

// RevokeDevice marks a lost or stolen device revoked and ends its
// sessions; its tokens fail from the next request on. Admins only.
func (s *Service) RevokeDevice(ctx context.Context, a Actor, id string) (Device, error) {
	if !a.IsAdmin() {
		return Device{}, Forbidden("revoke devices")
	}
	var d Device
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := getVisible(tx, &d, id, "device", func() bool { return true }); err != nil {
			return err
		}
		if d.RevokedAt == nil {
			now := s.Time()
			d.RevokedAt = &now
			if _, err := tx.UpdateWhere(&Device{}, []Cond{Eq("id", d.ID)}, map[string]any{"revoked_at": now}); err != nil {
				return err
			}
			// Revoking a revoked device changes nothing and is not audited.
			if err := s.AuditTx(tx, a, AuditDeviceRevoke, EntityDevices, d.ID, map[string]any{"user_id": d.UserID}); err != nil {
				return err
			}
		}
		return s.revokeSessions(tx, []Cond{Eq("device_id", d.ID)}, "device revoked")
	})
	return d, err
}

// ListDevices lists devices, optionally of one user. Admins only.
func (s *Service) ListDevices(ctx context.Context, a Actor, userID string, p ListParams) (Page[Device], error) {
	if !a.IsAdmin() {
		return Page[Device]{}, Forbidden("list devices")
	}
	var conds []Cond
	if userID != "" {
		conds = append(conds, Eq("user_id", userID))
	}
	return List[Device](ctx, s, conds, p)
}

func (s *Service) revokeSessions(tx Tx, conds []Cond, reason string) error {
	conds = append(conds, Cond{Column: "revoked_at", Op: OpNull})
	_, err := tx.UpdateWhere(&Session{}, conds, map[string]any{"revoked_at": s.Time(), "reason": reason})
	return err
}

// Authenticate turns a verified access token's session into an Actor. It
// reads the session, device and user on every request so that a revoked
// device or a disabled account stops working at once; outside a
// transaction, since each of the three is one row read by its key.
func (s *Service) Authenticate(ctx context.Context, sessionID string) (Actor, error) {
	var a Actor
	err := s.Store.Read(ctx, func(tx Tx) error {
		var err error
		a, err = s.actorTx(tx, sessionID, s.Time())
		return err
	})
	return a, err
}

func (s *Service) actorTx(tx Tx, sessionID string, now time.Time) (Actor, error) {
	var sess Session
	if err := tx.Get(&sess, sessionID); err != nil {
		if IsNotFound(err) {
			return Actor{}, Errorf(CodeSessionRevoked, "the session has ended; sign in again")
		}
		return Actor{}, err
	}
	var d Device
	if err := tx.Get(&d, sess.DeviceID); err != nil {
		return Actor{}, err
	}
	if d.RevokedAt != nil {
		return Actor{}, Errorf(CodeDeviceRevoked, "this device was revoked; ask an administrator")
	}
	if sess.RevokedAt != nil || !sess.ExpiresAt.After(now) {
		return Actor{}, Errorf(CodeSessionRevoked, "the session has ended; sign in again")
	}
	var u User
	if err := tx.Get(&u, sess.UserID); err != nil {
		return Actor{}, err
	}
	if u.Disabled {
		return Actor{}, Errorf(CodeAccountDisabled, "this account is disabled")
	}
	return Actor{UserID: u.ID, Username: u.Username, Role: u.Role, UnitID: u.UnitID, UnitPath: u.UnitPath, DeviceID: d.ID, SessionID: sess.ID}, nil
}
