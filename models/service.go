package models

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Service holds the business rules. The REST handlers and the sync engine
// both call it; neither changes a record any other way.
type Service struct {
	Store  Store
	Now    Clock
	NewID  func() string
	Hasher PasswordHasher
	Auth   AuthPolicy
	// Blobs keeps evidence bytes; Media reads them.
	Blobs BlobStore
	Media MediaAnalyzer
	// Presign signs direct upload and download URLs; nil streams evidence
	// through the API.
	Presign  Presigner
	Evidence EvidencePolicy
	// Renderer makes the copies of photos the public is shown;
	// Disclosure says how precise the public coordinates are.
	Renderer   PublicRenderer
	Disclosure DisclosurePolicy

	// Deadlines says where dates are read and when overdue items
	// escalate.
	Deadlines DeadlinePolicy
}

// Record is any record with a UUID primary key.
type Record interface{ RecordID() string }

// RecordID implements Record.
func (u Unit) RecordID() string { return u.ID }

// RecordID implements Record.
func (u User) RecordID() string { return u.ID }

// RecordID implements Record.
func (d Device) RecordID() string { return d.ID }

// RecordID implements Record.
func (i RectificationItem) RecordID() string { return i.ID }

// RecordID implements Record.
func (s Site) RecordID() string { return s.ID }

// RecordID implements Record.
func (t ChecklistTemplate) RecordID() string { return t.ID }

// RecordID implements Record.
func (t InspectionTask) RecordID() string { return t.ID }

// Page is one page of a keyset-paginated list. Next is the id to pass as
// After for the following page, empty on the last page.
type Page[T Record] struct {
	Items []T
	Next  string
}

// ListParams bounds a list request.
type ListParams struct {
	Limit int
	After string
}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Time is the clock's time as the databases keep it (stamp).
func (s *Service) Time() time.Time { return Stamp(s.Now()) }

// Stamp normalises a time to what every database keeps: UTC, whole
// microseconds.
func Stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// The times both databases hold: MySQL's DATETIME spans the years 1000 to
// 9999 (its driver refuses to send a year outside 1 to 9999), SQLite's
// text form has four-digit years. A time outside, such as 9999-12-31T23:59
// at -14:00 (the year 10000 in UTC), fails on MySQL as a server error,
// which a pushing device would retry for ever, and reads back from SQLite
// as another time.
var (
	minTime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// StorableTime reports whether t lies within the times the databases hold.
func StorableTime(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

// TimeField checks a time a client sent and returns it as it is stored.
func TimeField(field string, t time.Time) (time.Time, error) {
	if !StorableTime(t) {
		return t, FieldError(CodeInvalidDate, field, "%s %s lies outside the years 1000 to 9999 (UTC)", field, t.Format(time.RFC3339))
	}
	return Stamp(t), nil
}

// List runs one keyset-paginated query in a transaction of its own.
func List[T Record](ctx context.Context, s *Service, conds []Cond, p ListParams) (Page[T], error) {
	var page Page[T]
	err := s.Store.Tx(ctx, func(tx Tx) (err error) {
		page, err = PageOf[T](tx, conds, p)
		return err
	})
	return page, err
}

// pageLimit is the page size p asks for, or the default.
func pageLimit(p ListParams) (int, error) {
	if p.Limit <= 0 {
		return DefaultPageSize, nil
	}
	if p.Limit > MaxPageSize {
		return 0, FieldError(CodeValidation, "limit", "limit must be at most %d", MaxPageSize)
	}
	return p.Limit, nil
}

// PageOf reads one page in tx: it asks for one row more than the page to
// learn whether another page follows.
func PageOf[T Record](tx Tx, conds []Cond, p ListParams) (Page[T], error) {
	limit, err := pageLimit(p)
	if err != nil {
		return Page[T]{}, err
	}
	if p.After != "" && !ValidID(p.After) {
		return Page[T]{}, FieldError(CodeInvalidCursor, "page_token", "the page cursor is not valid")
	}
	var rows []T
	if err := tx.List(&rows, Query{Where: conds, After: p.After, Limit: limit + 1}); err != nil {
		return Page[T]{}, err
	}
	page := Page[T]{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.Next = rows[limit-1].RecordID()
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	return page, nil
}

// Text validates a required or optional string field and returns it
// trimmed.
func Text(field string, v *string, required bool, maxRunes int) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		if required {
			return "", FieldError(CodeRequired, field, "%s is required", field)
		}
		if v == nil {
			return "", nil
		}
	}
	t := strings.TrimSpace(*v)
	if !utf8.ValidString(t) {
		return "", FieldError(CodeValidation, field, "%s is not valid UTF-8", field)
	}
	if utf8.RuneCountInString(t) > maxRunes {
		return "", FieldError(CodeValidation, field, "%s is longer than %d characters", field, maxRunes)
	}
	if i := strings.IndexFunc(t, unprintable); i >= 0 {
		r, _ := utf8.DecodeRuneInString(t[i:])
		return "", FieldError(CodeValidation, field, "%s holds the control character %U; remove it", field, r)
	}
	return t, nil
}

// unprintable reports the characters a text field may not hold: control
// characters other than tab and line breaks, and the two non-characters
// of the BMP. XML cannot carry them, so the ledger's XLSX would turn them
// into U+FFFD and the evidence pack's report drop them; in a terminal
// (fieldctl's listings) an ESC would start an escape sequence.
func unprintable(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
}

// SetText applies an optional string patch to dst.
func SetText(dst *string, field string, v *string, required bool, maxRunes int) error {
	if v == nil {
		if required && *dst == "" {
			return FieldError(CodeRequired, field, "%s is required", field)
		}
		return nil
	}
	t, err := Text(field, v, required, maxRunes)
	if err != nil {
		return err
	}
	*dst = t
	return nil
}

// OneOf checks an enumerated value.
func OneOf(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return FieldError(CodeInvalidEnum, field, "%s must be one of %s", field, strings.Join(allowed, ", ")).With("Allowed", strings.Join(allowed, ", "))
}

// CheckVersion refuses an update based on a stale read.
func CheckVersion(stored int64, given *int64) error {
	if given == nil {
		return FieldError(CodeRequired, "version", "version is required to change a record")
	}
	if *given != stored {
		return ErrVersionConflict
	}
	return nil
}

// Lookup loads a record a request names by id in its body (field). An id
// that does not exist is 404 not_found naming the field, the one answer
// LookupVisible also gives for a record the actor may not see or use.
func Lookup(tx Tx, rec any, id string, field string) error {
	return LookupVisible(tx, rec, id, field, func() bool { return true })
}

// LookupVisible is Lookup for a record that visible, called once it is
// loaded, may hide: a record of another county answers exactly as one
// that does not exist, so that ids cannot be probed through a body.
func LookupVisible(tx Tx, rec any, id, field string, visible func() bool) error {
	if err := CheckID(field, id); err != nil {
		return err
	}
	err := tx.Get(rec, id)
	if err == nil && !visible() {
		err = ErrNotFound
	}
	if IsNotFound(err) {
		return FieldError(CodeNotFound, field, "%s %s was not found", field, id)
	}
	return err
}

// IsNotFound reports whether err is a missing-record error.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// TruncateRunes cuts s to at most n characters.
func TruncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// TranslateDup turns a unique-key clash into the given code.
func TranslateDup(err error, code Code, field, format string, args ...any) error {
	if errors.Is(err, ErrDuplicate) {
		return FieldError(code, field, format, args...)
	}
	return err
}
