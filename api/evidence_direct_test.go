package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// withPresign makes the env hand out direct upload URLs: MinIO's own, or
// the API-signed URLs of the local store (served by a rebuilt server).
func withPresign(t *testing.T, e *env, kind string) {
	t.Helper()
	withBlobs(t, e, kind)
	switch s := e.svc.Blobs.(type) {
	case *blob.MinIOStore:
		e.svc.Presign = s
	case *blob.LocalStore:
		e.srv = nil
		p := &blob.LocalPresigner{Store: s, Key: bytes.Repeat([]byte("k"), 32), Now: func() time.Time { return e.now }}
		e.svc.Presign = p
		e.cfg.Blobs = p
		e.srv = api.New(e.cfg)
		e.base = ""
		p.BaseURL = e.listen()
		e.base = p.BaseURL
	}
}

// send performs an upload target's request with body.
func send(t *testing.T, method, url string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestEvidenceDirectUpload: the presigned upload path and the resumable
// multipart path give the same result as the streamed one, on MinIO and on
// local disk; altered and expired URLs are refused.
func TestEvidenceDirectUpload(t *testing.T) {
	for _, store := range blobStores {
		t.Run(store, func(t *testing.T) {
			e := newEnv(t, storagetest.Dialects[0])
			withPresign(t, e, store)
			task := evidenceSite(t, e, "insp1", 0)
			photo := readPhoto(t, "DSCN0021.jpg")
			d := declaration(e, task.ID, photo)
			created := e.must(201, "insp1", "POST", "/v1/evidence", d)
			up := created["upload"].(map[string]any)
			headers := map[string]string{}
			for k, v := range up["headers"].(map[string]any) {
				headers[k] = v.(string)
			}
			url := up["url"].(string)
			if !strings.HasPrefix(url, "http") {
				t.Fatalf("expected an absolute presigned URL, got %v", up)
			}
			// An altered URL is refused and stores nothing.
			if status, body := send(t, "PUT", strings.Replace(url, "/evidence/", "/evidencX/", 1)+"x", headers, photo); status != 403 && status != 404 {
				t.Errorf("altered URL: %d %s", status, body)
			}
			if status, body := send(t, "PUT", url, headers, photo); status != 200 {
				t.Fatalf("presigned PUT: %d %s", status, body)
			}
			rec := e.must(200, "insp1", "POST", "/v1/evidence/"+d["id"].(string)+"/complete", nil)
			if rec["status"] != "verified" {
				t.Fatalf("presigned upload: %v", rec)
			}

			// A 11 MiB document in three parts; the connection "dies" after
			// two, the device asks again and sends only the third.
			doc := append([]byte("%PDF-1.4\n"), make([]byte, 11<<20)...)
			rand.Read(doc[9:])
			sum := sha256.Sum256(doc)
			id := uuid.NewString()
			e.must(201, "insp1", "POST", "/v1/evidence", map[string]any{"id": id, "task_id": task.ID, "kind": "document",
				"sha256": hex.EncodeToString(sum[:]), "size": len(doc), "content_type": "application/pdf"})
			plan := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/multipart", nil)
			size := int(plan["part_size"].(float64))
			targets := plan["targets"].([]any)
			if len(targets) != 3 {
				t.Fatalf("plan: %v", plan)
			}
			for _, tg := range targets[:2] {
				m := tg.(map[string]any)
				n := int(m["number"].(float64))
				part := doc[(n-1)*size : min(n*size, len(doc))]
				if status, body := send(t, "PUT", m["url"].(string), nil, part); status != 200 {
					t.Fatalf("part %d: %d %s", n, status, body)
				}
			}
			again := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/multipart", nil)
			if again["upload_id"] != plan["upload_id"] || len(again["received"].([]any)) != 2 || len(again["targets"].([]any)) != 1 {
				t.Fatalf("resumed plan: %v", again)
			}
			wantProblem(t, e.do("insp1", "POST", "/v1/evidence/"+id+"/multipart/complete", nil), 400, "size_mismatch")
			last := again["targets"].([]any)[0].(map[string]any)
			if status, body := send(t, "PUT", last["url"].(string), nil, doc[2*size:]); status != 200 {
				t.Fatalf("part 3: %d %s", status, body)
			}
			rec = e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/multipart/complete", nil)
			if rec["status"] != "verified" {
				t.Fatalf("multipart upload: %v", rec)
			}
			// A part URL of the completed upload stores nothing more: the
			// API-signed one knows the evidence is verified, MinIO that
			// the upload is over.
			status, body := send(t, "PUT", last["url"].(string), nil, doc[2*size:])
			if status < 400 || store == "local" && (status != 409 || !strings.Contains(body, "evidence_already_complete")) {
				t.Errorf("a part URL after completion: %d %s", status, body)
			}
			r := e.do("insp1", "GET", "/v1/evidence/"+id+"/content", nil)
			if r.Status != 302 {
				t.Fatalf("content of a presigned store must redirect: %d", r.Status)
			}
			got := fetch(t, r.Header.Get("Location"))
			if gs := sha256.Sum256(got); gs != sum {
				t.Fatalf("downloaded document differs (%d bytes)", len(got))
			}
			// The original comes as a named download from the store too.
			if store == "minio" {
				res, err := http.Get(r.Header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="`+id+`"` {
					t.Errorf("MinIO download: Content-Disposition %q", cd)
				}
			}
			// An expired URL (the local store's clock moves; MinIO's
			// expiry is tested against the real server in storage/blob).
			if store == "local" {
				d := declaration(e, task.ID, photo)
				up := e.must(201, "insp1", "POST", "/v1/evidence", d)["upload"].(map[string]any)
				e.now = e.now.Add(time.Hour)
				status, body := send(t, "PUT", up["url"].(string), map[string]string{"Content-Type": "image/jpeg"}, photo)
				var p map[string]any
				json.Unmarshal([]byte(body), &p)
				if status != 403 || p["code"] != "upload_url_expired" {
					t.Errorf("expired URL: %d %s", status, body)
				}
			}
		})
	}
}
