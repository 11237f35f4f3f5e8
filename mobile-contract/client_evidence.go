package contract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// EvidenceDeclaration is the body of POST /v1/evidence: what the device
// knows of a file before its bytes are sent.
type EvidenceDeclaration struct {
	ID             string            `json:"id"`
	TaskID         string            `json:"task_id"`
	VerificationID *string           `json:"verification_id,omitempty"`
	Kind           string            `json:"kind"`
	SHA256         string            `json:"sha256"`
	Size           int64             `json:"size"`
	ContentType    string            `json:"content_type"`
	CapturedAt     *time.Time        `json:"captured_at,omitempty"`
	Location       *EvidenceLocation `json:"location,omitempty"`
}

// EvidenceLocation is the device's GPS fix when the photo was taken, in
// WGS-84 unless Datum is "gcj02" or "bd09" (the server converts those).
type EvidenceLocation struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Datum     string  `json:"datum,omitempty"`
	AccuracyM float64 `json:"accuracy_m"`
	Mocked    bool    `json:"mocked"`
}

// UploadTarget says where and how to send a file's bytes.
type UploadTarget struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// UploadEvidence sends one file the way a phone does when it is back
// online: declare it (SHA-256 and size are filled in from data when
// empty), send the bytes to the target the server names (the API, or a
// presigned URL of the store), and complete it. It returns the completed
// evidence record, verified or rejected. Every step is idempotent on the
// evidence id, so the whole call can simply be repeated after a failure.
func (c *Client) UploadEvidence(ctx context.Context, decl EvidenceDeclaration, data []byte) (json.RawMessage, error) {
	if decl.SHA256 == "" {
		sum := sha256.Sum256(data)
		decl.SHA256 = hex.EncodeToString(sum[:])
	}
	if decl.Size == 0 {
		decl.Size = int64(len(data))
	}
	if decl.Kind == "" {
		decl.Kind = "photo"
	}
	body, err := marshalBody(decl)
	if err != nil {
		return nil, err
	}
	res, err := c.call(ctx, request{method: "POST", path: "/v1/evidence", auth: true, safe: true, body: body})
	if err != nil {
		return nil, err
	}
	var created struct {
		Upload UploadTarget `json:"upload"`
	}
	if err := res.decode(&created); err != nil {
		return nil, err
	}
	// No target: the server already has the bytes and checked them (an
	// earlier attempt got that far); completing again returns the record.
	if created.Upload.Method != "" {
		up := request{method: created.Upload.Method, safe: true, contentType: "application/octet-stream",
			header: created.Upload.Headers, body: func() ([]byte, error) { return data, nil }}
		if strings.HasPrefix(created.Upload.URL, "/") {
			up.path, up.auth = created.Upload.URL, true
		} else {
			up.path, up.url = "(upload URL)", created.Upload.URL
		}
		if _, err := c.call(ctx, up); err != nil {
			return nil, err
		}
	}
	res, err = c.call(ctx, request{method: "POST", path: "/v1/evidence/" + decl.ID + "/complete", auth: true, safe: true})
	if err != nil {
		return nil, err
	}
	return res.body, nil
}
