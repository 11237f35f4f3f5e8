package blob_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// The behaviours both Presigners share, run on the local store (behind a
// stand-in for the API handler) and on MinIO, with real HTTP requests to
// the URLs they hand out.

// presignBackend is one Presigner under test with what the shared cases
// need to know about it.
type presignBackend struct {
	p     models.Presigner
	store models.BlobStore
	// advance makes d pass for the URLs' expiry: a fake clock for the
	// local store, a sleep on MinIO (which signs with the real clock).
	advance func(d time.Duration)
	// alterSignature and alterKey return the URL with its signature, or
	// the key it is for, changed.
	alterSignature func(url string) string
	alterKey       func(url string) string
	// pendingUploads counts multipart uploads not completed or aborted.
	pendingUploads func(t *testing.T) int
}

func TestPresign(t *testing.T) {
	backends := []struct {
		name string
		new  func(t *testing.T) *presignBackend
	}{
		{"local", newLocalBackend},
		{"minio", newMinIOBackend},
	}
	cases := []struct {
		name string
		fn   func(*testing.T, *presignBackend)
	}{
		{"PutAndGet", testPresignPutAndGet},
		{"EmptyFile", testPresignEmptyFile},
		{"WrongBytes", testPresignWrongBytes},
		{"WrongSize", testPresignWrongSize},
		{"TruncatedBody", testPresignTruncatedBody},
		{"ChangedHeader", testPresignChangedHeader},
		{"Expired", testPresignExpired},
		{"AlteredURL", testPresignAlteredURL},
		{"BadArguments", testPresignBadArguments},
		{"MultipartResume", testMultipartResume},
		{"MultipartAbort", testMultipartAbort},
		{"MultipartPartTooSmall", testMultipartPartTooSmall},
		{"MultipartWrongETag", testMultipartWrongETag},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.new(t) // skips here, once, when the backend is unavailable
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, b.new(t))
				})
			}
		})
	}
}

var bg = context.Background()

const presignTTL = 5 * time.Minute

func testPresignPutAndGet(t *testing.T, b *presignBackend) {
	data := randBytes(100_000, 1)
	key := "evidence/2026/05/photo.jpg"
	target := mustPresignPut(t, b.p, key, data, "image/jpeg")
	if target.Method != http.MethodPut {
		t.Errorf("Method = %q; want PUT", target.Method)
	}
	if got := target.Headers["Content-Type"]; got != "image/jpeg" {
		t.Errorf("Headers[Content-Type] = %q; want image/jpeg", got)
	}
	if until := time.Until(target.ExpiresAt); until > presignTTL || until < presignTTL-time.Minute {
		t.Errorf("ExpiresAt = %v; want about %v from now", target.ExpiresAt, presignTTL)
	}
	if r := put(t, target, bytes.NewReader(data), int64(len(data)), nil); r.status != http.StatusOK {
		t.Fatalf("PUT to the presigned URL: %d %s", r.status, r.body)
	}
	got := mustGet(t, b.store, key)
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes; want the %d uploaded", len(got), len(data))
	}
	if info, err := b.store.Stat(bg, key); err != nil || info.ContentType != "image/jpeg" {
		t.Errorf("Stat = %+v, %v; want content type image/jpeg", info, err)
	}
	// Uploading the same bytes again (a retry after a lost answer) works.
	if r := put(t, target, bytes.NewReader(data), int64(len(data)), nil); r.status != http.StatusOK {
		t.Errorf("second PUT of the same bytes: %d %s", r.status, r.body)
	}

	u, err := b.p.PresignGet(bg, key, presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, u)
	if r.status != http.StatusOK || !bytes.Equal([]byte(r.body), data) {
		t.Errorf("GET of the presigned URL: %d, %d bytes; want 200 and the %d bytes", r.status, len(r.body), len(data))
	}
	missing, err := b.p.PresignGet(bg, "evidence/missing.jpg", presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, missing); r.status != http.StatusNotFound {
		t.Errorf("GET of a presigned URL for a missing object: %d; want 404", r.status)
	}
}

