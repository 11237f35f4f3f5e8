package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestSecurityHeaders: every answer, public or not, refusal or not,
// carries nosniff, a Referrer-Policy and frame protection; authenticated
// JSON is no-store; evidence bytes come as a named download, sandboxed.
func TestSecurityHeaders(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				task := evidenceSite(t, e, "insp1", 0)
				ev := e.upload("insp1", task, readPhoto(t, "DSCN0021.jpg"), "image/jpeg", nil)
				id := ev["id"].(string)
				all := map[string]response{
					"healthz":            e.do("", "GET", "/healthz", nil),
					"public progress":    e.do("", "GET", "/v1/public/progress", nil),
					"login refused":      e.do("", "POST", "/v1/auth/login", map[string]any{"username": "insp1", "password": "wrong", "device_id": uuid.NewString()}),
					"no token":           e.do("", "GET", "/v1/me", nil),
					"me":                 e.do("insp1", "GET", "/v1/me", nil),
					"items":              e.do("supa", "GET", "/v1/items", nil),
					"not found":          e.do("supa", "GET", "/v1/items/"+uuid.NewString(), nil),
					"unknown route":      e.do("", "GET", "/v1/nothing-here", nil),
					"evidence":           e.do("insp1", "GET", "/v1/evidence/"+id, nil),
					"evidence content":   e.do("insp1", "GET", "/v1/evidence/"+id+"/content", nil),
					"evidence thumbnail": e.do("insp1", "GET", "/v1/evidence/"+id+"/thumbnail", nil),
				}
				for name, r := range all {
					h := r.Header
					if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
						h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
						t.Errorf("%s (%d): security headers missing: %v", name, r.Status, h)
					}
				}
				for _, name := range []string{"no token", "me", "items", "not found", "evidence"} {
					if cc := all[name].Header.Get("Cache-Control"); cc != "no-store" {
						t.Errorf("%s: Cache-Control %q, want no-store", name, cc)
					}
				}
				content, thumb := all["evidence content"], all["evidence thumbnail"]
				if content.Status != 200 || thumb.Status != 200 {
					t.Fatalf("content %d, thumbnail %d", content.Status, thumb.Status)
				}
				if cd := content.Header.Get("Content-Disposition"); cd != `attachment; filename="`+id+`.jpg"` {
					t.Errorf("content: Content-Disposition %q", cd)
				}
				if cd := thumb.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `inline; filename="`+id+`-thumbnail`) {
					t.Errorf("thumbnail: Content-Disposition %q", cd)
				}
				for _, r := range []response{content, thumb} {
					if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
						t.Errorf("evidence bytes: Content-Security-Policy %q", csp)
					}
				}
			})
		}
	}
}

