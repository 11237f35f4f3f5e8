package acceptance

import (
	"context"
	"fmt"
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
// ordinary error answer and the pack shows one consistent moment. Every
// file the pack will copy is then looked up in the blob store, so that a
// store that is down (ErrUnavailable: 503 with Retry-After) or a missing
// file is an error answer too, and not a download that breaks off; only
// then is the export audited.
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
		return nil
	})
	if err != nil {
		return p, err
	}
	if err := s.packFilesReachable(ctx, p); err != nil {
		return p, err
	}
	digest, err := p.Set.Digest()
	if err != nil {
		return p, err
	}
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		return s.AuditTx(tx, a, models.AuditExportEvidencePack, models.EntityItems, p.Set.Item.ID, map[string]any{"evidence_digest": digest})
	})
	p.GeneratedAt = s.Time()
	return p, err
}

// packFilesReachable stats the originals and thumbnails of the pack's
// verified evidence in the blob store.
func (s *Service) packFilesReachable(ctx context.Context, p EvidencePack) error {
	if s.Blobs == nil {
		return models.ErrUnavailable
	}
	if err := s.Blobs.Ping(ctx); err != nil {
		return fmt.Errorf("evidence pack: blob store: %w: %w", models.ErrUnavailable, err)
	}
	for _, e := range p.Set.Evidence {
		if e.Status != models.EvidenceVerified || e.ObjectKey == "" {
			continue
		}
		for _, key := range []string{e.ObjectKey, e.ThumbKey} {
			if key == "" {
				continue
			}
			_, err := s.Blobs.Stat(ctx, key)
			switch {
			case models.IsNotFound(err):
				// Verified evidence without its file: the server's fault,
				// not the caller's (a 500, logged), never a 404.
				return fmt.Errorf("evidence pack: %s is missing from the blob store", key)
			case err != nil:
				return fmt.Errorf("evidence pack: %s: %w", key, err)
			}
		}
	}
	return nil
}

// EvidencePackFailed audits a pack whose stream failed after its first
// byte, with what was written and why, so that the export log does not
// show an incomplete file as a complete one.
func (s *Service) EvidencePackFailed(ctx context.Context, a models.Actor, p EvidencePack, written int64, cause error) error {
	digest, err := p.Set.Digest()
	if err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(tx models.Tx) error {
		return s.AuditTx(tx, a, models.AuditExportEvidencePackFailed, models.EntityItems, p.Set.Item.ID,
			map[string]any{"evidence_digest": digest, "bytes_written": written, "error": models.ErrorCode(cause)})
	})
}
