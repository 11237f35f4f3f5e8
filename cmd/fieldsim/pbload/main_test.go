package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestRun: pbload posts single records to the collection and batches to
// /api/batch, counts the records the server took, and counts a refused
// request as failed.
func TestRun(t *testing.T) {
	var singles, batched atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Requests []struct{ Method, URL string }
			Note     string
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		switch r.URL.Path {
		case "/api/collections/observations/records":
			if body.Note == "" {
				http.Error(w, "no note", 400)
				return
			}
			singles.Add(1)
		case "/api/batch":
			for _, q := range body.Requests {
				if q.Method != "POST" || q.URL != "/api/collections/observations/records" {
					http.Error(w, "bad batch entry", 400)
					return
				}
			}
			batched.Add(int64(len(body.Requests)))
		default:
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	for _, c := range []struct {
		args          []string
		records, fail int64
	}{
		{[]string{"-workers", "3", "-batch", "1", "-requests", "4"}, 12, 0},
		{[]string{"-workers", "2", "-batch", "10", "-requests", "3"}, 60, 0},
		{[]string{"-workers", "2", "-requests", "2", "-collection", "other"}, 0, 4},
	} {
		var out bytes.Buffer
		if err := run(append([]string{"-server", srv.URL}, c.args...), &out); (err != nil) != (c.fail > 0) {
			t.Fatalf("%v: %v, want an error exactly when requests fail", c.args, err)
		}
		var r report
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Records != c.records || r.Failed != c.fail || (c.records > 0 && r.RecordsPerSecond <= 0) {
			t.Errorf("%v: %+v, want %d records and %d failures", c.args, r, c.records, c.fail)
		}
	}
	if singles.Load() != 12 || batched.Load() != 60 {
		t.Errorf("the server took %d single and %d batched records", singles.Load(), batched.Load())
	}
	for _, bad := range [][]string{{"-workers", "0"}, {"-batch", "0"}, {"-requests", "0"}, {"-nope"}} {
		if err := run(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("pbload %v: no error", bad)
		}
	}
}
