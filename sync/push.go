package sync

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Mutation is one intent recorded on a device.
type Mutation struct {
	ID   int64
	Name string
	Args json.RawMessage
}

// Mutation outcomes.
const (
	StatusApplied  = "applied"
	StatusRejected = "rejected"
)

// MutationResult is what became of one mutation.
type MutationResult struct {
	ID     int64
	Status string
	Code   string
	// Message is the service's own words (English). Field and Args are
	// the rejection's field and specifics, for the API to render the
	// catalog's message for Code in the device's language; a result read
	// back from mutation_results (a retried batch) has Code and Message
	// only.
	Message string
	Field   string
	Args    map[string]any
	// Forgotten says the mutation was applied earlier and its result is no
	// longer kept (ResultRetention).
	Forgotten     bool
	ServerVersion *int64
}

// PushRequest carries a device's mutations, in id order.
type PushRequest struct {
	ClientID      string
	SchemaVersion int
	Mutations     []Mutation
}

// PushResult answers a push.
type PushResult struct {
	LastMutationID int64
	Results        []MutationResult
}

// resultOf is the answer a stored result gives a retried mutation.
func resultOf(r models.SyncResult) MutationResult {
	return MutationResult{ID: r.MutationID, Status: r.Status, Code: r.Code, Message: r.Message, ServerVersion: r.ServerVersion}
}

// errRace means another request applied the same mutation first.
var errRace = errors.New("sync: mutation applied by a concurrent request")

// Push applies a device's mutations in order, each exactly once: the
// client's last mutation id is advanced in the same transaction as the
// mutation's effects, a mutation already applied is answered with its
// stored result, and a rejected one still advances the id (otherwise the
// device would be stuck behind it for ever).
func (e *Engine) Push(ctx context.Context, a models.Actor, req PushRequest) (PushResult, error) {
	if err := checkSchema(req.SchemaVersion); err != nil {
		return PushResult{}, err
	}
	if !models.ValidID(req.ClientID) {
		return PushResult{}, models.FieldError(models.CodeInvalidID, "client_id", "client_id must be a UUID")
	}
	if len(req.Mutations) > e.limits.PushBatch {
		return PushResult{}, models.Errorf(models.CodeBatchTooLarge, "send at most %d mutations per push", e.limits.PushBatch)
	}
	for i, m := range req.Mutations {
		if m.ID < 1 || (i > 0 && m.ID != req.Mutations[i-1].ID+1) {
			return PushResult{}, models.FieldError(models.CodeMutationOrder, "mutations", "mutation ids must be consecutive and start at 1 or more")
		}
	}
	leave, err := e.enter(ctx)
	if err != nil {
		return PushResult{}, err
	}
	defer leave()
	// The usual push, a known client's next mutations, goes straight to
	// its batch: the batch's UPDATE matches only this device's client row
	// at the mutation before the first, so its success proves what
	// reading the row first would have. Anything else (a new client, a
	// retry, a gap, a rejection) takes the way below.
	if batch, ok := e.applyBatch(ctx, a, req.ClientID, req.Mutations); ok {
		e.metrics.mutations.WithLabelValues(StatusApplied).Add(float64(len(batch)))
		return PushResult{LastMutationID: req.Mutations[len(req.Mutations)-1].ID, Results: batch}, nil
	}
	client, err := e.client(ctx, a, req.ClientID)
	if err != nil {
		return PushResult{}, err
	}
	if len(req.Mutations) > 0 && req.Mutations[0].ID > client.LastMutationID+1 {
		skipped, err := e.skipLostMutations(ctx, &client, req.Mutations[0].ID)
		if err != nil {
			return PushResult{}, err
		}
		if !skipped {
			return PushResult{LastMutationID: client.LastMutationID, Results: []MutationResult{}},
				models.Errorf(models.CodeMutationGap, "the server has applied mutations up to %d, so %d would leave a gap; resend from %d",
					client.LastMutationID, req.Mutations[0].ID, client.LastMutationID+1)
		}
	}
	res := PushResult{LastMutationID: client.LastMutationID, Results: []MutationResult{}}
	muts := req.Mutations
	// Repeats of mutations applied before are answered from their stored
	// results; the new ones that follow go in one transaction if they can.
	for len(muts) > 0 && muts[0].ID <= client.LastMutationID {
		r, err := e.applyOne(ctx, a, client, muts[0])
		if err != nil {
			return res, err
		}
		res.Results = append(res.Results, r)
		muts = muts[1:]
	}
	if batch, ok := e.applyBatch(ctx, a, client.ID, muts); ok {
		res.Results = append(res.Results, batch...)
		e.metrics.mutations.WithLabelValues(StatusApplied).Add(float64(len(batch)))
		muts = nil
	}
	for _, m := range muts {
		r, err := e.applyOne(ctx, a, client, m)
		if err != nil {
			return res, err
		}
		res.Results = append(res.Results, r)
	}
	if n := len(req.Mutations); n > 0 {
		res.LastMutationID = max(res.LastMutationID, req.Mutations[n-1].ID)
	}
	return res, nil
}

