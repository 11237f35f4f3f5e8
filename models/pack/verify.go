package pack

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

// ErrNotVerified is returned (wrapped) by Verify when the pack fails any
// check; the Report says which.
var ErrNotVerified = errors.New("pack: not verified")

// Bounds on what Verify reads into memory: the manifest holds records,
// not files, and a deflated entry must not be able to claim gigabytes.
const (
	maxManifest  = 256 << 20
	maxSignature = 64 << 10
)

// Report is what Verify found. Problems lists every failed check in words;
// it is empty exactly when the pack verified.
type Report struct {
	ItemCode    string
	ItemTitle   string
	GeneratedAt time.Time
	Server      string
	// SignedBy is the trusted key that verified the signature; empty
	// when none did. SigKeyID is the key manifest.sig names.
	SignedBy string
	SigKeyID string
	// Files counts the entries checked against the manifest.
	Files                   int
	Changed, Added, Removed []string
	// EvidenceDigest is recomputed from the manifest's evidence member;
	// DigestOK says whether it is the manifest's evidence_digest.
	EvidenceDigest string
	DigestOK       bool
	// EvidenceMismatch names the files whose bytes are not the SHA-256
	// or size their evidence record holds.
	EvidenceMismatch []string
	Decisions        []DecisionCheck
	Problems         []string
}

// DecisionCheck says whether a decision was made on exactly the evidence
// in the pack: whether its recorded digest is the recomputed one.
type DecisionCheck struct {
	ID             string
	Kind           string
	CreatedAt      time.Time
	DeciderID      string
	EvidenceDigest string
	OnThisEvidence bool
}

// OK reports whether every check passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks a pack: the signature over manifest.json by one of the
// trusted keys (never a key the pack itself names), the size and SHA-256
// of every listed file, files added or removed, the evidence digest, each
// original against its evidence record, and which decisions were made on
// exactly this evidence. It reads every file once, streaming. The error
// wraps ErrNotVerified when any check fails, and is some other error when
// the archive cannot be read at all.
func Verify(ra io.ReaderAt, size int64, trusted ...ed25519.PublicKey) (Report, error) {
	var r Report
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return r, fmt.Errorf("pack: not a readable ZIP archive: %w", err)
	}
	entries := map[string][]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = append(entries[f.Name], f)
	}
	// Without a valid signature the files are still checked against the
	// manifest, to say what differs, but nothing it lists is trusted.
	manifest := r.readSigned(entries, trusted)
	if manifest == nil {
		return r, r.verdict()
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		r.changed(ManifestName)
		r.problem("manifest.json is not a valid manifest: %v", err)
		return r, r.verdict()
	}
	if m.Format != Format || m.Version != Version {
		r.problem("manifest.json is %s version %d, not %s version %d", m.Format, m.Version, Format, Version)
		return r, r.verdict()
	}
	r.GeneratedAt, r.Server = m.GeneratedAt, m.Server
	actual := r.checkFiles(entries, m.Files)
	r.checkEvidence(&m, actual)
	return r, r.verdict()
}

// readSigned reads manifest.json, nil when it cannot, and checks
// manifest.sig over it.
func (r *Report) readSigned(entries map[string][]*zip.File, trusted []ed25519.PublicKey) []byte {
	manifest, err := readEntry(entries, ManifestName, maxManifest)
	if err != nil {
		r.missingOrChanged(ManifestName, err)
		return nil
	}
	raw, err := readEntry(entries, SignatureName, maxSignature)
	if err != nil {
		r.missingOrChanged(SignatureName, err)
		return manifest
	}
	var sig signature
	if err := json.Unmarshal(raw, &sig); err != nil || sig.Algorithm != Algorithm || len(sig.Signature) != ed25519.SignatureSize {
		r.changed(SignatureName)
		r.problem("manifest.sig is not an %s signature document", Algorithm)
		return manifest
	}
	r.SigKeyID = sig.KeyID
	known := false
	for _, k := range trusted {
		if ed25519.Verify(k, manifest, sig.Signature) {
			r.SignedBy = KeyID(k)
			return manifest
		}
		known = known || KeyID(k) == sig.KeyID
	}
	if len(trusted) == 0 {
		r.problem("no trusted key was given: the signature cannot be checked")
	} else if !known {
		r.problem("manifest.sig is by key %s, which is not a trusted key", sig.KeyID)
	} else {
		r.changed(ManifestName)
		r.problem("the signature of trusted key %s does not match: manifest.json (or manifest.sig) was changed", sig.KeyID)
	}
	return manifest
}

