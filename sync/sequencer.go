package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// stampBatch bounds the rows one stamping transaction numbers.
const stampBatch = 1000

// Stamp gives every committed, unnumbered change row the next sequence
// numbers, and returns how many it stamped.
//
// Why this is commit-ordered: a writer's change row becomes visible only
// when its transaction commits, so the stamper only ever sees committed
// rows. Stampers serialise on the lock of the 'seq' counter row (taken by
// the first statement, before the transaction reads anything), so each
// one numbers after every earlier one has committed, and all numbers of
// one stamping become visible at once. A reader can therefore never see
// seq n+1 while n is still to come, which is the trap an AUTO_INCREMENT id
// or a timestamp cursor falls into.
func (e *Engine) Stamp(ctx context.Context) (int, error) {
	// Within a process one stamper is enough; across processes the row
	// lock decides.
	e.stampMu.Lock()
	defer e.stampMu.Unlock()
	total := 0
	for {
		n, err := e.stampOnce(ctx)
		total += n
		if err != nil || n < stampBatch {
			return total, err
		}
	}
}

func (e *Engine) stampOnce(ctx context.Context) (int, error) {
	n := 0
	// stamped is what the last attempt numbered: a transaction that lost
	// a deadlock runs again, and only the committed attempt is measured.
	var stamped []models.Change
	err := e.store.Tx(ctx, func(tx models.Tx) error {
		n, stamped = 0, nil
		// Take the counter's row lock first; text is always empty, so this
		// changes nothing but the lock.
		if _, err := tx.UpdateWhere(&stateRow{}, []models.Cond{models.Eq("name", stateSeq)}, map[string]any{"text": ""}); err != nil {
			return err
		}
		var st stateRow
		if err := tx.Get(&st, stateSeq); err != nil {
			return err
		}
		var pending []models.Change
		if err := tx.List(&pending, models.Query{Where: []models.Cond{{Column: "seq", Op: models.OpNull}}, Limit: stampBatch}); err != nil {
			return err
		}
		for i, c := range pending {
			n, err := tx.UpdateWhere(&models.Change{}, []models.Cond{models.Eq("id", c.ID), {Column: "seq", Op: models.OpNull}},
				map[string]any{"seq": st.Num + int64(i) + 1})
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("sync: change %s was stamped by someone else; the counter lock did not hold", c.ID)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		n, stamped = len(pending), pending
		_, err := tx.UpdateWhere(&stateRow{}, []models.Cond{models.Eq("name", stateSeq)}, map[string]any{"num": st.Num + int64(n)})
		return err
	})
	if err == nil {
		e.metrics.observeStamped(stamped, time.Now())
	}
	return n, err
}
