package models

import (
	"encoding/json"
	"testing"
)

func TestCheckJSONKeys(t *testing.T) {
	type inner struct {
		Lat float64 `json:"lat"`
	}
	type Embedded struct {
		Note string `json:"note"`
	}
	type body struct {
		Embedded
		ClientID string            `json:"client_id"`
		Loc      *inner            `json:"location"`
		Fixes    []inner           `json:"fixes"`
		Labels   map[string]string `json:"labels"`
		Args     json.RawMessage   `json:"args"`
		Skipped  string            `json:"-"`
	}
	for _, c := range []struct {
		json, code, field string
	}{
		{`{"client_id":"a","location":{"lat":1},"fixes":[{"lat":2}],"labels":{"A":"1","a":"2"},"args":{"X":1,"x":2},"note":"n"}`, "", ""},
		{`{"client_id":"a","client_id":"b"}`, "duplicate_json_key", "client_id"},
		{`{"Client_ID":"a"}`, "json_key_case_mismatch", "Client_ID"},
		{`{"location":{"LAT":1}}`, "json_key_case_mismatch", "location.LAT"},
		{`{"fixes":[{"lat":1},{"Lat":2}]}`, "json_key_case_mismatch", "fixes.Lat"},
		{`{"NOTE":"promoted from an embedded struct"}`, "json_key_case_mismatch", "NOTE"},
		{`{"labels":{"a":"1","a":"2"}}`, "duplicate_json_key", "labels.a"},
		{`{"args":{"x":1,"x":2}}`, "duplicate_json_key", "args.x"},
		{`{"skipped":"x","unknown":1}`, "", ""}, // unknown members are the decoder's to refuse
		{`{"client_id":`, "", ""},               // and so is broken JSON
	} {
		err := CheckJSONKeys([]byte(c.json), &body{})
		e := AsError(err)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.json, err)
		case c.code != "" && (e == nil || string(e.Code) != c.code || e.Field != c.field):
			t.Errorf("%s: %v, want %s on %s", c.json, err, c.code, c.field)
		}
	}
}
