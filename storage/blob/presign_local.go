package blob

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// LocalPresigner implements models.Presigner for a LocalStore. Its URLs
// point at the API itself, BaseURL + "/v1/blobs/" + token, where the token
// carries what the URL allows (method, key, size, SHA-256, content type,
// upload id and part number, expiry) and an HMAC-SHA256 over it with Key.
// The API's handler for /v1/blobs/{token} (no bearer auth: the token is the
// credential, as with S3) calls Verify and then PutObject, PutPart or
// LocalStore.Get.
//
// The local store refuses what S3 refuses, so that a device that works
// against one works against the other: the same expiry bounds, part sizes
// and part order, and a PUT must match its grant's Content-Type and
// Content-Length (Grant.CheckRequest) as a presigned S3 PUT must match its
// signed headers. Unlike MinIO it also checks the SHA-256 of a single PUT
// itself, whatever headers arrive.
//
// Multipart uploads live in the store under "uploads/<upload id>/": an
// "info" object with the key and content type, and one object per part
// named by its zero-padded number. Keys under "uploads/" are therefore
// refused for presigning. Uploads nobody completes or aborts stay until
// AbortStale removes them.
type LocalPresigner struct {
	Store *LocalStore
	// BaseURL is the API's public URL as devices reach it, such as
	// "https://fieldsync.example.gov.cn"; a trailing slash is ignored.
	BaseURL string
	// Key signs tokens; at least 32 bytes, secret, and not shared with
	// other signers (sync cursors, sessions).
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ models.Presigner = (*LocalPresigner)(nil)

// LocalBlobPath is the path under BaseURL where token URLs point; the
// token follows it as one path segment.
const LocalBlobPath = "/v1/blobs/"

// MinLocalKeyLen is the shortest signing key LocalPresigner accepts.
const MinLocalKeyLen = 32

const (
	tokenVersion  = 1
	tokenMACLabel = "fieldsync-blob-url/1." // domain separation for the HMAC
	uploadsPrefix = "uploads/"
)

var b64 = base64.RawURLEncoding.Strict()

// Grant is what a verified token allows.
type Grant struct {
	// Method is http.MethodPut or http.MethodGet.
	Method string
	Key    string
	// Size is the exact length of a single PUT; -1 for parts and GETs.
	Size int64
	// SHA256 is the lower-case hex SHA-256 a single PUT must have; empty
	// for parts and GETs.
	SHA256 string
	// ContentType is what a single PUT must declare and is stored with.
	ContentType string
	// UploadID and Part are set for the PUT of one part.
	UploadID  string
	Part      int
	ExpiresAt time.Time
}

// IsPart reports whether the grant is for one part of a multipart upload.
func (g Grant) IsPart() bool { return g.UploadID != "" }

// CheckRequest checks the headers of a PUT against the grant, as S3 checks
// them against a presigned URL's signed headers: a single PUT must declare
// exactly the granted Content-Type and Content-Length, and any PUT must
// declare its length (contentLength -1: unknown, as with a chunked body).
// It returns a *models.Error with CodeValidation naming the header.
func (g Grant) CheckRequest(contentType string, contentLength int64) error {
	if g.Method != http.MethodPut {
		return nil
	}
	if contentLength < 0 {
		return models.FieldError(models.CodeValidation, "Content-Length",
			"the upload must declare its Content-Length (a chunked body is refused)")
	}
	if g.IsPart() {
		if contentLength > MaxPartSize {
			return models.FieldError(models.CodeValidation, "Content-Length",
				"a part holds at most %d bytes (5 GiB), not %d", int64(MaxPartSize), contentLength)
		}
		return nil
	}
	if contentLength != g.Size {
		return models.FieldError(models.CodeValidation, "Content-Length",
			"Content-Length is %d; this upload URL is for exactly %d bytes", contentLength, g.Size)
	}
	if contentType != g.ContentType {
		return models.FieldError(models.CodeValidation, "Content-Type",
			"Content-Type is %q; this upload URL was signed for %q", contentType, g.ContentType)
	}
	return nil
}

// tokenClaims is the signed part of a token (short JSON names keep URLs
// short).
type tokenClaims struct {
	V int    `json:"v"`
	M string `json:"m"`
	K string `json:"k"`
	S int64  `json:"s"`
	H string `json:"h,omitempty"`
	C string `json:"c,omitempty"`
	U string `json:"u,omitempty"`
	P int    `json:"p,omitempty"`
	E int64  `json:"e"` // expiry, Unix seconds
}

// PresignPut signs a PUT of exactly size bytes whose SHA-256 is sha256Hex.
// The target's headers are Content-Type and Content-Length.
func (p *LocalPresigner) PresignPut(ctx context.Context, key string, size int64, sha256Hex, contentType string, expiry time.Duration) (models.UploadTarget, error) {
	if err := p.check(ctx, key); err != nil {
		return models.UploadTarget{}, err
	}
	c, err := checkPresignPut(key, size, sha256Hex, contentType, expiry)
	if err != nil {
		return models.UploadTarget{}, err
	}
	url, exp := p.sign(tokenClaims{M: http.MethodPut, K: key, S: size, H: c.sha256Hex, C: c.contentType}, c.expiry)
	return models.UploadTarget{
		Method: http.MethodPut,
		URL:    url,
		Headers: map[string]string{
			headerContentType:   c.contentType,
			headerContentLength: strconv.FormatInt(size, 10),
		},
		ExpiresAt: exp,
	}, nil
}

// PresignGet signs a download of key. It does not check that the object
// exists; the handler answers 404 when LocalStore.Get finds nothing.
func (p *LocalPresigner) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := p.check(ctx, key); err != nil {
		return "", err
	}
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	exp, err := checkExpiry(expiry)
	if err != nil {
		return "", err
	}
	url, _ := p.sign(tokenClaims{M: http.MethodGet, K: key, S: -1}, exp)
	return url, nil
}

