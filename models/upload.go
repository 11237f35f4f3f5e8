package models

import (
	"context"
	"time"
)

// UploadTarget tells a device where to send bytes: an HTTP method, a URL
// and the headers it must send as they are (they are part of the
// signature).
type UploadTarget struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// UploadedPart is one finished part of a multipart upload.
type UploadedPart struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

// Presigner hands out short-lived URLs for the bytes of one object key,
// so that a device uploads and downloads without holding credentials. On
// MinIO/S3 they point at the store; with the local store they point at
// the API and are HMAC-signed by it.
type Presigner interface {
	// PresignPut signs a single PUT of exactly size bytes whose SHA-256 is
	// sha256Hex; the store refuses other bytes where it can.
	PresignPut(ctx context.Context, key string, size int64, sha256Hex, contentType string, expiry time.Duration) (UploadTarget, error)
	// PresignGet signs a download.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
	// Multipart uploads, for large files over weak networks: parts that
	// finished are not sent again after an interruption.
	StartMultipart(ctx context.Context, key, contentType string) (uploadID string, err error)
	PresignPart(ctx context.Context, key, uploadID string, part int, expiry time.Duration) (UploadTarget, error)
	ListParts(ctx context.Context, key, uploadID string) ([]UploadedPart, error)
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []UploadedPart) error
	AbortMultipart(ctx context.Context, key, uploadID string) error
}
