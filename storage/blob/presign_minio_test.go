package blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
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
