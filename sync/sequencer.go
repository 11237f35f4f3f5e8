package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// stampBatch bounds the rows one stamping transaction numbers.
const stampBatch = 1000

// unnumbered selects the change rows still without a sequence number.
var unnumbered = []models.Cond{{Column: changeCol.Seq, Op: models.OpNull}}

// Stamp gives every committed, unnumbered change row the next sequence
// numbers, and returns how many it stamped. A write numbers its own rows
// as it commits (storage's Tx); unnumbered rows are those a server older
// than that committed: during a rolling upgrade, or before it. Run calls
// Stamp every StampEvery for them.
//
// Why this is commit-ordered: a writer's change row becomes visible only
// when its transaction commits, so the stamper only ever sees committed
// rows. Stampers serialise on the lock of the 'seq' counter row (taken by
// the first statement, before the transaction reads anything), so each
// one numbers after every earlier one has committed, and all numbers of
// one stamping become visible at once. A reader can therefore never see
// seq n+1 while n is still to come, which is the trap an AUTO_INCREMENT id
// or a timestamp cursor falls into.
//
// Two callers (two processes' tickers) serialise on the counter row's
// lock; within a process only Run's ticker calls it.
//
// It looks for an unnumbered row first, in a plain read that takes no
// lock: such rows are rare, and taking the counter's lock five times a
// second for nothing put every write behind the ticker's round trips. A
// row committed just after that read waits for the next tick.
func (e *Engine) Stamp(ctx context.Context) (int, error) {
	var pending []models.Change
	err := e.store.Read(ctx, func(tx models.Tx) error {
		return tx.List(&pending, models.Query{Where: unnumbered, Limit: 1})
	})
	if err != nil || len(pending) == 0 {
		return 0, err
	}
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
		counter := []models.Cond{models.Eq(stateCol.Name, models.SyncStateSeq)}
		if _, err := tx.UpdateWhere(&models.SyncState{}, counter, models.Set{stateCol.Text: ""}); err != nil {
			return err
		}
		var st models.SyncState
		if err := tx.Get(&st, models.SyncStateSeq); err != nil {
			return err
		}
		var pending []models.Change
		if err := tx.List(&pending, models.Query{Where: unnumbered, Limit: stampBatch}); err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		if err := number(tx, pending, st.Num+1); err != nil {
			return err
		}
		n, stamped = len(pending), pending
		_, err := tx.UpdateWhere(&models.SyncState{}, counter, models.Set{stateCol.Num: st.Num + int64(n)})
		return err
	})
	if err == nil {
		e.metrics.observeStamped(stamped, time.Now())
	}
	return n, err
}

// number gives the pending rows the numbers from first on, in as few
// statements as the database allows (Tx.SetOnce).
func number(tx models.Tx, pending []models.Change, first int64) error {
	rows := make([][]any, len(pending))
	for i, c := range pending {
		rows[i] = []any{c.ID, first + int64(i)}
	}
	n, err := tx.SetOnce(&models.Change{}, []models.Column{changeCol.Seq}, rows)
	if err == nil && n != int64(len(rows)) {
		err = fmt.Errorf("sync: %d of %d changes were stamped by someone else; the counter lock did not hold", int64(len(rows))-n, len(rows))
	}
	return err
}
