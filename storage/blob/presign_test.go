package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
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
		"bad key":        func() error { _, err := b.p.PresignPut(bg, "../x", 1, sum, "", presignTTL); return err },
		"negative size":  func() error { _, err := b.p.PresignPut(bg, "k", -1, sum, "", presignTTL); return err },
		"over 5 GiB":     func() error { _, err := b.p.PresignPut(bg, "k", blob.MaxPartSize+1, sum, "", presignTTL); return err },
		"bad sha256":     func() error { _, err := b.p.PresignPut(bg, "k", 1, "abc", "", presignTTL); return err },
		"short expiry":   func() error { _, err := b.p.PresignPut(bg, "k", 1, sum, "", 500*time.Millisecond); return err },
		"long expiry":    func() error { _, err := b.p.PresignGet(bg, "k", 8*24*time.Hour); return err },
		"get bad key":    func() error { _, err := b.p.PresignGet(bg, "/etc/passwd", presignTTL); return err },
		"part 0":         func() error { _, err := b.p.PresignPart(bg, "k", "id", 0, presignTTL); return err },
		"part 10001":     func() error { _, err := b.p.PresignPart(bg, "k", "id", 10001, presignTTL); return err },
		"no parts":       func() error { return b.p.CompleteMultipart(bg, "k", "id", nil) },
		"parts in order": func() error { return b.p.CompleteMultipart(bg, "k", "id", []models.UploadedPart{{Number: 2, ETag: "a"}, {Number: 1, ETag: "b"}}) },
		"part no etag":   func() error { return b.p.CompleteMultipart(bg, "k", "id", []models.UploadedPart{{Number: 1}}) },
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

// The case the multipart API exists for: a phone uploads two parts of
// three, dies, comes back, asks which parts arrived, sends only the rest.
func testMultipartResume(t *testing.T, b *presignBackend) {
	const key = "evidence/2026/05/long-video.mp4"
	file := genFile{seed: 11, sizes: []int64{blob.MinPartSize, blob.MinPartSize, 1 << 20}} // 11 MiB
	up, err := b.p.StartMultipart(bg, key, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	etags := map[int]string{}

	// First session: parts 1 and 2 arrive, part 3 is cut off mid-way.
	phone := newPhone()
	for _, n := range []int{1, 2} {
		r := put(t, mustPresignPart(t, b.p, key, up, n), file.part(n), file.sizes[n-1], nil, phone)
		if r.status != http.StatusOK || r.etag == "" {
			t.Fatalf("PUT part %d: %d %s (ETag %q)", n, r.status, r.body, r.etag)
		}
		etags[n] = r.etag
	}
	cut := &failingReader{r: file.part(3), after: 300_000}
	if r, err := tryPut(mustPresignPart(t, b.p, key, up, 3), cut, file.sizes[2], nil, phone); err == nil {
		t.Fatalf("PUT of part 3 with its body cut off succeeded: %d %s", r.status, r.body)
	}
	phone.kill()

	// Second session: the server says which parts it has.
	parts, err := b.p.ListParts(bg, key, up)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Fatalf("ListParts after the interruption = %+v; want parts 1 and 2", parts)
	}
	for i, p := range parts {
		if p.Number != i+1 || p.Size != blob.MinPartSize || p.ETag != etags[i+1] {
			t.Errorf("ListParts[%d] = %+v; want number %d, size %d, ETag %q", i, p, i+1, blob.MinPartSize, etags[i+1])
		}
	}
	phone = newPhone()
	r := put(t, mustPresignPart(t, b.p, key, up, 3), file.part(3), file.sizes[2], nil, phone)
	if r.status != http.StatusOK {
		t.Fatalf("PUT part 3: %d %s", r.status, r.body)
	}
	phone.kill()
	if parts, err = b.p.ListParts(bg, key, up); err != nil || len(parts) != 3 || parts[2].ETag != r.etag {
		t.Fatalf("ListParts = %+v, %v; want 3 parts, the last with ETag %q", parts, err, r.etag)
	}
	if err := b.p.CompleteMultipart(bg, key, up, parts); err != nil {
		t.Fatal(err)
	}

	rc, info, err := b.store.Get(bg, key)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), file.sha256(); got != want || n != file.size() {
		t.Errorf("assembled object: %d bytes, SHA-256 %s; want %d bytes, %s", n, got, file.size(), want)
	}
	if info.ContentType != "video/mp4" {
		t.Errorf("assembled object's content type = %q; want video/mp4", info.ContentType)
	}
	if _, err := b.p.ListParts(bg, key, up); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("ListParts after completion = %v; want ErrNotFound", err)
	}
	if err := b.p.CompleteMultipart(bg, key, up, parts); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("CompleteMultipart again = %v; want ErrNotFound", err)
	}
	if n := b.pendingUploads(t); n != 0 {
		t.Errorf("%d uploads still pending after completion", n)
	}
}

