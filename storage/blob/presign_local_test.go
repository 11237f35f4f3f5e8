package blob_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// The local presigner's own contract, called directly (the HTTP round
// trips are in presign_test.go).

var clockStart = time.Now().UTC().Truncate(time.Second)

func newLocalPresigner(t *testing.T) (*blob.LocalPresigner, *fakeClock) {
	t.Helper()
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: clockStart}
	return &blob.LocalPresigner{Store: store, BaseURL: "https://fieldsync.example/", Key: testSigningKey, Now: clock.Now}, clock
}

func tokenOf(t *testing.T, u string) string {
	t.Helper()
	token, ok := strings.CutPrefix(u, "https://fieldsync.example"+blob.LocalBlobPath)
	if !ok || strings.Contains(token, "/") {
		t.Fatalf("URL %s is not BaseURL/v1/blobs/<token>", u)
	}
	return token
}

func TestLocalPresignGrants(t *testing.T) {
	p, _ := newLocalPresigner(t)
	data := []byte("photo")
	target := mustPresignPut(t, p, "evidence/a.jpg", data, "image/jpeg")
	g, err := p.Verify(tokenOf(t, target.URL), http.MethodPut)
	if err != nil {
		t.Fatal(err)
	}
	want := blob.Grant{Method: http.MethodPut, Key: "evidence/a.jpg", Size: 5, SHA256: sha256Hex(data),
		ContentType: "image/jpeg", ExpiresAt: clockStart.Add(presignTTL)}
	if g != want || !target.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Verify(put token) = %+v (target expires %v); want %+v", g, target.ExpiresAt, want)
	}
	if _, err := p.Verify(tokenOf(t, target.URL), http.MethodGet); models.ErrorCode(err) != models.CodeTokenInvalid {
		t.Errorf("Verify(put token, GET) = %v; want CodeTokenInvalid", err)
	}

	// An upper-case SHA-256 is accepted and granted in lower case; an
	// empty content type becomes application/octet-stream.
	target, err = p.PresignPut(bg, "evidence/b.bin", 5, strings.ToUpper(sha256Hex(data)), "", presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := p.Verify(tokenOf(t, target.URL), http.MethodPut); g.SHA256 != sha256Hex(data) || g.ContentType != "application/octet-stream" {
		t.Errorf("grant = %+v; want lower-case SHA-256 and application/octet-stream", g)
	}
	if target.Headers["Content-Type"] != "application/octet-stream" || target.Headers["Content-Length"] != "5" {
		t.Errorf("Headers = %v; want Content-Type application/octet-stream, Content-Length 5", target.Headers)
	}

	u, err := p.PresignGet(bg, "evidence/a.jpg", presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if g, err := p.Verify(tokenOf(t, u), m); err != nil || g.Key != "evidence/a.jpg" || g.Method != http.MethodGet || g.Size != -1 {
			t.Errorf("Verify(get token, %s) = %+v, %v; want a GET grant for evidence/a.jpg", m, g, err)
		}
	}
	if _, err := p.Verify(tokenOf(t, u), http.MethodPut); models.ErrorCode(err) != models.CodeTokenInvalid {
		t.Errorf("Verify(get token, PUT) = %v; want CodeTokenInvalid", err)
	}

	up, err := p.StartMultipart(bg, "evidence/v.mp4", "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := p.PresignPart(bg, "evidence/v.mp4", up, 7, presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := p.Verify(tokenOf(t, pt.URL), http.MethodPut); err != nil || !g.IsPart() || g.UploadID != up || g.Part != 7 || g.Key != "evidence/v.mp4" {
		t.Errorf("Verify(part token) = %+v, %v; want part 7 of %s", g, err, up)
	}
	if _, err := p.PresignPart(bg, "evidence/other.mp4", up, 1, presignTTL); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("PresignPart for another key = %v; want ErrNotFound", err)
	}
	if _, err := p.PresignPart(bg, "evidence/v.mp4", strings.Repeat("0", 32), 1, presignTTL); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("PresignPart of an unknown upload = %v; want ErrNotFound", err)
	}
}

