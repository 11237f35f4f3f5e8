package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// raw sends a request exactly as written (no client normalises the
// path) to the env's listener; an answer to a route of the API is checked
// against openapi.yaml as the answer of its route.
func (e *env) raw(method, target, route, who string, body []byte) response {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var auth string
	if who != "" {
		auth = "Authorization: Bearer " + e.tokens[who] + "\r\n"
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: fieldsync\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		method, target, auth, len(body), body)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	b, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Body: b}
	path := strings.ReplaceAll(route, ":id", "0190a8e6-7d2c-7c4e-9b1a-3f1e2d3c4b5a")
	if r.code(e.t) == "route_not_found" {
		path = "/v1/no/such/route"
	}
	if err := contracttest.ValidateResponse(method, path, res.StatusCode, res.Header, b); err != nil {
		e.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", method, target, res.StatusCode, err, b)
	}
	return r
}

// around lists the files in the test's temporary directories (the blob
// store's, the database's, and TMPDIR, where exports are spooled), which
// an attack could write to outside the store; the SQLite files, which
// every request may touch, are left out.
func around(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, root := range []string{filepath.Dir(dir), os.TempDir()} {
		for _, f := range files(t, root) {
			if !strings.Contains(filepath.Base(f), "fieldsync.db") {
				out = append(out, filepath.Join(root, f))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestAttackPathTricks sends every route that takes an id (from the app's
// routes) ids made to reach a path or an object key: dot segments,
// encoded slashes and backslashes, NUL bytes, a real id with a path after
// it, fullwidth lookalikes, a very long id; and the same tricks in the ids
// and names of request bodies and in item codes, which name exported
// files. Object keys and file names are derived by the server, so each is
// refused (400 or 404, never 2xx or 5xx), and no file appears anywhere.
func TestAttackPathTricks(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			e := newEnv(t, dialect)
			withPresign(t, e, "local")
			dir := localStore(t, e)
			e.svc.Presign = nil // the store's bytes stream through the API
			real := e.upload("insp1", e.fx.task1, readPhoto(t, "DSCN0010.jpg"), "image/jpeg", nil)["id"].(string)
			before, outside := e.snapshot(t, dir), around(t, dir)
			t.Run("IDs", func(t *testing.T) { testPathIDs(t, e, real) })
			t.Run("Bodies", func(t *testing.T) { testPathBodies(t, e, real) })
			t.Run("FileNames", func(t *testing.T) { testPathFileNames(t, e) })
			unchanged(t, "path tricks", before, e.snapshot(t, dir))
			if after := around(t, dir); !slices.Equal(outside, after) {
				t.Errorf("files appeared outside the store: before %v, after %v", outside, after)
			}
		})
	}
}

var hostileIDs = []string{
	"..", "...", "../../../../etc/passwd", "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2E%2E",
	"..%5C..%5Cwindows%5Cwin.ini", "x%00y", "%00", "%2Fetc%2Fpasswd", "%EF%BC%8E%EF%BC%8E%EF%BC%8Fetc", strings.Repeat("a", 2000),
}

func testPathIDs(t *testing.T, e *env, real string) {
	ids := append(slices.Clone(hostileIDs), real+"%2F..%2F..%2Fetc", real+"%00", "evidence%2F"+real, real+"%2F")
	seen := map[string]bool{}
	for _, r := range e.srv.App().GetRoutes(true) {
		route := r.Method + " " + r.Path
		if r.Method == "HEAD" || !strings.Contains(r.Path, "/:") || seen[route] {
			continue
		}
		seen[route] = true
		who := "admin"
		switch {
		case strings.HasPrefix(r.Path, "/v1/evidence/") && r.Method != "GET":
			who = "insp1"
		case strings.HasPrefix(r.Path, "/v1/public/"), strings.HasPrefix(r.Path, "/v1/blobs/"):
			who = ""
		}
		var body []byte
		if r.Method != "GET" {
			body = []byte(`{}`)
		}
		for _, id := range ids {
			target := strings.Replace(strings.Replace(r.Path, ":id", id, 1), ":token", id, 1)
			res := e.raw(r.Method, target, r.Path, who, body)
			if res.Status < 400 || res.Status >= 500 {
				t.Errorf("%s %s: %d %.200s", r.Method, target[:min(len(target), 120)], res.Status, res.Body)
			}
		}
	}
}

func testPathBodies(t *testing.T, e *env, real string) {
	f := e.fx
	for _, id := range hostileIDs {
		d := declaration(e, f.task1.ID, []byte("tricky"))
		d["id"] = id
		refusedWith(t, "evidence id "+id[:min(len(id), 40)], e.do("insp1", "POST", "/v1/evidence", d), nil, "invalid_id")
		d = declaration(e, f.task1.ID, []byte("tricky"))
		d["task_id"] = id
		refusedWith(t, "evidence task_id "+id[:min(len(id), 40)], e.do("insp1", "POST", "/v1/evidence", d), nil, "invalid_id", "not_found")
		d = declaration(e, f.task1.ID, []byte("tricky"))
		d["verification_id"] = id
		refusedWith(t, "evidence verification_id "+id[:min(len(id), 40)], e.do("insp1", "POST", "/v1/evidence", d), nil, "invalid_id", "not_found")
		refusedWith(t, "client_id "+id[:min(len(id), 40)], e.do("insp1", "POST", "/v1/sync/push",
			map[string]any{"client_id": id, "schema_version": 1, "mutations": []any{}}), nil, "invalid_id")
		refusedWith(t, "device_id "+id[:min(len(id), 40)], e.do("", "POST", "/v1/auth/login",
			map[string]any{"username": "insp1", "password": "password-insp1", "device_id": id}), nil, "invalid_id")
	}
	for _, field := range []string{"content_type", "kind"} {
		d := declaration(e, f.task1.ID, []byte("tricky"))
		d[field] = "../../../tmp/x"
		refusedWith(t, "evidence "+field, e.do("insp1", "POST", "/v1/evidence", d), nil, "invalid_enum")
	}
	// Ids in mutations: a note named like a path is refused, one naming a
	// real record with a path after it too.
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": uuid.NewString(), "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "note.add", "args": map[string]any{"id": "../../etc/passwd", "task_id": f.task1.ID, "text": "x"}},
		{"id": 2, "name": "evidence.attach", "args": map[string]any{"evidence_id": real + "/../x", "verification_id": uuid.NewString()}},
	}})
	for _, r := range res["results"].([]any) {
		if m := r.(map[string]any); m["status"] != "rejected" || m["code"] != "invalid_id" {
			t.Errorf("mutation with a path for an id: %v", m)
		}
	}
}

