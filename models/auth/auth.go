// Package auth signs users in and keeps their sessions: password logins
// with throttling, refresh-token rotation with reuse detection, sign-out,
// devices and their revocation, and turning a session into an Actor.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Service signs users in and keeps their sessions.
type Service struct {
	*models.Service
	// dummyHash is verified against when the user does not exist, so
	// that a login takes as long either way.
	dummyOnce sync.Once
	dummyHash string
}

// New returns the auth service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }

// RefreshRetryGrace is how soon after a refresh token was spent it may be
// presented again (a retry after a lost answer) without ending the session.
const RefreshRetryGrace = 30 * time.Second

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
	User         models.User
	Session      models.Session
	RefreshToken string
}

// Login checks a password and opens a session for the device. Failed
// attempts are recorded (in their own transaction, so that they count
// even though the login fails) and throttled per user and per address.
func (s *Service) Login(ctx context.Context, in LoginInput) (Grant, error) {
	if in.Username == "" {
		return Grant{}, models.FieldError(models.CodeRequired, "username", "username is required")
	}
	if in.Password == "" {
		return Grant{}, models.FieldError(models.CodeRequired, "password", "password is required")
	}
	if len(in.Username) > 64 || len(in.Password) > 1024 {
		return Grant{}, models.Errorf(models.CodeBadCredentials, "wrong username or password")
	}
	if err := models.CheckID("device_id", in.DeviceID); err != nil {
		return Grant{}, err
	}
	name, err := models.Text("device_name", &in.DeviceName, false, 100)
	if err != nil {
		return Grant{}, err
	}
	platform, err := models.Text("platform", &in.Platform, false, 32)
	if err != nil {
		return Grant{}, err
	}
	now := s.Time()
	// The attempt is recorded as failed before the throttle check and the
	// password check, and marked good only on success, so that parallel
	// guesses all count against the limit.
	attempt := models.LoginAttempt{ID: s.NewID(), Username: in.Username, Address: in.Address, CreatedAt: now}
	if err := s.Store.Tx(ctx, func(tx models.Tx) error { return tx.Create(&attempt) }); err != nil {
		return Grant{}, err
	}
	if err := s.checkThrottle(ctx, in, now); err != nil {
		return Grant{}, s.loginFailed(ctx, in, "", err)
	}
	var u models.User
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		return tx.First(&u, models.Query{Where: []models.Cond{models.Eq("username", in.Username)}})
	})
	if err != nil && !models.IsNotFound(err) {
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
		return Grant{}, s.loginFailed(ctx, in, u.ID, models.Errorf(models.CodeBadCredentials, "wrong username or password"))
	}
	if u.Disabled {
		return Grant{}, s.loginFailed(ctx, in, u.ID, models.Errorf(models.CodeAccountDisabled, "this account is disabled"))
	}
	var g Grant
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		if _, err := tx.UpdateWhere(&models.LoginAttempt{}, []models.Cond{models.Eq("id", attempt.ID)}, models.Set{"ok": true}); err != nil {
			return err
		}
		var d models.Device
		err := tx.Get(&d, in.DeviceID)
		known := err == nil
		switch {
		case models.IsNotFound(err):
			d = models.Device{ID: in.DeviceID, UserID: u.ID, Name: name, Platform: platform, CreatedAt: now, LastSeenAt: now}
			if err := tx.Create(&d); err != nil {
				return err
			}
		case err != nil:
			return err
		case d.RevokedAt != nil:
			return models.Errorf(models.CodeDeviceRevoked, "this device was revoked; ask an administrator")
		case d.UserID != u.ID:
			return models.Errorf(models.CodeDeviceOwnedByOther, "this device is registered to another user; reinstall the app to get a new device id")
		default:
			if _, err := tx.UpdateWhere(&models.Device{}, []models.Cond{models.Eq("id", d.ID)}, models.Set{"last_seen_at": now, "name": name, "platform": platform}); err != nil {
				return err
			}
		}
		// One device, one session: a new login ends the device's old one.
		// A device made just now has none; looking for them anyway locked
		// the index gap where its sessions would go, and on MySQL logins
		// of new devices at once deadlocked on those gaps (each deadlock
		// then counted as a failed login against the address).
		if known {
			if err := s.RevokeSessions(tx, []models.Cond{models.Eq("device_id", d.ID)}, "signed in again"); err != nil {
				return err
			}
		}
		g = Grant{User: u, Session: models.Session{ID: s.NewID(), UserID: u.ID, DeviceID: d.ID, CreatedAt: now}}
		if err := s.issueRefresh(tx, &g, now, true); err != nil {
			return err
		}
		a := models.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, DeviceID: d.ID}
		return s.AuditTx(tx, a, models.AuditLogin, models.EntityUsers, u.ID, map[string]any{"session_id": g.Session.ID, "address": in.Address})
	})
	if c := models.ErrorCode(err); c == models.CodeDeviceRevoked || c == models.CodeDeviceOwnedByOther {
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
	detail := map[string]any{"username": in.Username, "address": in.Address, "code": models.ErrorCode(refused)}
	if err := s.Audit(ctx, models.Actor{DeviceID: in.DeviceID}, models.AuditLoginFailed, models.EntityUsers, userID, detail); err != nil {
		return err
	}
	return refused
}

