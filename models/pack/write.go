package pack

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

// Writer writes evidence packs.
type Writer struct {
	Blobs  models.BlobStore
	Signer *Signer
	// Server names the server in the manifest and the report.
	Server string
	// Zone is where the report's times are shown (FIELDSYNC_TIME_ZONE);
	// nil is UTC.
	Zone *time.Location
	// Explain is the report's explanation of a flag, in Chinese (from the
	// message catalog, which this package does not import); nil shows the
	// flag's own detail.
	Explain func(models.Flag) string
}

// Write streams the pack of p to w as a ZIP. Every file is copied from
// the blob store through SHA-256 and never held whole, so a pack of any
// size needs a few buffers of memory; only the manifest (records, not
// bytes) is built in memory, because it must be signed.
//
// An original whose bytes no longer hash to its record's SHA-256 fails
// the export: a pack must never sign a file as evidence it is not. The
// bytes already written then end without a central directory, which no
// ZIP reader (and no verifier) accepts.
func (pw *Writer) Write(ctx context.Context, w io.Writer, p acceptance.EvidencePack) error {
	if pw.Signer == nil || pw.Blobs == nil {
		return errors.New("pack: a writer needs a blob store and a signer")
	}
	canonical, err := p.Set.Canonical()
	if err != nil {
		return err
	}
	digest := acceptance.DigestOf(canonical)
	zw := zip.NewWriter(w)
	var files []File
	// fill writes an entry's bytes and says what it wrote: each byte is
	// hashed once, on its way from the store.
	entry := func(name string, method uint16, fill func(io.Writer) (File, error)) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: p.GeneratedAt})
		if err != nil {
			return err
		}
		f, err := fill(fw)
		if err != nil {
			return fmt.Errorf("pack: %s: %w", name, err)
		}
		f.Path = name
		files = append(files, f)
		return nil
	}
	ev := p.Set.Evidence
	// Originals first, then thumbnails, each in the set's (id) order.
	// JPEG, PNG, HEIF and PDF are compressed already: stored, not deflated.
	// All of them are read by one read-ahead, in the order they are
	// written, so that each object's first bytes are on their way while
	// the last ones of the object before are sent.
	type blob struct {
		e     *models.Evidence
		name  string
		key   string
		thumb bool
	}
	var blobs []blob
	for i := range ev {
		if e := &ev[i]; hasBytes(e) {
			blobs = append(blobs, blob{e: e, name: pathOf(e), key: e.ObjectKey})
		}
	}
	for i := range ev {
		if e := &ev[i]; hasBytes(e) && e.ThumbKey != "" {
			blobs = append(blobs, blob{e: e, name: evidenceFile(e).Thumbnail, key: e.ThumbKey, thumb: true})
		}
	}
	open := make([]opener, len(blobs))
	for i, b := range blobs {
		open[i] = pw.opener(b.key)
	}
	ra := startReadAhead(ctx, open)
	defer ra.close()
	type thumb struct {
		key  string
		file File
	}
	thumbs := map[string]thumb{} // by evidence id
	for _, b := range blobs {
		want, size := b.e.SHA256, b.e.Size
		if b.thumb {
			want, size = "", -1
		}
		if err := entry(b.name, zip.Store, func(w io.Writer) (File, error) {
			return copyChecked(ra, w, b.key, want, size)
		}); err != nil {
			return err
		}
		if b.thumb {
			thumbs[b.e.ID] = thumb{key: b.key, file: files[len(files)-1]}
		}
	}
	ra.close()
	// The report embeds the thumbnails again, read a second time from the
	// store one at a time; each must be the bytes of its entry.
	thumbnail := func(w io.Writer, evidenceID string) error {
		t, ok := thumbs[evidenceID]
		if !ok {
			return fmt.Errorf("evidence %s has no thumbnail", evidenceID)
		}
		_, err := pw.copyBlob(ctx, w, t.key, t.file.SHA256, t.file.Size)
		return err
	}
	rv := newReportView(p, digest, pw.Signer.Public().ID, pw.Server)
	tmpl, err := reportTemplate(pw.Zone, pw.Explain)
	if err != nil {
		return err
	}
	if err := entry(ReportName, zip.Deflate, func(w io.Writer) (File, error) {
		hw := newHashingWriter(w)
		err := rv.write(hw, tmpl, thumbnail)
		return hw.file(), err
	}); err != nil {
		return err
	}
	m := Manifest{Format: Format, Version: Version, GeneratedAt: p.GeneratedAt, Server: pw.Server, KeyID: pw.Signer.Public().ID,
		EvidenceFiles: []EvidenceFile{}, Decisions: []DecisionEntry{}, Deciders: p.Deciders, Files: files, EvidenceDigest: digest, Evidence: canonical}
	if m.Deciders == nil {
		m.Deciders = []acceptance.Person{}
	}
	for i := range ev {
		m.EvidenceFiles = append(m.EvidenceFiles, evidenceFile(&ev[i]))
	}
	for _, d := range p.Decisions {
		m.Decisions = append(m.Decisions, DecisionEntry{Decision: d, OnThisEvidence: d.EvidenceDigest == digest})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest = append(manifest, '\n')
	sig, err := pw.Signer.sign(manifest)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{ManifestName, manifest}, {SignatureName, sig}} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: p.GeneratedAt})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.b); err != nil {
			return err
		}
	}
	return zw.Close()
}

// opener opens the object under key, for a read-ahead.
func (pw *Writer) opener(key string) opener {
	return func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := pw.Blobs.Get(ctx, key)
		return rc, err
	}
}

// copyBlob streams one object into w and returns its hash and size, as
// copyChecked.
func (pw *Writer) copyBlob(ctx context.Context, w io.Writer, key, want string, size int64) (File, error) {
	ra := startReadAhead(ctx, []opener{pw.opener(key)})
	defer ra.close()
	return copyChecked(ra, w, key, want, size)
}

// copyChecked streams the read-ahead's next object, the one under key,
// into w and returns its hash and size. With want set, the bytes must
// hash to it (and, with size ≥ 0, have that length), or copyChecked fails
// after the last byte.
func copyChecked(ra *readAhead, w io.Writer, key, want string, size int64) (File, error) {
	hw := newHashingWriter(w)
	if _, err := ra.next(hw); err != nil {
		return File{}, err
	}
	f := hw.file()
	if size >= 0 && f.Size != size {
		return f, fmt.Errorf("the stored object %s has %d bytes; its record says %d", key, f.Size, size)
	}
	if want != "" && f.SHA256 != want {
		return f, fmt.Errorf("the stored object %s hashes to %s, not the recorded %s; refusing to sign it", key, f.SHA256, want)
	}
	return f, nil
}

// hashingWriter passes bytes on and hashes and counts them.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashingWriter(w io.Writer) *hashingWriter { return &hashingWriter{w: w, h: sha256.New()} }

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashingWriter) file() File {
	return File{SHA256: hex.EncodeToString(hw.h.Sum(nil)), Size: hw.n}
}
