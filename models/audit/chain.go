// Package audit chains the audit log, verifies the chain and lists it.
// Entries are written by every capability, in the transaction of the
// change they describe (Service's audit); this package numbers
// and hashes them once committed, and reads them back.
package audit

import (
	"context"
	"fmt"
	"sync"

	"github.com/fieldsync/fieldsync/models"
)

// Service chains, verifies and lists the audit log.
type Service struct {
	*models.Service
	// mu keeps this Service to one chainer at a time; a process makes
	// one Service.
	mu sync.Mutex
}

// New returns the audit service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }

// auditHead is the chain's head (table audit_head): the last seq given and
// its hash. Chainers serialise on its row lock.
type auditHead struct {
	Name string `gorm:"primaryKey"`
	Seq  int64
	Hash string
}

func (auditHead) TableName() string { return "audit_head" }

const auditHeadName = "chain"

// unchained selects the entries not chained yet.
var unchained = []models.Cond{{Column: "seq", Op: models.OpNull}}

// auditBatch bounds the entries one chaining transaction numbers, and the
// entries VerifyAudit holds in memory at once.
const auditBatch = 1000

// auditMaxBatches bounds the batches one ChainAudit call runs (a batch's
// entries are set in one statement on MySQL, one each on SQLite: Tx.SetOnce);
// writers faster than the chainer for long would otherwise keep one call
// going for ever. The next call (the servers' ticker) goes on.
const auditMaxBatches = 20

// ChainAudit chains the committed, unchained audit entries, up to
// auditMaxBatches batches of auditBatch, and returns how many it chained.
//
// Each batch is one short transaction whose first statement takes the
// head row's lock (an UPDATE that changes nothing), before anything is
// read: chainers in every process queue there, and each one reads the
// head and the unchained entries only after the previous one committed, so
// a seq is never given twice and the chain never forks. The entries are
// taken in (at, id) order, a stable order that roughly follows time; an
// entry whose transaction commits late is chained in a later batch, after
// entries that committed before it. Writers are never blocked: they only
// insert rows with a NULL seq, and the chainer locks nothing they write.
// With nothing to chain, which is every tick but a few, it looks for an
// unchained entry without a lock and returns: the head's lock is not
// taken five times a second for nothing (a transaction of five statements
// each time).
func (s *Service) ChainAudit(ctx context.Context) (int, error) {
	// Within a process one chainer is enough; across processes the row
	// lock decides.
	s.mu.Lock()
	defer s.mu.Unlock()
	var pending []models.AuditEntry
	err := s.Store.Read(ctx, func(tx models.Tx) error {
		return tx.List(&pending, models.Query{Where: unchained, Limit: 1})
	})
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	total := 0
	for range auditMaxBatches {
		n, err := s.chainBatch(ctx)
		total += n
		if err != nil || n < auditBatch {
			return total, err
		}
	}
	return total, nil
}

func (s *Service) chainBatch(ctx context.Context) (int, error) {
	n := 0
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		n = 0
		head := []models.Cond{models.Eq("name", auditHeadName)}
		if _, err := tx.UpdateWhere(&auditHead{}, head, models.Set{"name": auditHeadName}); err != nil {
			return err
		}
		var h auditHead
		if err := tx.Get(&h, auditHeadName); err != nil {
			return err
		}
		var pending []models.AuditEntry
		if err := tx.List(&pending, models.Query{Where: unchained, OrderBy: "at, id", Limit: auditBatch}); err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		prev := h.Hash
		rows := make([][]any, len(pending))
		for i := range pending {
			e := &pending[i]
			seq := h.Seq + int64(i) + 1
			hash := models.AuditHash(prev, seq, e)
			rows[i] = []any{e.ID, seq, prev, hash}
			prev = hash
		}
		m, err := tx.SetOnce(&models.AuditEntry{}, []models.Column{"seq", "prev_hash", "hash"}, rows)
		if err != nil {
			return err
		}
		if m != int64(len(rows)) {
			return fmt.Errorf("models: %d of %d audit entries were chained by someone else; the head lock did not hold", int64(len(rows))-m, len(rows))
		}
		n = len(pending)
		_, err = tx.UpdateWhere(&auditHead{}, head, models.Set{"seq": h.Seq + int64(n), "hash": prev})
		return err
	})
	return n, err
}
