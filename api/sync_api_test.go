package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// syncPull pulls one page as who for client and decodes it strictly; the
// response is checked against openapi.yaml by e.do.
func (e *env) syncPull(who, client string, cursor *string) contract.PullResponse {
	e.t.Helper()
	r := e.do(who, "POST", "/v1/sync/pull", map[string]any{"client_id": client, "cursor": cursor, "schema_version": 1})
	if r.Status != 200 {
		e.t.Fatalf("pull as %s: status %d: %s", who, r.Status, r.Body)
	}
	return decodePull(e.t, r.Body)
}

func decodePull(t *testing.T, body []byte) contract.PullResponse {
	t.Helper()
	var p contract.PullResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not a PullResponse: %v: %.300s", err, body)
	}
	if p.Cursor == "" || p.Changes == nil {
		t.Fatalf("pull without cursor or changes: %.300s", body)
	}
	return p
}

// upsertIDs returns the ids of an entity's upserts in a page.
func upsertIDs(t *testing.T, p contract.PullResponse, entity string) []string {
	t.Helper()
	var ids []string
	if ch := p.Changes[entity]; ch != nil {
		for _, u := range ch.Upserts {
			var r struct{ ID string }
			if err := json.Unmarshal(u, &r); err != nil || r.ID == "" {
				t.Fatalf("%s upsert without id: %s", entity, u)
			}
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func removeIDs(p contract.PullResponse, entity string) []string {
	if ch := p.Changes[entity]; ch != nil {
		return ch.Removes
	}
	return nil
}

// TestSyncPullGzip: a pull that accepts gzip is answered compressed, and
// the decompressed body is a valid page; small bodies and error documents
// go uncompressed.
func TestSyncPullGzip(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			base := e.listen()
			tr := &http.Transport{DisableCompression: true} // show the raw encoding
			t.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr}
			client := uuid.NewString()
			post := func(acceptEncoding string, body any) (*http.Response, []byte) {
				t.Helper()
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", base+"/v1/sync/pull", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+e.tokens["insp1"])
				if acceptEncoding != "" {
					req.Header.Set("Accept-Encoding", acceptEncoding)
				}
				res, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				raw, err := io.ReadAll(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				if err := contracttest.ValidateResponse("POST", "/v1/sync/pull", res.StatusCode, res.Header, raw); err != nil {
					t.Errorf("pull (Accept-Encoding %q) → %d does not match openapi.yaml: %v", acceptEncoding, res.StatusCode, err)
				}
				return res, raw
			}
			initial := map[string]any{"client_id": client, "cursor": nil, "schema_version": 1}

			res, raw := post("gzip", initial)
			if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("pull accepting gzip: status %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
			}
			if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("a compressed answer should say Vary: Accept-Encoding, has Vary %q", res.Header.Get("Vary"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("the body is not gzip: %v", err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("the gzip body is broken: %v", err)
			}
			if len(raw) >= len(plain) {
				t.Errorf("compressed %d bytes into %d", len(plain), len(raw))
			}
			page := decodePull(t, plain)
			if !slices.Contains(upsertIDs(t, page, models.EntityTasks), e.fx.task1.ID) || page.HasMore || page.Reset {
				t.Errorf("insp1's initial page: tasks %v, has_more %t, reset %t", upsertIDs(t, page, models.EntityTasks), page.HasMore, page.Reset)
			}

			// The same page without Accept-Encoding is plain JSON.
			res, raw = post("", initial)
			if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" {
				t.Fatalf("pull without Accept-Encoding: status %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
			}
			if p := decodePull(t, raw); !slices.Equal(upsertIDs(t, p, models.EntityTasks), upsertIDs(t, page, models.EntityTasks)) {
				t.Errorf("plain and gzip pages differ: %v and %v", upsertIDs(t, p, models.EntityTasks), upsertIDs(t, page, models.EntityTasks))
			}

			// Nothing new: a page under 200 bytes goes as it is.
			res, raw = post("gzip", map[string]any{"client_id": client, "cursor": page.Cursor, "schema_version": 1})
			if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || len(raw) >= 200 {
				t.Errorf("empty page: status %d, Content-Encoding %q, %d bytes: %s", res.StatusCode, res.Header.Get("Content-Encoding"), len(raw), raw)
			}

			// An error document is never compressed.
			res, raw = post("gzip", map[string]any{"client_id": client, "cursor": nil, "schema_version": 2})
			if res.StatusCode != 426 || res.Header.Get("Content-Encoding") != "" {
				t.Errorf("426 with Content-Encoding %q: %.200s", res.Header.Get("Content-Encoding"), raw)
			}
		})
	}
}

// TestSyncErrorCodes: each refused sync request gets its status and code,
// and nothing it carried is applied.
func TestSyncErrorCodes(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testSyncErrorCodes(t, newEnv(t, dialect)) })
	}
}

