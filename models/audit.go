package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The audit trail.
//
// Every state change, decision, login, device revocation, export and
// configuration change appends one AuditEntry. Entries are hash-chained:
// each holds the hash of the entry before it, so that a changed entry no
// longer matches its hash and a deleted one leaves a gap in the sequence
// (VerifyAudit, `fieldctl audit verify`).
//
// Writers never touch the chain. A domain transaction inserts its entry
// with Seq, PrevHash and Hash nil (audit), so that audited writes,
// device pushes included, never queue behind one hot row; the entry
// commits or rolls back with the change it describes. ChainAudit, run in
// the background by every server and by fieldctl before it verifies, then
// numbers and hashes the committed entries under the lock of the chain's
// head row, the way sync's sequencer stamps the change log.

// Audited actions. AuditActions lists them all; audit refuses any other,
// so that the read API's action filter cannot miss one: add new actions
// here and to AuditAction in mobile-contract/openapi.yaml.
const (
	AuditLogin         = "auth.login"
	AuditLoginFailed   = "auth.login_failed"
	AuditLogout        = "auth.logout"
	AuditRefreshReused = "auth.refresh_reused"
	AuditDeviceRevoke  = "device.revoke"

	AuditUnitCreate     = "unit.create"
	AuditUnitUpdate     = "unit.update"
	AuditUserCreate     = "user.create"
	AuditUserUpdate     = "user.update"
	AuditItemCreate     = "item.create"
	AuditItemUpdate     = "item.update"
	AuditSiteCreate     = "site.create"
	AuditSiteUpdate     = "site.update"
	AuditTemplateCreate = "template.create"
	AuditTemplateUpdate = "template.update"

	AuditTaskCreate   = "task.create"
	AuditTaskUpdate   = "task.update"
	AuditTaskAssign   = "task.assign"
	AuditTaskCancel   = "task.cancel"
	AuditTaskStart    = "task.start"
	AuditTaskComplete = "task.complete"

	AuditEvidenceVerified = "evidence.verified"
	AuditEvidenceRejected = "evidence.rejected"

	// The acceptance workflow and public disclosure: an item submitted
	// for acceptance, moved to in_progress by field work, reopened; a
	// supervisor's decision; a photo made public or withdrawn.
	AuditItemSubmit       = "item.submit"
	AuditItemStart        = "item.start"
	AuditItemReopen       = "item.reopen"
	AuditDecisionAccept   = "decision.accept"
	AuditDecisionReject   = "decision.reject"
	AuditEvidencePublish  = "evidence.publish"
	AuditEvidenceWithdraw = "evidence.withdraw"

	AuditExportEvidencePack = "export.evidence_pack"
	AuditExportLedger       = "export.ledger"
	AuditExportDispatch     = "export.dispatch"

	// Deadline extensions (延期), entered on the item.
	AuditExtensionRequest = "item.extension_request"
	AuditExtensionApprove = "item.extension_approve"
	AuditExtensionRefuse  = "item.extension_refuse"

	// A user's change of their own password (their other sessions end).
	AuditPasswordChange = "user.password_change"
)

// AuditActions lists every audited action.
var AuditActions = []string{
	AuditLogin, AuditLoginFailed, AuditLogout, AuditRefreshReused, AuditDeviceRevoke,
	AuditUnitCreate, AuditUnitUpdate, AuditUserCreate, AuditUserUpdate,
	AuditItemCreate, AuditItemUpdate, AuditSiteCreate, AuditSiteUpdate,
	AuditTemplateCreate, AuditTemplateUpdate,
	AuditTaskCreate, AuditTaskUpdate, AuditTaskAssign, AuditTaskCancel, AuditTaskStart, AuditTaskComplete,
	AuditEvidenceVerified, AuditEvidenceRejected,
	AuditItemSubmit, AuditItemStart, AuditItemReopen, AuditDecisionAccept, AuditDecisionReject,
	AuditEvidencePublish, AuditEvidenceWithdraw,
	AuditExportEvidencePack, AuditExportLedger, AuditExportDispatch,
	AuditExtensionRequest, AuditExtensionApprove, AuditExtensionRefuse,
	AuditPasswordChange,
}

// Entities the audit log names besides those a pull does.
const (
	EntityUnits   = "units"
	EntityUsers   = "users"
	EntityDevices = "devices"
)

// AuditEntities lists the entities an audit entry may name. An event that
// concerns no one record (a ledger export) names none.
var AuditEntities = []string{
	EntityUnits, EntityUsers, EntityDevices, EntityItems, EntitySites, EntityTemplates, EntityTasks,
	EntityVerifications, EntityAnswers, EntityEvidence, EntityDecisions, EntityNotes,
}

// AuditEntry is one row of the audit log (table audit_log). Seq, PrevHash
// and Hash are nil until ChainAudit chains the committed entry.
type AuditEntry struct {
	ID        string `gorm:"primaryKey"`
	Seq       *int64
	At        time.Time
	ActorID   string
	ActorName string
	ActorRole string
	DeviceID  string
	Action    string
	Entity    string
	RecordID  string
	// Detail is a small JSON object saying what changed (statuses from and
	// to, the names of the fields changed), never a whole record and never
	// a secret. It is hashed exactly as stored.
	Detail   string
	PrevHash *string
	Hash     *string
}

// TableName names the table.
func (AuditEntry) TableName() string { return "audit_log" }

// auditHead is the chain's head (table audit_head): the last seq given and
// its hash. Chainers serialise on its row lock.
type auditHead struct {
	Name string `gorm:"primaryKey"`
	Seq  int64
	Hash string
}

