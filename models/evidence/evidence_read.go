package evidence

import (
	"context"

	"github.com/fieldsync/fieldsync/models"
)

// EvidenceFilter narrows an evidence list.
type EvidenceFilter struct {
	TaskID         string
	ItemID         string
	VerificationID string
}

// GetEvidence returns one evidence record with its flags. Inspectors read
// their own, everyone else as for the task's unit.
func (s *Service) GetEvidence(ctx context.Context, a models.Actor, id string) (models.Evidence, error) {
	var e models.Evidence
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		return models.GetReadable(tx, a, &e, id, "evidence")
	})
	return e, err
}

// ListEvidence lists the evidence the actor may see.
func (s *Service) ListEvidence(ctx context.Context, a models.Actor, f EvidenceFilter, p models.ListParams) (models.Page[models.Evidence], error) {
	conds, err := a.ReadConds(models.EntityEvidence)
	if err != nil {
		return models.Page[models.Evidence]{}, err
	}
	if f.TaskID != "" {
		conds = append(conds, models.Eq(ec.TaskID, f.TaskID))
	}
	if f.VerificationID != "" {
		conds = append(conds, models.Eq(ec.VerificationID, f.VerificationID))
	}
	if f.ItemID != "" {
		var tasks []string
		err := s.Store.Tx(ctx, func(tx models.Tx) error {
			return tx.Pluck(&models.InspectionTask{}, models.TaskCols.ID, []models.Cond{models.Eq(models.TaskCols.ItemID, f.ItemID)}, &tasks)
		})
		if err != nil {
			return models.Page[models.Evidence]{}, err
		}
		conds = append(conds, models.Cond{Column: ec.TaskID, Op: models.OpIn, Value: tasks})
	}
	return models.List[models.Evidence](ctx, s.Service, conds, p)
}

// EvidenceObject returns the blob key of a record's original (or its
// thumbnail) for a reader who may see it; pending and rejected evidence
// has no bytes to serve.
func (s *Service) EvidenceObject(ctx context.Context, a models.Actor, id string, thumbnail bool) (models.Evidence, string, error) {
	e, err := s.GetEvidence(ctx, a, id)
	if err != nil {
		return e, "", err
	}
	if e.Status != models.EvidenceVerified {
		return e, "", models.Errorf(models.CodeContentMissing, "evidence %s is %s; it has no bytes to serve", id, e.Status)
	}
	if thumbnail {
		if e.ThumbKey == "" {
			return e, "", models.Errorf(models.CodeNotFound, "evidence %s has no thumbnail", id)
		}
		return e, e.ThumbKey, nil
	}
	return e, e.ObjectKey, nil
}