func testMultipartAbort(t *testing.T, b *presignBackend) {
	const key = "evidence/aborted.mp4"
	up, err := b.p.StartMultipart(bg, key, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(100_000, 12)
	if r := put(t, mustPresignPart(t, b.p, key, up, 1), bytes.NewReader(data), int64(len(data)), nil); r.status != http.StatusOK {
		t.Fatalf("PUT part 1: %d %s", r.status, r.body)
	}
	late := mustPresignPart(t, b.p, key, up, 2)
	if err := b.p.AbortMultipart(bg, key, up); err != nil {
		t.Fatal(err)
	}
	if _, err := b.p.ListParts(bg, key, up); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("ListParts after abort = %v; want ErrNotFound", err)
	}
	wantRefused(t, "PUT of a part after abort", put(t, late, bytes.NewReader(data), int64(len(data)), nil))
	if err := b.p.AbortMultipart(bg, key, up); err != nil {
		t.Errorf("second AbortMultipart = %v; want nil", err)
	}
	if err := b.p.CompleteMultipart(bg, key, up, []models.UploadedPart{{Number: 1, ETag: "x"}}); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("CompleteMultipart after abort = %v; want ErrNotFound", err)
	}
	if n := b.pendingUploads(t); n != 0 {
		t.Errorf("%d uploads still pending after abort", n)
	}
	wantNoObjects(t, b.store, "")
}

func testMultipartPartTooSmall(t *testing.T, b *presignBackend) {
	const key = "evidence/small-parts.mp4"
	up, err := b.p.StartMultipart(bg, key, "")
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		data := randBytes(1000, uint64(20+n))
		if r := put(t, mustPresignPart(t, b.p, key, up, n), bytes.NewReader(data), int64(len(data)), nil); r.status != http.StatusOK {
			t.Fatalf("PUT part %d: %d %s", n, r.status, r.body)
		}
	}
	parts, err := b.p.ListParts(bg, key, up)
	if err != nil {
		t.Fatal(err)
	}
	err = b.p.CompleteMultipart(bg, key, up, parts)
	if models.ErrorCode(err) != models.CodeValidation {
		t.Fatalf("CompleteMultipart with a first part of 1000 bytes = %v; want CodeValidation", err)
	}
	t.Logf("error: %v", err)
	wantMissing(t, b.store, key)
	// The upload is still there: the device can send a bigger part 1.
	if parts, err := b.p.ListParts(bg, key, up); err != nil || len(parts) != 2 {
		t.Errorf("ListParts after a refused completion = %+v, %v; want both parts", parts, err)
	}
	if err := b.p.AbortMultipart(bg, key, up); err != nil {
		t.Fatal(err)
	}
}

