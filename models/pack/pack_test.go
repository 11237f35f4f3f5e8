package pack_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/pack"
)

func open(t *testing.T, b []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func verify(b []byte, keys ...ed25519.PublicKey) (pack.Report, error) {
	return pack.Verify(bytes.NewReader(b), int64(len(b)), keys...)
}

func readZipEntry(t *testing.T, zr *zip.Reader, name string) []byte {
	t.Helper()
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteVerify(t *testing.T) {
	f := newFixture(t)
	b := f.write(t)
	zr := open(t, b)
	var names []string
	for _, e := range zr.File {
		names = append(names, e.Name)
		if strings.HasPrefix(e.Name, "photos/") && e.Method != zip.Store {
			t.Errorf("%s is deflated; originals are stored", e.Name)
		}
	}
	ev := f.pack.Set.Evidence
	want := []string{}
	for _, e := range ev[:4] {
		want = append(want, "photos/"+e.ID+".jpg")
	}
	for _, e := range ev[:4] {
		want = append(want, "thumbs/"+e.ID+".jpg")
	}
	want = append(want, "report.html", "manifest.json", "manifest.sig")
	if !slices.Equal(names, want) {
		t.Fatalf("entries\n%v\nwant\n%v", names, want)
	}
	r, err := verify(b, f.signer.Public().Key)
	if err != nil || !r.OK() {
		t.Fatalf("a fresh pack must verify: %v %v", err, r.Problems)
	}
	if r.SignedBy != f.signer.Public().ID || r.Files != 9 || r.ItemCode != "A-1" || !r.DigestOK {
		t.Errorf("report: %+v", r)
	}
	// The old rejection was made on other evidence, the acceptance on this.
	if len(r.Decisions) != 2 || r.Decisions[0].OnThisEvidence || !r.Decisions[1].OnThisEvidence {
		t.Errorf("decisions: %+v", r.Decisions)
	}
	// The pending photo is listed without a file.
	var m pack.Manifest
	if err := json.Unmarshal(readZipEntry(t, zr, "manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	last := m.EvidenceFiles[4]
	if last.Status != models.EvidencePending || last.Path != "" || len(m.EvidenceFiles) != 5 {
		t.Errorf("pending evidence: %+v", last)
	}
	first := m.EvidenceFiles[0]
	if first.GPS == nil || first.GPS.Lat != 43.4674483 || first.DeviceFix == nil || first.EXIF.Model != "COOLPIX P6000" || first.Thumbnail == "" {
		t.Errorf("evidence file: %+v", first)
	}
	if m.KeyID != f.signer.Public().ID || m.Format != pack.Format || !m.Decisions[1].OnThisEvidence || len(m.Deciders) != 1 {
		t.Errorf("manifest head: %s %s %v", m.KeyID, m.Format, m.Decisions[1].OnThisEvidence)
	}
}

// TestEmbeddedSetIsCanonical: the manifest's evidence member, compacted,
// is exactly EvidenceSet.Canonical(), so its hash is the digest that
// decisions record.
func TestEmbeddedSetIsCanonical(t *testing.T) {
	f := newFixture(t)
	var m struct {
		Evidence json.RawMessage `json:"evidence"`
		Digest   string          `json:"evidence_digest"`
	}
	if err := json.Unmarshal(readZipEntry(t, open(t, f.write(t)), "manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, m.Evidence); err != nil {
		t.Fatal(err)
	}
	canonical, err := f.pack.Set.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := f.pack.Set.Digest()
	if !bytes.Equal(compact.Bytes(), canonical) {
		t.Fatal("the compacted evidence member is not the canonical encoding")
	}
	if acceptance.DigestOf(compact.Bytes()) != digest || m.Digest != digest {
		t.Fatalf("digest %s, manifest %s, set %s", acceptance.DigestOf(compact.Bytes()), m.Digest, digest)
	}
	// The title holds "<", which json.Marshal escapes: the member keeps it so.
	if !bytes.Contains(m.Evidence, []byte(`\u003c临江`)) {
		t.Error("the embedded set lost the canonical escaping")
	}
}

// TestTamperedEntriesAreNamed flips one byte in the data of each kind of
// entry in turn.
func TestTamperedEntriesAreNamed(t *testing.T) {
	f := newFixture(t)
	b := f.write(t)
	key := f.signer.Public().Key
	ev := f.pack.Set.Evidence
	for _, name := range []string{"photos/" + ev[1].ID + ".jpg", "thumbs/" + ev[2].ID + ".jpg", "report.html", "manifest.json", "manifest.sig"} {
		t.Run(name, func(t *testing.T) {
			bad := flipByte(t, b, name)
			r, err := verify(bad, key)
			if !errors.Is(err, pack.ErrNotVerified) || r.OK() {
				t.Fatalf("a changed %s verified: %v", name, err)
			}
			if !slices.Contains(r.Changed, name) {
				t.Errorf("changed %v, want %s named; problems %v", r.Changed, name, r.Problems)
			}
		})
	}
}

// flipByte changes one byte in the middle of an entry's stored data.
func flipByte(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	for _, e := range open(t, b).File {
		if e.Name != name {
			continue
		}
		off, err := e.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		out := bytes.Clone(b)
		out[off+int64(e.CompressedSize64/2)] ^= 0x20
		return out
	}
	t.Fatalf("no entry %s", name)
	return nil
}

// rezip copies a pack's entries, leaving out drop and adding extra.
func rezip(t *testing.T, b []byte, drop string, extra map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range open(t, b).File {
		if e.Name == drop {
			continue
		}
		if err := zw.Copy(e); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range extra {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAddedAndRemovedEntriesAreNamed(t *testing.T) {
	f := newFixture(t)
	b := f.write(t)
	key := f.signer.Public().Key
	photo := "photos/" + f.pack.Set.Evidence[0].ID + ".jpg"

	r, err := verify(rezip(t, b, "", map[string]string{"photos/extra.jpg": "not evidence"}), key)
	if err == nil || !slices.Equal(r.Added, []string{"photos/extra.jpg"}) || len(r.Changed)+len(r.Removed) != 0 {
		t.Errorf("added: %v; %+v", err, r)
	}
	if r.SignedBy == "" {
		t.Error("an added entry does not touch the signature")
	}
	// A second entry under a listed name is an addition too.
	r, _ = verify(rezip(t, b, "", map[string]string{photo: "shadow"}), key)
	if !slices.Equal(r.Added, []string{photo}) {
		t.Errorf("a duplicate name: %+v", r.Added)
	}
	r, err = verify(rezip(t, b, photo, nil), key)
	if err == nil || !slices.Equal(r.Removed, []string{photo}) {
		t.Errorf("removed: %v; %+v", err, r.Removed)
	}
	for _, name := range []string{"manifest.json", "manifest.sig"} {
		r, err = verify(rezip(t, b, name, nil), key)
		if err == nil || !slices.Contains(r.Removed, name) {
			t.Errorf("%s removed: %v; %+v", name, err, r.Removed)
		}
	}
	if _, err := verify([]byte("not a zip"), key); err == nil || errors.Is(err, pack.ErrNotVerified) {
		t.Errorf("garbage: %v", err)
	}
}

func TestUntrustedKeyIsRefused(t *testing.T) {
	f := newFixture(t)
	b := f.write(t)
	other, _ := pack.NewSigner(bytes.Repeat([]byte{9}, 32))
	r, err := verify(b, other.Public().Key)
	if err == nil || r.SignedBy != "" || r.SigKeyID != f.signer.Public().ID {
		t.Fatalf("a pack verified with the wrong key: %v %+v", err, r)
	}
	if !strings.Contains(strings.Join(r.Problems, " "), "not a trusted key") {
		t.Errorf("problems: %v", r.Problems)
	}
	if _, err := verify(b); err == nil {
		t.Error("no trusted key must not verify")
	}
	// The previous key after a rotation still verifies.
	if r, err := verify(b, other.Public().Key, f.signer.Public().Key); err != nil || r.SignedBy != f.signer.Public().ID {
		t.Errorf("with the previous key trusted too: %v", err)
	}
	// A forger who re-signs with his own key is refused, though every hash matches.
	f.writer.Signer = other
	if _, err := verify(f.write(t), f.signer.Public().Key); err == nil {
		t.Error("a pack signed by another key verified")
	}
}

// TestForgedPhotoIsNotSigned: bytes in the store that are not the
// record's fail the export instead of being signed.
func TestForgedPhotoIsNotSigned(t *testing.T) {
	f := newFixture(t)
	e := f.pack.Set.Evidence[2]
	f.blobs.Put(context.Background(), e.ObjectKey, strings.NewReader("a different photo"), -1, "image/jpeg")
	var buf bytes.Buffer
	err := f.writer.Write(context.Background(), &buf, f.pack)
	if err == nil || !strings.Contains(err.Error(), e.ObjectKey) {
		t.Fatalf("export of a forged photo: %v", err)
	}
	if _, verr := verify(buf.Bytes(), f.signer.Public().Key); verr == nil {
		t.Error("the aborted pack verified")
	}
}

// TestRecordMismatchIsReported: a signed manifest whose files list
// matches an original that is not its evidence record's file (a buggy or
// dishonest signer) is caught by the verifier's own check against the
// record, and no decision is on that evidence.
func TestRecordMismatchIsReported(t *testing.T) {
	f := newFixture(t)
	b := f.write(t)
	var m pack.Manifest
	if err := json.Unmarshal(readZipEntry(t, open(t, b), "manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	var es acceptance.EvidenceSet
	if err := json.Unmarshal(m.Evidence, &es); err != nil {
		t.Fatal(err)
	}
	es.Evidence[0].SHA256 = strings.Repeat("0", 64)
	canonical, err := es.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	m.Evidence, m.EvidenceDigest = canonical, acceptance.DigestOf(canonical)
	manifest, _ := json.MarshalIndent(m, "", "  ")
	sig, err := pack.SignManifest(f.signer, manifest)
	if err != nil {
		t.Fatal(err)
	}
	forged := rezip(t, rezip(t, b, "manifest.json", map[string]string{"manifest.json": string(manifest)}), "manifest.sig", map[string]string{"manifest.sig": string(sig)})
	r, err := verify(forged, f.signer.Public().Key)
	photo := "photos/" + es.Evidence[0].ID + ".jpg"
	if err == nil || !slices.Equal(r.EvidenceMismatch, []string{photo}) || r.SignedBy == "" || !r.DigestOK {
		t.Fatalf("a photo that is not its record's: %v %+v", err, r)
	}
	if r.Decisions[1].OnThisEvidence {
		t.Error("the acceptance was not made on the changed evidence")
	}
	// A signer who drops a verified photo from the files list and the
	// archive leaves every listed hash right, and is caught all the same.
	if err := json.Unmarshal(readZipEntry(t, open(t, b), "manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	m.Files = m.Files[1:]
	manifest, _ = json.MarshalIndent(m, "", "  ")
	if sig, err = pack.SignManifest(f.signer, manifest); err != nil {
		t.Fatal(err)
	}
	dropped := rezip(t, rezip(t, rezip(t, b, photo, nil), "manifest.json", map[string]string{"manifest.json": string(manifest)}), "manifest.sig", map[string]string{"manifest.sig": string(sig)})
	r, err = verify(dropped, f.signer.Public().Key)
	if err == nil || !strings.Contains(strings.Join(r.Problems, " "), "verified evidence "+es.Evidence[0].ID+" has no file") {
		t.Fatalf("a verified photo left out of a signed pack: %v %v", err, r.Problems)
	}
}

// TestReportIsSelfContained: report.html embeds each thumbnail as the
// bytes of its entry, escapes what records hold, and loads nothing.
func TestReportIsSelfContained(t *testing.T) {
	f := newFixture(t)
	zr := open(t, f.write(t))
	html := string(readZipEntry(t, zr, "report.html"))
	const prefix = `src="data:image/jpeg;base64,`
	if n := strings.Count(html, prefix); n != 4 {
		t.Fatalf("%d embedded thumbnails, want 4", n)
	}
	rest := html
	for _, e := range f.pack.Set.Evidence[:4] {
		i := strings.Index(rest, prefix)
		rest = rest[i+len(prefix):]
		data, err := base64.StdEncoding.DecodeString(rest[:strings.IndexByte(rest, '"')])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, readZipEntry(t, zr, "thumbs/"+e.ID+".jpg")) {
			t.Errorf("the report's thumbnail of %s is not its entry", e.ID)
		}
	}
	for _, want := range []string{"<svg", `class="fence"`, "超出电子围栏 294 m", "照片位置与设备定位不符 184 m", "模拟定位", "100 m",
		"黑臭水体整治 &lt;临江&gt;", "✓ 作出决定时的证据与本证据包完全一致", "李督察 (supa)", "拍摄下游截污管，位置合理", "default-src 'none'"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<临江>", `src="http`, `href="http`, "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
}
