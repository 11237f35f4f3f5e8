package models

import "time"

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

// DefaultAuthPolicy is used when none is configured.
var DefaultAuthPolicy = AuthPolicy{
	RefreshTTL:            30 * 24 * time.Hour,
	FailureWindow:         15 * time.Minute,
	MaxFailuresPerUser:    5,
	MaxFailuresPerAddress: 30,
}

// RevokeSessions ends the open sessions conds select, for reason: their
// tokens fail from the next request on. Signing out, revoking a device and
// disabling or changing an account use it.
func (s *Service) RevokeSessions(tx Tx, conds []Cond, reason string) error {
	conds = append(conds, Cond{Column: "revoked_at", Op: OpNull})
	_, err := tx.UpdateWhere(&Session{}, conds, Set{"revoked_at": s.Time(), "reason": reason})
	return err
}
