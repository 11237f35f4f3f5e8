package sync

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Compactor deletes change rows that a newer row for the same record and
// scope supersedes. It is one set-based statement, so it lives with the
// database adapter.
type Compactor interface {
	DeleteSupersededChanges(ctx context.Context) (int64, error)
}

// CompactStats says what a compaction removed.
type CompactStats struct {
	Superseded     int64
	ExpiredRemoves int64
	Results        int64
	RetainedFrom   int64
}

// Compact shrinks the log: superseded rows go (the newer row carries the
// record's state), removes older than Retention go and move the retained
// floor up (a device whose cursor is below it resets), and mutation
// results older than ResultRetention go.
func (e *Engine) Compact(ctx context.Context, now time.Time) (CompactStats, error) {
	var st CompactStats
	if e.Compactor != nil {
		n, err := e.Compactor.DeleteSupersededChanges(ctx)
		if err != nil {
			return st, err
		}
		st.Superseded = n
	}
	cutoff := now.Add(-e.Retention).UTC()
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		expired := []models.Cond{models.Eq(changeCol.Op, models.OpRemove), {Column: changeCol.Seq, Op: models.OpNotNull},
			{Column: changeCol.CreatedAt, Op: models.OpLt, Value: cutoff}}
		var newest models.Change
		err := tx.First(&newest, models.Query{Where: expired, OrderBy: models.OrderBy(changeCol.Seq.Desc())})
		if models.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		floor := *newest.Seq
		// Raise the floor before deleting, in the same transaction: no
		// reader can see the rows gone while the floor is still low.
		if _, err := tx.UpdateWhere(&models.SyncState{}, []models.Cond{models.Eq(stateCol.Name, models.SyncStateRetainedFrom), {Column: stateCol.Num, Op: models.OpLt, Value: floor}},
			models.Set{stateCol.Num: floor}); err != nil {
			return err
		}
		st.RetainedFrom = floor
		st.ExpiredRemoves, err = tx.Delete(&models.Change{}, append(expired, models.Cond{Column: changeCol.Seq, Op: models.OpLe, Value: floor}))
		return err
	})
	if err != nil {
		return st, err
	}
	err = e.store.Tx(ctx, func(tx models.Tx) error {
		var err error
		st.Results, err = tx.Delete(&models.SyncResult{}, []models.Cond{{Column: resultCol.CreatedAt, Op: models.OpLt, Value: now.Add(-e.ResultRetention).UTC()}})
		return err
	})
	return st, err
}
