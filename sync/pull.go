package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/fieldsync/fieldsync/models"
)

// EntityChanges is what changed of one entity in a page.
type EntityChanges struct {
	Upserts []json.RawMessage
	Removes []string
}

// PullRequest asks for the changes after Cursor (nil: everything).
type PullRequest struct {
	ClientID      string
	Cursor        *string
	SchemaVersion int
	Limit         int
}

// PullResult is one page.
type PullResult struct {
	Changes        map[string]*EntityChanges
	Cursor         string
	HasMore        bool
	LastMutationID int64
	Reset          bool
}

// Pull returns the next page of changes the actor may see. Only the
// latest version of each record is sent: a change row names a record, and
// the record is read as it is now.
func (e *Engine) Pull(ctx context.Context, a models.Actor, req PullRequest) (PullResult, error) {
	if err := checkSchema(req.SchemaVersion); err != nil {
		return PullResult{}, err
	}
	if !models.ValidID(req.ClientID) {
		return PullResult{}, models.FieldError(models.CodeInvalidID, "client_id", "client_id must be a UUID")
	}
	leave, err := e.enter(ctx)
	if err != nil {
		return PullResult{}, err
	}
	defer leave()
	limit := e.limits.PullRows
	if req.Limit > 0 && req.Limit < limit {
		limit = req.Limit
	}
	var c *cursor
	if req.Cursor != nil {
		dc, err := e.decodeCursor(*req.Cursor)
		if err != nil {
			return PullResult{}, err
		}
		c = &dc
	}
	view := viewKey(a)
	var (
		res PullResult
		pg  pageInfo
	)
	err = e.pullPage(ctx, a, req, c, view, limit, &res, &pg)
	if models.IsNotFound(err) {
		// A log that has never been pulled from has no epoch yet.
		if _, err = e.Epoch(ctx); err == nil {
			err = e.pullPage(ctx, a, req, c, view, limit, &res, &pg)
		}
	}
	if err != nil {
		return res, err
	}
	switch {
	case res.Reset:
		e.metrics.pulls.WithLabelValues(pullReset).Inc()
		return res, nil
	case c == nil:
		e.metrics.pulls.WithLabelValues(pullInitial).Inc()
	default:
		e.metrics.pulls.WithLabelValues(pullDelta).Inc()
		e.metrics.pullLag.Observe(float64(max(0, pg.head-c.Seq)))
	}
	e.notePull(ctx, a, req.ClientID, pg)
	return res, nil
}

// pageInfo is what a page's snapshot said besides the page itself.
type pageInfo struct {
	client *models.SyncClient // nil when the client id is not registered
	head   int64              // the last stamped number
	to     int64              // where the page's cursor stands
	epoch  string
}

// readLog runs fn in a read-only snapshot of the log, with the horizon:
// the counter's value read by a statement of its own that completed before
// the snapshot began. Every number up to the horizon is visible in the
// snapshot; a number above it may not be yet, while a higher one already
// is, so a reader goes no further than the horizon.
//
// Why the snapshot's own counter is not enough: MariaDB builds a read
// view by walking its table of active transactions without stopping
// commits, so a view begun while transaction A (numbers ..n) commits can
// list A as still active and yet show B (n+1..), which took the counter
// after A committed and finished committing before the walk reached it.
// The view then shows B's rows and the counter at B's value, but not A's
// rows, and a cursor moved past n would skip them for ever (three copies
// of TestCommitOrder run at once saw this in 6 and 12 of 450 runs). The
// numberer whose value the horizon's statement read had committed before
// that statement ended, and every earlier numberer had committed before
// it took the counter's lock: all of them are visible to a view begun
// after the statement.
// SQLite's snapshot is one point in its single writer's commits; the
// horizon costs it a read and changes nothing there.
func (e *Engine) readLog(ctx context.Context, fn func(tx models.Tx, horizon int64) error) error {
	var st models.SyncState
	if err := e.store.Read(ctx, func(tx models.Tx) error { return tx.Get(&st, models.SyncStateSeq) }); err != nil {
		return err
	}
	return e.store.Snapshot(ctx, func(tx models.Tx) error { return fn(tx, st.Num) })
}

