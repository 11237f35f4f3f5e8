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
		{`{"client_id":"a","client\u005fid":"b"}`, "duplicate_json_key", "client_id"},
		{`{"Client\u005fID":"a"}`, "json_key_case_mismatch", "Client_ID"},
		{`{"fixes":[[{"lat":1,"lat":2}]]}`, "duplicate_json_key", "fixes.lat"},
		{`{"args":[{"x":1},{"x":1}],"labels":{}}`, "", ""},
		{` {} `, "", ""},
		{`[{"a":1,"a":2}]`, "duplicate_json_key", "a"},
		{`"a string"`, "", ""},
		{`{"note":"x"} {"note":"y","note":"z"}`, "", ""}, // only the first value is read
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

// BenchmarkCheckJSONKeys checks a push of ten mutations, as the API does
// for every push body (and the sync engine again for each mutation's
// arguments).
func BenchmarkCheckJSONKeys(b *testing.B) {
	type mutation struct {
		ID   int64           `json:"id"`
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	type push struct {
		ClientID      string     `json:"client_id"`
		SchemaVersion int        `json:"schema_version"`
		Mutations     []mutation `json:"mutations"`
	}
	body := []byte(`{"client_id":"c590f66d-a176-4569-955d-2452a91b719b","schema_version":3,"mutations":[`)
	for i := range 10 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"id":`+string(rune('1'+i%9))+`,"name":"verification.record","args":{"id":"6bc236c8-df12-4006-b607-6ac32472c6c1","task_id":"01a24f90-9d0d-780c-a832-04407423ae45","conclusion":"rectified","notes":"现场复核，排口已封堵","location":{"lat":43.4672,"lng":11.8849,"accuracy_m":5,"mocked":false},"recorded_at":"2026-11-28T09:00:00Z","evidence_ids":["01a24f90-6814-708e-8829-7b388743b518"]}}`...)
	}
	body = append(body, "]}"...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := CheckJSONKeys(body, &push{}); err != nil {
			b.Fatal(err)
		}
	}
}
