package blob

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

// Helpers shared by both stores.

const (
	defaultContentType = "application/octet-stream"
	maxKeyLen          = 1024 // S3's limit, in bytes
	maxSegmentLen      = 255  // NAME_MAX of common file systems
	maxContentTypeLen  = 255
)

// ValidateKey refuses keys that could escape a store's namespace or that
// some backend cannot hold: empty, absolute, with empty, "." or ".."
// segments (or any ".."), backslashes, NUL or other control characters,
// invalid UTF-8, or longer than 1024 bytes (255 per segment). The error is
// a *models.Error with code CodeInvalidID.
func ValidateKey(key string) error {
	bad := func(why string) error {
		return &models.Error{Code: models.CodeInvalidID, Field: "key",
			Message: fmt.Sprintf("invalid blob key %q: %s", key, why)}
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > maxKeyLen:
		return bad("longer than 1024 bytes")
	case strings.HasPrefix(key, "/"):
		return bad("absolute")
	case strings.Contains(key, ".."):
		return bad(`contains ".."`)
	case strings.ContainsRune(key, '\\'):
		return bad("contains a backslash")
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.ContainsFunc(key, unicode.IsControl):
		return bad("contains a control character")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return bad("empty segment")
		case seg == ".":
			return bad(`"." segment`)
		case len(seg) > maxSegmentLen:
			return bad("segment longer than 255 bytes")
		}
	}
	return nil
}

// checkPut validates Put's arguments and returns the content type to store.
func checkPut(key string, size int64, contentType string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if size < -1 {
		return "", models.FieldError(models.CodeValidation, "size", "blob size %d: must be -1 (unknown) or at least 0", size)
	}
	if contentType == "" {
		return defaultContentType, nil
	}
	if len(contentType) > maxContentTypeLen || strings.ContainsFunc(contentType, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return "", models.FieldError(models.CodeValidation, "content_type", "blob content type %q: must be printable ASCII of at most 255 bytes", contentType)
	}
	return contentType, nil
}

// bodyReader is what the stores read a Put's body through: it stops when
// ctx is done and fails when the body is longer or shorter than the
// declared size, so neither store can keep a truncated or padded object.
type bodyReader struct {
	ctx  context.Context
	r    io.Reader
	want int64 // -1: unknown
	n    int64
	err  error // sticky
}

func newBodyReader(ctx context.Context, r io.Reader, size int64) *bodyReader {
	return &bodyReader{ctx: ctx, r: r, want: size}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return 0, err
	}
	if b.want >= 0 && int64(len(p)) > b.want-b.n {
		p = p[:b.want-b.n]
	}
	var n int
	var err error
	if len(p) > 0 {
		n, err = b.r.Read(p)
		b.n += int64(n)
	}
	switch {
	case err == io.EOF && b.want >= 0 && b.n < b.want:
		err = b.sizeErr(fmt.Sprintf("body ended after %d bytes", b.n))
	case err == nil && b.want >= 0 && b.n == b.want:
		err = b.checkEnd()
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// checkEnd reads past the declared size: the body must end there.
func (b *bodyReader) checkEnd() error {
	var one [1]byte
	for range 100 {
		n, err := b.r.Read(one[:])
		if n > 0 {
			return b.sizeErr("body is longer")
		}
		if err != nil {
			return err // io.EOF: exactly the declared size
		}
	}
	return io.ErrNoProgress
}

func (b *bodyReader) sizeErr(detail string) error {
	return models.FieldError(models.CodeValidation, "size", "blob body does not match its declared size %d: %s", b.want, detail)
}

// failure returns the error that stopped the body, if any.
func (b *bodyReader) failure() error {
	if b.err == io.EOF {
		return nil
	}
	return b.err
}
