package reporting

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/fieldsync/fieldsync/models"
)

// publicCopyPrefix is where the stripped copies live in the blob store.
const publicCopyPrefix = "public/"

// SetEvidencePublic makes a verified photo public or private. Admins, and
// supervisors of the photo's unit subtree, decide; others who may see the
// photo are refused, the rest get not found. Making it public renders the
// stripped copy the public will be served (only once the item is
// accepted); making it private withdraws and deletes that copy. Asking for
// what is already so changes nothing.
func (s *Service) SetEvidencePublic(ctx context.Context, a models.Actor, id string, public bool) (models.PhotoDisclosure, error) {
	var (
		e     models.Evidence
		d     models.PhotoDisclosure
		found bool
	)
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := models.GetReadable(tx, a, &e, id, "evidence"); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(e.UnitPath) {
			return models.Forbidden("publish evidence")
		}
		err := tx.Get(&d, e.ID)
		found = err == nil
		if models.IsNotFound(err) {
			var t models.InspectionTask
			if err := tx.Get(&t, e.TaskID); err != nil {
				return err
			}
			d = models.PhotoDisclosure{EvidenceID: e.ID, ItemID: t.ItemID}
			return nil
		}
		return err
	})
	if err != nil {
		return models.PhotoDisclosure{}, err
	}
	if public {
		if err := publishable(&e); err != nil {
			return models.PhotoDisclosure{}, err
		}
	}
	if found && d.Public == public {
		return d, nil
	}
	var key string
	if public {
		if key, err = s.renderPublic(ctx, &e); err != nil {
			return models.PhotoDisclosure{}, err
		}
	}
	d, old, err := s.saveDisclosure(ctx, a, d, public, key)
	// A copy no row names is unreachable; deleting it only saves space,
	// so a failed delete is not the caller's error.
	if err != nil {
		if key != "" {
			s.Blobs.Delete(ctx, key)
		}
		return models.PhotoDisclosure{}, err
	}
	if old != "" && old != key {
		s.Blobs.Delete(ctx, old)
	}
	return d, nil
}

// publishable refuses what may never be public.
func publishable(e *models.Evidence) error {
	switch {
	case e.Kind != "photo":
		return models.Errorf(models.CodeNotAPhoto, "evidence %s is a %s; only photos can be made public", e.ID, e.Kind)
	case e.Status != models.EvidenceVerified:
		return models.Errorf(models.CodeNotVerified, "evidence %s is %s; only verified photos can be made public", e.ID, e.Status)
	}
	return nil
}

// renderPublic stores the stripped copy of a photo under a key of its own
// for this publication, so that a concurrent withdrawal, which deletes the
// key it found, can never delete the copy a later publication names.
func (s *Service) renderPublic(ctx context.Context, e *models.Evidence) (string, error) {
	if s.Renderer == nil {
		return "", errors.New("models: no PublicRenderer configured")
	}
	// Decoding shares the completions' slots: one bound on the memory
	// that photos being decoded take.
	release, err := s.AnalysisSlot(ctx, e.Size)
	if err != nil {
		return "", err
	}
	defer release()
	rc, _, err := s.Blobs.Get(ctx, e.ObjectKey)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	orientation := 0
	if e.Media != nil {
		orientation = e.Media.Orientation
	}
	b, err := s.Renderer.RenderPublic(rc, orientation)
	if me := models.AsError(err); me != nil && (me.Code == models.CodeMediaUnsupported || me.Code == models.CodeMediaUnreadable || me.Code == models.CodeMediaTooLarge) {
		return "", &models.Error{Code: models.CodeNotPublishable, Message: "this photo cannot be made public: " + me.Message, Err: err}
	}
	if err != nil {
		return "", err
	}
	key := publicCopyPrefix + e.ID + "/" + s.NewID() + ".jpg"
	if _, err := s.Blobs.Put(ctx, key, bytes.NewReader(b), int64(len(b)), "image/jpeg"); err != nil {
		return "", err
	}
	return key, nil
}

// saveDisclosure writes the decision and returns the copy it replaced.
func (s *Service) saveDisclosure(ctx context.Context, a models.Actor, d models.PhotoDisclosure, public bool, key string) (models.PhotoDisclosure, string, error) {
	var old string
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		now := s.Time()
		var cur models.PhotoDisclosure
		err := tx.Get(&cur, d.EvidenceID)
		switch {
		case models.IsNotFound(err):
			cur = models.PhotoDisclosure{EvidenceID: d.EvidenceID, ItemID: d.ItemID, Version: 1, CreatedAt: now}
		case err != nil:
			return err
		default:
			old = cur.ObjectKey
			cur.Version++
		}
		cur.Public, cur.ObjectKey, cur.SetBy, cur.UpdatedAt = public, key, a.UserID, now
		if cur.Version == 1 {
			err = tx.Create(&cur)
		} else {
			err = tx.Update(&cur)
		}
		if err != nil {
			return err
		}
		d = cur
		action := models.AuditEvidenceWithdraw
		if public {
			action = models.AuditEvidencePublish
		}
		return s.AuditTx(tx, a, action, models.EntityEvidence, cur.EvidenceID, map[string]any{"item_id": cur.ItemID})
	})
	if errors.Is(err, models.ErrDuplicate) {
		err = models.Errorf(models.CodeVersionConflict, "someone else published or withdrew this photo at the same time; retry")
	}
	return d, old, err
}

// PublicPhoto opens the public copy of a photo, for anyone: a photo marked
// public of an accepted item. Everything else (private or withdrawn, an
// item not or no longer accepted, evidence never verified, an unknown or
// malformed id) is the same not_found, so that ids cannot be probed.
func (s *Service) PublicPhoto(ctx context.Context, id string) (io.ReadCloser, models.BlobInfo, error) {
	gone := models.NotFound("photo")
	if !models.ValidID(id) {
		return nil, models.BlobInfo{}, gone
	}
	var key string
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		ds, err := publicDisclosures(tx, models.Eq("evidence_id", id))
		if err != nil {
			return err
		}
		var it models.RectificationItem
		if len(ds) == 1 {
			if err := tx.Get(&it, ds[0].ItemID); err != nil {
				return err
			}
		}
		if it.Status != models.ItemAccepted {
			return gone
		}
		key = ds[0].ObjectKey
		return nil
	})
	if err != nil {
		return nil, models.BlobInfo{}, err
	}
	rc, info, err := s.Blobs.Get(ctx, key)
	if models.IsNotFound(err) {
		return nil, models.BlobInfo{}, gone
	}
	return rc, info, err
}