func (auditHead) TableName() string { return "audit_head" }

const auditHeadName = "chain"

// AuditGenesis is the prev_hash of the first entry: 64 zeros.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// auditTimeFormat is RFC 3339 in UTC with exactly six fractional digits:
// the microseconds every database keeps, never trimmed, so that a verifier
// written in another language produces the same bytes.
const auditTimeFormat = "2006-01-02T15:04:05.000000Z"

// AuditHash returns the hash of entry e as entry number seq, chained after
// the entry whose hash is prevHash (AuditGenesis for the first):
//
//	hex(SHA-256(ns("fieldsync-audit-v1") ns(prev_hash) ns(seq) ns(id) ns(at)
//	            ns(actor_id) ns(actor_name) ns(actor_role) ns(device_id)
//	            ns(action) ns(entity) ns(record_id) ns(detail)))
//
// where ns(s) is the netstring of s: its length in bytes in decimal, ':',
// the bytes of s, ','. seq is in decimal; at is the stored time in UTC as
// 2006-01-02T15:04:05.000000Z (RFC 3339, always six fractional digits);
// detail is the stored JSON text, byte for byte; the hashes are lower-case
// hex. Netstrings make the encoding unambiguous whatever the fields hold
// (commas, newlines, empty strings), and every column but the hash itself
// is covered, the entry's position included.
func AuditHash(prevHash string, seq int64, e *AuditEntry) string {
	h := sha256.New()
	for _, f := range []string{
		"fieldsync-audit-v1", prevHash, strconv.FormatInt(seq, 10), e.ID, e.At.UTC().Format(auditTimeFormat),
		e.ActorID, e.ActorName, e.ActorRole, e.DeviceID, e.Action, e.Entity, e.RecordID, e.Detail,
	} {
		fmt.Fprintf(h, "%d:%s,", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// audit appends an entry to the audit log in the caller's transaction, so
// that it commits exactly when the change it describes does. detail is
// encoded as JSON (nil as {}); it must be small and hold no secret.
func (s *Service) audit(tx Tx, a Actor, action, entity, id string, detail any) error {
	e, err := s.auditEntry(a, action, entity, id, detail)
	if err != nil {
		return err
	}
	return tx.Create(&e)
}

// Audit appends an entry in a transaction of its own, for events that have
// none: an export being streamed, a refused login.
func (s *Service) Audit(ctx context.Context, a Actor, action, entity, id string, detail any) error {
	e, err := s.auditEntry(a, action, entity, id, detail)
	if err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(tx Tx) error { return tx.Create(&e) })
}

func (s *Service) auditEntry(a Actor, action, entity, id string, detail any) (AuditEntry, error) {
	if !slices.Contains(AuditActions, action) {
		return AuditEntry{}, fmt.Errorf("models: audit action %q is not in AuditActions", action)
	}
	if entity != "" && !slices.Contains(AuditEntities, entity) {
		return AuditEntry{}, fmt.Errorf("models: audit entity %q is not in AuditEntities", entity)
	}
	d := []byte("{}")
	if detail != nil {
		var err error
		if d, err = json.Marshal(detail); err != nil {
			return AuditEntry{}, fmt.Errorf("models: audit detail of %s: %w", action, err)
		}
	}
	return AuditEntry{
		ID: s.NewID(), At: s.now(), ActorID: a.UserID, ActorName: truncateRunes(a.Username, 64), ActorRole: a.Role,
		DeviceID: a.DeviceID, Action: action, Entity: entity, RecordID: id, Detail: string(d),
	}, nil
}

// auditBatch bounds the entries one chaining transaction numbers, and the
// entries VerifyAudit holds in memory at once.
const auditBatch = 1000

// auditMaxBatches bounds the batches one ChainAudit call runs. Chaining
// costs one UPDATE per entry (about 2,500 entries a second on the test
// MariaDB); writers faster than that for long would otherwise keep one call
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
func (s *Service) ChainAudit(ctx context.Context) (int, error) {
	// Within a process one chainer is enough; across processes the row
	// lock decides.
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
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
	err := s.Store.Tx(ctx, func(tx Tx) error {
		n = 0
		head := []Cond{Eq("name", auditHeadName)}
		if _, err := tx.UpdateWhere(&auditHead{}, head, map[string]any{"name": auditHeadName}); err != nil {
			return err
		}
		var h auditHead
		if err := tx.Get(&h, auditHeadName); err != nil {
			return err
		}
		var pending []AuditEntry
		if err := tx.List(&pending, Query{Where: []Cond{{Column: "seq", Op: OpNull}}, OrderBy: "at, id", Limit: auditBatch}); err != nil {
			return err
		}
		prev := h.Hash
		for i := range pending {
			e := &pending[i]
			seq := h.Seq + int64(i) + 1
			hash := AuditHash(prev, seq, e)
			m, err := tx.UpdateWhere(&AuditEntry{}, []Cond{Eq("id", e.ID), {Column: "seq", Op: OpNull}},
				map[string]any{"seq": seq, "prev_hash": prev, "hash": hash})
			if err != nil {
				return err
			}
			if m != 1 {
				return fmt.Errorf("models: audit entry %s was chained by someone else; the head lock did not hold", e.ID)
			}
			prev = hash
		}
		if len(pending) == 0 {
			return nil
		}
		n = len(pending)
		_, err := tx.UpdateWhere(&auditHead{}, head, map[string]any{"seq": h.Seq + int64(n), "hash": prev})
		return err
	})
	return n, err
}

// auditChange is one field's value before and after, in an audit detail.
type auditChange struct {
	From any `json:"from"`
	To   any `json:"to"`
}
