package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// ErrMutationIDsReused means the server has seen mutation ids for this
// client that its Store never assigned: the DeviceID is being used with a
// new or restored Store. The server answers such ids with the results of
// the mutations it saw first, so the Client stops rather than drop the
// outbox as if it had been applied.
var ErrMutationIDsReused = errors.New("fieldsync: the server knows mutation ids this store never assigned (DeviceID reused with a new or restored Store)")

// maxResets bounds the resets one Pull follows.
const maxResets = 3

// PushReport tells what one Push did.
type PushReport struct {
	Sent     int              // mutations sent, counted once per batch however many attempts it took
	Applied  int              // mutations the server applied
	Rejected []MutationResult // mutations the server refused for good, with code and message
	// LastMutationID is the server's last processed mutation id for this
	// client after the last batch.
	LastMutationID int64
}

// PullReport tells what one Pull did.
type PullReport struct {
	Pages   int // pages applied
	Upserts int
	Removes int
	// Bytes counts the response bodies after decompression,
	// CompressedBytes as they arrived.
	Bytes           int
	CompressedBytes int
	Reset           bool // the server asked for a reset, which was done
}

// Push sends the outbox in batches of PushBatch, oldest first. Each
// mutation the server answers, applied or rejected, is dropped from the
// outbox, as is every one with an id up to the server's
// last_mutation_id. A batch whose answer is lost is sent again, the same
// mutations with the same ids; the server answers a repeat from the
// results it stored, so each mutation takes effect once.
//
// Mutations enqueued while Push runs wait for the next one. A 426 is
// ErrUpgradeRequired and a 409 mutation_gap ErrMutationGap (both also
// *APIError); the outbox is then left as it was. A 413 halves the batch.
func (c *Client) Push(ctx context.Context) (PushReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.push(ctx)
}

func (c *Client) push(ctx context.Context) (PushReport, error) {
	var rep PushReport
	out := c.store.Outbox()
	if len(out) == 0 {
		return rep, nil
	}
	hi, size := out[len(out)-1].ID, c.batch
	for {
		if len(pending(c.store.Outbox(), hi, size)) == 0 {
			return rep, nil
		}
		var sent []Mutation
		// The body is rebuilt from the stored outbox in each attempt, so a
		// repeat carries exactly the mutations still unanswered.
		body := func() ([]byte, error) {
			sent = pending(c.store.Outbox(), hi, size)
			return json.Marshal(PushRequest{ClientID: c.deviceID, SchemaVersion: SchemaVersion, Mutations: sent})
		}
		res, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/sync/push", body: body, auth: true, safe: true})
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusRequestEntityTooLarge && len(sent) > 1 {
			size = len(sent) / 2
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("fieldsync: push: %w", err)
		}
		var pr PushResponse
		if err := res.decode(&pr); err != nil {
			return rep, fmt.Errorf("fieldsync: push: %w", err)
		}
		rep.Sent += len(sent)
		rep.LastMutationID = pr.LastMutationID
		if pr.LastMutationID > c.store.LastMutationID() {
			return rep, fmt.Errorf("fieldsync: push: server's last_mutation_id %d > local %d: %w",
				pr.LastMutationID, c.store.LastMutationID(), ErrMutationIDsReused)
		}
		ids := make([]int64, 0, len(pr.Results))
		for _, r := range pr.Results {
			ids = append(ids, r.ID)
			if r.Status == StatusApplied {
				rep.Applied++
			} else {
				rep.Rejected = append(rep.Rejected, r)
			}
		}
		if err := c.store.Update(func(tx StoreTx) {
			tx.Remove(ids...)
			tx.RemoveThrough(pr.LastMutationID)
		}); err != nil {
			return rep, fmt.Errorf("fieldsync: push: %w", err)
		}
		if left := pending(c.store.Outbox(), hi, size); len(left) > 0 && left[0].ID == sent[0].ID {
			return rep, fmt.Errorf("fieldsync: push: the server answered none of mutations %d..%d (last_mutation_id %d)",
				sent[0].ID, sent[len(sent)-1].ID, pr.LastMutationID)
		}
	}
}

// pending returns up to n outbox mutations with ids up to hi.
func pending(outbox []Mutation, hi int64, n int) []Mutation {
	var out []Mutation
	for _, m := range outbox {
		if m.ID <= hi && len(out) < n {
			out = append(out, m)
		}
	}
	return out
}