func TestLocalPresignExpiry(t *testing.T) {
	p, clock := newLocalPresigner(t)
	u, err := p.PresignGet(bg, "k", time.Minute+300*time.Millisecond) // signed in whole seconds
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, u)
	clock.Advance(time.Minute - time.Millisecond)
	if _, err := p.Verify(token, http.MethodGet); err != nil {
		t.Errorf("Verify just before expiry = %v; want nil", err)
	}
	clock.Advance(time.Millisecond)
	_, err = p.Verify(token, http.MethodGet)
	if models.ErrorCode(err) != models.CodeTokenExpired {
		t.Errorf("Verify at expiry = %v; want CodeTokenExpired", err)
	}
}

func TestLocalPresignRefusesForgedTokens(t *testing.T) {
	p, _ := newLocalPresigner(t)
	u, err := p.PresignGet(bg, "evidence/a.jpg", presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, u)
	payload, sig, _ := strings.Cut(token, ".")
	other := *p
	other.Key = bytes.Repeat([]byte("k"), 32)
	foreign, err := other.PresignGet(bg, "evidence/a.jpg", presignTTL)
	if err != nil {
		t.Fatal(err)
	}
	// The last base64 character of a 32-byte MAC carries 2 unused bits;
	// a decoder that ignored them would accept this one.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	sloppy := sig[:len(sig)-1] + string(alphabet[strings.IndexByte(alphabet, sig[len(sig)-1])^1])
	if a, b := mustDecode(t, sig), mustDecode(t, sloppy); !bytes.Equal(a, b) {
		t.Fatalf("test set-up: %q and %q should decode alike when unused bits are ignored", sig, sloppy)
	}
	for name, bad := range map[string]string{
		"empty":               "",
		"no signature":        payload,
		"empty payload":       "." + sig,
		"two dots":            payload + "." + sig + ".x",
		"padded":              payload + "." + sig + "=",
		"not base64":          payload + ".!!!",
		"truncated signature": payload + "." + sig[:len(sig)-2],
		"unused bits set":     payload + "." + sloppy,
		"other key":           tokenOf(t, foreign),
	} {
		if bad == token {
			continue // the flip landed on an identical encoding
		}
		if _, err := p.Verify(bad, http.MethodGet); models.ErrorCode(err) != models.CodeTokenInvalid {
			t.Errorf("Verify(%s) = %v; want CodeTokenInvalid", name, err)
		}
	}
}

func TestLocalPresignConfig(t *testing.T) {
	good, _ := newLocalPresigner(t)
	for name, p := range map[string]blob.LocalPresigner{
		"no store":  {BaseURL: "http://x", Key: testSigningKey},
		"no base":   {Store: good.Store, Key: testSigningKey},
		"short key": {Store: good.Store, BaseURL: "http://x", Key: []byte("short")},
	} {
		if _, err := p.PresignGet(bg, "k", presignTTL); err == nil || models.AsError(err) != nil {
			t.Errorf("%s: PresignGet = %v; want a configuration error", name, err)
		}
	}
	short := blob.LocalPresigner{Store: good.Store, BaseURL: "http://x", Key: []byte("short")}
	if _, err := short.Verify("a.b", http.MethodGet); err == nil || models.AsError(err) != nil {
		t.Errorf("Verify with a short key = %v; want a configuration error", err)
	}
}

func TestLocalPresignReservedKeys(t *testing.T) {
	p, _ := newLocalPresigner(t)
	sum := sha256Hex(nil)
	for _, key := range []string{"uploads", "uploads/x", "uploads/0123/info"} {
		_, err1 := p.PresignPut(bg, key, 0, sum, "", presignTTL)
		_, err2 := p.PresignGet(bg, key, presignTTL)
		_, err3 := p.StartMultipart(bg, key, "")
		for _, err := range []error{err1, err2, err3} {
			if models.ErrorCode(err) != models.CodeInvalidID {
				t.Errorf("presigning %q = %v; want CodeInvalidID", key, err)
			}
		}
	}
}

