package models

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// auditSkipped are the fields an audit detail never names: they change on
// every write.
var auditSkipped = map[string]bool{"version": true, "created_at": true, "updated_at": true}

// FieldChanges compares two values of one record type field by field and
// returns the audit detail of the change: {"fields": [the JSON names of
// the fields that changed]}, plus {name: {"from", "to"}} for each of the
// tracked fields that changed. Only fields with a JSON name are compared,
// so what clients never see (password hashes, unit paths) is never named;
// only tracked fields carry values, so that a detail stays small and holds
// ids, statuses, dates and codes rather than free text.
func FieldChanges(before, after any, tracked ...string) map[string]any {
	bv, av := reflect.Indirect(reflect.ValueOf(before)), reflect.Indirect(reflect.ValueOf(after))
	fields := []string{}
	out := map[string]any{}
	for i := range bv.NumField() {
		name := jsonName(bv.Type().Field(i))
		if name == "" || auditSkipped[name] {
			continue
		}
		b, a := bv.Field(i), av.Field(i)
		if sameValue(b, a) {
			continue
		}
		fields = append(fields, name)
		for _, t := range tracked {
			if t == name {
				out[name] = AuditChange{From: plain(b), To: plain(a)}
			}
		}
	}
	out["fields"] = fields
	return out
}

// jsonName is the member name a struct field is encoded under, or "" when
// it is not encoded.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag == "-" {
		return ""
	}
	if tag == "" {
		return f.Name
	}
	return tag
}

var timeType = reflect.TypeOf(time.Time{})

// sameValue compares two field values: times by instant, empty and nil
// lists as equal, everything else deeply.
func sameValue(a, b reflect.Value) bool {
	if a.Kind() == reflect.Pointer {
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	}
	switch {
	case a.Type() == timeType:
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	case a.Kind() == reflect.Slice && a.Len() == 0 && b.Len() == 0:
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// plain is a field's value for a detail: pointers followed, nil as null.
func plain(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	return v.Interface()
}

// StatusChange is the detail of a status move.
func StatusChange(from, to string) map[string]any {
	return map[string]any{"status": AuditChange{From: from, To: to}}
}

// AuditActor is who did what an audit entry records.
type AuditActor struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	DeviceID string `json:"device_id"`
}

// MarshalJSON gives an entry its wire form (the AuditEntry schema of
// openapi.yaml): the actor grouped, the detail as the JSON it is. A detail
// that is not JSON (the row was tampered with) is shown as
// {"invalid_detail": "<the stored text>"} rather than failing the page.
func (e AuditEntry) MarshalJSON() ([]byte, error) {
	detail := json.RawMessage(e.Detail)
	if !json.Valid(detail) {
		detail, _ = json.Marshal(map[string]string{"invalid_detail": e.Detail})
	}
	return json.Marshal(struct {
		Seq      *int64          `json:"seq"`
		ID       string          `json:"id"`
		At       time.Time       `json:"at"`
		Actor    AuditActor      `json:"actor"`
		Action   string          `json:"action"`
		Entity   string          `json:"entity"`
		RecordID string          `json:"record_id"`
		Detail   json.RawMessage `json:"detail"`
		PrevHash *string         `json:"prev_hash"`
		Hash     *string         `json:"hash"`
	}{e.Seq, e.ID, e.At, AuditActor{e.ActorID, e.ActorName, e.ActorRole, e.DeviceID}, e.Action, e.Entity, e.RecordID, detail, e.PrevHash, e.Hash})
}
