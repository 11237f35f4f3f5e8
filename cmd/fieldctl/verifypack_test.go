package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/blob"
)

const (
	secret    = "fieldctl-test-secret-fieldctl-test-secret"
	oldSecret = "fieldctl-old-secret-fieldctl-old-secret!!"
)

// writePack makes a pack of one real photo, signed with the key of the
// given secret, and returns its path and the photo's entry name.
func writePack(t *testing.T, signedWith string) (string, string) {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile("../../testdata/photos/DSCN0010.jpg")
	if err != nil {
		t.Fatal(err)
	}
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	e := models.Evidence{ID: "3f2a1b0c-0000-4000-8000-000000000001", Kind: "photo", Status: models.EvidenceVerified, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(data)), ContentType: "image/jpeg", ObjectKey: "evidence/3f2a1b0c-0000-4000-8000-000000000001", Flags: models.Flags{}, CreatedAt: now, UpdatedAt: now}
	if _, err := store.Put(ctx, e.ObjectKey, bytes.NewReader(data), e.Size, e.ContentType); err != nil {
		t.Fatal(err)
	}
	es := acceptance.EvidenceSet{Item: models.RectificationItem{ID: "3f2a1b0c-0000-4000-8000-000000000002", Code: "A-1", Title: "黑臭水体整治"}, Evidence: []models.Evidence{e}}
	keys, err := pack.KeysFor([]byte(signedWith), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := &pack.Writer{Blobs: store, Signer: keys.Signer, Server: "fieldsync test"}
	if err := w.Write(ctx, &buf, acceptance.EvidencePack{Set: es, GeneratedAt: now}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "evidence-pack-A-1.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, "photos/" + e.ID + ".jpg"
}

// corrupt flips one byte in the middle of an entry's data.
func corrupt(t *testing.T, path, entry string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == entry {
			off, _ := f.DataOffset()
			b[off+int64(f.CompressedSize64/2)] ^= 1
		}
	}
	bad := filepath.Join(t.TempDir(), "changed-"+filepath.Base(entry)+".zip")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bad
}

func TestVerifyPack(t *testing.T) {
	dir := t.TempDir()
	good, photo := writePack(t, secret)
	keys, _ := pack.KeysFor([]byte(secret), nil)
	pub := base64.StdEncoding.EncodeToString(keys.Signer.Public().Key)
	other, _ := pack.KeysFor([]byte(oldSecret+"x"), nil)

	out, err := ctl(t, dir, "", "-secret", secret, "verify-pack", good)
	if err != nil || !strings.Contains(out, "校验通过：签名、所有文件和证据摘要均一致") || !strings.Contains(out, "\n  签名        有效，受信任的签名密钥 ") ||
		!strings.Contains(out, "\n  事项        A-1 黑臭水体整治\n") {
		t.Fatalf("a good pack: %v\n%s", err, out)
	}
	// Generated at 09:00 UTC: shown in FIELDSYNC_TIME_ZONE, Asia/Shanghai by default.
	if !strings.Contains(out, "\n  生成        2026-11-28 17:00:00 +08:00，由 fieldsync test 生成\n") {
		t.Errorf("the pack's time is not in Asia/Shanghai:\n%s", out)
	}
	if out, err := ctl(t, dir, "", "verify-pack", "-public-key", pub, good); err != nil {
		t.Fatalf("with the published key: %v\n%s", err, out)
	}
	// Signed before a rotation: the previous secret still verifies it.
	old, _ := writePack(t, oldSecret)
	if out, err := ctl(t, dir, "", "-secret", secret, "-secret-previous", oldSecret, "verify-pack", old); err != nil {
		t.Fatalf("a pack of the previous secret: %v\n%s", err, out)
	}
	for name, c := range map[string]struct {
		args []string
		want []string
	}{
		"changed photo":   {[]string{"-secret", secret, "verify-pack", corrupt(t, good, photo)}, []string{"\n  被改动   " + photo + "\n", "\n校验未通过：\n"}},
		"changed sig":     {[]string{"-secret", secret, "verify-pack", corrupt(t, good, "manifest.sig")}, []string{"\n  被改动   manifest.sig\n"}},
		"another key":     {[]string{"verify-pack", "-public-key", base64.StdEncoding.EncodeToString(other.Signer.Public().Key), good}, []string{"\n  签名        未通过校验（manifest.sig 声称的密钥为 ", "not a trusted key", "签名无效或不是受信任的密钥所签"}},
		"old secret only": {[]string{"-secret", oldSecret, "verify-pack", good}, []string{"\n校验未通过：\n"}},
		"no secret":       {[]string{"verify-pack", good}, []string{"no server secret", "；也可用 -public-key 指定信任的公钥"}},
		"bad key":         {[]string{"verify-pack", "-public-key", "bm90IGEga2V5", good}, []string{"-public-key 无效：public key: 9 bytes"}},
		"no file":         {[]string{"-secret", secret, "verify-pack"}, []string{"用法：fieldctl [配置参数] verify-pack [-public-key BASE64] FILE.zip（详见 fieldctl help verify-pack）"}},
		"not a zip":       {[]string{"-secret", secret, "verify-pack", "verifypack_test.go"}, []string{"verifypack_test.go: 无法读取证据包: pack: not a readable ZIP"}},
	} {
		out, err := ctl(t, dir, "", c.args...)
		if err == nil {
			t.Errorf("%s: exit 0\n%s", name, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out+err.Error(), w) {
				t.Errorf("%s: %q missing from\n%s\n%v", name, w, out, err)
			}
		}
	}
	// The error a script sees names the file too.
	_, err = ctl(t, dir, "", "-secret", secret, "verify-pack", corrupt(t, good, photo))
	if err == nil || !strings.Contains(err.Error(), " 校验未通过：被改动："+photo) {
		t.Errorf("error: %v", err)
	}
}
