package sync

import (
	"context"
	"errors"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// pullNoteEvery is how often a client's pull position is written down. A
// write on every pull would turn each pull, a read, into a write
// transaction for a figure operators read by hand; once a minute per
// active device is a small share of what its pushes write.
const pullNoteEvery = time.Minute

// notePull records where a pull left the client's cursor, registering a
// client that has only pulled so far. A failure is logged, not returned:
// the device has its page, and the next pull notes it again.
func (e *Engine) notePull(ctx context.Context, a models.Actor, clientID string, pg pageInfo) {
	now := e.now()
	seq := pg.to
	var err error
	switch c := pg.client; {
	case c == nil:
		err = e.store.Tx(ctx, func(tx models.Tx) error {
			return tx.Create(&models.SyncClient{ID: clientID, UserID: a.UserID, DeviceID: a.DeviceID, CreatedAt: now, UpdatedAt: now,
				PulledSeq: &seq, PulledEpoch: pg.epoch, PulledAt: &now})
		})
		if errors.Is(err, models.ErrDuplicate) {
			err = nil // a concurrent push or pull registered it first
		}
	case c.UserID != a.UserID || c.DeviceID != a.DeviceID:
		// Another device's client id: its push is refused, and its
		// position is not this device's to record.
	case c.PulledAt != nil && now.Sub(*c.PulledAt) < pullNoteEvery:
		// Noted within the minute.
	default:
		// The condition, not the row read before, decides: of two
		// processes noting the same client at once, one writes.
		recent := models.Cond{Op: models.OpAny, Value: []models.Cond{{Column: clientCol.PulledAt, Op: models.OpNull},
			{Column: clientCol.PulledAt, Op: models.OpLt, Value: now.Add(-pullNoteEvery)}}}
		err = e.store.Tx(ctx, func(tx models.Tx) error {
			_, err := tx.UpdateWhere(&models.SyncClient{}, []models.Cond{models.Eq(clientCol.ID, clientID), recent},
				models.Set{clientCol.PulledSeq: seq, clientCol.PulledEpoch: pg.epoch, clientCol.PulledAt: now})
			return err
		})
	}
	if err != nil && ctx.Err() == nil {
		e.log.Warn("sync: noting a pull's position failed", "client_id", clientID, "err", err)
	}
}

// Client is one sync client's bookkeeping, as operators inspect it. A
// client id names one user on one device; a device has several when its
// app was reinstalled or another user signed in on it.
type Client struct {
	ID             string
	UserID         string
	DeviceID       string
	LastMutationID int64
	// LastMutationAt is when the last mutation was applied (when the
	// client registered, if none was).
	LastMutationAt time.Time
	// PulledSeq is where the last noted pull (at PulledAt, in PulledEpoch)
	// left the cursor; nil before the first. Pulls are noted at most once
	// a minute, so it may trail the device by a minute's changes.
	PulledSeq   *int64
	PulledEpoch string
	PulledAt    *time.Time
	CreatedAt   time.Time
}

// ClientFilter selects clients; empty fields select all.
type ClientFilter struct {
	UserID   string
	DeviceID string
}

// Clients lists the sync clients that match f, oldest first.
func (e *Engine) Clients(ctx context.Context, f ClientFilter) ([]Client, error) {
	var conds []models.Cond
	if f.UserID != "" {
		conds = append(conds, models.Eq(clientCol.UserID, f.UserID))
	}
	if f.DeviceID != "" {
		conds = append(conds, models.Eq(clientCol.DeviceID, f.DeviceID))
	}
	var rows []models.SyncClient
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		return tx.List(&rows, models.Query{Where: conds, OrderBy: models.OrderBy(clientCol.CreatedAt, clientCol.ID)})
	})
	out := make([]Client, len(rows))
	for i, r := range rows {
		out[i] = Client{ID: r.ID, UserID: r.UserID, DeviceID: r.DeviceID, LastMutationID: r.LastMutationID, LastMutationAt: r.UpdatedAt,
			PulledSeq: r.PulledSeq, PulledEpoch: r.PulledEpoch, PulledAt: r.PulledAt, CreatedAt: r.CreatedAt}
	}
	return out, err
}

// Rejection is a mutation the server refused, with what the device was
// told.
type Rejection struct {
	MutationID int64
	Name       string
	Code       string
	Message    string
	At         time.Time
}

// Rejections returns a client's last rejected mutations, newest first, at
// most limit. Results are kept for ResultRetention.
func (e *Engine) Rejections(ctx context.Context, clientID string, limit int) ([]Rejection, error) {
	var rows []models.SyncResult
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		return tx.List(&rows, models.Query{Where: []models.Cond{models.Eq(resultCol.ClientID, clientID), models.Eq(resultCol.Status, StatusRejected)},
			OrderBy: models.OrderBy(resultCol.MutationID.Desc()), Limit: limit})
	})
	out := make([]Rejection, len(rows))
	for i, r := range rows {
		out[i] = Rejection{MutationID: r.MutationID, Name: r.Name, Code: r.Code, Message: r.Message, At: r.CreatedAt}
	}
	return out, err
}

// LogHead is the change log's position: the last stamped number, the
// epoch, and the floor at or below which removes were compacted away.
type LogHead struct {
	Seq          int64
	Epoch        string
	RetainedFrom int64
}

// Head reads the change log's position.
func (e *Engine) Head(ctx context.Context) (LogHead, error) {
	if _, err := e.Epoch(ctx); err != nil {
		return LogHead{}, err
	}
	var h LogHead
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		var err error
		h.Epoch, h.RetainedFrom, h.Seq, err = logBounds(tx)
		return err
	})
	return h, err
}

// Waiting counts the stamped change rows after seq in the scopes a syncs:
// what a's next pull from there reads (a record changed twice in them is
// sent once).
func (e *Engine) Waiting(ctx context.Context, a models.Actor, after int64) (int64, error) {
	var n int64
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		var err error
		n, err = tx.Count(&models.Change{}, []models.Cond{{Column: changeCol.Seq, Op: models.OpGt, Value: after}, e.svc.NewSyncView(a).Scopes()})
		return err
	})
	return n, err
}