// client loads the sync client, registering it on first use. A client id
// belongs to one user on one device.
func (e *Engine) client(ctx context.Context, a models.Actor, id string) (models.SyncClient, error) {
	var c models.SyncClient
	get := func(tx models.Tx) error { return tx.Get(&c, id) }
	err := e.store.Read(ctx, get)
	if models.IsNotFound(err) {
		now := e.now()
		c = models.SyncClient{ID: id, UserID: a.UserID, DeviceID: a.DeviceID, CreatedAt: now, UpdatedAt: now}
		err = e.store.Tx(ctx, func(tx models.Tx) error { return tx.Create(&c) })
		if errors.Is(err, models.ErrDuplicate) {
			err = e.store.Read(ctx, get)
		}
	}
	if err == nil && (c.UserID != a.UserID || c.DeviceID != a.DeviceID) {
		err = models.Errorf(models.CodeClientOwnedByOther, "this client id belongs to another device; generate a new one")
	}
	return c, err
}

// skipLostMutations lets a client past a gap that restoring a backup made,
// once an epoch has been started since (fieldctl sync new-epoch, run after
// a restore): when its row was last written before the epoch began (it
// came back with the backup), or it has applied nothing (its row was lost
// with the backup), the missing mutations were applied in the future the
// restore lost, and the device, which dropped them once they were
// answered, cannot send them again; without this it would be refused for
// ever. Any other gap is the device's mistake and stays a 409.
func (e *Engine) skipLostMutations(ctx context.Context, c *models.SyncClient, first int64) (bool, error) {
	var ep models.SyncState
	err := e.store.Read(ctx, func(tx models.Tx) error { return tx.Get(&ep, models.SyncStateEpoch) })
	if models.IsNotFound(err) {
		return false, nil
	}
	if err != nil || ep.Num == 0 {
		return false, err
	}
	if restored, lost := c.UpdatedAt.Before(time.UnixMicro(ep.Num)), c.LastMutationID == 0; !restored && !lost {
		return false, nil
	}
	var n int64
	err = e.store.Tx(ctx, func(tx models.Tx) error {
		var err error
		n, err = tx.UpdateWhere(&models.SyncClient{}, []models.Cond{models.Eq(clientCol.ID, c.ID), models.Eq(clientCol.LastMutationID, c.LastMutationID)},
			models.Set{clientCol.LastMutationID: first - 1, clientCol.UpdatedAt: e.now()})
		return err
	})
	if err != nil || n == 0 {
		// A concurrent push moved the client on: its gap, if any, is
		// answered by the next attempt.
		return false, err
	}
	e.log.Warn("sync: skipping mutations lost with a restored backup", "client_id", c.ID, "user_id", c.UserID,
		"from", c.LastMutationID+1, "to", first-1)
	c.LastMutationID = first - 1
	return true, nil
}

// applyBatch applies new mutations, each exactly once, in one
// transaction: the client's mutation id is advanced over all of them at
// once, their effects and results written together (the records a table
// at a time: HoldInserts), and one commit (one flush of the database's
// log) made per push instead of one per mutation; those commits and
// statements were most of a push's time.
// A push of one mutation takes this way too: the batch's guarded UPDATE
// stands in for reading the client row first (fix 19 in BENCHMARKS.md).
// Anything but success (a rejection, a concurrent request, a version
// conflict, a failure of the database) abandons the whole batch, and it
// reports false: the caller then applies the mutations one by one,
// which handles each of those as before.
func (e *Engine) applyBatch(ctx context.Context, a models.Actor, clientID string, muts []Mutation) ([]MutationResult, bool) {
	if len(muts) == 0 {
		return nil, false
	}
	var results []MutationResult
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		results = results[:0]
		// Any error abandons the batch, so the records can wait and go in
		// one INSERT per table.
		tx.HoldInserts()
		first, last := muts[0].ID, muts[len(muts)-1].ID
		n, err := tx.UpdateWhere(&models.SyncClient{}, []models.Cond{models.Eq(clientCol.ID, clientID), models.Eq(clientCol.LastMutationID, first-1),
			models.Eq(clientCol.UserID, a.UserID), models.Eq(clientCol.DeviceID, a.DeviceID)},
			models.Set{clientCol.LastMutationID: last, clientCol.UpdatedAt: e.now()})
		if err != nil {
			return err
		}
		if n == 0 {
			// No such client of this device, or not at first-1: another
			// request got there first, or the push is not the next one.
			return errNoBatch
		}
		names, args := make([]string, len(muts)), make([]json.RawMessage, len(muts))
		for i, m := range muts {
			names[i], args[i] = m.Name, m.Args
		}
		if err := e.field.Prefetch(tx, names, args); err != nil {
			return err
		}
		rows := make([]models.SyncResult, 0, len(muts))
		now := e.now()
		for _, m := range muts {
			v, err := e.field.ApplyMutation(tx, a, m.Name, m.Args)
			if err != nil {
				return errNoBatch
			}
			results = append(results, MutationResult{ID: m.ID, Status: StatusApplied, ServerVersion: &v})
			rows = append(rows, models.SyncResult{ClientID: clientID, MutationID: m.ID, Name: m.Name, Status: StatusApplied, ServerVersion: &v, CreatedAt: now})
		}
		return tx.Create(&rows)
	})
	if err != nil && !errors.Is(err, errNoBatch) && ctx.Err() == nil {
		e.log.Info("sync: a push batch fell back to one transaction per mutation", "err", err)
	}
	return results, err == nil
}

