package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// StringList is a list of strings kept in one JSON text column.
type StringList []string

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) { return jsonValue(l, "[]") }

// MarshalJSON sends a nil list as [], as it reads back from the database.
func (l StringList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(l))
}

// Scan implements sql.Scanner.
func (l *StringList) Scan(src any) error { return jsonScan(src, l) }

// Questions is a checklist kept in one JSON text column.
type Questions []Question

// Value implements driver.Valuer.
func (q Questions) Value() (driver.Value, error) { return jsonValue(q, "[]") }

// Scan implements sql.Scanner.
func (q *Questions) Scan(src any) error { return jsonScan(src, q) }

// Value implements driver.Valuer; a nil polygon is NULL.
func (p *Polygon) Value() (driver.Value, error) {
	if p == nil {
		return nil, nil
	}
	return jsonValue(p, "")
}

// Scan implements sql.Scanner.
func (p *Polygon) Scan(src any) error { return jsonScan(src, p) }

func jsonValue(v any, empty string) (driver.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" && empty != "" {
		return empty, nil
	}
	return string(b), nil
}

func jsonScan(src, dst any) error {
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		return json.Unmarshal([]byte(s), dst)
	case []byte:
		return json.Unmarshal(s, dst)
	default:
		return fmt.Errorf("cannot scan %T into %T", src, dst)
	}
}

// Nullable is a patch field that tells an absent key (Set false) from an
// explicit null (Set true, Value nil), so that a patch can clear a value.
type Nullable[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON implements json.Unmarshaler; it runs only for keys that
// are present, null included.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}