func testPresignEmptyFile(t *testing.T, b *presignBackend) {
	target := mustPresignPut(t, b.p, "evidence/empty.txt", nil, "text/plain")
	if r := put(t, target, nil, 0, nil); r.status != http.StatusOK {
		t.Fatalf("PUT of an empty file: %d %s", r.status, r.body)
	}
	if got := mustGet(t, b.store, "evidence/empty.txt"); len(got) != 0 {
		t.Errorf("stored %d bytes; want none", len(got))
	}
	wantRefused(t, "PUT of one byte to a URL for an empty file", put(t, target, strings.NewReader("x"), 1, nil))
}

func testPresignWrongBytes(t *testing.T, b *presignBackend) {
	data := randBytes(50_000, 2)
	key := "evidence/wrong-bytes.jpg"
	target := mustPresignPut(t, b.p, key, data, "image/jpeg")
	other := randBytes(len(data), 3) // same size, other bytes
	r := put(t, target, bytes.NewReader(other), int64(len(other)), nil)
	wantRefused(t, "PUT of other bytes of the same size", r)
	wantMissing(t, b.store, key)

	// An object already under the key stays as it was.
	mustStorePut(t, b.store, key, data)
	r = put(t, target, bytes.NewReader(other), int64(len(other)), nil)
	wantRefused(t, "PUT of other bytes over an existing object", r)
	if got := mustGet(t, b.store, key); !bytes.Equal(got, data) {
		t.Errorf("a refused PUT changed the existing object")
	}
}

func testPresignWrongSize(t *testing.T, b *presignBackend) {
	data := randBytes(50_000, 4)
	key := "evidence/wrong-size.jpg"
	target := mustPresignPut(t, b.p, key, data, "image/jpeg")
	for _, body := range [][]byte{data[:len(data)-1], append(bytes.Clone(data), 'x'), nil} {
		r := put(t, target, bytes.NewReader(body), int64(len(body)), func(h http.Header) { h.Del("Content-Length") })
		wantRefused(t, "PUT of "+strconv.Itoa(len(body))+" bytes to a URL signed for "+strconv.Itoa(len(data)), r)
	}
	wantMissing(t, b.store, key)
}

// A body cut off mid-way (the phone lost its network) stores nothing.
func testPresignTruncatedBody(t *testing.T, b *presignBackend) {
	data := randBytes(200_000, 5)
	key := "evidence/truncated.jpg"
	target := mustPresignPut(t, b.p, key, data, "image/jpeg")
	status := rawPutTruncated(t, target, data[:len(data)/2])
	t.Logf("server's answer to a truncated body: %s", status)
	if strings.HasPrefix(status, "HTTP/1.1 5") {
		t.Errorf("a body cut off by the client got a server error: %s", status)
	}
	wantMissing(t, b.store, key)
}

func testPresignChangedHeader(t *testing.T, b *presignBackend) {
	data := randBytes(10_000, 6)
	key := "evidence/changed-header.jpg"
	target := mustPresignPut(t, b.p, key, data, "image/jpeg")
	for name, mutate := range map[string]func(http.Header){
		"other Content-Type":   func(h http.Header) { h.Set("Content-Type", "image/png") },
		"Content-Type missing": func(h http.Header) { h.Del("Content-Type") },
	} {
		r := put(t, target, bytes.NewReader(data), int64(len(data)), mutate)
		wantRefused(t, "PUT with "+name, r)
	}
	wantMissing(t, b.store, key)
}

