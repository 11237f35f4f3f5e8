package blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// Helpers of the presign tests.

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
