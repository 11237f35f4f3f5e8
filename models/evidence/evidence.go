package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Evidence kinds and the content types accepted for each.
var evidenceTypes = map[string][]string{
	"photo":     {"image/jpeg", "image/png", "image/heic", "image/heif"},
	"signature": {"image/png", "image/jpeg"},
	"document":  {"application/pdf", "image/jpeg", "image/png"},
}

// EvidenceInput declares a file before its bytes are sent.
type EvidenceInput struct {
	ID             string                `json:"id"`
	TaskID         string                `json:"task_id"`
	VerificationID *string               `json:"verification_id"`
	Kind           string                `json:"kind"`
	SHA256         string                `json:"sha256"`
	Size           int64                 `json:"size"`
	ContentType    string                `json:"content_type"`
	CapturedAt     *time.Time            `json:"captured_at"`
	Location       *models.LocationInput `json:"location"`
	// fix is Location checked and in WGS-84.
	fix *models.EvidenceLocation
}

func (s *Service) evidencePolicy() models.EvidencePolicy {
	p := s.Evidence
	d := models.DefaultEvidencePolicy
	if p.MaxSize <= 0 {
		p.MaxSize = d.MaxSize
	}
	if p.MaxAnalyzeSize <= 0 {
		p.MaxAnalyzeSize = d.MaxAnalyzeSize
	}
	if p.NearDuplicateDistance <= 0 {
		p.NearDuplicateDistance = d.NearDuplicateDistance
	}
	if p.GPSMismatchM <= 0 {
		p.GPSMismatchM = d.GPSMismatchM
	}
	if p.ClockSkew <= 0 {
		p.ClockSkew = d.ClockSkew
	}
	return p
}

func (s *Service) checkEvidenceInput(in *EvidenceInput) error {
	if err := models.CheckID("id", in.ID); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = "photo"
	}
	types, ok := evidenceTypes[in.Kind]
	if !ok {
		return models.FieldError(models.CodeInvalidEnum, "kind", "kind must be one of photo, signature, document")
	}
	if err := models.OneOf("content_type", in.ContentType, types); err != nil {
		return err
	}
	in.SHA256 = strings.ToLower(in.SHA256)
	if !models.ValidSHA256(in.SHA256) {
		return models.FieldError(models.CodeValidation, "sha256", "sha256 must be 64 hexadecimal digits")
	}
	if in.Size < 1 {
		return models.FieldError(models.CodeValidation, "size", "size must be at least 1 byte")
	}
	if max := s.evidencePolicy().MaxAnalyzeSize; in.Kind != "document" && in.Size > max {
		return models.FieldError(models.CodeEvidenceTooLarge, "size", "photos and signatures must be at most %d bytes, so that they can be checked", max)
	}
	if max := s.evidencePolicy().MaxSize; in.Size > max {
		return models.FieldError(models.CodeEvidenceTooLarge, "size", "size must be 1 to %d bytes", max)
	}
	if in.Location != nil {
		fix, err := in.Location.Fix("location.")
		if err != nil {
			return err
		}
		in.fix = &fix
	}
	if in.Kind == "photo" && in.CapturedAt == nil {
		return models.FieldError(models.CodeRequired, "captured_at", "captured_at is required for photos")
	}
	if in.CapturedAt != nil {
		if _, err := models.TimeField("captured_at", *in.CapturedAt); err != nil {
			return err
		}
	}
	return nil
}

// CreateEvidence records a file the inspector is about to upload. It is
// idempotent on the id: the same declaration again returns the same
// record. A record a synced verification created before (pending, without
// metadata) is completed with the declaration.
func (s *Service) CreateEvidence(ctx context.Context, a models.Actor, in EvidenceInput) (models.Evidence, error) {
	e, err := s.createEvidence(ctx, a, in)
	if errors.Is(err, models.ErrDuplicate) {
		// The same declaration arrived twice at once: the second run sees
		// the first one's record and answers it.
		e, err = s.createEvidence(ctx, a, in)
	}
	return e, err
}

