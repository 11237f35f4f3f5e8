package models

import (
	"context"
	"time"
)

// EvidencePack is what an item's evidence pack holds, as loaded for one
// export: the evidence set, the decisions made on the item (oldest first)
// and when it was loaded. Package models/pack writes it.
type EvidencePack struct {
	Set         EvidenceSet
	Decisions   []Decision
	GeneratedAt time.Time
}

// EvidencePack loads an item's evidence pack for a reviewer, with the
// authorization of EvidenceOf. Everything is read, in one transaction,
// before the first byte of the pack is written, so that a refusal is an
// ordinary error answer and the pack shows one consistent moment.
func (s *Service) EvidencePack(ctx context.Context, a Actor, itemID string) (EvidencePack, error) {
	es, dec, err := s.EvidenceOf(ctx, a, itemID)
	if err != nil {
		return EvidencePack{}, err
	}
	return EvidencePack{Set: es, Decisions: dec, GeneratedAt: s.now()}, nil
}