func TestLocalPutObject(t *testing.T) {
	p, _ := newLocalPresigner(t)
	data := randBytes(70_000, 50)
	g := mustGrant(t, p, mustPresignPut(t, p, "evidence/p.jpg", data, "image/jpeg").URL)

	// A declared size other than the grant's is refused without reading.
	err := p.PutObject(bg, g, panicReader{}, int64(len(data))+1)
	if models.ErrorCode(err) != models.CodeValidation {
		t.Errorf("PutObject with the wrong size = %v; want CodeValidation", err)
	}
	// Unknown size: the body is counted.
	if err := p.PutObject(bg, g, io.MultiReader(bytes.NewReader(data), strings.NewReader("x")), -1); models.ErrorCode(err) != models.CodeValidation {
		t.Errorf("PutObject of a longer body of unknown size = %v; want CodeValidation", err)
	}
	if err := p.PutObject(bg, g, bytes.NewReader(data), -1); err != nil {
		t.Fatalf("PutObject = %v", err)
	}
	// Other bytes: refused, existing object kept, no temporary file left.
	other := randBytes(len(data), 51)
	err = p.PutObject(bg, g, bytes.NewReader(other), int64(len(other)))
	if me := models.AsError(err); me == nil || me.Code != models.CodeValidation || !strings.Contains(me.Message, "SHA-256") {
		t.Errorf("PutObject of other bytes = %v; want CodeValidation about the SHA-256", err)
	}
	if got := mustGet(t, p.Store, "evidence/p.jpg"); !bytes.Equal(got, data) {
		t.Error("a refused PutObject changed the stored object")
	}
	if entries, _ := os.ReadDir(filepath.Join(p.Store.Dir(), "tmp")); len(entries) > 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	// An empty file is a file.
	empty := mustGrant(t, p, mustPresignPut(t, p, "evidence/empty", nil, "").URL)
	if err := p.PutObject(bg, empty, bytes.NewReader(nil), 0); err != nil {
		t.Errorf("PutObject of 0 bytes = %v", err)
	}

	// Grants are not interchangeable.
	up, _ := p.StartMultipart(bg, "evidence/v.mp4", "")
	part := mustGrant(t, p, mustPresignPart(t, p, "evidence/v.mp4", up, 1).URL)
	if err := p.PutObject(bg, part, bytes.NewReader(data), int64(len(data))); models.ErrorCode(err) != models.CodeTokenInvalid {
		t.Errorf("PutObject with a part grant = %v; want CodeTokenInvalid", err)
	}
	if _, err := p.PutPart(bg, g, bytes.NewReader(data), int64(len(data))); models.ErrorCode(err) != models.CodeTokenInvalid {
		t.Errorf("PutPart with a single-PUT grant = %v; want CodeTokenInvalid", err)
	}
}

func TestLocalGrantCheckRequest(t *testing.T) {
	g := blob.Grant{Method: http.MethodPut, Key: "k", Size: 10, SHA256: sha256Hex(nil), ContentType: "image/jpeg"}
	for _, tc := range []struct {
		ct   string
		n    int64
		want models.Code
	}{
		{"image/jpeg", 10, ""},
		{"image/png", 10, models.CodeValidation},
		{"", 10, models.CodeValidation},
		{"image/jpeg", 9, models.CodeValidation},
		{"image/jpeg", -1, models.CodeValidation},
	} {
		err := g.CheckRequest(tc.ct, tc.n)
		if (tc.want == "" && err != nil) || (tc.want != "" && models.ErrorCode(err) != tc.want) {
			t.Errorf("CheckRequest(%q, %d) = %v; want %q", tc.ct, tc.n, err, tc.want)
		}
	}
	part := blob.Grant{Method: http.MethodPut, Key: "k", Size: -1, UploadID: "u", Part: 1}
	if err := part.CheckRequest("whatever", 123); err != nil {
		t.Errorf("part CheckRequest = %v; want nil", err)
	}
	if err := part.CheckRequest("", -1); models.ErrorCode(err) != models.CodeValidation {
		t.Errorf("part CheckRequest without a length = %v; want CodeValidation", err)
	}
}

func mustGrant(t *testing.T, p *blob.LocalPresigner, u string) blob.Grant {
	t.Helper()
	g, err := p.Verify(tokenOf(t, u), http.MethodPut)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) {
	panic("read a body that should have been refused unread")
}