func (s *Service) createEvidence(ctx context.Context, a models.Actor, in EvidenceInput) (models.Evidence, error) {
	if !a.DoesFieldWork() {
		return models.Evidence{}, models.Forbidden("upload evidence")
	}
	if err := s.checkEvidenceInput(&in); err != nil {
		return models.Evidence{}, err
	}
	var e models.Evidence
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		t, err := s.OpenFieldTask(tx, a, in.TaskID)
		if err != nil {
			return err
		}
		var v models.Verification
		if in.VerificationID != nil {
			if err := models.GetVisible(tx, &v, *in.VerificationID, "verification", func() bool { return v.InspectorID == a.UserID && v.TaskID == t.ID }); err != nil {
				return err
			}
		}
		now := s.Time()
		err = tx.Get(&e, in.ID)
		switch {
		case models.IsNotFound(err):
			e = models.Evidence{ID: in.ID, TaskID: t.ID, VerificationID: in.VerificationID, InspectorID: a.UserID, DeviceID: a.DeviceID,
				SiteID: t.SiteID, UnitPath: t.UnitPath, Status: models.EvidencePending, Flags: models.Flags{}, Version: 1, CreatedAt: now, UpdatedAt: now}
			declare(&e, in)
			if err := tx.Create(&e); err != nil {
				return err
			}
		case err != nil:
			return err
		case e.InspectorID != a.UserID:
			return models.NotFound("evidence")
		case e.SHA256 == "" && e.TaskID == t.ID:
			declare(&e, in)
			if e.VerificationID == nil {
				e.VerificationID = in.VerificationID
			}
			e.Version++
			e.UpdatedAt = now
			if err := tx.Update(&e); err != nil {
				return err
			}
		case e.TaskID == t.ID && e.SHA256 == in.SHA256 && e.Size == in.Size:
			return nil // the same declaration again
		default:
			return models.FieldError(models.CodeEvidenceMismatch, "id", "evidence %s was declared with other content", in.ID)
		}
		// The verification lists the evidence declared for it, as an
		// attachment by sync would.
		if v.ID != "" && e.VerificationID != nil && *e.VerificationID == v.ID {
			if err := s.ListEvidenceOn(tx, a, &v, e.ID, "verification_id"); err != nil {
				return err
			}
		}
		return s.Changed(tx, models.EntityEvidence, e.ID, e.Version, models.OpUpsert, models.ScopeUser(a.UserID), models.ScopeUnit(e.UnitPath))
	})
	return e, err
}

// declare copies the client's declaration into the record; the object key
// is derived from the id, never from a client file name.
func declare(e *models.Evidence, in EvidenceInput) {
	e.Kind, e.SHA256, e.Size, e.ContentType = in.Kind, in.SHA256, in.Size, in.ContentType
	e.Location = in.fix
	if in.CapturedAt != nil {
		t := models.Stamp(*in.CapturedAt)
		_, off := in.CapturedAt.Zone()
		e.CapturedAt, e.CapturedUTCOffset = &t, &off
	}
	e.ObjectKey = "evidence/" + e.ID
}

// pendingEvidence loads the actor's evidence that still waits for bytes.
func (s *Service) pendingEvidence(ctx context.Context, a models.Actor, id string) (models.Evidence, error) {
	var e models.Evidence
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		return models.GetVisible(tx, &e, id, "evidence", func() bool { return e.InspectorID == a.UserID })
	})
	switch {
	case err != nil:
		return e, err
	case e.Status != models.EvidencePending:
		return e, models.Errorf(models.CodeEvidenceComplete, "evidence %s is already %s", id, e.Status)
	case e.SHA256 == "":
		return e, models.Errorf(models.CodeContentMissing, "declare the file (POST /v1/evidence) before sending its bytes")
	}
	return e, nil
}

// UploadEvidence streams the bytes of pending evidence into the blob store
// (the upload path through the API). size is the request's length. The
// bytes are hashed on the way; bytes that are not the declared ones are
// deleted again.
func (s *Service) UploadEvidence(ctx context.Context, a models.Actor, id string, r io.Reader, size int64) (models.Evidence, error) {
	e, err := s.pendingEvidence(ctx, a, id)
	if err != nil {
		return e, err
	}
	if size >= 0 && size != e.Size {
		return e, models.Errorf(models.CodeSizeMismatch, "the body has %d bytes; %d were declared", size, e.Size)
	}
	// The reader fails at the end unless the bytes are the declared ones,
	// so the store keeps nothing else under the evidence's key: a
	// completion running meanwhile can only ever see the declared bytes.
	if _, err := s.Blobs.Put(ctx, e.ObjectKey, verified(r, e.SHA256), e.Size, e.ContentType); err != nil {
		if me := models.AsError(err); me != nil && me.Code == models.CodeValidation {
			return e, &models.Error{Code: models.CodeSizeMismatch, Message: "the body is not the declared size", Err: err}
		}
		return e, err
	}
	return e, nil
}