// TestAttackAmbiguousJSONKeys: a body with a key twice, or with a key that
// matches a field only when case is ignored (encoding/json would take it),
// is refused with its code on every route that reads JSON, and inside a
// sync mutation's arguments; nothing is written.
func TestAttackAmbiguousJSONKeys(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			dir := localStore(t, e)
			before := e.snapshot(t, dir)
			seen, tested := map[string]bool{}, 0
			for _, r := range e.srv.App().GetRoutes(true) {
				route := r.Method + " " + r.Path
				if r.Method == "GET" || r.Method == "HEAD" || seen[route] {
					continue
				}
				seen[route] = true
				if _, ok := bodyless[route]; ok {
					continue
				}
				who, ok := jsonCaller[route]
				if !ok {
					who = "admin"
				}
				path := concrete(e, r.Method, r.Path)
				refusedWith(t, route+" with a key twice", e.quick(who, r.Method, path, `{"x":1,"x":2}`), nil, "duplicate_json_key")
				refusedWith(t, route+" with a key twice, nested", e.quick(who, r.Method, path, `{"x":{"y":[{"z":1,"z":2}]}}`), nil, "duplicate_json_key")
				tested++
			}
			if tested < 10 {
				t.Fatalf("only %d JSON routes", tested)
			}
			f := e.fx
			login := `{"username":"insp1","password":"password-insp1","device_id":"` + uuid.NewString() + `",`
			cases := []struct{ name, who, method, path, body, code, field string }{
				{"login, Username", "", "POST", "/v1/auth/login", `{"Username":"insp1","password":"password-insp1","device_id":"` + uuid.NewString() + `"}`, "json_key_case_mismatch", "Username"},
				{"login, username twice in two cases", "", "POST", "/v1/auth/login", login + `"USERNAME":"admin"}`, "json_key_case_mismatch", "USERNAME"},
				{"login, password twice", "", "POST", "/v1/auth/login", login + `"password":"x"}`, "duplicate_json_key", "password"},
				{"item, Title", "supa", "PATCH", "/v1/items/" + f.itemA.ID, `{"version":1,"Title":"改"}`, "json_key_case_mismatch", "Title"},
				{"push, Client_ID", "insp1", "POST", "/v1/sync/push", `{"Client_ID":"` + uuid.NewString() + `","schema_version":1,"mutations":[]}`, "json_key_case_mismatch", "Client_ID"},
				{"push, client_id twice", "insp1", "POST", "/v1/sync/push", `{"client_id":"a","client_id":"` + uuid.NewString() + `","schema_version":1,"mutations":[]}`, "duplicate_json_key", "client_id"},
				{"site, nested Lat", "admin", "POST", "/v1/sites", `{"unit_id":"` + f.countyA.ID + `","name":"x","kind":"sewage_outfall","lat":30,"lng":116,"radius_m":50,"polygon":null,"LAT":31}`, "json_key_case_mismatch", "LAT"},
			}
			for _, c := range cases {
				r := e.quick(c.who, c.method, c.path, c.body)
				refusedWith(t, c.name, r, nil, c.code)
				if r.Status != 400 {
					t.Errorf("%s: status %d", c.name, r.Status)
				}
				if got, _ := r.json(t)["field"].(string); got != c.field {
					t.Errorf("%s: field %q, want %q", c.name, got, c.field)
				}
			}
			// Inside a mutation's arguments, which the push keeps verbatim and
			// each mutation decodes: a key twice refuses the whole push, a
			// case variant rejects the mutation with the code.
			client := uuid.NewString()
			push := func(args string) string {
				return `{"client_id":"` + client + `","schema_version":1,"mutations":[{"id":1,"name":"task.start","args":` + args + `}]}`
			}
			r := e.quick("insp1", "POST", "/v1/sync/push", push(`{"task_id":"`+f.task1.ID+`","task_id":"`+f.task1.ID+`"}`))
			refusedWith(t, "mutation args with a key twice", r, nil, "duplicate_json_key")
			if got, _ := r.json(t)["field"].(string); got != "mutations.args.task_id" {
				t.Errorf("mutation args with a key twice: field %q", got)
			}
			res := e.must(200, "insp1", "POST", "/v1/sync/push", push(`{"Task_ID":"`+f.task1.ID+`"}`))
			if got := res["results"].([]any)[0].(map[string]any); got["status"] != "rejected" || got["code"] != "json_key_case_mismatch" {
				t.Errorf("mutation args with Task_ID: %v", got)
			}
			unchanged(t, "ambiguous JSON", before, e.snapshot(t, dir))
		})
	}
}

// TestEvidenceDeclaredForVerification: evidence declared with a
// verification_id is listed in that verification's evidence_ids, once,
// and the new list reaches the inspector's next pull.
func TestEvidenceDeclaredForVerification(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				task := evidenceSite(t, e, "insp1", 0)
				p := e.phone("insp1")
				vid := uuid.NewString()
				p.push(mut("task.start", map[string]any{"task_id": task.ID}),
					mut("verification.record", map[string]any{"id": vid, "task_id": task.ID, "conclusion": "rectified", "notes": "",
						"location":    map[string]any{"lat": 43.4672, "lng": 11.8849, "accuracy_m": 5, "mocked": false},
						"recorded_at": e.now, "evidence_ids": []string{}}))
				client := uuid.NewString()
				page := e.syncPull("insp1", client, nil)
				for page.HasMore {
					page = e.syncPull("insp1", client, &page.Cursor)
				}
				d := declaration(e, task.ID, readPhoto(t, "DSCN0021.jpg"))
				d["verification_id"] = vid
				e.must(201, "insp1", "POST", "/v1/evidence", d)
				e.must(201, "insp1", "POST", "/v1/evidence", d) // declared again: listed once
				next := e.syncPull("insp1", client, &page.Cursor)
				var listed []string
				for _, u := range next.Changes["verifications"].Upserts {
					var v struct {
						ID          string   `json:"id"`
						EvidenceIDs []string `json:"evidence_ids"`
					}
					if err := json.Unmarshal(u, &v); err != nil {
						t.Fatal(err)
					}
					if v.ID == vid {
						listed = v.EvidenceIDs
					}
				}
				if len(listed) != 1 || listed[0] != d["id"] {
					t.Fatalf("the pull after the declaration lists %v for the verification, want [%s]", listed, d["id"])
				}
			})
		}
	}
}