// errNoBatch abandons a batch transaction.
var errNoBatch = errors.New("sync: the batch needs one transaction per mutation")

// applyOne applies mutation m, or returns the stored result when it was
// applied before.
func (e *Engine) applyOne(ctx context.Context, a models.Actor, client models.SyncClient, m Mutation) (MutationResult, error) {
	clientID := client.ID
	if m.ID <= client.LastMutationID {
		return e.storedOrExpired(ctx, clientID, m.ID)
	}
	res := MutationResult{ID: m.ID, Status: StatusApplied}
	var err error
	// A version conflict or a duplicate key means a concurrent request
	// changed the same record; running the mutation again sees that
	// change, so they are retried before anything counts as a rejection.
	for attempt := 0; attempt < 3; attempt++ {
		err = e.store.Tx(ctx, func(tx models.Tx) error {
			if err := e.advance(tx, clientID, m.ID); err != nil {
				return err
			}
			v, err := e.field.ApplyMutation(tx, a, m.Name, m.Args)
			if err != nil {
				return err
			}
			res.ServerVersion = &v
			return e.record(tx, clientID, m, res)
		})
		if !errors.Is(err, models.ErrVersionConflict) && !errors.Is(err, models.ErrDuplicate) {
			break
		}
	}
	if rej := rejection(err); rej != nil {
		res = MutationResult{ID: m.ID, Status: StatusRejected, Code: string(rej.Code), Message: rej.Message, Field: rej.Field, Args: rej.Args}
		err = e.store.Tx(ctx, func(tx models.Tx) error {
			if err := e.advance(tx, clientID, m.ID); err != nil {
				return err
			}
			return e.record(tx, clientID, m, res)
		})
	}
	if errors.Is(err, errRace) {
		return e.storedOrExpired(ctx, clientID, m.ID)
	}
	if err == nil {
		e.metrics.mutations.WithLabelValues(res.Status).Inc()
	}
	return res, err
}

// storedOrExpired answers a mutation that was applied before: with its
// stored result, or, once results older than ResultRetention are gone,
// as applied without detail.
func (e *Engine) storedOrExpired(ctx context.Context, clientID string, id int64) (MutationResult, error) {
	r, ok, err := e.stored(ctx, clientID, id)
	if err == nil && !ok {
		r = MutationResult{ID: id, Status: StatusApplied, Message: "applied earlier; its result is no longer kept", Forgotten: true}
	}
	return r, err
}

// rejection returns the domain error that rejects a mutation, or nil for
// success and for failures of the server itself (which the device retries).
func rejection(err error) *models.Error {
	if err == nil || errors.Is(err, errRace) {
		return nil
	}
	e := models.AsError(err)
	if e == nil {
		return nil
	}
	switch e.Code.Kind() {
	case models.KindInternal, models.KindUnavailable:
		return nil
	}
	return e
}

// advance moves the client's last mutation id from id-1 to id; if another
// request got there first, it reports errRace.
func (e *Engine) advance(tx models.Tx, clientID string, id int64) error {
	n, err := tx.UpdateWhere(&models.SyncClient{}, []models.Cond{models.Eq(clientCol.ID, clientID), models.Eq(clientCol.LastMutationID, id-1)},
		models.Set{clientCol.LastMutationID: id, clientCol.UpdatedAt: e.now()})
	if err == nil && n == 0 {
		err = errRace
	}
	return err
}

func (e *Engine) record(tx models.Tx, clientID string, m Mutation, r MutationResult) error {
	return tx.Create(&models.SyncResult{ClientID: clientID, MutationID: m.ID, Name: m.Name, Status: r.Status, Code: r.Code,
		Message: truncate(r.Message, 500), ServerVersion: r.ServerVersion, CreatedAt: e.now()})
}

// stored returns the recorded result of an applied mutation.
func (e *Engine) stored(ctx context.Context, clientID string, id int64) (MutationResult, bool, error) {
	var r models.SyncResult
	err := e.store.Read(ctx, func(tx models.Tx) error {
		return tx.First(&r, models.Query{Where: []models.Cond{models.Eq(resultCol.ClientID, clientID), models.Eq(resultCol.MutationID, id)}, OrderBy: models.OrderBy(resultCol.MutationID)})
	})
	switch {
	case err == nil:
		return resultOf(r), true, nil
	case models.IsNotFound(err):
		return MutationResult{}, false, nil
	}
	return MutationResult{}, false, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
