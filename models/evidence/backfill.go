package evidence

import (
	"context"
	"errors"

	"github.com/fieldsync/fieldsync/models"
)

// backfillBatch is how many photos BackfillPHashes reads at a time.
const backfillBatch = 50

// BackfillPHashes adds to the near-duplicate index (evidence_phashes) the
// verified photos that are not in it: those verified before the index
// existed (migration 00009), which kept only a plain hash. Their hashes
// are computed again from the stored bytes, with the analyzer that
// verifies uploads, so under the same decode budget.
//
// It works in batches of backfillBatch in id order, each photo indexed in
// a transaction of its own that first checks it is still missing, so it
// is idempotent, safe to run on several servers at once, and resumable:
// what is missing is read from the database, so a run cut short is taken
// up by the next. A photo whose bytes cannot be read or analysed is
// logged through skip and left for the next run; an analysis refused for
// want of room (CodeUnavailable) ends the run with that error. It returns
// how many photos it indexed.
func (s *Service) BackfillPHashes(ctx context.Context, skip func(id string, err error)) (int, error) {
	indexed, after := 0, ""
	inIndex := models.Subquery{Model: &EvidencePHash{}, Column: pc.EvidenceID}
	for {
		var batch []models.Evidence
		err := s.Store.Tx(ctx, func(tx models.Tx) error {
			return tx.List(&batch, models.Query{Where: []models.Cond{
				models.Eq(ec.Status, models.EvidenceVerified),
				{Column: ec.PHash, Op: models.OpNotNull},
				{Column: ec.ID, Op: models.OpGt, Value: after},
				{Column: ec.ID, Op: models.OpNotInQuery, Value: inIndex},
			}, OrderBy: models.OrderBy(ec.ID), Limit: backfillBatch})
		})
		if err != nil || len(batch) == 0 {
			return indexed, err
		}
		for i := range batch {
			e := &batch[i]
			after = e.ID
			done, err := s.backfillOne(ctx, e)
			switch {
			case err == nil:
				if done {
					indexed++
				}
			case ctx.Err() != nil:
				return indexed, ctx.Err()
			case models.ErrorCode(err) == models.CodeUnavailable:
				return indexed, err
			default:
				skip(e.ID, err)
			}
		}
	}
}

// backfillOne hashes one photo again and indexes it, unless another run
// did meanwhile.
func (s *Service) backfillOne(ctx context.Context, e *models.Evidence) (bool, error) {
	rc, _, err := s.Blobs.Get(ctx, e.ObjectKey)
	if err != nil {
		return false, err
	}
	info, err := s.Media.Analyze(rc, e.Size)
	rc.Close()
	if err != nil {
		return false, err
	}
	if len(info.PHashes) == 0 {
		return false, errors.New("the analyzer gave the photo no hashes")
	}
	done := false
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		n, err := tx.Count(&EvidencePHash{}, []models.Cond{models.Eq(pc.EvidenceID, e.ID)})
		if err != nil || n > 0 {
			return err
		}
		row := *e
		row.PHashes, done = info.PHashes, true
		return indexPHashes(tx, &row)
	})
	return done, err
}