// Verify checks a token's signature and expiry and that it was issued for
// method (a GET token also allows HEAD). An altered, malformed or foreign
// token gives a *models.Error with CodeTokenInvalid, an expired one
// CodeTokenExpired. The expiry is checked when the request starts: an
// upload that began in time may finish after it, as on S3.
func (p *LocalPresigner) Verify(token string, method string) (Grant, error) {
	invalid := func(why string) error {
		return &models.Error{Code: models.CodeTokenInvalid, Field: "token", Message: "invalid blob URL: " + why}
	}
	if len(p.Key) < MinLocalKeyLen {
		return Grant{}, errors.New("blob: LocalPresigner needs a signing key of at least 32 bytes")
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || payload == "" || sig == "" {
		return Grant{}, invalid("malformed token")
	}
	mac, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, p.mac(payload)) {
		return Grant{}, invalid("bad signature (altered, or signed with another key)")
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return Grant{}, invalid("malformed token")
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil || c.V != tokenVersion {
		return Grant{}, invalid("unsupported token")
	}
	switch {
	case c.M == method, c.M == http.MethodGet && method == http.MethodHead:
	default:
		return Grant{}, invalid(fmt.Sprintf("this URL is for %s, not %s", c.M, method))
	}
	exp := time.Unix(c.E, 0).UTC()
	if !p.now().Before(exp) {
		return Grant{}, &models.Error{Code: models.CodeTokenExpired, Field: "token",
			Message: fmt.Sprintf("the blob URL expired at %s; ask for a new one", exp.UTC().Format(time.RFC3339))}
	}
	return Grant{Method: c.M, Key: c.K, Size: c.S, SHA256: c.H, ContentType: c.C, UploadID: c.U, Part: c.P, ExpiresAt: exp}, nil
}

// PutObject stores the body of a single PUT under the granted key. It
// reads at most the granted size, hashes while streaming and installs the
// object only when length and SHA-256 match; otherwise it returns a
// *models.Error with CodeValidation and stores nothing (an object already
// under the key is left as it was). size is the request's Content-Length,
// or -1 when unknown. Call Grant.CheckRequest first to refuse a mismatched
// request before reading its body.
func (p *LocalPresigner) PutObject(ctx context.Context, g Grant, r io.Reader, size int64) error {
	if err := p.check(ctx, g.Key); err != nil {
		return err
	}
	if g.Method != http.MethodPut || g.IsPart() || g.Size < 0 {
		return &models.Error{Code: models.CodeTokenInvalid, Field: "token", Message: "this URL is not for a single upload"}
	}
	if size >= 0 && size != g.Size {
		return models.FieldError(models.CodeValidation, "size",
			"the body holds %d bytes; this upload URL is for exactly %d bytes", size, g.Size)
	}
	body := &recordingReader{r: r}
	hr := &verifyingReader{r: body, h: sha256.New(), want: g.SHA256}
	if _, err := p.Store.Put(ctx, g.Key, hr, g.Size, g.ContentType); err != nil {
		return body.explain(err, g.Size)
	}
	if !hr.verified {
		// Put stopped reading before the end; cannot happen with
		// LocalStore.Put, which reads to EOF to check the size, but a
		// body we did not check must not stay.
		p.Store.Delete(context.WithoutCancel(ctx), g.Key)
		return fmt.Errorf("blob put %q: the body's SHA-256 was not checked", g.Key)
	}
	return nil
}

// verifyingReader hashes what it reads and, at the end of r, turns EOF
// into a CodeValidation error when the sum is not want. LocalStore.Put
// reads to EOF and fails on that error before it installs the object.
type verifyingReader struct {
	r        io.Reader
	h        hash.Hash
	want     string // lower-case hex
	verified bool
}

func (v *verifyingReader) Read(b []byte) (int, error) {
	n, err := v.r.Read(b)
	v.h.Write(b[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, models.FieldError(models.CodeValidation, "sha256",
				"the uploaded bytes have SHA-256 %s, not the declared %s; nothing was stored", got, v.want)
		}
		v.verified = true
	}
	return n, err
}

// recordingReader remembers how much of a request body arrived and why it
// stopped, so that a connection lost mid-upload is reported as the
// client's problem rather than a server error.
type recordingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *recordingReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// explain turns the error of a Put that failed because the body broke off
// into a *models.Error with CodeValidation (field "body"), keeping the
// cause; other errors are returned as they are.
func (b *recordingReader) explain(err error, want int64) error {
	// The request's context is often cancelled by then too (the server
	// noticed the connection close); the broken body is still the cause.
	if b.err == nil || errors.Is(b.err, context.Canceled) || errors.Is(b.err, context.DeadlineExceeded) || models.AsError(err) != nil {
		return err
	}
	return &models.Error{Code: models.CodeValidation, Field: "body", Err: err,
		Message: fmt.Sprintf("the upload broke off after %d of %d bytes; nothing was stored, send it again", b.n, want)}
}

func (p *LocalPresigner) sign(c tokenClaims, expiry time.Duration) (string, time.Time) {
	exp := p.now().Add(expiry).Truncate(time.Second)
	c.V, c.E = tokenVersion, exp.Unix()
	raw, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and integers always marshal
	}
	payload := b64.EncodeToString(raw)
	token := payload + "." + b64.EncodeToString(p.mac(payload))
	return strings.TrimSuffix(p.BaseURL, "/") + LocalBlobPath + token, exp
}

func (p *LocalPresigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, p.Key)
	m.Write([]byte(tokenMACLabel))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

func (p *LocalPresigner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// check refuses a misconfigured presigner, a done context, and keys in
// the namespace multipart uploads use.
func (p *LocalPresigner) check(ctx context.Context, key string) error {
	switch {
	case p.Store == nil:
		return errors.New("blob: LocalPresigner has no store")
	case p.BaseURL == "":
		return errors.New("blob: LocalPresigner has no BaseURL")
	case len(p.Key) < MinLocalKeyLen:
		return errors.New("blob: LocalPresigner needs a signing key of at least 32 bytes")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if key+"/" == uploadsPrefix || strings.HasPrefix(key, uploadsPrefix) {
		return &models.Error{Code: models.CodeInvalidID, Field: "key",
			Message: fmt.Sprintf("blob key %q: keys under %q are reserved for multipart uploads", key, uploadsPrefix)}
	}
	return nil
}
