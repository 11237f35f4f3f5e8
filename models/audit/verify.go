package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Anchor is a point of the chain recorded outside the database: an
// entry's seq and hash ("SEQ:HASH"). `fieldctl audit verify` prints the
// head as one, for the operator to keep.
type Anchor struct {
	Seq  int64
	Hash string
}

func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

// ParseAnchor reads "SEQ:HASH".
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || !models.ValidSHA256(hash) {
		return Anchor{}, fmt.Errorf("audit anchor %q is not SEQ:HASH (a seq of 1 or more, a colon, 64 lower-case hex digits)", s)
	}
	return Anchor{Seq: n, Hash: hash}, nil
}

// ProblemKind says what is wrong with the chain.
type ProblemKind string

// The kinds of problem VerifyAudit finds.
const (
	// Changed: an entry no longer matches its hash; a column of it
	// was changed.
	Changed ProblemKind = "changed"
	// Deleted: a seq is missing; the entry was deleted.
	Deleted ProblemKind = "deleted"
	// LinkBroken: an entry's prev_hash is not the hash of the entry
	// before it; one of them was rewritten with a recomputed hash.
	LinkBroken ProblemKind = "link_broken"
	// HeadMismatch: the chain does not end where the head row says.
	HeadMismatch ProblemKind = "head_mismatch"
	// AnchorMismatch: the chain does not hold an anchor recorded
	// earlier; it was truncated or rewritten, head and all.
	AnchorMismatch ProblemKind = "anchor_mismatch"
)

// Problem is the first problem found, at the entry with Seq.
type Problem struct {
	Seq     int64
	Kind    ProblemKind
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("entry %d: %s: %s", p.Seq, p.Kind, p.Message)
}

// Report is the outcome of VerifyAudit.
type Report struct {
	OK bool
	// Checked counts the entries whose hash and link were checked.
	Checked int64
	// Head is the head row as it was when verification started.
	Head Anchor
	// Unchained counts entries not chained yet (they are not covered).
	Unchained int64
	// Problem is the first problem, nil when OK.
	Problem *Problem
}

// VerifyAudit walks the chain in seq order, a batch at a time, and checks
// that seqs run from 1 without a gap, that every entry matches its hash
// and links to the one before it, that the chain ends at the head row, and
// that it holds each of the expected anchors. It stops at the first
// problem.
//
// What it can and cannot see: a changed column, a deleted entry, a
// rewritten entry, a head row that does not match the entries are all
// found. Someone who can write the database can still delete the newest
// entries and move the head back to the last one left, and the chain is
// then consistent again; only an anchor recorded elsewhere before (the head
// that `fieldctl audit verify` prints, passed back as -expect-head) shows
// that. The same holds for rewriting the whole chain from some entry on.
// Entries not chained yet are counted, not checked: ChainAudit first.
func (s *Service) VerifyAudit(ctx context.Context, expect ...Anchor) (Report, error) {
	var rep Report
	var head auditHead
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := tx.Get(&head, auditHeadName); err != nil {
			return err
		}
		var err error
		rep.Unchained, err = countUnchained(tx)
		return err
	})
	if err != nil {
		return rep, err
	}
	rep.Head = Anchor{Seq: head.Seq, Hash: head.Hash}
	anchors := map[int64]string{}
	for _, a := range expect {
		anchors[a.Seq] = a.Hash
	}
	fail := func(seq int64, kind ProblemKind, format string, args ...any) (Report, error) {
		rep.Problem = &Problem{Seq: seq, Kind: kind, Message: fmt.Sprintf(format, args...)}
		return rep, nil
	}
	// Entries past the head read at the start were chained since; the
	// walk stops at that head, so a running chainer is no problem.
	prev, next := models.AuditGenesis, int64(1)
	for next <= head.Seq {
		var batch []models.AuditEntry
		err := s.Store.Tx(ctx, func(tx models.Tx) error {
			return tx.List(&batch, models.Query{Where: []models.Cond{{Column: "seq", Op: models.OpGe, Value: next}, {Column: "seq", Op: models.OpLe, Value: head.Seq}},
				OrderBy: "seq", Limit: auditBatch})
		})
		if err != nil {
			return rep, err
		}
		if len(batch) == 0 {
			missing := fmt.Sprintf("entries %d to %d are", next, head.Seq)
			if next == head.Seq {
				missing = fmt.Sprintf("entry %d is", next)
			}
			return fail(next, Deleted, "%s missing: the head says the chain reaches %d", missing, head.Seq)
		}
		for i := range batch {
			e := &batch[i]
			switch {
			case *e.Seq != next:
				return fail(next, Deleted, "entry %d is missing: the chain goes from %d to %d", next, next-1, *e.Seq)
			case e.Hash == nil || e.PrevHash == nil:
				return fail(next, Changed, "entry %d (%s) has a seq but no hash", next, e.ID)
			case models.AuditHash(*e.PrevHash, next, e) != *e.Hash:
				return fail(next, Changed, "entry %d (%s %s at %s) does not match its hash: a column of it was changed",
					next, e.ID, e.Action, e.At.UTC().Format(time.RFC3339Nano))
			case *e.PrevHash != prev:
				return fail(next, LinkBroken, "entry %d's prev_hash is not the hash of entry %d: one of them was rewritten", next, next-1)
			}
			if want, ok := anchors[next]; ok && want != *e.Hash {
				return fail(next, AnchorMismatch, "entry %d has hash %s, the anchor recorded %s: the chain was rewritten up to here", next, *e.Hash, want)
			}
			prev = *e.Hash
			next++
			rep.Checked++
		}
	}
	if prev != head.Hash {
		return fail(head.Seq, HeadMismatch, "the head records hash %s for entry %d, the entry has %s", head.Hash, head.Seq, prev)
	}
	for _, a := range expect {
		if a.Seq > head.Seq {
			return fail(a.Seq, AnchorMismatch, "the anchor %s is beyond the head (%d): entries were removed from the end and the head moved back", a, head.Seq)
		}
	}
	// An entry beyond the head as it is now means the head was moved back
	// over entries that are still there.
	var beyond models.AuditEntry
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		var now auditHead
		if err := tx.Get(&now, auditHeadName); err != nil {
			return err
		}
		return tx.First(&beyond, models.Query{Where: []models.Cond{{Column: "seq", Op: models.OpGt, Value: now.Seq}}, OrderBy: "seq"})
	})
	switch {
	case err == nil:
		return fail(*beyond.Seq, HeadMismatch, "entry %d lies beyond the head: the head was moved back", *beyond.Seq)
	case !models.IsNotFound(err):
		return rep, err
	}
	rep.OK = true
	return rep, nil
}

