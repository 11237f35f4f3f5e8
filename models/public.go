package models

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"time"
)

// PhotoDisclosure says whether a verified photo is shown to the public
// (信息公开). It is a record of its own, not a field of the evidence:
// evidence records are hashed into the digest a decision is bound to, and
// publishing a photo must not change what a decision was made on.
type PhotoDisclosure struct {
	EvidenceID string `json:"evidence_id" gorm:"primaryKey"`
	ItemID     string `json:"item_id"`
	Public     bool   `json:"public"`
	// ObjectKey is the stripped copy the public is served; empty while
	// the photo is private.
	ObjectKey string    `json:"-"`
	SetBy     string    `json:"set_by"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TableName names the table.
func (PhotoDisclosure) TableName() string { return "photo_disclosures" }

// PublicRenderer makes the copy of a photo the public is shown.
type PublicRenderer interface {
	// RenderPublic decodes a JPEG or PNG from r, turns it upright by the
	// EXIF orientation (1..8, 0 when absent) and re-encodes it as a JPEG
	// with no metadata at all: no EXIF (GPS, camera, times), no other
	// application segment, never the original's bytes. It refuses what it
	// cannot decode, or what is too large to decode, with
	// CodeMediaUnsupported, CodeMediaUnreadable or CodeMediaTooLarge.
	RenderPublic(r io.Reader, orientation int) ([]byte, error)
}

// DisclosurePolicy says how much the public disclosure shows.
type DisclosurePolicy struct {
	// CoordDecimals is how many decimals of latitude and longitude the
	// public sees (2 ≈ 1 km). The zero value publishes whole degrees, the
	// coarsest, so that a service built without a policy leaks least;
	// more than MaxCoordDecimals counts as MaxCoordDecimals.
	CoordDecimals int
}

// MaxCoordDecimals is the most precise public rounding (about 0.1 m).
const MaxCoordDecimals = 6

func (p DisclosurePolicy) round(v float64) float64 {
	f := math.Pow10(min(max(p.CoordDecimals, 0), MaxCoordDecimals))
	return math.Round(v*f) / f
}

// publicCopyPrefix is where the stripped copies live in the blob store.
const publicCopyPrefix = "public/"

// SetEvidencePublic makes a verified photo public or private. Admins, and
// supervisors of the photo's unit subtree, decide; others who may see the
// photo are refused, the rest get not found. Making it public renders the
// stripped copy the public will be served (only once the item is
// accepted); making it private withdraws and deletes that copy. Asking for
// what is already so changes nothing.
func (s *Service) SetEvidencePublic(ctx context.Context, a Actor, id string, public bool) (PhotoDisclosure, error) {
	var (
		e     Evidence
		d     PhotoDisclosure
		found bool
	)
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := getVisible(tx, &e, id, "evidence", func() bool { return a.canReadEvidence(&e) }); err != nil {
			return err
		}
		if !a.canWriteUnitRecord(e.UnitPath) {
			return errForbidden("publish evidence")
		}
		err := tx.Get(&d, e.ID)
		found = err == nil
		if IsNotFound(err) {
			var t InspectionTask
			if err := tx.Get(&t, e.TaskID); err != nil {
				return err
			}
			d = PhotoDisclosure{EvidenceID: e.ID, ItemID: t.ItemID}
			return nil
		}
		return err
	})
	if err != nil {
		return PhotoDisclosure{}, err
	}
	if public {
		if err := publishable(&e); err != nil {
			return PhotoDisclosure{}, err
		}
	}
	if found && d.Public == public {
		return d, nil
	}
	var key string
	if public {
		if key, err = s.renderPublic(ctx, &e); err != nil {
			return PhotoDisclosure{}, err
		}
	}
	d, old, err := s.saveDisclosure(ctx, a, d, public, key)
	// A copy no row names is unreachable; deleting it only saves space,
	// so a failed delete is not the caller's error.
	if err != nil {
		if key != "" {
			s.Blobs.Delete(ctx, key)
		}
		return PhotoDisclosure{}, err
	}
	if old != "" && old != key {
		s.Blobs.Delete(ctx, old)
	}
	return d, nil
}

// publishable refuses what may never be public.
func publishable(e *Evidence) error {
	switch {
	case e.Kind != "photo":
		return Errorf(CodeNotAPhoto, "evidence %s is a %s; only photos can be made public", e.ID, e.Kind)
	case e.Status != EvidenceVerified:
		return Errorf(CodeNotVerified, "evidence %s is %s; only verified photos can be made public", e.ID, e.Status)
	}
	return nil
}

// renderPublic stores the stripped copy of a photo under a key of its own
// for this publication, so that a concurrent withdrawal, which deletes the
// key it found, can never delete the copy a later publication names.
func (s *Service) renderPublic(ctx context.Context, e *Evidence) (string, error) {
	if s.Renderer == nil {
		return "", errors.New("models: no PublicRenderer configured")
	}
	// Decoding shares the completions' slots: one bound on the memory
	// that photos being decoded take.
	release, err := s.analysisSlot(ctx, e.Size)
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
	if me := AsError(err); me != nil && (me.Code == CodeMediaUnsupported || me.Code == CodeMediaUnreadable || me.Code == CodeMediaTooLarge) {
		return "", &Error{Code: CodeNotPublishable, Message: "this photo cannot be made public: " + me.Message, Err: err}
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
func (s *Service) saveDisclosure(ctx context.Context, a Actor, d PhotoDisclosure, public bool, key string) (PhotoDisclosure, string, error) {
	var old string
	err := s.Store.Tx(ctx, func(tx Tx) error {
		now := s.now()
		var cur PhotoDisclosure
		err := tx.Get(&cur, d.EvidenceID)
		switch {
		case IsNotFound(err):
			cur = PhotoDisclosure{EvidenceID: d.EvidenceID, ItemID: d.ItemID, Version: 1, CreatedAt: now}
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
		action := AuditEvidenceWithdraw
		if public {
			action = AuditEvidencePublish
		}
		return s.audit(tx, a, action, EntityEvidence, cur.EvidenceID, map[string]any{"item_id": cur.ItemID})
	})
	if errors.Is(err, ErrDuplicate) {
		err = Errorf(CodeVersionConflict, "someone else published or withdrew this photo at the same time; retry")
	}
	return d, old, err
}

// PublicPhoto opens the public copy of a photo, for anyone: a photo marked
// public of an accepted item. Everything else (private or withdrawn, an
// item not or no longer accepted, evidence never verified, an unknown or
// malformed id) is the same not_found, so that ids cannot be probed.
func (s *Service) PublicPhoto(ctx context.Context, id string) (io.ReadCloser, BlobInfo, error) {
	gone := errNotFound("photo")
	if !ValidID(id) {
		return nil, BlobInfo{}, gone
	}
	var key string
	err := s.Store.Tx(ctx, func(tx Tx) error {
		ds, err := publicDisclosures(tx, Eq("evidence_id", id))
		if err != nil {
			return err
		}
		var it RectificationItem
		if len(ds) == 1 {
			if err := tx.Get(&it, ds[0].ItemID); err != nil {
				return err
			}
		}
		if it.Status != ItemAccepted {
			return gone
		}
		key = ds[0].ObjectKey
		return nil
	})
	if err != nil {
		return nil, BlobInfo{}, err
	}
	rc, info, err := s.Blobs.Get(ctx, key)
	if IsNotFound(err) {
		return nil, BlobInfo{}, gone
	}
	return rc, info, err
}
