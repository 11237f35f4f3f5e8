package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// historyBatch is how many notes one history transaction writes: each
// note has two change rows, so a batch is 2,000 rows of the log.
const historyBatch = 1000

// history grows the change log to the spec's History rows with the
// inspectors' own past work, as a long campaign leaves it: field notes
// on their tasks, each written as a pushed note is (the note, and its
// change rows for the author's scope and the task's unit, numbered as
// the transaction commits), the inspectors taking turns. Notes are
// append-only, so compaction keeps every one of their rows: a grown log
// stays grown.
func (b *builder) history() error {
	if b.sp.History == 0 {
		return nil
	}
	var have int64
	var tasks []models.InspectionTask
	err := b.db.Tx(b.ctx, func(tx models.Tx) error {
		var err error
		if have, err = tx.Count(&models.Change{}, nil); err != nil {
			return err
		}
		return tx.List(&tasks, models.Query{Where: []models.Cond{{Column: models.TaskCols.Instructions, Op: models.OpPrefix, Value: "fieldsim task"},
			{Column: models.TaskCols.AssigneeID, Op: models.OpNotNull}}, OrderBy: models.OrderBy(models.TaskCols.Instructions)})
	})
	if err != nil {
		return err
	}
	b.rep.Existing["change_rows"] = int(have)
	missing := (int64(b.sp.History) - have + 1) / 2 // notes, two rows each
	if missing <= 0 {
		return nil
	}
	if len(tasks) == 0 {
		return fmt.Errorf("history: the data set has no assigned fieldsim tasks")
	}
	batches := int((missing + historyBatch - 1) / historyBatch)
	var (
		next, done atomic.Int64
		failed     atomic.Bool
		wg         sync.WaitGroup
		errs       = make(chan error, b.workers)
	)
	for range min(b.workers, batches) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && b.ctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= int64(batches) {
					return
				}
				n := min(historyBatch, missing-k*historyBatch)
				if _, err := b.retry(func() (string, error) { return "", b.historyBatch(tasks, k*historyBatch, int(n)) }); err != nil {
					failed.Store(true)
					errs <- fmt.Errorf("history batch %d: %w", k, err)
					return
				}
				if d := int(done.Add(1)); b.progress != nil {
					b.progress("history notes", d*historyBatch, batches*historyBatch)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	b.rep.Created["history_notes"] = int(missing)
	return b.ctx.Err()
}

// historyBatch writes n notes in one transaction, the first numbered
// from: note i is on task i mod len(tasks), by the task's inspector,
// dated over the past year.
func (b *builder) historyBatch(tasks []models.InspectionTask, from int64, n int) error {
	return b.db.Tx(b.ctx, func(tx models.Tx) error {
		notes := make([]models.Note, n)
		device := b.svc.NewID()
		for i := range notes {
			k := from + int64(i)
			t := &tasks[k%int64(len(tasks))]
			at := b.now.Add(-time.Duration(k%(365*24)) * time.Hour)
			notes[i] = models.Note{ID: b.svc.NewID(), TaskID: t.ID, AuthorID: *t.AssigneeID, DeviceID: device, UnitPath: t.UnitPath,
				Text: fmt.Sprintf("第 %d 次巡查：排口无异常排放，现场已拍照留存。", k/int64(len(tasks))+1), Version: 1, CreatedAt: at, UpdatedAt: at}
		}
		if err := tx.Create(&notes); err != nil {
			return err
		}
		for i := range notes {
			nt := &notes[i]
			if err := b.svc.Changed(tx, models.EntityNotes, nt.ID, 1, models.OpUpsert, models.ScopeUser(nt.AuthorID), models.ScopeUnit(nt.UnitPath)); err != nil {
				return err
			}
		}
		return nil
	})
}