func testSyncErrorCodes(t *testing.T, e *env) {
	client := uuid.NewString()
	var noteIDs []string
	note := func(id int64) map[string]any {
		nid := uuid.NewString()
		noteIDs = append(noteIDs, nid)
		return map[string]any{"id": id, "name": "note.add", "args": map[string]any{"id": nid, "task_id": e.fx.task1.ID, "text": "不应写入"}}
	}
	push := func(client string, schema int, muts ...map[string]any) map[string]any {
		if muts == nil {
			muts = []map[string]any{}
		}
		return map[string]any{"client_id": client, "schema_version": schema, "mutations": muts}
	}
	pull := func(client string, cursor any, schema int) map[string]any {
		return map[string]any{"client_id": client, "cursor": cursor, "schema_version": schema}
	}
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = note(int64(i + 1))
	}
	// A real cursor, then the same with its payload changed and with its
	// signature cut.
	cursor := e.syncPull("insp1", client, nil).Cursor
	payload, sig, _ := strings.Cut(cursor, ".")
	last := byte('A')
	if payload[len(payload)-1] == last {
		last = 'B'
	}
	forged := payload[:len(payload)-1] + string(last) + "." + sig

	cases := []struct {
		name, who, path string
		body            any
		status          int
		code, field     string
	}{
		{"pull: unsupported schema", "insp1", "/v1/sync/pull", pull(client, nil, 2), 426, "unsupported_schema_version", ""},
		{"push: unsupported schema", "insp1", "/v1/sync/push", push(client, 2, note(1)), 426, "unsupported_schema_version", ""},
		{"push: gap", "insp1", "/v1/sync/push", push(client, 1, note(5)), 409, "mutation_gap", ""},
		{"push: 101 mutations", "insp1", "/v1/sync/push", push(client, 1, many...), 413, "batch_too_large", ""},
		{"push: ids not consecutive", "insp1", "/v1/sync/push", push(client, 1, note(1), note(3)), 400, "mutation_ids_not_consecutive", "mutations"},
		{"pull: forged cursor", "insp1", "/v1/sync/pull", pull(client, forged, 1), 400, "sync_cursor_invalid", "cursor"},
		{"pull: cursor without signature", "insp1", "/v1/sync/pull", pull(client, payload, 1), 400, "sync_cursor_invalid", "cursor"},
		{"pull: made-up cursor", "insp1", "/v1/sync/pull", pull(client, "eyJzIjo5OTk5fQ.AAAAAAAAAAAAAAAAAAAAAA", 1), 400, "sync_cursor_invalid", "cursor"},
		{"pull: client_id not a UUID", "insp1", "/v1/sync/pull", pull("phone-1", nil, 1), 400, "invalid_id", "client_id"},
		{"push: client_id not a UUID", "insp1", "/v1/sync/push", push("phone-1", 1, note(1)), 400, "invalid_id", "client_id"},
		{"pull: unknown field", "insp1", "/v1/sync/pull", map[string]any{"client_id": client, "cursor": nil, "schema_version": 1, "since": 0}, 400, "unknown_field", "since"},
		{"push: unknown field", "insp1", "/v1/sync/push", map[string]any{"client_id": client, "schema_version": 1, "mutations": []any{}, "force": true}, 400, "unknown_field", "force"},
		{"push: unknown field in a mutation", "insp1", "/v1/sync/push", push(client, 1, map[string]any{"id": 1, "name": "note.add", "args": map[string]any{}, "when": "now"}), 400, "unknown_field", ""},
		{"push: another user's client id", "insp2", "/v1/sync/push", push(client, 1, note(1)), 409, "client_owned_by_other_device", ""},
		{"pull: anonymous", "", "/v1/sync/pull", pull(client, nil, 1), 401, "unauthenticated", ""},
		{"push: anonymous", "", "/v1/sync/push", push(client, 1, note(1)), 401, "unauthenticated", ""},
	}
	// insp2's push above needs the client registered to insp1 first.
	e.must(200, "insp1", "POST", "/v1/sync/push", push(client, 1))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.who, "POST", tc.path, tc.body)
			if r.Status != tc.status || r.code(t) != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %s", r.Status, r.code(t), tc.status, tc.code, r.Body)
			}
			if f, _ := r.json(t)["field"].(string); tc.field != "" && f != tc.field {
				t.Errorf("field %q, want %q", f, tc.field)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	// None of the refused pushes wrote anything or moved the client on.
	var n int64
	if err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) (err error) {
		n, err = tx.Count(&models.Note{}, []models.Cond{{Column: "id", Op: models.OpIn, Value: noteIDs}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d notes of refused pushes were written", n)
	}
	if p := e.syncPull("insp1", client, nil); p.LastMutationID != 0 {
		t.Errorf("refused pushes moved last_mutation_id to %d", p.LastMutationID)
	}
	// The client is not stuck: mutation 1 is still expected.
	res := e.must(200, "insp1", "POST", "/v1/sync/push", push(client, 1, note(1)))
	if res["last_mutation_id"] != float64(1) {
		t.Errorf("after the refusals, a push of mutation 1: %v", res)
	}
}

// TestSyncScopeOverHTTP: a supervisor reassigns a task through the REST
// API; the old holder's next pull removes it, with the item, site and
// template only it needed, and the new holder's adds it; cancelling it
// then removes it from the new holder.
func TestSyncScopeOverHTTP(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			f := e.fx
			c1, c2, cs := uuid.NewString(), uuid.NewString(), uuid.NewString()
			p1 := e.syncPull("insp1", c1, nil)
			p2 := e.syncPull("insp2", c2, nil)
			ps := e.syncPull("supa", cs, nil)
			if got := upsertIDs(t, p1, models.EntityTasks); !slices.Equal(got, []string{f.task1.ID}) {
				t.Fatalf("insp1 holds tasks %v, want task1 only", got)
			}
			if got := upsertIDs(t, p2, models.EntityTasks); !slices.Equal(got, []string{f.task2.ID}) {
				t.Fatalf("insp2 holds tasks %v, want task2 only", got)
			}

			task := e.must(200, "supa", "GET", "/v1/tasks/"+f.task1.ID, nil)
			e.must(200, "supa", "POST", "/v1/tasks/"+f.task1.ID+"/assign", map[string]any{"assignee_id": f.users["insp2"].ID, "version": task["version"]})

			n1 := e.syncPull("insp1", c1, &p1.Cursor)
			for entity, id := range map[string]string{models.EntityTasks: f.task1.ID, models.EntityItems: f.itemA.ID, models.EntitySites: f.siteA.ID, models.EntityTemplates: f.tmpl.ID} {
				if !slices.Contains(removeIDs(n1, entity), id) || slices.Contains(upsertIDs(t, n1, entity), id) {
					t.Errorf("insp1's pull after the reassignment: %s upserts %v removes %v, want %s removed", entity, upsertIDs(t, n1, entity), removeIDs(n1, entity), id)
				}
			}
			n2 := e.syncPull("insp2", c2, &p2.Cursor)
			var got struct {
				ID         string `json:"id"`
				AssigneeID string `json:"assignee_id"`
				Status     string `json:"status"`
				Version    int64  `json:"version"`
			}
			for _, u := range n2.Changes[models.EntityTasks].Upserts {
				json.Unmarshal(u, &got)
			}
			if got.ID != f.task1.ID || got.AssigneeID != f.users["insp2"].ID || got.Status != models.TaskAssigned || got.Version != f.task1.Version+1 {
				t.Errorf("insp2's pull after the reassignment: task %+v, want task1 v%d assigned to insp2", got, f.task1.Version+1)
			}
			for _, entity := range []string{models.EntityItems, models.EntitySites, models.EntityTemplates} {
				if len(removeIDs(n2, entity)) > 0 {
					t.Errorf("insp2 lost %s %v it still needs", entity, removeIDs(n2, entity))
				}
			}
			// The supervisor's device sees the new assignee; a fresh pull of
			// insp1 no longer has the task.
			if ns := e.syncPull("supa", cs, &ps.Cursor); !slices.Contains(upsertIDs(t, ns, models.EntityTasks), f.task1.ID) {
				t.Errorf("supa's pull after the reassignment: tasks %v", upsertIDs(t, ns, models.EntityTasks))
			}
			if fresh := e.syncPull("insp1", uuid.NewString(), nil); len(upsertIDs(t, fresh, models.EntityTasks)) != 0 {
				t.Errorf("insp1's fresh pull still has tasks %v", upsertIDs(t, fresh, models.EntityTasks))
			}

			// Cancelled: gone from insp2's next pull, which keeps task2's
			// item, site and template.
			task = e.must(200, "supa", "GET", "/v1/tasks/"+f.task1.ID, nil)
			e.must(200, "supa", "POST", "/v1/tasks/"+f.task1.ID+"/cancel", map[string]any{"version": task["version"]})
			n3 := e.syncPull("insp2", c2, &n2.Cursor)
			if !slices.Contains(removeIDs(n3, models.EntityTasks), f.task1.ID) {
				t.Errorf("insp2's pull after the cancellation: removes %v", removeIDs(n3, models.EntityTasks))
			}
			for _, entity := range []string{models.EntityItems, models.EntitySites, models.EntityTemplates} {
				if len(removeIDs(n3, entity)) > 0 {
					t.Errorf("insp2 lost %s %v task2 still needs", entity, removeIDs(n3, entity))
				}
			}
		})
	}
}
