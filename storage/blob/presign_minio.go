package blob

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldsync/fieldsync/models"
)

// MinIOStore hands out URLs signed with S3 signature v4 that point at the
// server it talks to, or at S3Config.PublicEndpoint when that is set. What MinIO enforces on a presigned PUT (each checked
// by the tests in presign_minio_test.go):
//
//   - Every signed header must be sent with exactly the signed value, or the
//     request fails with 403 SignatureDoesNotMatch; leaving one out fails
//     with 403 too. PresignPut signs Content-Type, Content-Length and
//     X-Amz-Checksum-Sha256, so a body of another length is refused before
//     it is stored (MinIO signs Content-Length as r.ContentLength: a
//     chunked body, which has none, is refused as well).
//   - With X-Amz-Checksum-Sha256 present MinIO hashes the body and refuses
//     one whose SHA-256 differs (400 XAmzContentChecksumMismatch), storing
//     nothing. The header alone makes MinIO check; X-Amz-Checksum-Algorithm
//     or X-Amz-Sdk-Checksum-Algorithm are not needed.
//   - The URL is bound to the host it was signed for (Host is a signed
//     header): a proxy that rewrites Host breaks every URL.
//
// Parts of a multipart upload are signed without size or checksum (the
// Presigner interface does not pass them); the server must verify the
// assembled object's size and SHA-256 after CompleteMultipart.
var _ models.Presigner = (*MinIOStore)(nil)

// Headers PresignPut signs and the device must send as they are.
const (
	headerContentType    = "Content-Type"
	headerContentLength  = "Content-Length"
	headerChecksumSHA256 = "X-Amz-Checksum-Sha256"
)

// PresignPut signs a PUT of exactly size bytes whose SHA-256 is sha256Hex.
// The target's Headers are the ones to send; HTTP libraries set
// Content-Length themselves from a body of known length, which is fine as
// long as the body is not sent chunked.
func (s *MinIOStore) PresignPut(ctx context.Context, key string, size int64, sha256Hex, contentType string, expiry time.Duration) (models.UploadTarget, error) {
	c, err := checkPresignPut(key, size, sha256Hex, contentType, expiry)
	if err != nil {
		return models.UploadTarget{}, err
	}
	sum, _ := hex.DecodeString(c.sha256Hex)
	headers := map[string]string{
		headerContentType:    c.contentType,
		headerContentLength:  strconv.FormatInt(size, 10),
		headerChecksumSHA256: base64.StdEncoding.EncodeToString(sum),
	}
	signed := make(http.Header, len(headers))
	for k, v := range headers {
		signed.Set(k, v)
	}
	// minio-go signs with its own clock; taking ours first makes
	// ExpiresAt err on the early side.
	now := time.Now()
	u, err := s.signer.PresignHeader(ctx, http.MethodPut, s.bucket, key, c.expiry, nil, signed)
	if err != nil {
		return models.UploadTarget{}, s.wrap(ctx, "presign put", key, err)
	}
	return models.UploadTarget{Method: http.MethodPut, URL: u.String(), Headers: headers, ExpiresAt: now.Add(c.expiry)}, nil
}

// PresignGet signs a GET of the object. It does not check that the object
// exists: a missing one answers 404 NoSuchKey.
func (s *MinIOStore) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	exp, err := checkExpiry(expiry)
	if err != nil {
		return "", err
	}
	// The store answers with the Content-Disposition the URL asks for
	// (signed with it): an evidence original is a download named by the
	// server, never a page a browser renders from the store's origin.
	disposition := "inline"
	if id, ok := strings.CutPrefix(key, "evidence/"); ok {
		disposition = `attachment; filename="` + id + `"`
	}
	u, err := s.signer.PresignedGetObject(ctx, s.bucket, key, exp, url.Values{"response-content-disposition": {disposition}})
	if err != nil {
		return "", s.wrap(ctx, "presign get", key, err)
	}
	return u.String(), nil
}

// StartMultipart begins a multipart upload of key; the object appears, with
// contentType, only when CompleteMultipart succeeds. MinIO removes uploads
// left incomplete after its stale-upload expiry (24 h by default); call
// AbortMultipart when the server gives one up.
func (s *MinIOStore) StartMultipart(ctx context.Context, key, contentType string) (string, error) {
	ct, err := checkPut(key, 0, contentType)
	if err != nil {
		return "", err
	}
	id, err := s.core().NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{ContentType: ct})
	if err != nil {
		return "", s.wrapUpload(ctx, "start multipart", key, err)
	}
	return id, nil
}

