package models

import (
	"database/sql/driver"
	"encoding/json"
	"math"
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
	ID          string `json:"id" gorm:"primaryKey"`
	TaskID      string `json:"task_id"`
	ItemID      string `json:"item_id"`
	InspectorID string `json:"inspector_id"`
	DeviceID    string `json:"device_id"`
	UnitPath    string `json:"-"`
	Conclusion  string `json:"conclusion"`
	Notes       string `json:"notes"`
	// Lat and Lng are WGS-84, converted on the server from the datum the
	// device sent; OriginalLat and OriginalLng keep what it sent when
	// that was not WGS-84. Datum is always set on a stored record; it is
	// empty only in the canonical encoding of evidence sets (see
	// EvidenceSet.Canonical).
	Lat         float64    `json:"lat"`
	Lng         float64    `json:"lng"`
	Datum       string     `json:"datum,omitempty"`
	OriginalLat *float64   `json:"original_lat,omitempty"`
	OriginalLng *float64   `json:"original_lng,omitempty"`
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
// nothing that depends on it can be accepted. The server fills the media
// fields and flags when the upload completes.
type Evidence struct {
	ID             string     `json:"id" gorm:"primaryKey"`
	TaskID         string     `json:"task_id"`
	VerificationID *string    `json:"verification_id"`
	InspectorID    string     `json:"inspector_id"`
	DeviceID       string     `json:"device_id"`
	SiteID         string     `json:"site_id"`
	UnitPath       string     `json:"-"`
	Kind           string     `json:"kind"`
	Status         string     `json:"status"`
	SHA256         string     `json:"sha256" gorm:"column:sha256"`
	Size           int64      `json:"size"`
	ContentType    string     `json:"content_type"`
	CapturedAt     *time.Time `json:"captured_at"`
	// CapturedUTCOffset is the device's UTC offset (seconds) when it took
	// the photo, to read EXIF times that carry no offset.
	CapturedUTCOffset *int              `json:"-" gorm:"column:captured_utc_offset"`
	Location          *EvidenceLocation `json:"location"`
	Media             *MediaSummary     `json:"media"`
	Flags             Flags             `json:"flags"`
	RejectCode        string            `json:"reject_code,omitempty"`
	RejectReason      string            `json:"reject_reason,omitempty"`
	CompletedAt       *time.Time        `json:"completed_at"`
	ObjectKey         string            `json:"-"`
	ThumbKey          string            `json:"-"`
	UploadID          string            `json:"-"`
	PHash             *int64            `json:"-" gorm:"column:phash"`
	// PHashes are MediaInfo.PHashes of a photo being completed, for the
	// near-duplicate lookup and the evidence_phashes rows; not a column.
	PHashes   []uint64  `json:"-" gorm:"-"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EvidenceLocation is the device's GPS fix when the photo was taken. Lat
// and Lng are WGS-84, converted on the server from the datum the device
// sent; OriginalLat and OriginalLng keep what it sent when that was not
// WGS-84.
type EvidenceLocation struct {
	Lat         float64  `json:"lat"`
	Lng         float64  `json:"lng"`
	Datum       string   `json:"datum,omitempty"`
	OriginalLat *float64 `json:"original_lat,omitempty"`
	OriginalLng *float64 `json:"original_lng,omitempty"`
	AccuracyM   float64  `json:"accuracy_m"`
	AltitudeM   *float64 `json:"altitude_m"`
	Mocked      bool     `json:"mocked"`
}

// LocationInput is a device fix as a client sends it: in WGS-84 unless
// Datum says gcj02 or bd09.
type LocationInput struct {
	Lat       float64  `json:"lat"`
	Lng       float64  `json:"lng"`
	Datum     string   `json:"datum"`
	AccuracyM float64  `json:"accuracy_m"`
	AltitudeM *float64 `json:"altitude_m"`
	Mocked    bool     `json:"mocked"`
}

// Fix checks a device fix and converts it to WGS-84, keeping the
// original coordinates when they were in another datum. prefix names the
// fix's field ("location.").
func (in LocationInput) Fix(prefix string) (EvidenceLocation, error) {
	datum := in.Datum
	if datum == "" {
		datum = DatumWGS84
	}
	if err := ValidateLatLng(in.Lat, in.Lng, prefix); err != nil {
		return EvidenceLocation{}, err
	}
	if in.AccuracyM < 0 || math.IsNaN(in.AccuracyM) {
		return EvidenceLocation{}, FieldError(CodeValidation, prefix+"accuracy_m", "accuracy_m cannot be negative")
	}
	lat, lng, err := ToWGS84(datum, in.Lat, in.Lng, prefix+"datum")
	if err != nil {
		return EvidenceLocation{}, err
	}
	out := EvidenceLocation{Lat: lat, Lng: lng, Datum: datum, AccuracyM: in.AccuracyM, AltitudeM: in.AltitudeM, Mocked: in.Mocked}
	if datum != DatumWGS84 {
		oLat, oLng := in.Lat, in.Lng
		out.OriginalLat, out.OriginalLng = &oLat, &oLng
	}
	return out, nil
}

// Value implements driver.Valuer.
func (l *EvidenceLocation) Value() (driver.Value, error) {
	if l == nil {
		return nil, nil
	}
	return jsonValue(l, "")
}

// Scan implements sql.Scanner. A fix stored before datums were recorded
// was sent, and is, WGS-84.
func (l *EvidenceLocation) Scan(src any) error {
	if err := jsonScan(src, l); err != nil {
		return err
	}
	if l.Datum == "" {
		l.Datum = DatumWGS84
	}
	return nil
}

// MediaSummary is what the server read from the bytes.
type MediaSummary struct {
	ContentType  string     `json:"content_type"`
	Width        int        `json:"width"`
	Height       int        `json:"height"`
	HasGPS       bool       `json:"has_gps"`
	Lat          *float64   `json:"lat"`
	Lng          *float64   `json:"lng"`
	AltitudeM    *float64   `json:"altitude_m"`
	TakenAt      *time.Time `json:"taken_at"`
	TakenAtLocal bool       `json:"taken_at_local"`
	Make         string     `json:"make"`
	Model        string     `json:"model"`
	Orientation  int        `json:"orientation"`
	HasThumbnail bool       `json:"has_thumbnail"`
}

// Value implements driver.Valuer.
func (m *MediaSummary) Value() (driver.Value, error) {
	if m == nil {
		return nil, nil
	}
	return jsonValue(m, "")
}

// Scan implements sql.Scanner.
func (m *MediaSummary) Scan(src any) error { return jsonScan(src, m) }

// Flag is one thing a supervisor must look at, with the measured value.
type Flag struct {
	Code   string  `json:"code"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Detail string  `json:"detail"`
	// Ref is the earlier evidence a duplicate matches.
	Ref string `json:"ref,omitempty"`
}

// Flags is a list of flags kept in one JSON text column.
type Flags []Flag

// Value implements driver.Valuer.
func (f Flags) Value() (driver.Value, error) { return jsonValue(f, "[]") }

// Scan implements sql.Scanner.
func (f *Flags) Scan(src any) error { return jsonScan(src, f) }

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

// Evidence kinds.
var EvidenceKinds = []string{"photo", "signature", "document"}
