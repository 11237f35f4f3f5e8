package acceptance

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// EvidencePack is what an item's evidence pack holds, as loaded for one
// export: the evidence set, the decisions made on the item (oldest first),
// the people who made them, and when it was loaded. Package models/pack
// writes it.
type EvidencePack struct {
	Set       EvidenceSet
	Decisions []models.Decision
	// Deciders are outside the evidence set (they are not what a decision
	// rests on) but a reader of the pack must see who decided.
	Deciders    []Person
	GeneratedAt time.Time
}

// EvidencePack loads an item's evidence pack for a reviewer, with the
// authorization of EvidenceOf. Everything is read, in one transaction,
// before the first byte of the pack is written, so that a refusal is an
// ordinary error answer and the pack shows one consistent moment.
func (s *Service) EvidencePack(ctx context.Context, a models.Actor, itemID string) (EvidencePack, error) {
	var p EvidencePack
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		it, err := s.reviewItem(tx, a, itemID)
		if err != nil {
			return err
		}
		if p.Set, err = loadEvidenceSet(tx, it); err != nil {
			return err
		}
		if p.Decisions, err = itemDecisions(tx, it.ID); err != nil {
			return err
		}
		ids := models.IDsOf(p.Decisions, func(d models.Decision) []string { return []string{d.DeciderID} })
		var users []models.User
		if err := tx.List(&users, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: models.UniqueSorted(ids)}}}); err != nil {
			return err
		}
		p.Deciders = []Person{}
		for _, u := range users {
			p.Deciders = append(p.Deciders, personOf(u))
		}
		digest, err := p.Set.Digest()
		if err != nil {
			return err
		}
		return s.AuditTx(tx, a, models.AuditExportEvidencePack, models.EntityItems, it.ID, map[string]any{"evidence_digest": digest})
	})
	p.GeneratedAt = s.Time()
	return p, err
}
