package storage

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/fieldsync/fieldsync/models"
)

// principalSQL reads a session, its device and its user by primary keys
// in one statement (TestPrincipal runs it on both schemas).
const principalSQL = `SELECT s.id, s.expires_at, s.revoked_at, d.id, d.revoked_at,
 u.id, u.username, u.role, u.unit_id, u.unit_path, u.disabled, u.must_change_password
 FROM sessions s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = s.user_id
 WHERE s.id = ?`

// Principal scans into known fields, without GORM's reflection: it runs
// on every authenticated request.
func (t *tx) Principal(sessionID string) (models.Principal, error) {
	var p models.Principal
	var sessionRevoked, deviceRevoked sql.NullTime
	err := t.g.Raw(principalSQL, sessionID).Row().Scan(&p.SessionID, &p.SessionExpiresAt, &sessionRevoked,
		&p.DeviceID, &deviceRevoked, &p.UserID, &p.Username, &p.Role, &p.UnitID, &p.UnitPath, &p.Disabled, &p.MustChangePassword)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("db: %w", models.ErrNotFound)
	}
	if err != nil {
		return p, translate(err)
	}
	if sessionRevoked.Valid {
		p.SessionRevokedAt = &sessionRevoked.Time
	}
	if deviceRevoked.Valid {
		p.DeviceRevokedAt = &deviceRevoked.Time
	}
	return p, nil
}