// verified wraps r so that its end is an error unless everything read
// hashes to sha256Hex.
func verified(r io.Reader, sha256Hex string) io.Reader {
	return &verifyingReader{r: r, h: sha256.New(), want: sha256Hex}
}

type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, models.Errorf(models.CodeSHA256Mismatch, "the bytes hash to %s, not the declared %s", got, v.want)
		}
	}
	return n, err
}

// CompleteEvidence checks the uploaded object and moves the record to
// verified or rejected. It can be retried at any point: a record becomes
// verified only after its bytes, thumbnail and analysis are stored, and a
// completed record is returned as it is.
func (s *Service) CompleteEvidence(ctx context.Context, a models.Actor, id string) (models.Evidence, error) {
	e, err := s.pendingEvidence(ctx, a, id)
	if err != nil {
		if models.ErrorCode(err) == models.CodeEvidenceComplete {
			return e, nil // a replayed completion
		}
		return e, err
	}
	held := int64(0) // a file too large to analyse is hashed as it streams
	if e.Size <= s.evidencePolicy().MaxAnalyzeSize {
		held = e.Size
	}
	release, err := s.AnalysisSlot(ctx, held)
	if err != nil {
		return e, err
	}
	defer release()
	info, err := s.Blobs.Stat(ctx, e.ObjectKey)
	if models.IsNotFound(err) {
		return e, models.Errorf(models.CodeContentMissing, "no bytes have arrived for evidence %s", id)
	}
	if err != nil {
		return e, err
	}
	if info.Size != e.Size {
		s.Blobs.Delete(ctx, e.ObjectKey)
		return e, models.Errorf(models.CodeSizeMismatch, "the stored object has %d bytes; %d were declared; upload it again", info.Size, e.Size)
	}
	media, rejectErr, err := s.readEvidence(ctx, &e)
	if err != nil {
		return e, err
	}
	if rejectErr == nil && media != nil && media.Thumbnail != nil {
		e.ThumbKey = "thumbs/" + e.ID + ".jpg"
		if _, err := s.Blobs.Put(ctx, e.ThumbKey, bytes.NewReader(media.Thumbnail), int64(len(media.Thumbnail)), "image/jpeg"); err != nil {
			return e, err
		}
	}
	err = s.Store.Tx(ctx, func(tx models.Tx) error {
		var cur models.Evidence
		if err := tx.Get(&cur, e.ID); err != nil {
			return err
		}
		if cur.Status != models.EvidencePending {
			e = cur
			return nil
		}
		if cur.Version != e.Version {
			// Changed while its bytes were read (the janitor cleared them,
			// or the device declared again): verify again from the start.
			return models.Errorf(models.CodeVersionConflict, "evidence %s changed while it was being checked; complete it again", id)
		}
		now := s.Time()
		cur.CompletedAt, cur.UpdatedAt, cur.ThumbKey = &now, now, e.ThumbKey
		cur.Version++
		if rejectErr != nil {
			cur.Status, cur.RejectCode, cur.RejectReason = models.EvidenceRejected, string(rejectErr.Code), models.TruncateRunes(rejectErr.Message, 500)
		} else {
			cur.Status = models.EvidenceVerified
			if media != nil {
				applyMedia(&cur, media)
			}
			flags, err := s.evidenceFlags(tx, &cur)
			if err != nil {
				return err
			}
			cur.Flags = flags
		}
		if err := tx.Update(&cur); err != nil {
			return err
		}
		if err := indexPHashes(tx, &cur); err != nil {
			return err
		}
		e = cur
		if err := s.AuditTx(tx, a, evidenceAction(&cur), models.EntityEvidence, cur.ID, evidenceDetail(&cur)); err != nil {
			return err
		}
		return s.Changed(tx, models.EntityEvidence, cur.ID, cur.Version, models.OpUpsert, models.ScopeUser(cur.InspectorID), models.ScopeUnit(cur.UnitPath))
	})
	if err == nil && e.Status == models.EvidenceRejected {
		// A rejected file's bytes are of no use; keep nothing behind.
		s.Blobs.Delete(ctx, e.ObjectKey)
	}
	return e, err
}

