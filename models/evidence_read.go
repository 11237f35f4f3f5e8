package models

import "context"

// EvidenceFilter narrows an evidence list.
type EvidenceFilter struct {
	TaskID         string
	ItemID         string
	VerificationID string
}

// GetEvidence returns one evidence record with its flags. Inspectors read
// their own, everyone else as for the task's unit.
func (s *Service) GetEvidence(ctx context.Context, a Actor, id string) (Evidence, error) {
	var e Evidence
	err := s.Store.Tx(ctx, func(tx Tx) error {
		return GetReadable(tx, a, &e, id, "evidence")
	})
	return e, err
}

// ListEvidence lists the evidence the actor may see.
func (s *Service) ListEvidence(ctx context.Context, a Actor, f EvidenceFilter, p ListParams) (Page[Evidence], error) {
	conds, err := a.readConds(EntityEvidence)
	if err != nil {
		return Page[Evidence]{}, err
	}
	if f.TaskID != "" {
		conds = append(conds, Eq("task_id", f.TaskID))
	}
	if f.VerificationID != "" {
		conds = append(conds, Eq("verification_id", f.VerificationID))
	}
	if f.ItemID != "" {
		var tasks []string
		err := s.Store.Tx(ctx, func(tx Tx) error {
			return tx.Pluck(&InspectionTask{}, "id", []Cond{Eq("item_id", f.ItemID)}, &tasks)
		})
		if err != nil {
			return Page[Evidence]{}, err
		}
		conds = append(conds, Cond{Column: "task_id", Op: OpIn, Value: tasks})
	}
	return List[Evidence](ctx, s, conds, p)
}

// EvidenceObject returns the blob key of a record's original (or its
// thumbnail) for a reader who may see it; pending and rejected evidence
// has no bytes to serve.
func (s *Service) EvidenceObject(ctx context.Context, a Actor, id string, thumbnail bool) (Evidence, string, error) {
	e, err := s.GetEvidence(ctx, a, id)
	if err != nil {
		return e, "", err
	}
	if e.Status != EvidenceVerified {
		return e, "", Errorf(CodeContentMissing, "evidence %s is %s; it has no bytes to serve", id, e.Status)
	}
	if thumbnail {
		if e.ThumbKey == "" {
			return e, "", Errorf(CodeNotFound, "evidence %s has no thumbnail", id)
		}
		return e, e.ThumbKey, nil
	}
	return e, e.ObjectKey, nil
}