// Pull brings the local store up to date, page by page: each page's
// upserts (keyed by the record's "id") and removes are applied and the
// cursor after it saved in one Store update, so an interrupted Pull
// resumes after the last page applied. The outbox mutations up to the
// page's last_mutation_id are dropped: the server has processed them.
//
// When the server answers reset (or refuses the cursor with
// sync_cursor_invalid), Pull pushes the outbox, drops every
// record and the cursor (keeping the outbox and the mutation counter) and
// pulls from the start; the report's Reset is then true. A failed push
// leaves the store untouched.
func (c *Client) Pull(ctx context.Context) (PullReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.pull(ctx)
}

func (c *Client) pull(ctx context.Context) (PullReport, error) {
	var rep PullReport
	cursor, resets := c.store.Cursor(), 0
	for {
		body, err := marshalBody(PullRequest{ClientID: c.deviceID, Cursor: cursor, SchemaVersion: SchemaVersion, Limit: c.limit})
		if err != nil {
			return rep, err
		}
		res, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/sync/pull", body: body, auth: true, safe: true})
		var page PullResponse
		var apiErr *APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Code == CodeSyncCursorInvalid && cursor != nil:
			// A cursor the server no longer accepts (e.g. after a key
			// change): it says to start again, which is a reset.
			page.Reset = true
		case err != nil:
			return rep, fmt.Errorf("fieldsync: pull: %w", err)
		default:
			rep.Bytes += len(res.body)
			rep.CompressedBytes += res.wire
			if err := res.decode(&page); err != nil {
				return rep, fmt.Errorf("fieldsync: pull: %w", err)
			}
		}
		if page.Reset {
			if cursor == nil || resets == maxResets {
				return rep, fmt.Errorf("fieldsync: pull: reset answered to a pull from cursor %v after %d resets", cursor, resets)
			}
			resets++
			if _, err := c.push(ctx); err != nil {
				return rep, fmt.Errorf("fieldsync: pull: push before reset: %w", err)
			}
			if err := c.store.Update(func(tx StoreTx) { tx.Reset() }); err != nil {
				return rep, fmt.Errorf("fieldsync: pull: reset: %w", err)
			}
			rep.Reset, cursor = true, nil
			continue
		}
		if page.Cursor == "" {
			return rep, errors.New("fieldsync: pull: page without a cursor")
		}
		ups, rms, err := pageChanges(page.Changes)
		if err != nil {
			return rep, fmt.Errorf("fieldsync: pull: %w", err)
		}
		idsReused := false
		err = c.store.Update(func(tx StoreTx) {
			for _, u := range ups {
				tx.Put(u.entity, u.id, u.rec)
			}
			for _, r := range rms {
				tx.Delete(r.entity, r.id)
			}
			tx.SetCursor(&page.Cursor)
			switch {
			case page.LastMutationID <= tx.LastMutationID():
				tx.RemoveThrough(page.LastMutationID)
			case len(tx.Outbox()) == 0:
				// A store that lost its counter (reinstalled app, fresh
				// store under an old DeviceID): continue after the server.
				tx.AdvanceMutationID(page.LastMutationID)
			default:
				idsReused = true
			}
		})
		if err != nil {
			return rep, fmt.Errorf("fieldsync: pull: %w", err)
		}
		rep.Pages++
		rep.Upserts += len(ups)
		rep.Removes += len(rms)
		if idsReused {
			return rep, fmt.Errorf("fieldsync: pull: server's last_mutation_id %d: %w", page.LastMutationID, ErrMutationIDsReused)
		}
		if !page.HasMore {
			return rep, nil
		}
		if len(ups)+len(rms) == 0 && cursor != nil && *cursor == page.Cursor {
			return rep, errors.New("fieldsync: pull: has_more with an empty page and an unchanged cursor")
		}
		cursor = &page.Cursor
	}
}

// change is one upsert (rec set) or remove of a page.
type change struct {
	entity, id string
	rec        json.RawMessage
}

// pageChanges checks a page's changes before any is applied: every
// upsert must be an object with a string id. Upserts are applied before
// removes, so a record a page both sends and removes ends up removed.
func pageChanges(changes map[string]*EntityChanges) (ups, rms []change, err error) {
	for entity, ch := range changes {
		if ch == nil {
			continue
		}
		for i, rec := range ch.Upserts {
			var head struct {
				ID *string `json:"id"`
			}
			if err := json.Unmarshal(rec, &head); err != nil || head.ID == nil || *head.ID == "" {
				return nil, nil, fmt.Errorf("%s upsert %d has no string id", entity, i)
			}
			ups = append(ups, change{entity, *head.ID, rec})
		}
		for _, id := range ch.Removes {
			rms = append(rms, change{entity: entity, id: id})
		}
	}
	return ups, rms, nil
}

// Sync pushes the outbox, then pulls.
func (c *Client) Sync(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if _, err := c.push(ctx); err != nil {
		return err
	}
	_, err := c.pull(ctx)
	return err
}