func (s *Service) checkThrottle(ctx context.Context, in LoginInput, now time.Time) error {
	since := now.Add(-s.Auth.FailureWindow)
	return s.Store.Tx(ctx, func(tx models.Tx) error {
		for _, c := range []struct {
			col models.Column
			val string
			max int
		}{{"username", in.Username, s.Auth.MaxFailuresPerUser}, {"address", in.Address, s.Auth.MaxFailuresPerAddress}} {
			n, err := tx.Count(&models.LoginAttempt{}, []models.Cond{models.Eq(c.col, c.val), models.Eq("ok", false), {Column: "created_at", Op: models.OpGe, Value: since}})
			if err != nil {
				return err
			}
			if int(n) > c.max {
				return &models.Error{Code: models.CodeLoginThrottled, Message: "too many failed logins; try again later", RetryAfter: s.Auth.FailureWindow}
			}
		}
		return nil
	})
}

// PruneLoginAttempts deletes the login attempts made before the
// throttle's window ending at now: the throttle reads nothing older, and
// a refused login is in the audit log. It returns how many it deleted.
func (s *Service) PruneLoginAttempts(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		var err error
		n, err = tx.Delete(&models.LoginAttempt{}, []models.Cond{{Column: "created_at", Op: models.OpLt, Value: now.Add(-s.Auth.FailureWindow).UTC()}})
		return err
	})
	return n, err
}

