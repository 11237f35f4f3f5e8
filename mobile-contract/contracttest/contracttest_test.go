package contracttest_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
)

func TestSpecLoadsAndValidates(t *testing.T) {
	doc := contracttest.MustSpec(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	// Validate again explicitly, with examples checked as requests and
	// responses where kin-openapi can tell them apart.
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	again, err := contracttest.Spec()
	if err != nil || again != doc {
		t.Errorf("Spec() is not cached: %p, %p, %v", doc, again, err)
	}
}

func TestExamplesMatchTheirSchemas(t *testing.T) {
	doc := contracttest.MustSpec(t)
	seen := map[string]bool{}
	for _, ex := range contracttest.Examples(doc) {
		opts := contracttest.SchemaOptions()
		if ex.Response {
			opts = append(opts, openapi3.VisitAsResponse())
		} else {
			opts = append(opts, openapi3.VisitAsRequest())
		}
		// Round-trip through JSON so that the value has the types a
		// decoded body has.
		b, err := json.Marshal(ex.Value)
		if err != nil {
			t.Fatalf("%s: %v", ex.Where, err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", ex.Where, err)
		}
		if err := ex.Schema.Value.VisitJSON(v, opts...); err != nil {
			t.Errorf("%s: example does not match its schema: %v", ex.Where, err)
		}
		seen[ex.Where] = true
	}
	for _, want := range []string{
		"POST /v1/auth/login request application/json",
		"response Tokens application/json",
		"schema RectificationItem",
		"response BadRequest application/problem+json",
		"POST /v1/sync/pull request application/json initialSync",
		"POST /v1/sync/pull 200 application/json initialPage",
		"POST /v1/sync/pull 200 application/json delta",
		"POST /v1/sync/push request application/json verificationAndAnswer",
		"POST /v1/sync/push 200 application/json oneAppliedOneRejected",
		"response UpgradeRequired application/problem+json",
		"POST /v1/evidence request application/json photo",
		"POST /v1/evidence 201 application/json throughTheAPI",
		"POST /v1/evidence 201 application/json presigned",
		"GET /v1/evidence/{id} 200 application/json verified",
		"GET /v1/evidence/{id} 200 application/json rejected",
		"POST /v1/evidence/{id}/complete 200 application/json verified",
		"POST /v1/evidence/{id}/complete 200 application/json rejected",
		"POST /v1/evidence/{id}/multipart 200 application/json resumed",
		"GET /v1/evidence-pack/keys 200 application/json afterARotation",
	} {
		if !seen[want] {
			t.Errorf("no example at %s", want)
		}
	}
}

// loginExample is the documented login response, as a server would send it.
func loginExample(t *testing.T) map[string]any {
	t.Helper()
	ex := contracttest.MustSpec(t).Components.Responses["Tokens"].Value.Content.Get("application/json").Example
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func body(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateResponse(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	tokenHeader := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	problem := map[string]any{
		"type": "urn:fieldsync:problem:bad_credentials", "title": "Unauthorized", "status": 401,
		"detail": "wrong username or password", "code": "bad_credentials",
		"request_id": "4b1e0f2a-8c3d-4e5f-9a6b-7c8d9e0f1a2b",
	}
	withExtra := loginExample(t)
	withExtra["user"].(map[string]any)["display_name"] = "Inspector One"
	missing := loginExample(t)
	delete(missing, "refresh_token")
	badID := loginExample(t)
	badID["user"].(map[string]any)["id"] = "42"
	unit := map[string]any{
		"id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b", "parent_id": nil, "code": "CITY", "name": "市本级",
		"kind": "city", "version": 1, "created_at": "2024-09-02T01:30:00.123456Z", "updated_at": "2024-09-02T01:30:00Z",
	}
	page := map[string]any{"items": []any{unit}, "next_page_token": "MDE5MGYzYzQtNWQ2ZS03ZjgwLTlhMWItMmMzZDRlNWY2YTdi"}

	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         []byte
		wantErr      string // empty: valid
	}{
		{"login", "POST", "/v1/auth/login", 200, tokenHeader, body(t, loginExample(t)), ""},
		{"problem", "POST", "/v1/auth/login", 401, problemHeader, body(t, problem), ""},
		{"throttled", "POST", "/v1/auth/login", 429, http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"900"}}, body(t, problem), ""},
		{"unit with query", "GET", "/v1/units/0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b?x=1", 200, jsonHeader, body(t, unit), ""},
		{"list", "GET", "/v1/units?limit=1", 200, jsonHeader, body(t, page), ""},
		{"logout", "POST", "/v1/auth/logout", 204, nil, nil, ""},
		{"unsupported media type", "POST", "/v1/units", 415, problemHeader, body(t, problem), ""},
		{"unavailable", "GET", "/v1/me", 503, http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"5"}}, body(t, problem), ""},
		{"not ready", "GET", "/readyz", 503, jsonHeader, []byte(`{"status":"unavailable","checks":{"database":{"ok":false,"error":"unreachable"},"blobs":{"ok":true}}}`), ""},

		{"unknown field", "POST", "/v1/auth/login", 200, tokenHeader, body(t, withExtra), "display_name"},
		{"missing field", "POST", "/v1/auth/login", 200, tokenHeader, body(t, missing), "refresh_token"},
		{"undocumented status", "POST", "/v1/auth/login", 404, problemHeader, body(t, problem), "status is not supported"},
		{"bad uuid", "POST", "/v1/auth/login", 200, tokenHeader, body(t, badID), "uuid"},
		{"no cache-control", "POST", "/v1/auth/login", 200, jsonHeader, body(t, loginExample(t)), "Cache-Control"},
		{"no retry-after", "POST", "/v1/auth/login", 429, problemHeader, body(t, problem), "Retry-After"},
		{"unavailable without retry-after", "GET", "/v1/me", 503, problemHeader, body(t, problem), "Retry-After"},
		{"no 415 without a body", "POST", "/v1/auth/logout", 415, problemHeader, body(t, problem), "status is not supported"},
		{"problem as json", "POST", "/v1/auth/login", 401, jsonHeader, body(t, problem), "application/json"},
		{"problem with extra", "POST", "/v1/auth/login", 401, problemHeader, []byte(`{"type":"urn:fieldsync:problem:bad_credentials","title":"t","status":401,"detail":"d","code":"bad_credentials","stack":"..."}`), "stack"},
		{"body on 204", "POST", "/v1/auth/logout", 204, nil, []byte(`{}`), "without a body"},
		{"empty body", "GET", "/v1/me", 200, jsonHeader, nil, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := contracttest.ValidateResponse(tc.method, tc.path, tc.status, tc.header, tc.body)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("want an error about %q, got none", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("want an error about %q, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestValidateResponseUndocumentedRoute(t *testing.T) {
	for _, r := range [][2]string{{"GET", "/v1/nope"}, {"DELETE", "/v1/units/0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"}, {"HEAD", "/healthz"}} {
		err := contracttest.ValidateResponse(r[0], r[1], 200, nil, nil)
		if !errors.Is(err, contracttest.ErrUndocumentedRoute) {
			t.Errorf("%s %s: want ErrUndocumentedRoute, got %v", r[0], r[1], err)
		}
	}
}

// TestValidateResponseUnrouted checks the one documented answer to a request
// that names no operation: 404 route_not_found for an unknown path, 405
// method_not_allowed for a documented path with another method.
func TestValidateResponseUnrouted(t *testing.T) {
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	problem := func(status int, code string) []byte {
		return body(t, map[string]any{
			"type": "urn:fieldsync:problem:" + code, "title": http.StatusText(status), "status": status,
			"detail": "no such endpoint", "code": code, "request_id": "4b1e0f2a-8c3d-4e5f-9a6b-7c8d9e0f1a2b",
		})
	}
	unit := "/v1/units/0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"
	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         []byte
		wantErr      string // empty: valid
		undocumented bool   // the error must be ErrUndocumentedRoute
	}{
		{"unknown path", "GET", "/v1/nope", 404, problemHeader, problem(404, "route_not_found"), "", false},
		{"unknown path outside v1", "POST", "/nope?x=1", 404, problemHeader, problem(404, "route_not_found"), "", false},
		{"unknown method", "DELETE", unit, 405, problemHeader, problem(405, "method_not_allowed"), "", false},

		{"wrong code", "GET", "/v1/nope", 404, problemHeader, problem(404, "not_found"), "route_not_found", false},
		{"wrong status in body", "GET", "/v1/nope", 404, problemHeader, problem(405, "route_not_found"), "route_not_found", false},
		{"not a problem", "GET", "/v1/nope", 404, http.Header{"Content-Type": {"application/json"}}, problem(404, "route_not_found"), "application/problem+json", false},
		{"problem with extra", "GET", "/v1/nope", 404, problemHeader, []byte(`{"type":"urn:fieldsync:problem:route_not_found","title":"Not Found","status":404,"detail":"d","code":"route_not_found","stack":"..."}`), "stack", false},
		{"404 for a documented path", "DELETE", unit, 404, problemHeader, problem(404, "route_not_found"), "no documented operation", true},
		{"405 for an unknown path", "GET", "/v1/nope", 405, problemHeader, problem(405, "method_not_allowed"), "no documented operation", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := contracttest.ValidateResponse(tc.method, tc.path, tc.status, tc.header, tc.body)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("want an error about %q, got none", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("want an error about %q, got %v", tc.wantErr, err)
			case err != nil && errors.Is(err, contracttest.ErrUndocumentedRoute) != tc.undocumented:
				t.Fatalf("errors.Is(err, ErrUndocumentedRoute) = %v, want %v: %v", !tc.undocumented, tc.undocumented, err)
			}
		})
	}
}

// syncExample returns a documented example of a sync operation's
// response as a decoded JSON object.
func syncExample(t *testing.T, path, status, name string) map[string]any {
	t.Helper()
	op := contracttest.MustSpec(t).Paths.Find(path).Post
	ex, ok := op.Responses.Status(mustAtoi(t, status)).Value.Content.Get("application/json").Examples[name]
	if !ok {
		t.Fatalf("no example %s of POST %s → %s", name, path, status)
	}
	var m map[string]any
	if err := json.Unmarshal(body(t, ex.Value.Value), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zlibbed(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestValidateResponseSync checks the sync operations' answers, including
// pull pages compressed as the server sends them.
func TestValidateResponseSync(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	encoded := func(enc string) http.Header {
		return http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {enc}, "Vary": {"Accept-Encoding"}}
	}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	page := body(t, syncExample(t, "/v1/sync/pull", "200", "initialPage"))
	delta := body(t, syncExample(t, "/v1/sync/pull", "200", "delta"))
	reset := body(t, syncExample(t, "/v1/sync/pull", "200", "reset"))
	pushed := body(t, syncExample(t, "/v1/sync/push", "200", "oneAppliedOneRejected"))

	wrongEntity := syncExample(t, "/v1/sync/pull", "200", "initialPage")
	changes := wrongEntity["changes"].(map[string]any)
	changes["notes"] = changes["tasks"] // a task is not a note
	unknownEntity := syncExample(t, "/v1/sync/pull", "200", "delta")
	unknownEntity["changes"].(map[string]any)["widgets"] = map[string]any{"upserts": []any{}, "removes": []any{}}
	noRemoves := syncExample(t, "/v1/sync/pull", "200", "delta")
	delete(noRemoves["changes"].(map[string]any)["tasks"].(map[string]any), "removes")
	rejectedNoCode := syncExample(t, "/v1/sync/push", "200", "oneAppliedOneRejected")
	delete(rejectedNoCode["results"].([]any)[1].(map[string]any), "code")
	appliedWithCode := syncExample(t, "/v1/sync/push", "200", "oneAppliedOneRejected")
	appliedWithCode["results"].([]any)[0].(map[string]any)["code"] = "internal"
	badStatus := syncExample(t, "/v1/sync/push", "200", "oneAppliedOneRejected")
	badStatus["results"].([]any)[0].(map[string]any)["status"] = "pending"

	upgrade := body(t, map[string]any{
		"type": "urn:fieldsync:problem:unsupported_schema_version", "title": "Upgrade Required", "status": 426,
		"detail": "update the app", "code": "unsupported_schema_version", "request_id": "4b1e0f2a-8c3d-4e5f-9a6b-7c8d9e0f1a2b",
	})
	gap := body(t, map[string]any{
		"type": "urn:fieldsync:problem:mutation_gap", "title": "Conflict", "status": 409,
		"detail": "resend from 8", "code": "mutation_gap",
	})

	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         []byte
		wantErr      string // empty: valid
	}{
		{"pull page", "POST", "/v1/sync/pull", 200, jsonHeader, page, ""},
		{"pull delta", "POST", "/v1/sync/pull", 200, jsonHeader, delta, ""},
		{"pull reset", "POST", "/v1/sync/pull", 200, jsonHeader, reset, ""},
		{"pull gzip", "POST", "/v1/sync/pull", 200, encoded("gzip"), gzipped(t, page), ""},
		{"pull gzip delta", "POST", "/v1/sync/pull", 200, encoded("gzip"), gzipped(t, delta), ""},
		{"pull identity", "POST", "/v1/sync/pull", 200, encoded("identity"), page, "Content-Encoding"},
		{"pull deflate is not offered", "POST", "/v1/sync/pull", 200, encoded("deflate"), zlibbed(t, page), "Content-Encoding"},
		{"push", "POST", "/v1/sync/push", 200, jsonHeader, pushed, ""},
		{"push gap", "POST", "/v1/sync/push", 409, problemHeader, gap, ""},
		{"pull 426", "POST", "/v1/sync/pull", 426, problemHeader, upgrade, ""},
		{"push 426", "POST", "/v1/sync/push", 426, problemHeader, upgrade, ""},
		{"push batch too large", "POST", "/v1/sync/push", 413, problemHeader, upgrade, ""},

		{"gzip with a bad page", "POST", "/v1/sync/pull", 200, encoded("gzip"), gzipped(t, body(t, unknownEntity)), "widgets"},
		{"gzip not gzipped", "POST", "/v1/sync/pull", 200, encoded("gzip"), page, "gzip"},
		{"gzip truncated", "POST", "/v1/sync/pull", 200, encoded("gzip"), gzipped(t, page)[:40], "gzip"},
		{"gzipped but not declared", "POST", "/v1/sync/pull", 200, jsonHeader, gzipped(t, page), "decode"},
		{"brotli", "POST", "/v1/sync/pull", 200, encoded("br"), page, "cannot decode"},
		{"undocumented encoding", "POST", "/v1/sync/push", 200, encoded("gzip"), gzipped(t, pushed), "Content-Encoding"},
		{"compressed problem", "POST", "/v1/sync/pull", 426, http.Header{"Content-Type": {"application/problem+json"}, "Content-Encoding": {"gzip"}}, gzipped(t, upgrade), "Content-Encoding"},
		{"compressed unrouted problem", "GET", "/v1/nope", 404, http.Header{"Content-Type": {"application/problem+json"}, "Content-Encoding": {"gzip"}}, gzipped(t, body(t, map[string]any{
			"type": "urn:fieldsync:problem:route_not_found", "title": "Not Found", "status": 404, "detail": "d", "code": "route_not_found",
		})), "Content-Encoding"},
		{"record under the wrong entity", "POST", "/v1/sync/pull", 200, jsonHeader, body(t, wrongEntity), "author_id"},
		{"entity without removes", "POST", "/v1/sync/pull", 200, jsonHeader, body(t, noRemoves), "removes"},
		{"rejected without code", "POST", "/v1/sync/push", 200, jsonHeader, body(t, rejectedNoCode), "code"},
		{"applied with code", "POST", "/v1/sync/push", 200, jsonHeader, body(t, appliedWithCode), "not"},
		{"unknown status", "POST", "/v1/sync/push", 200, jsonHeader, body(t, badStatus), "pending"},
		{"no 426 elsewhere", "POST", "/v1/units", 426, problemHeader, upgrade, "status is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := contracttest.ValidateResponse(tc.method, tc.path, tc.status, tc.header, tc.body)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("want an error about %q, got none", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("want an error about %q, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	routes := contracttest.Routes()
	if !sort.StringsAreSorted(routes) {
		t.Error("Routes() is not sorted")
	}
	set := map[string]bool{}
	for _, r := range routes {
		method, path, ok := strings.Cut(r, " ")
		if !ok || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") {
			t.Errorf("malformed route %q", r)
		}
		if set[r] {
			t.Errorf("route %q listed twice", r)
		}
		set[r] = true
	}
	for _, want := range []string{"GET /healthz", "GET /readyz", "POST /v1/auth/login", "GET /v1/units/{id}", "POST /v1/tasks/{id}/assign", "POST /v1/sync/pull", "POST /v1/sync/push",
		"GET /v1/evidence", "POST /v1/evidence", "GET /v1/evidence/{id}", "PUT /v1/evidence/{id}/content", "GET /v1/evidence/{id}/content",
		"POST /v1/evidence/{id}/complete", "GET /v1/evidence/{id}/thumbnail", "POST /v1/evidence/{id}/multipart",
		"POST /v1/evidence/{id}/multipart/complete", "PUT /v1/blobs/{token}", "GET /v1/blobs/{token}", "GET /v1/audit",
		"GET /v1/ledger.xlsx", "GET /v1/ledger.csv", "GET /v1/reports/dispatch", "GET /v1/reports/dispatch.xlsx",
		"GET /v1/items/{id}/evidence-pack", "GET /v1/evidence-pack/keys"} {
		if !set[want] {
			t.Errorf("Routes() lacks %q", want)
		}
	}
}

// opExample returns a documented example of an operation's response as a
// decoded JSON object.
func opExample(t *testing.T, method, path, status, name string) map[string]any {
	t.Helper()
	op := contracttest.MustSpec(t).Paths.Find(path).GetOperation(method)
	ex, ok := op.Responses.Status(mustAtoi(t, status)).Value.Content.Get("application/json").Examples[name]
	if !ok {
		t.Fatalf("no example %s of %s %s → %s", name, method, path, status)
	}
	var m map[string]any
	if err := json.Unmarshal(body(t, ex.Value.Value), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEvidenceExamples: the documented evidence shows what a supervisor
// sees: a verified photo outside the geofence and near-identical to
// another, and a rejected one.
func TestEvidenceExamples(t *testing.T) {
	verified := opExample(t, "GET", "/v1/evidence/{id}", "200", "verified")
	flags := map[string]map[string]any{}
	for _, f := range verified["flags"].([]any) {
		flags[f.(map[string]any)["code"].(string)] = f.(map[string]any)
	}
	if f := flags["outside_geofence"]; f == nil || f["value"] != 294.0 || f["unit"] != "m" {
		t.Errorf("the verified example lacks outside_geofence at 294 m: %v", verified["flags"])
	}
	if f := flags["near_duplicate_photo"]; f == nil || f["ref"] == nil || f["unit"] != "bits" {
		t.Errorf("the verified example lacks near_duplicate_photo with a ref: %v", verified["flags"])
	}
	if rejected := opExample(t, "GET", "/v1/evidence/{id}", "200", "rejected"); rejected["status"] != "rejected" || rejected["reject_code"] != "media_unsupported_type" {
		t.Errorf("the rejected example is %v %v", rejected["status"], rejected["reject_code"])
	}
	created := opExample(t, "POST", "/v1/evidence", "201", "throughTheAPI")
	up := created["upload"].(map[string]any)
	ev := created["evidence"].(map[string]any)
	if up["url"] != "/v1/evidence/"+ev["id"].(string)+"/content" || up["expires_at"] != "0001-01-01T00:00:00Z" || ev["status"] != "pending" {
		t.Errorf("the declaration example answers %v for %v", up, ev["status"])
	}
}

// TestValidateResponseEvidence checks the evidence operations' answers,
// including the bytes they serve and their redirects to the blob store.
func TestValidateResponseEvidence(t *testing.T) {
	const id = "8c3e5a71-0b2d-4f6e-9a1c-7d8e9f0a1b2c"
	sha := strings.Repeat("7f", 32)
	bytesOf := func(ct string, extra ...string) http.Header {
		h := http.Header{"Content-Type": {ct}, "Cache-Control": {"private, max-age=300"}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		return h
	}
	redirect := http.Header{"Location": {"https://minio.example/bucket/evidence/" + id + "?X-Amz-Signature=x"}, "Cache-Control": {"private, no-store"}}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	problem := func(status int, code string) []byte {
		return body(t, map[string]any{"type": "urn:fieldsync:problem:" + code, "title": http.StatusText(status), "status": status, "detail": "d", "code": code})
	}
	created := opExample(t, "POST", "/v1/evidence", "201", "throughTheAPI")
	pending := created["evidence"]
	verified := opExample(t, "GET", "/v1/evidence/{id}", "200", "verified")
	withReject := opExample(t, "GET", "/v1/evidence/{id}", "200", "verified")
	withReject["reject_code"] = "media_unreadable"
	zeroTarget := opExample(t, "POST", "/v1/evidence", "201", "throughTheAPI")
	zeroTarget["evidence"] = verified
	zeroTarget["upload"] = map[string]any{"method": "", "url": "", "headers": nil, "expires_at": "0001-01-01T00:00:00Z"}
	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	plan := opExample(t, "POST", "/v1/evidence/{id}/multipart", "200", "resumed")
	const blob = "/v1/blobs/eyJ2IjoxfQ.c2ln"
	stored := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Etag": {`"5f363e0e58a95f06cbe9bbc662c5dfb6"`}}

	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         []byte
		wantErr      string // empty: valid
	}{
		{"declared", "POST", "/v1/evidence", 201, jsonHeader, body(t, created), ""},
		{"declared again after completion", "POST", "/v1/evidence", 201, jsonHeader, body(t, zeroTarget), ""},
		{"uploaded", "PUT", "/v1/evidence/" + id + "/content", 200, jsonHeader, body(t, pending), ""},
		{"completed", "POST", "/v1/evidence/" + id + "/complete", 200, jsonHeader, body(t, verified), ""},
		{"list", "GET", "/v1/evidence?task_id=" + id, 200, jsonHeader, body(t, map[string]any{"items": []any{verified, pending}}), ""},
		{"content", "GET", "/v1/evidence/" + id + "/content", 200, bytesOf("image/jpeg", "X-Content-SHA256", sha), jpeg, ""},
		{"pdf", "GET", "/v1/evidence/" + id + "/content", 200, bytesOf("application/pdf", "X-Content-SHA256", sha), []byte("%PDF-1.7"), ""},
		{"heic", "GET", "/v1/evidence/" + id + "/content", 200, bytesOf("image/heic", "X-Content-SHA256", sha), []byte("....ftypheic"), ""},
		{"thumbnail", "GET", "/v1/evidence/" + id + "/thumbnail", 200, bytesOf("image/jpeg"), jpeg, ""},
		{"content redirect", "GET", "/v1/evidence/" + id + "/content", 302, redirect, nil, ""},
		{"thumbnail redirect", "GET", "/v1/evidence/" + id + "/thumbnail", 302, redirect, nil, ""},
		{"not verified", "GET", "/v1/evidence/" + id + "/content", 409, problemHeader, problem(409, "content_missing"), ""},
		{"wrong bytes", "PUT", "/v1/evidence/" + id + "/content", 400, problemHeader, problem(400, "sha256_mismatch"), ""},
		{"too large", "POST", "/v1/evidence", 413, problemHeader, problem(413, "evidence_too_large"), ""},
		{"multipart plan", "POST", "/v1/evidence/" + id + "/multipart", 200, jsonHeader, body(t, plan), ""},
		{"no direct uploads", "POST", "/v1/evidence/" + id + "/multipart", 409, problemHeader, problem(409, "direct_upload_unavailable"), ""},
		{"multipart completed", "POST", "/v1/evidence/" + id + "/multipart/complete", 200, jsonHeader, body(t, verified), ""},
		{"parts missing", "POST", "/v1/evidence/" + id + "/multipart/complete", 400, problemHeader, problem(400, "size_mismatch"), ""},
		{"blob stored", "PUT", blob, 200, stored, []byte("OK"), ""},
		{"blob downloaded", "GET", blob, 200, http.Header{"Content-Type": {"image/jpeg"}, "Cache-Control": {"private, no-store"}}, jpeg, ""},
		{"blob URL expired", "PUT", blob, 403, problemHeader, problem(403, "upload_url_expired"), ""},
		{"blob without its headers", "PUT", blob, 400, problemHeader, problem(400, "validation_failed"), ""},

		{"verified with a reject code", "GET", "/v1/evidence/" + id, 200, jsonHeader, body(t, withReject), "reject_code"},
		{"content without its hash", "GET", "/v1/evidence/" + id + "/content", 200, bytesOf("image/jpeg"), jpeg, "X-Content-SHA256"},
		{"content without cache-control", "GET", "/v1/evidence/" + id + "/content", 200, http.Header{"Content-Type": {"image/jpeg"}, "X-Content-Sha256": {sha}}, jpeg, "Cache-Control"},
		{"gif", "GET", "/v1/evidence/" + id + "/content", 200, bytesOf("image/gif", "X-Content-SHA256", sha), jpeg, "image/gif"},
		{"png thumbnail", "GET", "/v1/evidence/" + id + "/thumbnail", 200, bytesOf("image/png"), jpeg, "image/png"},
		{"redirect without location", "GET", "/v1/evidence/" + id + "/content", 302, http.Header{"Cache-Control": {"private, no-store"}}, nil, "Location"},
		{"cached redirect", "GET", "/v1/evidence/" + id + "/content", 302, http.Header{"Location": {"https://x/"}, "Cache-Control": {"max-age=300"}}, nil, "Cache-Control"},
		{"redirect with a body", "GET", "/v1/evidence/" + id + "/content", 302, redirect, []byte("see other"), "without a body"},
		{"no 415 for an upload", "PUT", "/v1/evidence/" + id + "/content", 415, problemHeader, problem(415, "unsupported_media_type"), "status is not supported"},
		{"no 413 for an upload", "PUT", "/v1/evidence/" + id + "/content", 413, problemHeader, problem(413, "body_too_large"), "status is not supported"},
		{"plan without targets", "POST", "/v1/evidence/" + id + "/multipart", 200, jsonHeader, body(t, map[string]any{"upload_id": "u", "part_size": 5242880, "parts": 1, "received": []any{}}), "targets"},
		{"blob needs no bearer token", "PUT", blob, 401, problemHeader, problem(401, "unauthenticated"), "status is not supported"},
		{"blob stored with another body", "PUT", blob, 200, stored, []byte("stored"), "OK"},
		{"cached blob", "GET", blob, 200, http.Header{"Content-Type": {"image/jpeg"}, "Cache-Control": {"private, max-age=300"}}, jpeg, "Cache-Control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := contracttest.ValidateResponse(tc.method, tc.path, tc.status, tc.header, tc.body)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("want an error about %q, got none", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("want an error about %q, got %v", tc.wantErr, err)
			}
		})
	}
}
