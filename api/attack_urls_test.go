package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// hit sends a request to an absolute URL; answers of this API (not of
// MinIO) are checked against openapi.yaml.
func (e *env) hit(method, u string, headers map[string]string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if e.base != "" && strings.HasPrefix(u, e.base) {
		path := strings.TrimPrefix(u, e.base)
		if strings.HasPrefix(path, "/v1/blobs/") {
			path = "/v1/blobs/token" // the token may be hostile: the answer's shape is what counts
		}
		if err := contracttest.ValidateResponse(method, path, res.StatusCode, res.Header, b); err != nil {
			e.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", method, path, res.StatusCode, err, b)
		}
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// signedURL takes apart and rebuilds the URLs a store signs, for the
// attacks to change one thing in them.
type signedURL struct {
	local bool
	t     *testing.T
}

// signature changes one character of the signature.
func (s signedURL) signature(u string) string {
	if s.local {
		dot := strings.LastIndex(u, ".")
		return u[:dot+1] + flip(u[dot+1:])
	}
	before, after, _ := strings.Cut(u, "X-Amz-Signature=")
	return before + "X-Amz-Signature=" + flip(after)
}

// key points the URL at another object, keeping the signature.
func (s signedURL) key(u, key string) string {
	if s.local {
		base, token := u[:strings.LastIndex(u, "/")+1], u[strings.LastIndex(u, "/")+1:]
		payload, sig, _ := strings.Cut(token, ".")
		raw, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil {
			s.t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil {
			s.t.Fatal(err)
		}
		claims["k"] = key
		raw, _ = json.Marshal(claims)
		return base + base64.RawURLEncoding.EncodeToString(raw) + "." + sig
	}
	p, err := url.Parse(u)
	if err != nil {
		s.t.Fatal(err)
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(p.Path, "/"), "/")
	p.Path, p.RawPath = "/"+bucket+"/"+key, ""
	return p.String()
}

// flip changes the first character of s to another of the base64url
// alphabet (and of hex).
func flip(s string) string {
	if s[0] == 'a' {
		return "b" + s[1:]
	}
	return "a" + s[1:]
}

// TestAttackSignedURLs: the URLs handed out for direct uploads and
// downloads, the API-signed /v1/blobs/{token} of the local store and
// MinIO's presigned ones, are refused with a signature or a key altered,
// for other bytes than declared (before and after the evidence was
// verified), with other headers, for another method, and (local clock)
// expired; a multipart upload of other bytes is refused when completed.
// None of it stores anything, and the verified photo's bytes stay.
func TestAttackSignedURLs(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				e := newEnv(t, dialect)
				withPresign(t, e, store)
				testSignedURLs(t, e, signedURL{local: store == "local", t: t})
			})
		}
	}
}

