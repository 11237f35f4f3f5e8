package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
)

// testPrincipal: one statement reads a session with its device and user,
// times and revocations as stored, inside a transaction and in Read; a
// session that does not exist is ErrNotFound.
func testPrincipal(t *testing.T, db *storage.DB) {
	unit := mkUnit(t, db, "PR-ROOT", nil)
	now := time.Date(2026, 12, 6, 9, 30, 15, 123456000, time.UTC)
	revoked := now.Add(time.Minute)
	u := models.User{ID: newID(), Username: "insp-pr", DisplayName: "王五", Role: models.RoleInspector, UnitID: unit.ID, UnitPath: unit.Path,
		PasswordHash: "x", MustChangePassword: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	d := models.Device{ID: newID(), UserID: u.ID, Name: "Mate 60", Platform: "android", CreatedAt: now, LastSeenAt: now, RevokedAt: &revoked}
	s := models.Session{ID: newID(), UserID: u.ID, DeviceID: d.ID, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	s2 := models.Session{ID: newID(), UserID: u.ID, DeviceID: d.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), RevokedAt: &revoked, Reason: "logout"}
	mustTx(t, db, func(tx models.Tx) error {
		for _, rec := range []any{&u, &d, &s, &s2} {
			if err := tx.Create(rec); err != nil {
				return err
			}
		}
		return nil
	})

	want := models.Principal{SessionID: s.ID, SessionExpiresAt: s.ExpiresAt, DeviceID: d.ID, DeviceRevokedAt: &revoked,
		UserID: u.ID, Username: u.Username, Role: u.Role, UnitID: unit.ID, UnitPath: unit.Path, MustChangePassword: true}
	var got, got2 models.Principal
	err := db.Read(context.Background(), func(tx models.Tx) (err error) {
		if got, err = tx.Principal(s.ID); err != nil {
			return err
		}
		got2, err = tx.Principal(s2.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !samePrincipal(got, want) {
		t.Errorf("principal\n got %+v\nwant %+v", got, want)
	}
	want.SessionID, want.SessionExpiresAt, want.SessionRevokedAt = s2.ID, s2.ExpiresAt, &revoked
	if !samePrincipal(got2, want) {
		t.Errorf("revoked session's principal\n got %+v\nwant %+v", got2, want)
	}

	mustTx(t, db, func(tx models.Tx) error {
		if _, err := tx.Principal(newID()); !models.IsNotFound(err) {
			t.Errorf("an unknown session: %v, want not found", err)
		}
		return nil
	})
}

func samePrincipal(a, b models.Principal) bool {
	sameTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	ta, tb := a.SessionRevokedAt, b.SessionRevokedAt
	da, dbr := a.DeviceRevokedAt, b.DeviceRevokedAt
	if !sameTime(ta, tb) || !sameTime(da, dbr) || !a.SessionExpiresAt.Equal(b.SessionExpiresAt) {
		return false
	}
	a.SessionRevokedAt, b.SessionRevokedAt, a.DeviceRevokedAt, b.DeviceRevokedAt = nil, nil, nil, nil
	a.SessionExpiresAt, b.SessionExpiresAt = time.Time{}, time.Time{}
	return a == b
}