// readEvidence hashes the object and, for images small enough, analyses
// it. A wrong hash deletes the object (the record stays pending for a new
// upload); a file that is not what it claims yields rejectErr.
func (s *Service) readEvidence(ctx context.Context, e *models.Evidence) (media *models.MediaInfo, rejectErr *models.Error, err error) {
	rc, _, err := s.Blobs.Get(ctx, e.ObjectKey)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	h := sha256.New()
	var buf bytes.Buffer
	analyse := e.Size <= s.evidencePolicy().MaxAnalyzeSize
	var sink io.Writer = h
	if analyse {
		buf.Grow(int(e.Size))
		sink = io.MultiWriter(h, &buf)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(io.TeeReader(rc, sink), head)
	if _, err := io.Copy(sink, rc); err != nil {
		return nil, nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		s.Blobs.Delete(ctx, e.ObjectKey)
		return nil, nil, models.Errorf(models.CodeSHA256Mismatch, "the stored bytes hash to %s, not the declared %s; upload them again", got, e.SHA256)
	}
	sniffed := http.DetectContentType(head[:n])
	if !analyse || !strings.HasPrefix(e.ContentType, "image/") {
		if sniffed != e.ContentType {
			return nil, models.Errorf(models.CodeContentTypeMismatch, "the bytes are %s, not the declared %s", sniffed, e.ContentType), nil
		}
		return nil, nil, nil
	}
	// The buffer itself, so that an analyzer that recognises it
	// (Bytes) need not copy the file.
	info, err := s.Media.Analyze(&buf, e.Size)
	if err != nil {
		if me := models.AsError(err); me != nil {
			if me.Code == models.CodeUnavailable {
				// No room to decode now: the record stays pending, 503.
				return nil, nil, me
			}
			return nil, me, nil
		}
		return nil, &models.Error{Code: models.CodeMediaUnreadable, Message: "the file could not be read as an image", Err: err}, nil
	}
	if !sameImageType(info.ContentType, e.ContentType) {
		return nil, models.Errorf(models.CodeContentTypeMismatch, "the bytes are %s, not the declared %s", info.ContentType, e.ContentType), nil
	}
	return &info, nil, nil
}

func sameImageType(a, b string) bool {
	heif := func(t string) bool { return t == "image/heic" || t == "image/heif" }
	return a == b || heif(a) && heif(b)
}

func applyMedia(e *models.Evidence, m *models.MediaInfo) {
	sum := &models.MediaSummary{ContentType: m.ContentType, Width: m.Width, Height: m.Height, HasGPS: m.HasGPS, AltitudeM: m.AltitudeM,
		TakenAt: m.TakenAt, TakenAtLocal: m.TakenAtLocal, Make: m.Make, Model: m.Model, Orientation: m.Orientation, HasThumbnail: m.Thumbnail != nil}
	if m.HasGPS {
		lat, lng := m.Lat, m.Lng
		sum.Lat, sum.Lng = &lat, &lng
	}
	e.Media = sum
	if m.PHash != nil {
		h := int64(*m.PHash)
		e.PHash = &h
		e.PHashes = m.PHashes
		if len(e.PHashes) == 0 {
			e.PHashes = []uint64{*m.PHash}
		}
	}
}

// phashQuarters splits a perceptual hash into four indexed 16-bit parts.
func phashQuarters(h uint64) [4]int32 {
	return [4]int32{int32(h >> 48 & 0xffff), int32(h >> 32 & 0xffff), int32(h >> 16 & 0xffff), int32(h & 0xffff)}
}

// evidenceAction is the audit action of a completion.
func evidenceAction(e *models.Evidence) string {
	if e.Status == models.EvidenceRejected {
		return models.AuditEvidenceRejected
	}
	return models.AuditEvidenceVerified
}

// evidenceDetail binds the audit entry of a completion to the bytes
// checked (their SHA-256) and says what a supervisor will see: the flags,
// or why the file was refused.
func evidenceDetail(e *models.Evidence) map[string]any {
	d := models.StatusChange(models.EvidencePending, e.Status)
	d["task_id"], d["sha256"] = e.TaskID, e.SHA256
	if e.Status == models.EvidenceRejected {
		d["reject_code"] = e.RejectCode
		return d
	}
	flags := []string{}
	for _, f := range e.Flags {
		flags = append(flags, f.Code)
	}
	d["flags"] = flags
	return d
}