func testPresignExpired(t *testing.T, b *presignBackend) {
	data := randBytes(1000, 7)
	target, err := b.p.PresignPut(bg, "evidence/late.jpg", int64(len(data)), sha256Hex(data), "image/jpeg", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustStorePut(t, b.store, "evidence/there.jpg", data)
	getURL, err := b.p.PresignGet(bg, "evidence/there.jpg", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.advance(2 * time.Second)
	r := put(t, target, bytes.NewReader(data), int64(len(data)), nil)
	wantForbidden(t, "PUT to an expired URL", r)
	wantMissing(t, b.store, "evidence/late.jpg")
	wantForbidden(t, "GET of an expired URL", get(t, getURL))
}

func testPresignAlteredURL(t *testing.T, b *presignBackend) {
	data := randBytes(1000, 8)
	key := "evidence/altered.jpg"
	target := mustPresignPut(t, b.p, key, data, "image/jpeg")
	for name, alter := range map[string]func(string) string{"signature": b.alterSignature, "key": b.alterKey} {
		changed := target
		changed.URL = alter(target.URL)
		if changed.URL == target.URL {
			t.Fatalf("altering the %s left the URL as it was", name)
		}
		wantForbidden(t, "PUT to a URL with its "+name+" altered", put(t, changed, bytes.NewReader(data), int64(len(data)), nil))
	}
	wantNoObjects(t, b.store, "")

	mustStorePut(t, b.store, key, data)
	u, err := b.p.PresignGet(bg, key, presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	wantForbidden(t, "GET of a URL with its signature altered", get(t, b.alterSignature(u)))
	mustStorePut(t, b.store, "evidence/other.jpg", data)
	wantForbidden(t, "GET of a URL with its key altered", get(t, b.alterKey(u)))
}

func testPresignBadArguments(t *testing.T, b *presignBackend) {
	sum := sha256Hex(nil)
	for name, call := range map[string]func() error{
		"bad key":       func() error { _, err := b.p.PresignPut(bg, "../x", 1, sum, "", presignTTL); return err },
		"negative size": func() error { _, err := b.p.PresignPut(bg, "k", -1, sum, "", presignTTL); return err },
		"over 5 GiB":    func() error { _, err := b.p.PresignPut(bg, "k", blob.MaxPartSize+1, sum, "", presignTTL); return err },
		"bad sha256":    func() error { _, err := b.p.PresignPut(bg, "k", 1, "abc", "", presignTTL); return err },
		"short expiry":  func() error { _, err := b.p.PresignPut(bg, "k", 1, sum, "", 500*time.Millisecond); return err },
		"long expiry":   func() error { _, err := b.p.PresignGet(bg, "k", 8*24*time.Hour); return err },
		"get bad key":   func() error { _, err := b.p.PresignGet(bg, "/etc/passwd", presignTTL); return err },
		"part 0":        func() error { _, err := b.p.PresignPart(bg, "k", "id", 0, presignTTL); return err },
		"part 10001":    func() error { _, err := b.p.PresignPart(bg, "k", "id", 10001, presignTTL); return err },
		"no parts":      func() error { return b.p.CompleteMultipart(bg, "k", "id", nil) },
		"parts in order": func() error {
			return b.p.CompleteMultipart(bg, "k", "id", []models.UploadedPart{{Number: 2, ETag: "a"}, {Number: 1, ETag: "b"}})
		},
		"part no etag": func() error { return b.p.CompleteMultipart(bg, "k", "id", []models.UploadedPart{{Number: 1}}) },
	} {
		if err := call(); models.ErrorCode(err) != models.CodeValidation && models.ErrorCode(err) != models.CodeInvalidID {
			t.Errorf("%s: err = %v; want CodeValidation or CodeInvalidID", name, err)
		}
	}
	up, err := b.p.StartMultipart(bg, "evidence/upload.mp4", "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.p.ListParts(bg, "evidence/other-key.mp4", up); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("ListParts with another key = %v; want ErrNotFound", err)
	}
	if err := b.p.AbortMultipart(bg, "evidence/upload.mp4", up); err != nil {
		t.Fatal(err)
	}
}