// Filter narrows the audit log. From is inclusive, To exclusive.
type Filter struct {
	Action   string
	Entity   string
	RecordID string
	ActorID  string
	From, To *time.Time
}

// Params pages the audit log by seq: After is the last seq of the
// previous page, 0 for the first.
type Params struct {
	Limit int
	After int64
}

// Page is one page of chained entries; Next is the After of the
// following page, 0 on the last.
type Page struct {
	Items []models.AuditEntry
	Next  int64
}

// ListAudit lists chained audit entries in seq order. Admins only. Entries
// not chained yet are not listed: they have no place in the order yet
// (the servers chain every FIELDSYNC_STAMP_EVERY).
func (s *Service) ListAudit(ctx context.Context, a models.Actor, f Filter, p Params) (Page, error) {
	if !a.IsAdmin() {
		return Page{}, models.Forbidden("read the audit log")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = models.DefaultPageSize
	}
	if limit > models.MaxPageSize {
		return Page{}, models.FieldError(models.CodeValidation, "limit", "limit must be at most %d", models.MaxPageSize)
	}
	if p.After < 0 {
		return Page{}, models.FieldError(models.CodeInvalidCursor, "page_token", "the page cursor is not valid")
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return Page{}, models.FieldError(models.CodeValidation, "to", "to must be after from")
	}
	conds := []models.Cond{{Column: "seq", Op: models.OpGt, Value: p.After}}
	for _, c := range []struct {
		col models.Column
		v   string
	}{
		{"action", f.Action}, {"entity", f.Entity}, {"record_id", f.RecordID}, {"actor_id", f.ActorID},
	} {
		if c.v != "" {
			conds = append(conds, models.Eq(c.col, c.v))
		}
	}
	for _, b := range []struct {
		field string
		t     *time.Time
		op    models.Op
	}{{"from", f.From, models.OpGe}, {"to", f.To, models.OpLt}} {
		if b.t == nil {
			continue
		}
		at, err := models.TimeField(b.field, *b.t)
		if err != nil {
			return Page{}, err
		}
		conds = append(conds, models.Cond{Column: "at", Op: b.op, Value: at})
	}
	// The page goes no further than the head read before it, by a
	// statement of its own: a snapshot begun while one chainer commits
	// can show the next chainer's entries without the first one's, and a
	// page token past them would skip those for good (sync's readLog says
	// why; VerifyAudit reads the same way).
	var head auditHead
	if err := s.Store.Read(ctx, func(tx models.Tx) error { return tx.Get(&head, auditHeadName) }); err != nil {
		return Page{}, err
	}
	conds = append(conds, models.Cond{Column: "seq", Op: models.OpLe, Value: head.Seq})
	var rows []models.AuditEntry
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		return tx.List(&rows, models.Query{Where: conds, OrderBy: "seq", Limit: limit + 1})
	})
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.Next = *rows[limit-1].Seq
	}
	if page.Items == nil {
		page.Items = []models.AuditEntry{}
	}
	return page, nil
}

// Unchained counts the committed audit entries the chainer has not
// numbered yet: the chaining backlog.
func (s *Service) Unchained(ctx context.Context) (int64, error) {
	var n int64
	err := s.Store.Read(ctx, func(tx models.Tx) (err error) {
		n, err = countUnchained(tx)
		return err
	})
	return n, err
}

func countUnchained(tx models.Tx) (int64, error) {
	return tx.Count(&models.AuditEntry{}, unchained)
}
