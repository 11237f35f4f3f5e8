package blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// Multipart cases of the shared presign table (see presign_test.go).

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