// safeName is what an exported file may be called: no path, no quote, no
// control character.
var safeName = regexp.MustCompile(`filename="[A-Za-z0-9][A-Za-z0-9._-]*"`)

func testPathFileNames(t *testing.T, e *env) {
	f := e.fx
	item := func(code string) map[string]any {
		return map[string]any{"code": code, "title": "t", "source": "s", "category": "c", "target": "t", "measures": "m",
			"responsible_unit_id": f.countyA.ID, "first_responsible": "p", "deadline": e.now.AddDate(0, 1, 0)}
	}
	for _, code := range []string{"../../evil", "A/B", "..", ".hidden", `A"B`, "A;B", "A\r\nX-Evil: 1", "A\\B", "A%2FB", "A\u202eB", "A\x00B", "甲-1"} {
		refusedWith(t, fmt.Sprintf("item code %q", code), e.do("admin", "POST", "/v1/items", item(code)), nil, "validation_failed")
	}
	// The names the exports give themselves.
	for _, path := range []string{"/v1/items/" + f.itemA.ID + "/evidence-pack", "/v1/ledger.xlsx", "/v1/ledger.csv", "/v1/reports/dispatch.xlsx"} {
		r := e.do("admin", "GET", path, nil)
		cd := r.Header.Get("Content-Disposition")
		if r.Status != 200 || !safeName.MatchString(cd) || strings.ContainsAny(cd, "/\\\r\n") || strings.Contains(cd, "..") {
			t.Errorf("%s: %d, Content-Disposition %q", path, r.Status, cd)
		}
	}
	for _, q := range []string{"?period=monthly%0D%0AX-Evil:%201", "?period=..%2F..%2Fetc", "?start=..%2F2026-11-01", "?start=2026-11-01%00"} {
		r := e.do("admin", "GET", "/v1/reports/dispatch.xlsx"+q, nil)
		refusedWith(t, "dispatch"+q, r, nil, "invalid_enum", "invalid_date")
		if r.Header.Get("X-Evil") != "" {
			t.Errorf("dispatch%s set a header", q)
		}
	}
}