// TestAttackBodyIDs: every route that takes an id in its body answers an
// id of another county exactly as one that does not exist: 404 not_found
// naming the field, the same detail but for the id. Nothing is written.
func TestAttackBodyIDs(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			dir := localStore(t, e)
			f := e.fx
			ctx := context.Background()
			inspB := must(items.New(e.svc).CreateUser(ctx, system, items.UserInput{Username: ptr("inspb"), Password: ptr("password-inspb"),
				Role: ptr(models.RoleInspector), UnitID: &f.countyB.ID}))
			taskA := "/v1/tasks/" + f.task1.ID
			version := func(path string) float64 { return e.must(200, "admin", "GET", path, nil)["version"].(float64) }
			newTask := func(field, id string) map[string]any {
				b := map[string]any{"item_id": f.itemA.ID, "site_id": f.siteA.ID, "kind": "progress_check", "template_id": f.tmpl.ID,
					"window_start": e.now, "due_at": e.now.AddDate(0, 0, 3)}
				b[field] = id
				return b
			}
			submit := func(field, id string) map[string]any {
				b := map[string]any{"statement": "已完成", "version": version("/v1/items/" + f.itemA.ID), "inspector_ids": []string{f.users["insp1"].ID}}
				if field == "inspector_ids" || field == "site_ids" {
					b[field] = []string{id}
				} else {
					b[field] = id
				}
				return b
			}
			cases := []struct {
				name, who, method, path, field, theirs string
				body                                   func(field, id string) map[string]any
			}{
				{"task's item", "supa", "POST", "/v1/tasks", "item_id", f.itemB.ID, newTask},
				{"task's site", "supa", "POST", "/v1/tasks", "site_id", f.siteB.ID, newTask},
				{"task's assignee", "supa", "POST", "/v1/tasks", "assignee_id", inspB.ID, newTask},
				{"task's site, changed", "supa", "PATCH", taskA, "site_id", f.siteB.ID, func(field, id string) map[string]any {
					return map[string]any{field: id, "version": version(taskA)}
				}},
				{"assignee", "supa", "POST", taskA + "/assign", "assignee_id", inspB.ID, func(field, id string) map[string]any {
					return map[string]any{field: id, "version": version(taskA)}
				}},
				{"submission's inspector", "leada", "POST", "/v1/items/" + f.itemA.ID + "/submit", "inspector_ids", inspB.ID, submit},
				{"submission's site", "leada", "POST", "/v1/items/" + f.itemA.ID + "/submit", "site_ids", f.siteB.ID, submit},
				{"evidence's task", "insp1", "POST", "/v1/evidence", "task_id", f.task2.ID, func(field, id string) map[string]any {
					d := declaration(e, f.task1.ID, readPhoto(t, "DSCN0021.jpg"))
					d[field] = id
					return d
				}},
			}
			before := e.snapshot(t, dir)
			for _, c := range cases {
				missing := uuid.NewString()
				a := e.do(c.who, c.method, c.path, c.body(c.field, missing))
				b := e.do(c.who, c.method, c.path, c.body(c.field, c.theirs))
				pa, pb := a.json(t), b.json(t)
				if a.Status != 404 || pa["code"] != "not_found" {
					t.Errorf("%s, an id that does not exist: %d %s", c.name, a.Status, a.Body)
					continue
				}
				same := a.Status == b.Status && pa["code"] == pb["code"] && pa["field"] == pb["field"] &&
					strings.ReplaceAll(pa["detail"].(string), missing, "ID") == strings.ReplaceAll(pb["detail"].(string), c.theirs, "ID")
				if !same {
					t.Errorf("%s: another county's id answers differently from a missing one:\n  missing: %d %s\n  theirs:  %d %s", c.name, a.Status, a.Body, b.Status, b.Body)
				}
			}
			unchanged(t, "ids of other counties in bodies", before, e.snapshot(t, dir))
		})
	}
}