// PresignPart signs the PUT of one part. The URL carries uploadId and
// partNumber; the body's length is the part's size (at least MinPartSize
// except for the last part). The target has no headers to send. S3 answers
// the PUT with the part's ETag in the ETag response header; ListParts
// reports it too, for a device that lost the answer.
func (s *MinIOStore) PresignPart(ctx context.Context, key, uploadID string, part int, expiry time.Duration) (models.UploadTarget, error) {
	if err := checkPresignPart(key, uploadID, part); err != nil {
		return models.UploadTarget{}, err
	}
	exp, err := checkExpiry(expiry)
	if err != nil {
		return models.UploadTarget{}, err
	}
	params := url.Values{"partNumber": {strconv.Itoa(part)}, "uploadId": {uploadID}}
	now := time.Now()
	u, err := s.signer.PresignHeader(ctx, http.MethodPut, s.bucket, key, exp, params, nil)
	if err != nil {
		return models.UploadTarget{}, s.wrap(ctx, "presign part", key, err)
	}
	return models.UploadTarget{Method: http.MethodPut, URL: u.String(), Headers: map[string]string{}, ExpiresAt: now.Add(exp)}, nil
}

// ListParts returns the parts uploaded so far, in ascending order of
// number. An unknown (completed, aborted, expired) upload, or one that
// belongs to another key, gives an error matching models.ErrNotFound.
func (s *MinIOStore) ListParts(ctx context.Context, key, uploadID string) ([]models.UploadedPart, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := checkUploadID(uploadID); err != nil {
		return nil, err
	}
	parts := []models.UploadedPart{}
	marker := 0
	for {
		res, err := s.core().ListObjectParts(ctx, s.bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, s.wrapUpload(ctx, "list parts", key, err)
		}
		for _, p := range res.ObjectParts {
			parts = append(parts, models.UploadedPart{Number: p.PartNumber, Size: p.Size, ETag: normalizeETag(p.ETag)})
		}
		if !res.IsTruncated {
			return parts, nil
		}
		if res.NextPartNumberMarker <= marker {
			return nil, fmt.Errorf("blob list parts %q: the server's part listing does not advance (marker %d)", key, marker)
		}
		marker = res.NextPartNumberMarker
	}
}

// CompleteMultipart assembles the listed parts, in ascending order of
// number, into the object. Parts other than the last must hold at least
// MinPartSize bytes; a part that is missing or whose ETag differs fails
// with CodeValidation. After success the upload is gone: a retry fails
// with ErrNotFound, and the caller should Stat the key instead.
func (s *MinIOStore) CompleteMultipart(ctx context.Context, key, uploadID string, parts []models.UploadedPart) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkUploadID(uploadID); err != nil {
		return err
	}
	if err := checkCompleteParts(parts); err != nil {
		return err
	}
	complete := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		complete[i] = minio.CompletePart{PartNumber: p.Number, ETag: normalizeETag(p.ETag)}
	}
	_, err := s.core().CompleteMultipartUpload(ctx, s.bucket, key, uploadID, complete, minio.PutObjectOptions{})
	if err != nil {
		return s.wrapUpload(ctx, "complete multipart", key, err)
	}
	return nil
}

// AbortMultipart discards the upload and its parts. Aborting an unknown
// upload succeeds, so retries are harmless.
func (s *MinIOStore) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkUploadID(uploadID); err != nil {
		return err
	}
	err := s.core().AbortMultipartUpload(ctx, s.bucket, key, uploadID)
	if err != nil && minio.ToErrorResponse(err).Code == "NoSuchUpload" {
		return nil
	}
	return s.wrapUpload(ctx, "abort multipart", key, err)
}

func (s *MinIOStore) core() minio.Core { return minio.Core{Client: s.client} }

// wrapUpload is wrap plus the answers that only multipart calls get.
func (s *MinIOStore) wrapUpload(ctx context.Context, op, key string, err error) error {
	if err == nil || ctx.Err() != nil {
		return s.wrap(ctx, op, key, err)
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return s.wrap(ctx, op, key, err)
	}
	what := fmt.Sprintf("blob %s %q", op, key)
	switch resp.Code {
	case "NoSuchUpload":
		return fmt.Errorf("%s: no such upload (completed, aborted or expired): %w: %w", what, models.ErrNotFound, err)
	case "EntityTooSmall":
		return &models.Error{Code: models.CodeValidation, Field: "parts", Err: err,
			Message: fmt.Sprintf("every part except the last must hold at least %d bytes (5 MiB)", MinPartSize)}
	case "InvalidPart":
		return &models.Error{Code: models.CodeValidation, Field: "parts", Err: err,
			Message: "a listed part was not uploaded, or its ETag does not match the uploaded part"}
	case "InvalidPartOrder":
		return &models.Error{Code: models.CodeValidation, Field: "parts", Err: err,
			Message: "parts must be listed in strictly ascending order of number"}
	}
	return s.wrap(ctx, op, key, err)
}

func checkPresignPart(key, uploadID string, part int) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkUploadID(uploadID); err != nil {
		return err
	}
	return checkPartNumber(part)
}
