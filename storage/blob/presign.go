package blob

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Limits both Presigners apply, so that the local store refuses what S3
// refuses and a device that works against one works against the other.
const (
	// MinPartSize is S3's smallest part: every part of a multipart upload
	// except the last must hold at least this many bytes, or completing
	// the upload fails (S3 and MinIO answer EntityTooSmall; the local
	// store returns CodeValidation).
	MinPartSize = 5 << 20
	// MaxPartSize is S3's largest part, and its largest single PUT.
	MaxPartSize = 5 << 30
	// MaxParts is S3's largest part number.
	MaxParts = 10000
	// MinPresignExpiry and MaxPresignExpiry bound a presigned URL's
	// lifetime (S3 signature v4 counts whole seconds, at most 7 days).
	MinPresignExpiry = time.Second
	MaxPresignExpiry = 7 * 24 * time.Hour
)

// presignPut is what PresignPut checked: the content type to sign (empty
// becomes application/octet-stream) and the SHA-256 in lower-case hex.
type presignPut struct {
	contentType string
	sha256Hex   string
	expiry      time.Duration
}

func checkPresignPut(key string, size int64, sha256Hex, contentType string, expiry time.Duration) (presignPut, error) {
	ct, err := checkPut(key, size, contentType)
	if err != nil {
		return presignPut{}, err
	}
	if size < 0 || size > MaxPartSize {
		return presignPut{}, models.FieldError(models.CodeValidation, "size",
			"presigned PUT of %d bytes: the size must be known and at most 5 GiB (use a multipart upload above that)", size)
	}
	sum := strings.ToLower(sha256Hex)
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return presignPut{}, models.FieldError(models.CodeValidation, "sha256",
			"%q is not a SHA-256 in hex (64 hex digits)", sha256Hex)
	}
	exp, err := checkExpiry(expiry)
	if err != nil {
		return presignPut{}, err
	}
	return presignPut{contentType: ct, sha256Hex: sum, expiry: exp}, nil
}

// checkExpiry refuses lifetimes S3 cannot sign and truncates to whole
// seconds, as signature v4 does.
func checkExpiry(expiry time.Duration) (time.Duration, error) {
	if expiry < MinPresignExpiry || expiry > MaxPresignExpiry {
		return 0, models.FieldError(models.CodeValidation, "expiry",
			"presigned URL lifetime %v: must be between 1s and 7 days", expiry)
	}
	return expiry.Truncate(time.Second), nil
}

func checkPartNumber(part int) error {
	if part < 1 || part > MaxParts {
		return models.FieldError(models.CodeValidation, "part",
			"part number %d: must be between 1 and %d", part, MaxParts)
	}
	return nil
}

func checkUploadID(uploadID string) error {
	if uploadID == "" || len(uploadID) > 1024 || strings.ContainsFunc(uploadID, func(r rune) bool { return r <= 0x20 || r > 0x7e }) {
		return models.FieldError(models.CodeValidation, "upload_id", "invalid upload id %q", uploadID)
	}
	return nil
}

// checkCompleteParts checks the list CompleteMultipart receives: at least
// one part, numbers valid and strictly ascending (S3 refuses any other
// order), each with an ETag.
func checkCompleteParts(parts []models.UploadedPart) error {
	if len(parts) == 0 {
		return models.FieldError(models.CodeValidation, "parts", "a multipart upload needs at least one part to complete")
	}
	for i, p := range parts {
		if err := checkPartNumber(p.Number); err != nil {
			return err
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return models.FieldError(models.CodeValidation, "parts",
				"parts must be listed in strictly ascending order of number: %d after %d", p.Number, parts[i-1].Number)
		}
		if normalizeETag(p.ETag) == "" {
			return models.FieldError(models.CodeValidation, "parts", "part %d has no ETag", p.Number)
		}
	}
	return nil
}

// normalizeETag drops the quotes S3 puts around ETags, so that ETags from
// an upload's response header, from ListParts and from a device compare
// equal.
func normalizeETag(etag string) string {
	return strings.Trim(strings.TrimSpace(etag), `"`)
}

func partTooSmall(number int, size int64) error {
	return models.FieldError(models.CodeValidation, "parts",
		"part %d holds %d bytes: every part except the last must hold at least %d bytes (5 MiB)", number, size, MinPartSize)
}
