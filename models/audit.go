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

	// AuditExportEvidencePackFailed records a pack whose stream broke off
	// after its first byte (the store failed mid-way): the reader holds
	// an incomplete file.
	AuditExportEvidencePackFailed = "export.evidence_pack_failed"

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
	AuditExportEvidencePackFailed,
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

// AuditTx appends an entry to the audit log in the caller's transaction, so
// that it commits exactly when the change it describes does. detail is
// encoded as JSON (nil as {}); it must be small and hold no secret.
func (s *Service) AuditTx(tx Tx, a Actor, action, entity, id string, detail any) error {
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
		ID: s.NewID(), At: s.Time(), ActorID: a.UserID, ActorName: TruncateRunes(a.Username, 64), ActorRole: a.Role,
		DeviceID: a.DeviceID, Action: action, Entity: entity, RecordID: id, Detail: string(d),
	}, nil
}

// AuditChange is one field's value before and after, in an audit detail.
type AuditChange struct {
	From any `json:"from"`
	To   any `json:"to"`
}
