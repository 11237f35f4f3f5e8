package models

import (
	"database/sql/driver"
	"time"
)

// Decision kinds.
const (
	DecisionAccept = "accept"
	DecisionReject = "reject"
	DecisionReopen = "reopen"
)

// DecisionKinds lists what a supervisor (or, for reopen, an admin) can
// decide.
var DecisionKinds = []string{DecisionAccept, DecisionReject, DecisionReopen}

// Submission is the responsible unit's request for acceptance (申请验收)
// of an item: its statement of what was done. The acceptance tasks of the
// round name it as their RoundID.
type Submission struct {
	ID          string    `json:"id" gorm:"primaryKey"`
	ItemID      string    `json:"item_id"`
	UnitPath    string    `json:"-"`
	Round       int       `json:"round"`
	SubmittedBy string    `json:"submitted_by"`
	Statement   string    `json:"statement"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Decision is a supervisor's acceptance (验收销号) or rejection of an
// item, or an admin's reopening of an accepted one. It is append-only and
// bound to the evidence it was made on: EvidenceDigest is the SHA-256 of
// the item's evidence set (EvidenceSet.Digest) as the decider saw it.
type Decision struct {
	ID         string  `json:"id" gorm:"primaryKey"`
	ItemID     string  `json:"item_id"`
	UnitPath   string  `json:"-"`
	RoundID    *string `json:"round_id"`
	Kind       string  `json:"kind"`
	FromStatus string  `json:"from_status"`
	ToStatus   string  `json:"to_status"`
	DeciderID  string  `json:"decider_id"`
	Comment    string  `json:"comment"`
	// Reasons and RequiredEvidence say, on a rejection, what is wrong
	// and what the field must bring next; on a reopening, why.
	Reasons          StringList `json:"reasons"`
	RequiredEvidence string     `json:"required_evidence"`
	// FlagAcks are the decider's comments on each flag of the evidence
	// accepted; every flag must have one.
	FlagAcks       FlagAcks  `json:"flag_acks"`
	EvidenceDigest string    `json:"evidence_digest"`
	Version        int64     `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// FlagAck is a supervisor's acknowledgement of one flag of one file, or
// of one verification record.
type FlagAck struct {
	EvidenceID     string `json:"evidence_id,omitempty"`
	VerificationID string `json:"verification_id,omitempty"`
	Code           string `json:"code"`
	Comment        string `json:"comment"`
}

// FlagAcks is a list of acknowledgements kept in one JSON text column.
type FlagAcks []FlagAck

// Value implements driver.Valuer.
func (f FlagAcks) Value() (driver.Value, error) { return jsonValue(f, "[]") }

// Scan implements sql.Scanner.
func (f *FlagAcks) Scan(src any) error { return jsonScan(src, f) }

// RecordID implements Record.
func (s Submission) RecordID() string { return s.ID }

// RecordID implements Record.
func (d Decision) RecordID() string { return d.ID }