// issueRefresh makes a new refresh token for g.Session and stores its
// hash; a new session is stored first, an existing one has its expiry
// pushed back.
func (s *Service) issueRefresh(tx models.Tx, g *Grant, now time.Time, newSession bool) error {
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
	} else if _, err := tx.UpdateWhere(&models.Session{}, []models.Cond{models.Eq("id", g.Session.ID)}, models.Set{"expires_at": g.Session.ExpiresAt}); err != nil {
		return err
	}
	return tx.Create(&models.RefreshToken{Hash: tokenHash(g.RefreshToken), SessionID: g.Session.ID, CreatedAt: now, ExpiresAt: g.Session.ExpiresAt})
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Refresh spends a refresh token and issues the next one in the same
// session. A retry within RefreshRetryGrace (the device lost the answer)
// receives the same next token, so that the session never forks; the
// access token is issued afresh for the same session. Presenting a spent
// token later means it was copied: the whole session is revoked.
func (s *Service) Refresh(ctx context.Context, token string) (Grant, error) {
	if token == "" {
		return Grant{}, models.FieldError(models.CodeRequired, "refresh_token", "refresh_token is required")
	}
	now := s.Time()
	var g Grant
	reused := false
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		var rt models.RefreshToken
		if err := tx.Get(&rt, tokenHash(token)); err != nil {
			if models.IsNotFound(err) {
				return models.Errorf(models.CodeRefreshInvalid, "the refresh token is not valid")
			}
			return err
		}
		n, err := tx.UpdateWhere(&models.RefreshToken{}, []models.Cond{models.Eq("hash", rt.Hash), {Column: "spent_at", Op: models.OpNull}}, models.Set{"spent_at": now})
		if err != nil {
			return err
		}
		var child string
		if n == 0 {
			var spent models.RefreshToken
			if err := tx.Get(&spent, rt.Hash); err != nil {
				return err
			}
			// A device whose answer was lost retries at once; a copied
			// token shows up later. Within the grace window the retry gets
			// the child it was first given, outside it the session ends.
			if spent.SpentAt == nil || now.Sub(*spent.SpentAt) > RefreshRetryGrace {
				reused = true
				return s.refreshReused(tx, rt.SessionID)
			}
			if child = unsealChild(token, spent); child == "" {
				reused = true // spent without a recorded child: not a retry of ours
				return s.refreshReused(tx, rt.SessionID)
			}
		}
		if !rt.ExpiresAt.After(now) {
			return models.Errorf(models.CodeRefreshInvalid, "the refresh token has expired; sign in again")
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
		if child != "" {
			g.RefreshToken = child
			return nil
		}
		if err := s.issueRefresh(tx, &g, now, false); err != nil {
			return err
		}
		h, sealed := tokenHash(g.RefreshToken), sealChild(token, g.RefreshToken)
		_, err = tx.UpdateWhere(&models.RefreshToken{}, []models.Cond{models.Eq("hash", rt.Hash)}, models.Set{"child_hash": h, "child_sealed": sealed})
		return err
	})
	if reused && err == nil {
		err = models.Errorf(models.CodeRefreshReused, "this refresh token was already used; the session has been ended for safety, sign in again")
	}
	return g, err
}

// sealKey is the key that seals a spent token's child: derived from the
// spent token itself, which the server keeps only as a hash.
func sealKey(parent string) [sha256.Size]byte {
	return sha256.Sum256([]byte("fieldsync refresh child/1\x00" + parent))
}

// sealChild encrypts child (32 random bytes, base64url) under parent's
// seal key: a one-time pad, as the key is used for this one child only.
func sealChild(parent, child string) string {
	raw, err := base64.RawURLEncoding.DecodeString(child)
	key := sealKey(parent)
	if err != nil || len(raw) != len(key) {
		return ""
	}
	for i := range raw {
		raw[i] ^= key[i]
	}
	return hex.EncodeToString(raw)
}

// unsealChild recovers the child of a spent token, or "" when none was
// recorded or it does not match its hash.
func unsealChild(parent string, spent models.RefreshToken) string {
	if spent.ChildSealed == nil || spent.ChildHash == nil {
		return ""
	}
	raw, err := hex.DecodeString(*spent.ChildSealed)
	key := sealKey(parent)
	if err != nil || len(raw) != len(key) {
		return ""
	}
	for i := range raw {
		raw[i] ^= key[i]
	}
	child := base64.RawURLEncoding.EncodeToString(raw)
	if tokenHash(child) != *spent.ChildHash {
		return ""
	}
	return child
}

// refreshReused ends a session whose spent refresh token came back, and
// audits it: a copied token is a security event. Whoever presented it is
// not known, so the entry names the session's user and device only.
func (s *Service) refreshReused(tx models.Tx, sessionID string) error {
	if err := s.RevokeSessions(tx, []models.Cond{models.Eq("id", sessionID)}, "refresh token reused"); err != nil {
		return err
	}
	var sess models.Session
	if err := tx.Get(&sess, sessionID); err != nil {
		return err
	}
	return s.AuditTx(tx, models.Actor{DeviceID: sess.DeviceID}, models.AuditRefreshReused, models.EntityUsers, sess.UserID, map[string]any{"session_id": sess.ID})
}

