package blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// What MinIO itself enforces on the URLs MinIOStore signs, beyond the
// shared cases in presign_test.go.

func TestMinIOPresignHeaders(t *testing.T) {
	s := mustMinIO(t, testenv.MinIO(t), freshBucket())
	data := randBytes(5000, 40)
	target := mustPresignPut(t, s, "evidence/h.jpg", data, "image/jpeg")
	sum := sha256.Sum256(data)
	want := map[string]string{
		"Content-Type":          "image/jpeg",
		"Content-Length":        strconv.Itoa(len(data)),
		"X-Amz-Checksum-Sha256": base64.StdEncoding.EncodeToString(sum[:]),
	}
	if !maps.Equal(target.Headers, want) {
		t.Errorf("Headers = %v; want %v", target.Headers, want)
	}
	// The headers are signed: each must be sent, with its value.
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if name == "Content-Length" {
			continue // Go always sends it; WrongSize covers other values
		}
		r := put(t, target, bytes.NewReader(data), int64(len(data)), func(h http.Header) { h.Del(name) })
		wantRefused(t, "PUT without "+name, r)
	}
	// Other bytes with their own, correct checksum: the checksum header
	// is signed, so changing it breaks the signature.
	other := randBytes(len(data), 41)
	otherSum := sha256.Sum256(other)
	r := put(t, target, bytes.NewReader(other), int64(len(other)), func(h http.Header) {
		h.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(otherSum[:]))
	})
	if r.status != http.StatusForbidden || s3Code(r.body) != "SignatureDoesNotMatch" {
		t.Errorf("PUT of other bytes with their own checksum: %d %s; want 403 SignatureDoesNotMatch", r.status, s3Code(r.body))
	}
	// A chunked body has no Content-Length to match the signed one.
	r = put(t, target, io.MultiReader(bytes.NewReader(data)), -1, nil)
	wantRefused(t, "PUT with a chunked body", r)
	// Unsigned extra headers that AWS SDKs add are ignored.
	r = put(t, target, bytes.NewReader(data), int64(len(data)), func(h http.Header) {
		h.Set("X-Amz-Sdk-Checksum-Algorithm", "SHA256")
	})
	if r.status != http.StatusOK {
		t.Errorf("PUT with an extra X-Amz-Sdk-Checksum-Algorithm: %d %s; want 200", r.status, r.body)
	}
	wantNoObjects(t, s, "evidence/other")
}

// The control experiment: signed without X-Amz-Checksum-Sha256, MinIO
// stores whatever bytes of the right length arrive. The checksum header is
// what makes it check the content.
func TestMinIOPresignWithoutChecksumAcceptsAnyBytes(t *testing.T) {
	s := mustMinIO(t, testenv.MinIO(t), freshBucket())
	data := randBytes(5000, 42)
	h := http.Header{"Content-Type": {"image/jpeg"}, "Content-Length": {strconv.Itoa(len(data))}}
	u, err := s.Client().PresignHeader(bg, http.MethodPut, s.Bucket(), "evidence/x.jpg", time.Minute, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	target := models.UploadTarget{Method: http.MethodPut, URL: u.String(), Headers: map[string]string{"Content-Type": "image/jpeg"}}
	other := randBytes(len(data), 43)
	if r := put(t, target, bytes.NewReader(other), int64(len(other)), nil); r.status != http.StatusOK {
		t.Errorf("PUT of other bytes without a signed checksum: %d %s; want 200 (MinIO cannot know)", r.status, r.body)
	}
}

func TestMinIOMultipartUnknownUpload(t *testing.T) {
	s := mustMinIO(t, testenv.MinIO(t), freshBucket())
	const key = "evidence/u.mp4"
	for _, id := range []string{"bogus", "ZDEzNzQ1NjUtMmEzYy00ZjZhLWI0ZDAtNzBkZjNiMjYxMDE3"} {
		if _, err := s.ListParts(bg, key, id); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ListParts(%q) = %v; want ErrNotFound", id, err)
		}
		if err := s.AbortMultipart(bg, key, id); err != nil {
			t.Errorf("AbortMultipart(%q) = %v; want nil", id, err)
		}
		if err := s.CompleteMultipart(bg, key, id, []models.UploadedPart{{Number: 1, ETag: "x"}}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("CompleteMultipart(%q) = %v; want ErrNotFound", id, err)
		}
	}
	// Presigning a part does not ask the server; the PUT is refused.
	target, err := s.PresignPart(bg, key, "bogus", 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, "PUT of a part of an unknown upload", put(t, target, bytes.NewReader([]byte("x")), 1, nil))
}

// TestMinIOPublicEndpoint: with a public endpoint the presigned URLs name
// it, not the address the server talks to, and they work when a proxy
// that keeps the Host header forwards them to the store (as Caddy does in
// docker-compose.yml): the request is sent to the store's own address
// with the public host as Host.
func TestMinIOPublicEndpoint(t *testing.T) {
	env := testenv.MinIO(t)
	bucket := freshBucket()
	mustMinIO(t, env, bucket) // creates the bucket and removes it after
	s, err := blob.NewMinIO(bg, blob.S3Config{Endpoint: env.Endpoint, Bucket: bucket, Region: "us-east-1",
		AccessKey: env.AccessKey, SecretKey: env.SecretKey, PublicEndpoint: "https://files.fieldsync.test"})
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(3000, 42)
	target := mustPresignPut(t, s, "evidence/public.jpg", data, "image/jpeg")
	u, err := url.Parse(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "files.fieldsync.test" {
		t.Fatalf("presigned PUT URL %s; want https://files.fieldsync.test/...", target.URL)
	}
	viaProxy := func(method, raw string, body io.Reader, size int64, headers map[string]string) (int, []byte) {
		t.Helper()
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		host := u.Host
		u.Scheme, u.Host = "http", env.Endpoint
		req, err := http.NewRequestWithContext(bg, method, u.String(), body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host, req.ContentLength = host, size
		for k, v := range headers {
			if k != "Content-Length" {
				req.Header.Set(k, v)
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if st, b := viaProxy("PUT", target.URL, bytes.NewReader(data), int64(len(data)), target.Headers); st != http.StatusOK {
		t.Fatalf("PUT through the public host: %d %s", st, b)
	}
	get, err := s.PresignGet(bg, "evidence/public.jpg", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(get, "https://files.fieldsync.test/") {
		t.Errorf("presigned GET URL %s; want https://files.fieldsync.test/...", get)
	}
	if st, b := viaProxy("GET", get, nil, 0, nil); st != http.StatusOK || !bytes.Equal(b, data) {
		t.Errorf("GET through the public host: %d, %d bytes; want 200 and the %d bytes put", st, len(b), len(data))
	}
	// The signature covers the host: the store's own address is refused.
	if r := put(t, models.UploadTarget{Method: "PUT", URL: strings.Replace(target.URL, "https://files.fieldsync.test", "http://"+env.Endpoint, 1), Headers: target.Headers},
		bytes.NewReader(data), int64(len(data)), nil); r.status != http.StatusForbidden {
		t.Errorf("PUT to the store's own address with a URL signed for the public one: %d; want 403", r.status)
	}
}