// checkFiles hashes every entry against the files list, and returns the
// actual hashes of the listed entries that are present.
func (r *Report) checkFiles(entries map[string][]*zip.File, listed []File) map[string]File {
	actual := map[string]File{}
	want := map[string]bool{ManifestName: true, SignatureName: true}
	for _, lf := range listed {
		want[lf.Path] = true
		fs := entries[lf.Path]
		if len(fs) == 0 {
			r.Removed = append(r.Removed, lf.Path)
			r.problem("%s is listed in the manifest but missing", lf.Path)
			continue
		}
		r.Files++
		got, err := hashEntry(fs[0])
		actual[lf.Path] = got
		switch {
		case err != nil:
			r.changed(lf.Path)
			r.problem("%s cannot be read (%v): it was changed", lf.Path, err)
		case got.Size != lf.Size || got.SHA256 != lf.SHA256:
			r.changed(lf.Path)
			r.problem("%s was changed: %d bytes with SHA-256 %s; the manifest lists %d bytes with %s", lf.Path, got.Size, got.SHA256, lf.Size, lf.SHA256)
		}
	}
	for name, fs := range entries {
		extra := fs
		if want[name] {
			extra = fs[1:] // a second entry of a listed name shadows the first in some readers
		}
		for range extra {
			r.Added = append(r.Added, name)
			r.problem("%s is in the archive but not in the manifest: it was added", name)
		}
	}
	sort.Strings(r.Added)
	return actual
}

// checkEvidence recomputes the evidence digest, holds each original to
// its evidence record, and checks each decision's digest.
func (r *Report) checkEvidence(m *Manifest, actual map[string]File) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, m.Evidence); err != nil {
		r.problem("the manifest's evidence member is not JSON: %v", err)
		return
	}
	r.EvidenceDigest = acceptance.DigestOf(compact.Bytes())
	r.DigestOK = r.EvidenceDigest == m.EvidenceDigest
	if !r.DigestOK {
		r.problem("the evidence set hashes to %s, not the manifest's evidence_digest %s", r.EvidenceDigest, m.EvidenceDigest)
	}
	var es acceptance.EvidenceSet
	if err := json.Unmarshal(compact.Bytes(), &es); err != nil {
		r.problem("the manifest's evidence member is not an evidence set: %v", err)
		return
	}
	r.ItemCode, r.ItemTitle = es.Item.Code, es.Item.Title
	paths := map[string]string{}
	for _, f := range m.EvidenceFiles {
		paths[f.EvidenceID] = f.Path
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	for _, e := range es.Evidence {
		path := paths[e.ID]
		if e.Status != models.EvidenceVerified {
			continue
		}
		got, ok := actual[path]
		switch {
		case path == "" || !listed[path]:
			r.problem("verified evidence %s has no file in the pack's files list", e.ID)
		case !ok:
			// Listed but missing: already reported as removed.
		case got.SHA256 != e.SHA256 || got.Size != e.Size:
			r.EvidenceMismatch = append(r.EvidenceMismatch, path)
			r.problem("%s is not the file of evidence %s: its record holds %d bytes with SHA-256 %s", path, e.ID, e.Size, e.SHA256)
		}
	}
	for _, d := range m.Decisions {
		r.Decisions = append(r.Decisions, DecisionCheck{ID: d.ID, Kind: d.Kind, CreatedAt: d.CreatedAt, DeciderID: d.DeciderID,
			EvidenceDigest: d.EvidenceDigest, OnThisEvidence: d.EvidenceDigest == r.EvidenceDigest})
	}
}

func (r *Report) changed(name string) {
	for _, n := range r.Changed {
		if n == name {
			return
		}
	}
	r.Changed = append(r.Changed, name)
}

func (r *Report) missingOrChanged(name string, err error) {
	if errors.Is(err, errMissing) {
		r.Removed = append(r.Removed, name)
		r.problem("%s is missing", name)
		return
	}
	r.changed(name)
	r.problem("%s cannot be read (%v): it was changed", name, err)
}

func (r *Report) verdict() error {
	if r.OK() {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNotVerified, strings.Join(r.Problems, "; "))
}

var errMissing = errors.New("missing")

// readEntry reads a small entry whole, refusing more than limit bytes.
func readEntry(entries map[string][]*zip.File, name string, limit int64) ([]byte, error) {
	fs := entries[name]
	if len(fs) == 0 {
		return nil, errMissing
	}
	rc, err := fs[0].Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return b, err
}

// hashEntry streams an entry through SHA-256. A changed byte in a stored
// entry also fails its CRC, and in a deflated one usually its decoding:
// the error says so, and the hash covers what could be read.
func hashEntry(f *zip.File) (File, error) {
	rc, err := f.Open()
	if err != nil {
		return File{Path: f.Name}, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	return File{Path: f.Name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, err
}
