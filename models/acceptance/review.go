package acceptance

import (
	"context"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// Review is the supervisor's view of one item: its whole evidence set,
// the decisions so far, what acceptance needs, and the digest a decision
// on this view must carry.
type Review struct {
	EvidenceSet
	Decisions      []models.Decision `json:"decisions"`
	EvidenceDigest string            `json:"evidence_digest"`
	Acceptance
	Acceptable bool `json:"acceptable"`
}

// Review loads an item's review for an admin, or a supervisor or unit
// lead of its unit subtree.
func (s *Service) Review(ctx context.Context, a models.Actor, itemID string) (Review, error) {
	es, dec, err := s.EvidenceOf(ctx, a, itemID)
	if err != nil {
		return Review{}, err
	}
	digest, err := es.Digest()
	if err != nil {
		return Review{}, err
	}
	ac := AcceptanceOf(&es)
	return Review{EvidenceSet: es, Decisions: dec, EvidenceDigest: digest, Acceptance: ac, Acceptable: ac.Acceptable()}, nil
}

// QueueEntry is one item in a supervisor's review queue.
type QueueEntry struct {
	Item models.RectificationItem `json:"item"`
	// Round is the latest submission for acceptance, if any.
	Round *models.Submission `json:"round"`
	// FlaggedEvidence counts the verified files that carry a flag.
	FlaggedEvidence int `json:"flagged_evidence"`
	PendingEvidence int `json:"pending_evidence"`
	OverdueDays     int `json:"overdue_days"`
}

// ReviewQueue lists the items a supervisor reviews: by default those
// pending acceptance, with the filters of ListItems, each with its
// latest round and how much of its evidence is flagged or still pending.
func (s *Service) ReviewQueue(ctx context.Context, a models.Actor, f models.ItemFilter, p models.ListParams) (models.Page[QueueEntry], error) {
	if !a.CanReview() {
		return models.Page[QueueEntry]{}, models.Forbidden("review items")
	}
	if f.Status == "" {
		f.Status = models.ItemPendingAcceptance
	}
	items, err := items.New(s.Service).ListItems(ctx, a, f, p)
	if err != nil {
		return models.Page[QueueEntry]{}, err
	}
	out := models.Page[QueueEntry]{Items: make([]QueueEntry, len(items.Items)), Next: items.Next}
	ids := make([]string, len(items.Items))
	at := map[string]*QueueEntry{}
	now := s.Now()
	for i, it := range items.Items {
		out.Items[i] = QueueEntry{Item: it, OverdueDays: it.DaysOverdue(now)}
		ids[i] = it.ID
		at[it.ID] = &out.Items[i]
	}
	if len(ids) == 0 {
		return out, nil
	}
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		var subs []models.Submission
		if err := tx.List(&subs, models.Query{Where: []models.Cond{{Column: "item_id", Op: models.OpIn, Value: ids}}}); err != nil {
			return err
		}
		for i := range subs {
			q := at[subs[i].ItemID]
			if q.Round == nil || subs[i].Round > q.Round.Round {
				q.Round = &subs[i]
			}
		}
		var tasks []models.InspectionTask
		if err := tx.List(&tasks, models.Query{Where: []models.Cond{{Column: models.TaskCols.ItemID, Op: models.OpIn, Value: ids}}}); err != nil {
			return err
		}
		itemOf := map[string]string{}
		for _, t := range tasks {
			itemOf[t.ID] = t.ItemID
		}
		// Counts, not rows: a page of items can hold thousands of files.
		inTasks := models.Cond{Column: "task_id", Op: models.OpInQuery, Value: models.Subquery{Model: &models.InspectionTask{}, Column: models.TaskCols.ID,
			Where: []models.Cond{{Column: models.TaskCols.ItemID, Op: models.OpIn, Value: ids}}}}
		for _, c := range []struct {
			where []models.Cond
			add   func(q *QueueEntry, n int)
		}{
			{[]models.Cond{inTasks, models.Eq("status", models.EvidencePending)}, func(q *QueueEntry, n int) { q.PendingEvidence += n }},
			{[]models.Cond{inTasks, models.Eq("status", models.EvidenceVerified), models.Eq("flagged", true)}, func(q *QueueEntry, n int) { q.FlaggedEvidence += n }},
		} {
			groups, err := tx.CountBy(&models.Evidence{}, []models.Column{models.EvidenceCols.TaskID}, c.where)
			if err != nil {
				return err
			}
			for _, g := range groups {
				c.add(at[itemOf[g.Keys[0]]], int(g.Count))
			}
		}
		return nil
	})
	return out, err
}

// RecordID implements Record.
func (q QueueEntry) RecordID() string { return q.Item.ID }