func testMultipartWrongETag(t *testing.T, b *presignBackend) {
	const key = "evidence/one-part.jpg"
	up, err := b.p.StartMultipart(bg, key, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(3000, 30)
	r := put(t, mustPresignPart(t, b.p, key, up, 1), bytes.NewReader(data), int64(len(data)), nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT part 1: %d %s", r.status, r.body)
	}
	for name, parts := range map[string][]models.UploadedPart{
		"wrong ETag":   {{Number: 1, ETag: "0123456789abcdef0123456789abcdef"}},
		"missing part": {{Number: 1, ETag: r.etag}, {Number: 2, ETag: r.etag}},
	} {
		if err := b.p.CompleteMultipart(bg, key, up, parts); models.ErrorCode(err) != models.CodeValidation {
			t.Errorf("CompleteMultipart with a %s = %v; want CodeValidation", name, err)
		}
	}
	wantMissing(t, b.store, key)
	// A quoted ETag, as in the PUT's response header, is accepted.
	if err := b.p.CompleteMultipart(bg, key, up, []models.UploadedPart{{Number: 1, ETag: `"` + r.etag + `"`}}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, b.store, key); !bytes.Equal(got, data) {
		t.Errorf("a one-part upload stored %d bytes; want the %d uploaded", len(got), len(data))
	}
}

// genFile is a file of generated bytes that is never held in memory:
// part(n) streams part n from a seeded generator.
type genFile struct {
	seed  uint64
	sizes []int64
}

func (f genFile) part(n int) io.Reader {
	var seed [32]byte
	seed[0], seed[1] = byte(f.seed), byte(n)
	return io.LimitReader(rand.NewChaCha8(seed), f.sizes[n-1])
}

func (f genFile) size() (n int64) {
	for _, s := range f.sizes {
		n += s
	}
	return n
}

func (f genFile) sha256() string {
	h := sha256.New()
	for n := range f.sizes {
		io.Copy(h, f.part(n+1))
	}
	return hex.EncodeToString(h.Sum(nil))
}

type failingReader struct {
	r     io.Reader
	after int64
	n     int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errors.New("the phone lost its network")
	}
	if int64(len(p)) > f.after-f.n {
		p = p[:f.after-f.n]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	return n, err
}

func mustPresignPut(t *testing.T, p models.Presigner, key string, data []byte, contentType string) models.UploadTarget {
	t.Helper()
	target, err := p.PresignPut(bg, key, int64(len(data)), sha256Hex(data), contentType, presignTTL)
	if err != nil {
		t.Fatalf("PresignPut(%q): %v", key, err)
	}
	return target
}

func mustPresignPart(t *testing.T, p models.Presigner, key, uploadID string, n int) models.UploadTarget {
	t.Helper()
	target, err := p.PresignPart(bg, key, uploadID, n, presignTTL)
	if err != nil {
		t.Fatalf("PresignPart(%q, %d): %v", key, n, err)
	}
	return target
}

func mustStorePut(t *testing.T, s models.BlobStore, key string, data []byte) {
	t.Helper()
	if _, err := s.Put(bg, key, bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, s models.BlobStore, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(bg, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantMissing(t *testing.T, s models.BlobStore, key string) {
	t.Helper()
	if info, err := s.Stat(bg, key); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Stat(%q) = %+v, %v; want ErrNotFound (nothing stored)", key, info, err)
	}
}

func wantNoObjects(t *testing.T, s models.BlobStore, prefix string) {
	t.Helper()
	var keys []string
	if err := s.List(bg, prefix, func(bi models.BlobInfo) error { keys = append(keys, bi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		t.Errorf("objects left under %q: %v; want none", prefix, keys)
	}
}

func wantRefused(t *testing.T, what string, r response) {
	t.Helper()
	if r.status < 400 || r.status > 499 {
		t.Errorf("%s: %d %s; want it refused with a 4xx", what, r.status, r.body)
		return
	}
	t.Logf("%s: %d %s", what, r.status, s3Code(r.body))
}

// wantForbidden wants 403, S3's answer to a bad or expired signature.
func wantForbidden(t *testing.T, what string, r response) {
	t.Helper()
	if r.status != http.StatusForbidden {
		t.Errorf("%s: %d %s; want 403", what, r.status, r.body)
		return
	}
	t.Logf("%s: %d %s", what, r.status, s3Code(r.body))
}

// s3Code picks the error code out of an S3 XML error, or returns the body.
func s3Code(body string) string {
	if _, rest, ok := strings.Cut(body, "<Code>"); ok {
		code, _, _ := strings.Cut(rest, "</Code>")
		return code
	}
	return strings.TrimSpace(body)
}

func randBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	rand.NewChaCha8(s).Read(b)
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