// pullPage reads one page in one snapshot, so that the log's bounds and
// its rows agree, up to the horizon (readLog).
func (e *Engine) pullPage(ctx context.Context, a models.Actor, req PullRequest, c *cursor, view string, limit int, out *PullResult, info *pageInfo) error {
	var (
		res PullResult
		pg  pageInfo
	)
	err := e.readLog(ctx, func(tx models.Tx, horizon int64) error {
		res, pg = PullResult{Changes: map[string]*EntityChanges{}}, pageInfo{}
		client, err := loadClient(tx, req.ClientID)
		if err != nil {
			return err
		}
		pg.client = client
		if client != nil && client.UserID == a.UserID {
			res.LastMutationID = client.LastMutationID
		}
		// The epoch and the retained floor are read in the same snapshot
		// as the page, so a compaction cannot slip in between.
		epoch, floor, stamped, err := logBounds(tx)
		if err != nil {
			return err
		}
		pg.head, pg.epoch = stamped, epoch
		var from int64
		if c != nil {
			// Removes in (c.Seq, floor] were compacted away after this
			// cursor was issued: the device may have missed them.
			missed := c.Seq < floor && floor > c.Floor
			if c.Epoch != epoch || c.Schema != SchemaVersion || c.View != view || missed {
				res.Reset = true
				return nil
			}
			from = c.Seq
		}
		sv := e.svc.NewSyncView(a)
		var rows []models.Change
		if err := tx.List(&rows, models.Query{
			Where: []models.Cond{
				{Column: changeCol.Seq, Op: models.OpGt, Value: from},
				{Column: changeCol.Seq, Op: models.OpLe, Value: horizon},
				sv.Scopes(),
			},
			OrderBy: models.OrderBy(changeCol.Seq), Limit: limit + 1,
		}); err != nil {
			return err
		}
		if len(rows) > limit {
			rows, res.HasMore = rows[:limit], true
		}
		to, more, err := e.page(tx, sv, rows, res.Changes)
		res.HasMore = res.HasMore || more
		if to == 0 {
			to = from
		}
		if !res.HasMore {
			// Every row of the scope up to the horizon has been read: the
			// cursor can stand there.
			to = max(to, horizon)
		}
		res.Cursor = e.encodeCursor(cursor{Seq: to, Epoch: epoch, Schema: SchemaVersion, View: view, Floor: floor})
		pg.to = to
		return err
	})
	*out, *info = res, pg
	return err
}

// logBounds reads, in the page's snapshot, the log's epoch, the floor
// below which removes were compacted away, and the last stamped number.
// They are three rows of sync_state, read in one statement.
func logBounds(tx models.Tx) (epoch string, floor, stamped int64, err error) {
	names := []string{models.SyncStateEpoch, models.SyncStateRetainedFrom, models.SyncStateSeq}
	var rows []models.SyncState
	if err := tx.List(&rows, models.Query{Where: []models.Cond{{Column: stateCol.Name, Op: models.OpIn, Value: names}}, OrderBy: models.OrderBy(stateCol.Name)}); err != nil {
		return "", 0, 0, err
	}
	got := map[string]models.SyncState{}
	for _, r := range rows {
		got[r.Name] = r
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			return "", 0, 0, fmt.Errorf("sync: the log's %s is not recorded: %w", n, models.ErrNotFound)
		}
	}
	return got[models.SyncStateEpoch].Text, got[models.SyncStateRetainedFrom].Num, got[models.SyncStateSeq].Num, nil
}

// viewKey names what an actor may see: a cursor made for one view (a user
// with a role in a unit) is no good for another, since no change rows
// tell a device about records it gains or loses when its user moves.
func viewKey(a models.Actor) string {
	h := sha256.Sum256([]byte(a.UserID + "|" + a.Role + "|" + a.UnitPath))
	return hex.EncodeToString(h[:6])
}

// loadClient reads a sync client's row, nil when there is none.
func loadClient(tx models.Tx, clientID string) (*models.SyncClient, error) {
	var c models.SyncClient
	err := tx.Get(&c, clientID)
	if models.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// page turns change rows into the page's changes, reading each record as
// it is now: a row only says that a record changed for a scope. A record
// that exists and that the actor may see is sent as an upsert, anything
// else as a remove, whatever the rows' operations (a late remove row from
// a concurrent transaction cannot delete what the device still needs).
// It stops once the upserts pass the byte limit, and returns the sequence
// number of the last row it covered and whether it stopped early.
func (e *Engine) page(tx models.Tx, view *models.SyncView, rows []models.Change, out map[string]*EntityChanges) (int64, bool, error) {
	type key struct{ entity, id string }
	listed := map[key]bool{}
	ids := map[string][]string{}
	for _, r := range rows {
		k := key{r.Entity, r.RecordID}
		if !listed[k] {
			ids[r.Entity] = append(ids[r.Entity], r.RecordID)
			listed[k] = true
		}
	}
	if err := view.Load(tx, slices.Collect(maps.Keys(ids))); err != nil {
		return 0, false, err
	}
	records := map[key]any{}
	for entity, list := range ids {
		loaded, err := load(tx, entity, list)
		if err != nil {
			return 0, false, err
		}
		for id, rec := range loaded {
			records[key{entity, id}] = rec
		}
	}
	sent := map[key]bool{}
	bytes := 0
	var covered int64
	for _, r := range rows {
		k := key{r.Entity, r.RecordID}
		if sent[k] {
			covered = *r.Seq
			continue
		}
		ch := out[r.Entity]
		if ch == nil {
			ch = &EntityChanges{Upserts: []json.RawMessage{}, Removes: []string{}}
		}
		rec, ok := records[k]
		if ok && view.Visible(rec) {
			b, err := json.Marshal(rec)
			if err != nil {
				return 0, false, err
			}
			if bytes > 0 && bytes+len(b) > e.limits.PullBytes {
				return covered, true, nil
			}
			bytes += len(b)
			ch.Upserts = append(ch.Upserts, b)
		} else {
			ch.Removes = append(ch.Removes, r.RecordID)
		}
		out[r.Entity] = ch
		sent[k] = true
		covered = *r.Seq
	}
	return covered, false, nil
}

// load reads the current records of one entity by id.
func load(tx models.Tx, entity string, ids []string) (map[string]any, error) {
	if e, ok := models.SyncEntityNamed(entity); ok {
		return e.Load(tx, ids)
	}
	return nil, fmt.Errorf("sync: the change log names an unknown entity %q", entity)
}
