package models

import (
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

// Round rounds a latitude or longitude to the policy's decimals.
func (p DisclosurePolicy) Round(v float64) float64 {
	f := math.Pow10(min(max(p.CoordDecimals, 0), MaxCoordDecimals))
	return math.Round(v*f) / f
}