func testSignedURLs(t *testing.T, e *env, alter signedURL) {
	task := evidenceSite(t, e, "insp1", 0)
	photo := readPhoto(t, "DSCN0021.jpg")
	other := bytes.Clone(photo)
	other[len(other)/2] ^= 0xFF
	d := declaration(e, task.ID, photo)
	id := d["id"].(string)
	up := e.must(201, "insp1", "POST", "/v1/evidence", d)["upload"].(map[string]any)
	target, headers := up["url"].(string), map[string]string{}
	for k, v := range up["headers"].(map[string]any) {
		headers[k] = v.(string)
	}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for hk, hv := range headers {
			h[hk] = hv
		}
		h[k] = v
		return h
	}
	// Status and code of an API answer; MinIO answers in XML.
	refused := func(what string, r response, status int, code string) {
		t.Helper()
		if alter.local {
			refusedWith(t, what, r, nil, code)
			if r.Status != status {
				t.Errorf("%s: status %d, want %d", what, r.Status, status)
			}
			return
		}
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: MinIO answered %d: %s", what, r.Status, r.Body)
		}
	}
	before := e.snapshot(t, "")
	refused("PUT with the signature altered", e.hit("PUT", alter.signature(target), headers, photo), 403, "upload_url_invalid")
	refused("PUT with the key altered", e.hit("PUT", alter.key(target, "evidence/"+uuid.NewString()), headers, photo), 403, "upload_url_invalid")
	refused("PUT with the key altered to escape", e.hit("PUT", alter.key(target, "../../../etc/cron.d/x"), headers, photo), 403, "upload_url_invalid")
	refused("PUT of other bytes", e.hit("PUT", target, headers, other), 400, "validation_failed")
	refused("PUT of fewer bytes", e.hit("PUT", target, headers, photo[:len(photo)-1]), 400, "validation_failed")
	refused("PUT with another content type", e.hit("PUT", target, with("Content-Type", "text/html"), photo), 400, "validation_failed")
	if alter.local {
		refused("GET of an upload URL", e.hit("GET", target, nil, nil), 403, "upload_url_invalid")
	}
	unchanged(t, "tampered uploads", before, e.snapshot(t, ""))

	if r := e.hit("PUT", target, headers, photo); r.Status != 200 {
		t.Fatalf("the upload itself: %d %s", r.Status, r.Body)
	}
	if rec := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/complete", nil); rec["status"] != "verified" {
		t.Fatalf("completed as %v", rec)
	}
	// The URL is still in its time, but the evidence has left pending:
	// the API-signed URL stores nothing more, not even the same bytes.
	// MinIO's own URL cannot ask the API; it is signed with the bytes'
	// SHA-256, so it takes only the same bytes again, never others.
	refused("PUT of other bytes after verification", e.hit("PUT", target, headers, other), 409, "evidence_already_complete")
	if alter.local {
		refused("PUT of the same bytes after verification", e.hit("PUT", target, headers, photo), 409, "evidence_already_complete")
	}
	r := e.do("insp1", "GET", "/v1/evidence/"+id+"/content", nil)
	if r.Status != 302 {
		t.Fatalf("content: %d", r.Status)
	}
	download := r.Header.Get("Location")
	if got := fetch(t, download); !bytes.Equal(got, photo) {
		t.Fatalf("the verified photo's bytes changed (%d bytes)", len(got))
	}
	second := directUpload(t, e, task, readPhoto(t, "DSCN0010.jpg"))
	refused("GET with the signature altered", e.hit("GET", alter.signature(download), nil, nil), 403, "upload_url_invalid")
	refused("GET with the key altered", e.hit("GET", alter.key(download, "evidence/"+second), nil, nil), 403, "upload_url_invalid")
	if alter.local {
		refused("PUT to a download URL", e.hit("PUT", download, headers, other), 403, "upload_url_invalid")
		for _, token := range []string{"..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a%00b", strings.Repeat("A", 1000)} {
			refused("GET /v1/blobs/"+token[:min(len(token), 20)], e.hit("GET", e.base+"/v1/blobs/"+token, nil, nil), 403, "upload_url_invalid")
		}
		e.now = e.now.Add(evidence.PresignTTL + time.Second)
		refused("an expired download URL", e.hit("GET", download, nil, nil), 403, "upload_url_expired")
		refused("an expired upload URL", e.hit("PUT", target, headers, photo), 403, "upload_url_expired")
		e.now = e.now.Add(-evidence.PresignTTL - time.Second)
	}
	testMultipartOtherBytes(t, e, task, refused)
	if got := fetch(t, e.do("insp1", "GET", "/v1/evidence/"+id+"/content", nil).Header.Get("Location")); !bytes.Equal(got, photo) {
		t.Fatalf("the verified photo's bytes changed (%d bytes)", len(got))
	}
}

// directUpload declares a photo, sends it to its upload URL and completes
// it, as insp1.
func directUpload(t *testing.T, e *env, task models.InspectionTask, data []byte) string {
	t.Helper()
	d := declaration(e, task.ID, data)
	up := e.must(201, "insp1", "POST", "/v1/evidence", d)["upload"].(map[string]any)
	headers := map[string]string{}
	for k, v := range up["headers"].(map[string]any) {
		headers[k] = v.(string)
	}
	if r := e.hit("PUT", up["url"].(string), headers, data); r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	e.must(200, "insp1", "POST", "/v1/evidence/"+d["id"].(string)+"/complete", nil)
	return d["id"].(string)
}

// testMultipartOtherBytes: parts are not signed with their content, so a
// part of other bytes is accepted by the store; completing the upload
// checks the whole, refuses it and keeps nothing.
func testMultipartOtherBytes(t *testing.T, e *env, task models.InspectionTask, refused func(string, response, int, string)) {
	doc := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("multipart "), 20000)...)
	sum := sha256.Sum256(doc)
	id := uuid.NewString()
	e.must(201, "insp1", "POST", "/v1/evidence", map[string]any{"id": id, "task_id": task.ID, "kind": "document",
		"sha256": hex.EncodeToString(sum[:]), "size": len(doc), "content_type": "application/pdf"})
	plan := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/multipart", nil)
	part := plan["targets"].([]any)[0].(map[string]any)
	forged := bytes.ToUpper(doc)
	if r := e.hit("PUT", part["url"].(string), nil, forged); r.Status != 200 {
		t.Fatalf("part of other bytes: %d %s", r.Status, r.Body)
	}
	before := e.snapshot(t, "")
	wantProblem(t, e.do("insp1", "POST", "/v1/evidence/"+id+"/multipart/complete", nil), 400, "sha256_mismatch")
	after := e.snapshot(t, "")
	for key := range after.Objects {
		if strings.Contains(key, id) {
			t.Errorf("a refused multipart upload left %s", key)
		}
	}
	if after.Counts["evidence"] != before.Counts["evidence"] {
		t.Errorf("evidence records went from %d to %d", before.Counts["evidence"], after.Counts["evidence"])
	}
	if rec := e.must(200, "insp1", "GET", "/v1/evidence/"+id, nil); rec["status"] != "pending" {
		t.Errorf("evidence after a refused upload: %v", rec["status"])
	}
	refused("a part URL with its signature altered", e.hit("PUT", plan["targets"].([]any)[0].(map[string]any)["url"].(string)+"x", nil, doc), 403, "upload_url_invalid")
}