// Logout ends the actor's session.
func (s *Service) Logout(ctx context.Context, a models.Actor) error {
	return s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := s.RevokeSessions(tx, []models.Cond{models.Eq("id", a.SessionID)}, "logged out"); err != nil {
			return err
		}
		return s.AuditTx(tx, a, models.AuditLogout, models.EntityUsers, a.UserID, map[string]any{"session_id": a.SessionID})
	})
}

// RevokeDevice marks a lost or stolen device revoked and ends its
// sessions; its tokens fail from the next request on. Admins only.
func (s *Service) RevokeDevice(ctx context.Context, a models.Actor, id string) (models.Device, error) {
	if !a.IsAdmin() {
		return models.Device{}, models.Forbidden("revoke devices")
	}
	var d models.Device
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := models.GetReadable(tx, a, &d, id, "device"); err != nil {
			return err
		}
		if d.RevokedAt == nil {
			now := s.Time()
			d.RevokedAt = &now
			if _, err := tx.UpdateWhere(&models.Device{}, []models.Cond{models.Eq("id", d.ID)}, models.Set{"revoked_at": now}); err != nil {
				return err
			}
			// Revoking a revoked device changes nothing and is not audited.
			if err := s.AuditTx(tx, a, models.AuditDeviceRevoke, models.EntityDevices, d.ID, map[string]any{"user_id": d.UserID}); err != nil {
				return err
			}
		}
		return s.RevokeSessions(tx, []models.Cond{models.Eq("device_id", d.ID)}, "device revoked")
	})
	return d, err
}

// ListDevices lists devices, optionally of one user. Admins only.
func (s *Service) ListDevices(ctx context.Context, a models.Actor, userID string, p models.ListParams) (models.Page[models.Device], error) {
	if !a.IsAdmin() {
		return models.Page[models.Device]{}, models.Forbidden("list devices")
	}
	var conds []models.Cond
	if userID != "" {
		conds = append(conds, models.Eq("user_id", userID))
	}
	return models.List[models.Device](ctx, s.Service, conds, p)
}

// Authenticate turns a verified access token's session into an Actor. It
// reads the session, device and user on every request so that a revoked
// device or a disabled account stops working at once; outside a
// transaction, since each of the three is one row read by its key.
func (s *Service) Authenticate(ctx context.Context, sessionID string) (models.Actor, error) {
	var a models.Actor
	err := s.Store.Read(ctx, func(tx models.Tx) error {
		var err error
		a, err = s.actorTx(tx, sessionID, s.Time())
		return err
	})
	return a, err
}

func (s *Service) actorTx(tx models.Tx, sessionID string, now time.Time) (models.Actor, error) {
	p, err := tx.Principal(sessionID)
	if err != nil {
		if models.IsNotFound(err) {
			return models.Actor{}, models.Errorf(models.CodeSessionRevoked, "the session has ended; sign in again")
		}
		return models.Actor{}, err
	}
	if p.DeviceRevokedAt != nil {
		return models.Actor{}, models.Errorf(models.CodeDeviceRevoked, "this device was revoked; ask an administrator")
	}
	if p.SessionRevokedAt != nil || !p.SessionExpiresAt.After(now) {
		return models.Actor{}, models.Errorf(models.CodeSessionRevoked, "the session has ended; sign in again")
	}
	if p.Disabled {
		return models.Actor{}, models.Errorf(models.CodeAccountDisabled, "this account is disabled")
	}
	return models.Actor{UserID: p.UserID, Username: p.Username, Role: p.Role, UnitID: p.UnitID, UnitPath: p.UnitPath, DeviceID: p.DeviceID,
		SessionID: p.SessionID, MustChangePassword: p.MustChangePassword}, nil
}
