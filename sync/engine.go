// Package sync is the offline-first sync engine: the change log's
// sequencer, signed cursors, pulls, pushes with exactly-once mutations,
// and compaction. It reaches the database only through models.Tx and
// applies mutations through the same models.Service as the REST API.
package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/fieldwork"
)

// SchemaVersion is the version of the sync payloads this build speaks.
const SchemaVersion = 1

// checkSchema refuses payload versions this build does not speak.
func checkSchema(v int) error {
	if v != SchemaVersion {
		return models.Errorf(models.CodeUnsupportedSchema, "this server speaks sync schema %d, not %d; update the app (your unsent work is kept)", SchemaVersion, v)
	}
	return nil
}

// Limits bound pulls and pushes.
type Limits struct {
	PullRows  int // rows per page when the device asks for no limit or more
	PullBytes int // upsert bytes per page (a page always carries one record)
	PushBatch int // mutations per push
	// Concurrent is how many pulls and pushes the engine runs at once;
	// the others wait their turn (enter). A push holds the sequence
	// counter's lock from numbering its changes to its commit, and on a
	// busy machine a goroutine among many waits for a core between its
	// last statements while every push behind it waits for the lock: on
	// two cores at 1,500 mutations/s, 32 at once kept 9–24 pushes queued
	// on the counter, 8 at once 1–1.5 (BENCHMARKS.md, fix 30).
	Concurrent int
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{PullRows: 500, PullBytes: 1 << 20, PushBatch: 100, Concurrent: 8}

// Engine is the sync engine of one server process. Several processes may
// share a database: everything they coordinate on lives in it.
type Engine struct {
	store models.Store
	svc   *models.Service
	// field applies the mutations pushes carry.
	field *fieldwork.Service
	// clock is the service's injected clock (time.Now without a
	// service): the engine's times agree with the records'.
	clock     models.Clock
	cursorKey []byte
	// prevKey still verifies cursors signed before the server secret was
	// rotated, so that a rotation does not make every device resync.
	prevKey []byte
	limits  Limits
	// slots holds one token for each pull or push running (enter).
	slots chan struct{}
	log   *slog.Logger
	// Retention is how long removes stay in the log; a device whose
	// cursor is older is told to reset.
	Retention time.Duration
	// ResultRetention is how long mutation results are kept for retries.
	ResultRetention time.Duration
	// Compactor deletes superseded change rows; nil skips that step.
	Compactor Compactor

	metrics *metrics
}

// Config builds an Engine.
type Config struct {
	Store     models.Store
	Service   *models.Service
	CursorKey []byte
	// PreviousCursorKey is the key before the last secret rotation.
	PreviousCursorKey []byte
	Limits            Limits
	Logger            *slog.Logger
	Compactor         Compactor
}

// New returns an engine.
func New(cfg Config) *Engine {
	l := cfg.Limits
	if l.PullRows <= 0 {
		l.PullRows = DefaultLimits.PullRows
	}
	if l.PullBytes <= 0 {
		l.PullBytes = DefaultLimits.PullBytes
	}
	if l.PushBatch <= 0 {
		l.PushBatch = DefaultLimits.PushBatch
	}
	if l.Concurrent <= 0 {
		l.Concurrent = DefaultLimits.Concurrent
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	clock := models.Clock(time.Now)
	if cfg.Service != nil && cfg.Service.Now != nil {
		clock = cfg.Service.Now
	}
	return &Engine{store: cfg.Store, svc: cfg.Service, field: fieldwork.New(cfg.Service), clock: clock, cursorKey: cfg.CursorKey, prevKey: cfg.PreviousCursorKey, limits: l, slots: make(chan struct{}, l.Concurrent), log: log,
		Retention: 90 * 24 * time.Hour, ResultRetention: 30 * 24 * time.Hour, Compactor: cfg.Compactor, metrics: newMetrics()}
}

// enter waits for one of the engine's Limits.Concurrent slots, or for
// ctx to end; the pull or push that has one calls the returned leave
// when it is done. The wait is timed by the wall clock, not by the
// engine's (injected) one.
func (e *Engine) enter(ctx context.Context) (leave func(), err error) {
	start := time.Now()
	select {
	case e.slots <- struct{}{}:
		e.metrics.slotWait.Observe(time.Since(start).Seconds())
		return func() { <-e.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// now is the time by the engine's clock, in UTC.
func (e *Engine) now() time.Time { return e.clock().UTC() }

// The columns of the tables the engine reads and writes: short names for
// the sets models declares with the tables.
var (
	changeCol = &models.ChangeCols
	stateCol  = &models.SyncStateCols
	clientCol = &models.SyncClientCols
	resultCol = &models.SyncResultCols
)

// Epoch returns the log's epoch, creating it on first use. A restored
// backup gets a new epoch (fieldctl sync new-epoch), so devices that synced
// with the lost future are told to reset.
func (e *Engine) Epoch(ctx context.Context) (string, error) {
	var st models.SyncState
	err := e.store.Tx(ctx, func(tx models.Tx) error { return tx.Get(&st, models.SyncStateEpoch) })
	if err == nil {
		return st.Text, nil
	}
	if !models.IsNotFound(err) {
		return "", err
	}
	err = e.store.Tx(ctx, func(tx models.Tx) error {
		return tx.Create(&models.SyncState{Name: models.SyncStateEpoch, Text: newEpoch()})
	})
	if err != nil && !errors.Is(err, models.ErrDuplicate) {
		return "", err
	}
	err = e.store.Tx(ctx, func(tx models.Tx) error { return tx.Get(&st, models.SyncStateEpoch) })
	return st.Text, err
}

// NewEpoch starts a new epoch: every device resets at its next pull. The
// epoch row keeps when it began (in num, Unix microseconds), so that a
// push can tell a client row restored from a backup (written before) from
// one written since.
func (e *Engine) NewEpoch(ctx context.Context) (string, error) {
	if _, err := e.Epoch(ctx); err != nil {
		return "", err
	}
	epoch := newEpoch()
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		_, err := tx.UpdateWhere(&models.SyncState{}, []models.Cond{models.Eq(stateCol.Name, models.SyncStateEpoch)},
			models.Set{stateCol.Text: epoch, stateCol.Num: e.now().UnixMicro()})
		return err
	})
	return epoch, err
}

func newEpoch() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Run stamps the log continually and compacts it now and then, until ctx
// ends. Every server process runs it; the stamping itself is serialised
// in the database.
func (e *Engine) Run(ctx context.Context, stampEvery, compactEvery time.Duration) {
	stamp := time.NewTicker(stampEvery)
	defer stamp.Stop()
	compact := time.NewTicker(compactEvery)
	defer compact.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stamp.C:
			if _, err := e.Stamp(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("sync: stamping the change log failed", "err", err)
			}
		case <-compact.C:
			if st, err := e.Compact(ctx, e.now()); err != nil && ctx.Err() == nil {
				e.log.Warn("sync: compaction failed", "err", err)
			} else {
				e.log.Info("sync: compacted", "superseded", st.Superseded, "expired_removes", st.ExpiredRemoves, "results", st.Results)
			}
		}
	}
}
