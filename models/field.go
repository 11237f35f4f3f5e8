package models

import (
	"database/sql/driver"
	"encoding/json"
	"time"
)

// Verification conclusions.
const (
	ConclusionRectified          = "rectified"
	ConclusionPartiallyRectified = "partially_rectified"
	ConclusionNotRectified       = "not_rectified"
	ConclusionSuspectedFake      = "suspected_fake"
)

// Conclusions lists what an inspector can conclude on site.
var Conclusions = []string{ConclusionRectified, ConclusionPartiallyRectified, ConclusionNotRectified, ConclusionSuspectedFake}

// Verification is what an inspector found on site (现场核查记录). It is
// append-only: made once on the device, never edited, so it never
// conflicts; evidence can be attached to it later.
type Verification struct {
	ID          string     `json:"id" gorm:"primaryKey"`
	TaskID      string     `json:"task_id"`
	ItemID      string     `json:"item_id"`
	InspectorID string     `json:"inspector_id"`
	DeviceID    string     `json:"device_id"`
	UnitPath    string     `json:"-"`
	Conclusion  string     `json:"conclusion"`
	Notes       string     `json:"notes"`
	Lat         float64    `json:"lat"`
	Lng         float64    `json:"lng"`
	AccuracyM   float64    `json:"accuracy_m"`
	Mocked      bool       `json:"mocked"`
	RecordedAt  time.Time  `json:"recorded_at"`
	EvidenceIDs StringList `json:"evidence_ids"`
	Version     int64      `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Answer is one answer to a checklist question; append-only.
type Answer struct {
	ID          string    `json:"id" gorm:"primaryKey"`
	TaskID      string    `json:"task_id"`
	QuestionID  string    `json:"question_id"`
	InspectorID string    `json:"inspector_id"`
	DeviceID    string    `json:"device_id"`
	UnitPath    string    `json:"-"`
	Value       RawJSON   `json:"value"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Note is a free-text remark on a task; append-only.
type Note struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	TaskID    string    `json:"task_id"`
	AuthorID  string    `json:"author_id"`
	DeviceID  string    `json:"device_id"`
	UnitPath  string    `json:"-"`
	Text      string    `json:"text"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Evidence statuses.
const (
	EvidencePending  = "pending"
	EvidenceVerified = "verified"
	EvidenceRejected = "rejected"
)

// Evidence is a photo, signature or document behind a verification. A
// record can exist before its bytes arrive; it is then pending, and
// nothing that depends on it can be accepted.
type Evidence struct {
	ID             string    `json:"id" gorm:"primaryKey"`
	TaskID         string    `json:"task_id"`
	VerificationID *string   `json:"verification_id"`
	InspectorID    string    `json:"inspector_id"`
	UnitPath       string    `json:"-"`
	Kind           string    `json:"kind"`
	Status         string    `json:"status"`
	Version        int64     `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// TableName names the table.
func (Evidence) TableName() string { return "evidence" }

// RawJSON is a JSON value kept verbatim in a text column.
type RawJSON json.RawMessage

// MarshalJSON implements json.Marshaler.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// Value implements driver.Valuer.
func (r RawJSON) Value() (driver.Value, error) { return string(r), nil }

// Scan implements sql.Scanner.
func (r *RawJSON) Scan(src any) error {
	switch s := src.(type) {
	case string:
		*r = RawJSON(s)
	case []byte:
		*r = append(RawJSON(nil), s...)
	case nil:
		*r = nil
	}
	return nil
}

// RecordID implements Record.
func (v Verification) RecordID() string { return v.ID }

// RecordID implements Record.
func (a Answer) RecordID() string { return a.ID }

// RecordID implements Record.
func (n Note) RecordID() string { return n.ID }

// RecordID implements Record.
func (e Evidence) RecordID() string { return e.ID }
