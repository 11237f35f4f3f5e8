package evidence

import (
	"context"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// PresignTTL is how long upload and download URLs live.
const PresignTTL = 15 * time.Minute

// UploadTargetFor tells the device where to send the bytes of pending
// evidence: a presigned PUT when the store can sign one, else the streamed
// upload through the API (sent with the bearer token).
func (s *Service) UploadTargetFor(ctx context.Context, e models.Evidence) (models.UploadTarget, error) {
	if e.Status != models.EvidencePending || e.SHA256 == "" {
		return models.UploadTarget{}, nil
	}
	if s.Presign != nil {
		return s.Presign.PresignPut(ctx, e.ObjectKey, e.Size, e.SHA256, e.ContentType, PresignTTL)
	}
	return models.UploadTarget{Method: "PUT", URL: "/v1/evidence/" + e.ID + "/content", Headers: map[string]string{"Content-Type": e.ContentType}}, nil
}

// MultipartPlan is a resumable upload: the parts already received and a
// signed URL for each part still to send.
type MultipartPlan struct {
	UploadID string                `json:"upload_id"`
	PartSize int64                 `json:"part_size"`
	Parts    int                   `json:"parts"`
	Received []models.UploadedPart `json:"received"`
	Targets  []PartTarget          `json:"targets"`
}

// PartTarget is where one part goes.
type PartTarget struct {
	Number int `json:"number"`
	models.UploadTarget
}

// Multipart part sizes: S3 wants at least 5 MiB but the last, and at most
// 10,000 parts.
const (
	MinPartSize = 5 << 20
	maxParts    = 10000
)

func partSize(size int64) int64 {
	p := int64(MinPartSize)
	for (size+p-1)/p > maxParts {
		p *= 2
	}
	return p
}

// MultipartUpload starts a resumable upload of pending evidence, or, when
// one is under way, tells what was received and signs the missing parts,
// so that an interrupted upload resumes without sending finished parts.
func (s *Service) MultipartUpload(ctx context.Context, a models.Actor, id string) (MultipartPlan, error) {
	e, err := s.pendingEvidence(ctx, a, id)
	if err != nil {
		return MultipartPlan{}, err
	}
	if s.Presign == nil {
		return MultipartPlan{}, errNoDirectUpload
	}
	plan := MultipartPlan{UploadID: e.UploadID, PartSize: partSize(e.Size), Received: []models.UploadedPart{}, Targets: []PartTarget{}}
	plan.Parts = int((e.Size + plan.PartSize - 1) / plan.PartSize)
	if plan.UploadID != "" {
		plan.Received, err = s.Presign.ListParts(ctx, stagingKey(e), plan.UploadID)
		if models.IsNotFound(err) {
			plan.UploadID, plan.Received, err = "", []models.UploadedPart{}, nil // completed or cleaned away: start again
		}
		if err != nil {
			return plan, err
		}
	}
	if plan.UploadID == "" {
		if plan.UploadID, err = s.Presign.StartMultipart(ctx, stagingKey(e), e.ContentType); err != nil {
			return plan, err
		}
		err = s.Store.Tx(ctx, func(tx models.Tx) error {
			_, err := tx.UpdateWhere(&models.Evidence{}, []models.Cond{models.Eq(ec.ID, e.ID), models.Eq(ec.Status, models.EvidencePending)}, models.Set{ec.UploadID: plan.UploadID})
			return err
		})
		if err != nil {
			return plan, err
		}
	}
	have := map[int]bool{}
	for _, p := range plan.Received {
		have[p.Number] = true
	}
	for n := 1; n <= plan.Parts; n++ {
		if have[n] {
			continue
		}
		t, err := s.Presign.PresignPart(ctx, stagingKey(e), plan.UploadID, n, PresignTTL)
		if err != nil {
			return plan, err
		}
		plan.Targets = append(plan.Targets, PartTarget{Number: n, UploadTarget: t})
	}
	return plan, nil
}

// FinishMultipart assembles the received parts and completes the evidence
// (which checks the assembled object's size and SHA-256).
func (s *Service) FinishMultipart(ctx context.Context, a models.Actor, id string) (models.Evidence, error) {
	e, err := s.pendingEvidence(ctx, a, id)
	if err != nil {
		if models.ErrorCode(err) == models.CodeEvidenceComplete {
			return e, nil
		}
		return e, err
	}
	if s.Presign == nil {
		return e, errNoDirectUpload
	}
	if e.UploadID != "" {
		parts, err := s.Presign.ListParts(ctx, stagingKey(e), e.UploadID)
		if err != nil && !models.IsNotFound(err) {
			return e, err
		}
		if err == nil {
			var total int64
			for _, p := range parts {
				total += p.Size
			}
			if total != e.Size {
				return e, models.Errorf(models.CodeSizeMismatch, "the parts hold %d bytes; %d were declared; send the missing parts", total, e.Size)
			}
			if err := s.Presign.CompleteMultipart(ctx, stagingKey(e), e.UploadID, parts); err != nil {
				return e, err
			}
		}
	}
	if err := s.promote(ctx, &e, stagingKey(e)); err != nil && !models.IsNotFound(err) {
		return e, err
	}
	return s.CompleteEvidence(ctx, a, id)
}

// stagingKey is where a multipart upload is assembled: parts are not
// checked by the store, so the result only reaches the evidence's key once
// its SHA-256 is the declared one.
func stagingKey(e models.Evidence) string { return "incoming/" + e.ID }

// promote copies a staged object to the evidence's key through a reader
// that fails at the end unless the bytes hash to the declared SHA-256, so
// the evidence's key only ever holds the declared bytes (a verified
// record's bytes cannot be replaced by others), then drops the staging
// copy.
func (s *Service) promote(ctx context.Context, e *models.Evidence, staging string) error {
	rc, info, err := s.Blobs.Get(ctx, staging)
	if err != nil {
		return err
	}
	defer rc.Close()
	if info.Size != e.Size {
		s.Blobs.Delete(ctx, staging)
		return models.Errorf(models.CodeSizeMismatch, "the parts hold %d bytes; %d were declared; upload them again", info.Size, e.Size)
	}
	if _, err := s.Blobs.Put(ctx, e.ObjectKey, verified(rc, e.SHA256), e.Size, e.ContentType); err != nil {
		if models.ErrorCode(err) == models.CodeSHA256Mismatch {
			s.Blobs.Delete(ctx, staging)
		}
		return err
	}
	return s.Blobs.Delete(ctx, staging)
}

var errNoDirectUpload = &models.Error{Code: models.CodeNoDirectUpload, Message: "this server takes uploads through PUT /v1/evidence/{id}/content only"}

// CleanAbandonedUploads is the janitor of uploads that never completed:
// for pending evidence untouched since before, it deletes the bytes that
// arrived and aborts a multipart upload. The records stay pending (a
// verification may name them, and the device can send the file again).
func (s *Service) CleanAbandonedUploads(ctx context.Context, before time.Time) (int, error) {
	var stale []models.Evidence
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		return tx.List(&stale, models.Query{Where: []models.Cond{models.Eq(ec.Status, models.EvidencePending), {Column: ec.ObjectKey, Op: models.OpNe, Value: ""},
			{Column: ec.UpdatedAt, Op: models.OpLt, Value: before.UTC()}}, Limit: 500})
	})
	if err != nil {
		return 0, err
	}
	cleaned := 0
	for _, e := range stale {
		// Bytes that arrived after the cutoff belong to an upload still
		// under way (a presigned PUT does not touch the record).
		if info, err := s.Blobs.Stat(ctx, e.ObjectKey); err == nil && !info.ModTime.Before(before) {
			continue
		}
		// Claim the record first: a completion that read it before sees
		// the new version and starts again instead of verifying bytes
		// that are about to go.
		var claimed int64
		err := s.Store.Tx(ctx, func(tx models.Tx) error {
			var err error
			claimed, err = tx.UpdateWhere(&models.Evidence{}, []models.Cond{models.Eq(ec.ID, e.ID), models.Eq(ec.Status, models.EvidencePending), models.Eq(ec.Version, e.Version)},
				models.Set{ec.UploadID: "", ec.UpdatedAt: s.Time(), ec.Version: e.Version + 1})
			return err
		})
		if err != nil {
			return cleaned, err
		}
		if claimed == 0 {
			continue // completed or changed meanwhile
		}
		if e.UploadID != "" && s.Presign != nil {
			if err := s.Presign.AbortMultipart(ctx, stagingKey(e), e.UploadID); err != nil {
				return cleaned, err
			}
		}
		for _, key := range []string{e.ObjectKey, stagingKey(e)} {
			if err := s.Blobs.Delete(ctx, key); err != nil {
				return cleaned, err
			}
		}
		cleaned++
	}
	return cleaned, nil
}

// UploadOpen checks, for a signed upload URL the API serves, that the
// evidence whose object key (or multipart staging key) it names still
// waits for its bytes: once the evidence has left pending (verified or
// rejected), a URL issued for it, though unexpired, stores nothing. Keys
// that name no evidence pass.
func (s *Service) UploadOpen(ctx context.Context, key string) error {
	id, ok := strings.CutPrefix(key, "evidence/")
	if !ok {
		id, ok = strings.CutPrefix(key, "incoming/")
	}
	if !ok || !models.ValidID(id) {
		return nil
	}
	var e models.Evidence
	err := s.Store.Read(ctx, func(tx models.Tx) error { return tx.Get(&e, id) })
	switch {
	case models.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case e.Status != models.EvidencePending:
		return models.Errorf(models.CodeEvidenceComplete, "evidence %s is already %s; its upload URL no longer accepts bytes", id, e.Status)
	}
	return nil
}
