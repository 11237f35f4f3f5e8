// Package pack writes and verifies evidence packs: everything behind the
// decisions on one rectification item, as a signed ZIP that anyone can
// check without trusting whoever handed it over.
//
// A pack holds, in this order, so that every hash is known when the
// manifest is written and nothing has to be held back in memory:
//
//	photos/<id>.<ext>       the original files (documents/ and signatures/ for other kinds), stored as they are
//	thumbs/<id>.jpg         their thumbnails
//	report.html             a self-contained page for people: facts, map, photos, flags, decisions
//	manifest.json           what the pack holds and the hash of every file above
//	manifest.sig            an Ed25519 signature over the exact bytes of manifest.json
//
// The manifest embeds the item's evidence set (acceptance.EvidenceSet: the
// item, its units and people, tasks, sites, checklists, verification
// records, answers, notes and evidence records, with EXIF, device fixes and
// flags) as its "evidence" member. Compacted, that member is exactly the
// set's canonical encoding, so its SHA-256 is the digest each decision
// records: a verifier sees for each decision whether it was made on
// exactly this evidence. There is no separate evidence.json: one signed
// document is simpler to check than two that must agree.
package pack

import (
	"encoding/json"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

// Format and Version identify the manifest's layout.
const (
	Format  = "fieldsync-evidence-pack"
	Version = 1
)

// Names of the entries that the files list does not cover.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	ReportName    = "report.html"
)

// Manifest is manifest.json.
type Manifest struct {
	Format      string    `json:"format"`
	Version     int       `json:"version"`
	GeneratedAt time.Time `json:"generated_at"`
	Server      string    `json:"server"`
	KeyID       string    `json:"key_id"`
	// EvidenceFiles maps each evidence record to its file in the pack,
	// with what the server read from it; evidence that has no bytes
	// (pending or rejected) has no path.
	EvidenceFiles []EvidenceFile `json:"evidence_files"`
	// Decisions are the decisions on the item, oldest first, each with
	// whether it was made on the evidence in this pack; Deciders are the
	// people who made them.
	Decisions []DecisionEntry     `json:"decisions"`
	Deciders  []acceptance.Person `json:"deciders"`
	// Files lists every entry but manifest.json and manifest.sig.
	Files          []File `json:"files"`
	EvidenceDigest string `json:"evidence_digest"`
	// Evidence is the evidence set, written from EvidenceSet.Canonical;
	// json.Compact gives back those bytes exactly.
	Evidence json.RawMessage `json:"evidence"`
}

// File is one entry of the pack with its hash.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// EvidenceFile is one evidence record as the pack holds it.
type EvidenceFile struct {
	EvidenceID  string `json:"evidence_id"`
	Kind        string `json:"kind"`
	Status      string `json:"status"`
	Path        string `json:"path,omitempty"`
	Thumbnail   string `json:"thumbnail,omitempty"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	// EXIF is what the server read from the bytes, GPS its position, and
	// DeviceFix where the device said it was.
	EXIF      *models.MediaSummary     `json:"exif"`
	GPS       *Position                `json:"gps"`
	DeviceFix *models.EvidenceLocation `json:"device_fix"`
	Flags     models.Flags             `json:"flags"`
}

// Position is a WGS-84 position.
type Position struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// DecisionEntry is a decision with whether its evidence digest is the
// pack's. The verifier recomputes it rather than trusting this member.
type DecisionEntry struct {
	models.Decision
	OnThisEvidence bool `json:"on_this_evidence"`
}

// pathOf is where an evidence record's bytes go in the pack: a folder per
// kind, the file named by the record's id (never by a client's file name)
// and typed by what the server found in the bytes.
func pathOf(e *models.Evidence) string {
	dir := map[string]string{"photo": "photos/", "signature": "signatures/", "document": "documents/"}[e.Kind]
	if dir == "" {
		dir = "files/"
	}
	ct := e.ContentType
	if e.Media != nil && e.Media.ContentType != "" {
		ct = e.Media.ContentType
	}
	ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/heif": ".heif", "application/pdf": ".pdf"}[ct]
	if ext == "" {
		ext = ".bin"
	}
	return dir + e.ID + ext
}

// hasBytes reports whether the pack carries the record's file: only
// verified evidence has bytes in the store.
func hasBytes(e *models.Evidence) bool {
	return e.Status == models.EvidenceVerified && e.ObjectKey != ""
}

func evidenceFile(e *models.Evidence) EvidenceFile {
	f := EvidenceFile{EvidenceID: e.ID, Kind: e.Kind, Status: e.Status, SHA256: e.SHA256, Size: e.Size, ContentType: e.ContentType,
		EXIF: e.Media, DeviceFix: e.Location, Flags: e.Flags}
	if f.Flags == nil {
		f.Flags = models.Flags{}
	}
	if hasBytes(e) {
		f.Path = pathOf(e)
		if e.ThumbKey != "" {
			f.Thumbnail = "thumbs/" + e.ID + ".jpg"
		}
	}
	if m := e.Media; m != nil && m.HasGPS && m.Lat != nil && m.Lng != nil {
		f.GPS = &Position{Lat: *m.Lat, Lng: *m.Lng}
	}
	return f
}
