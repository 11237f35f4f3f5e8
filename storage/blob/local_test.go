package blob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob/blobtest"
)

func TestLocal(t *testing.T) {
	t.Log("blob suite running on local disk")
	blobtest.Run(t, func(t *testing.T) models.BlobStore { return mustLocal(t, t.TempDir()) })
}

func mustLocal(tb testing.TB, dir string) *LocalStore {
	tb.Helper()
	s, err := NewLocal(dir)
	if err != nil {
		tb.Fatalf("NewLocal: %v", err)
	}
	return s
}

// Failed, cancelled and refused puts leave no temporary files behind.
func TestLocalLeavesNoTempFiles(t *testing.T) {
	s := mustLocal(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Put(ctx, "a", strings.NewReader("x"), 1, "")
	s.Put(context.Background(), "b", strings.NewReader("short"), 10, "")
	s.Put(context.Background(), "c", iotestErrReader{}, -1, "")
	blobtest.MustPut(t, s, "d", []byte("ok"), "")
	entries, err := os.ReadDir(s.tmp)
	if err != nil || len(entries) != 0 {
		t.Errorf("tmp dir holds %d entries (err %v); want none", len(entries), err)
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

// Objects are files, so "a" and "a/b" cannot both exist; the second Put is
// refused, and once "a/b" is gone its empty directory is too.
func TestLocalKeyConflict(t *testing.T) {
	s := mustLocal(t, t.TempDir())
	blobtest.MustPut(t, s, "a/b", []byte("x"), "")
	_, err := s.Put(context.Background(), "a", strings.NewReader("y"), 1, "")
	if models.ErrorCode(err) != models.CodeInvalidID {
		t.Errorf("Put(a) beside a/b = %v; want code %s", err, models.CodeInvalidID)
	}
	_, err = s.Put(context.Background(), "a/b/c", strings.NewReader("y"), 1, "")
	if models.ErrorCode(err) != models.CodeInvalidID {
		t.Errorf("Put(a/b/c) under object a/b = %v; want code %s", err, models.CodeInvalidID)
	}
	if err := s.Delete(context.Background(), "a"); err != nil {
		t.Errorf("Delete(a), a directory of keys: %v", err)
	}
	if err := s.Delete(context.Background(), "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.objects, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directory a was kept: %v", err)
	}
	blobtest.MustPut(t, s, "a", []byte("y"), "")
}

// The content type lives in a header line inside the object file, so one
// rename replaces bytes and metadata together; a file without the header
// is served whole.
func TestLocalFileFormat(t *testing.T) {
	s := mustLocal(t, t.TempDir())
	blobtest.MustPut(t, s, "k", []byte("hello"), "text/plain; charset=utf-8")
	raw, err := os.ReadFile(filepath.Join(s.objects, "k"))
	if err != nil {
		t.Fatal(err)
	}
	want := headerMagic + `{"content_type":"text/plain; charset=utf-8"}` + "\nhello"
	if string(raw) != want {
		t.Errorf("file = %q; want %q", raw, want)
	}
	os.WriteFile(filepath.Join(s.objects, "raw.bin"), []byte("dropped in"), 0o600)
	got, info := blobtest.MustGet(t, s, "raw.bin")
	if string(got) != "dropped in" || info.Size != 10 || info.ContentType != "application/octet-stream" {
		t.Errorf("raw file: %q %+v", got, info)
	}
}

func TestLocalRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	s := mustLocal(t, dir)
	stale, fresh := filepath.Join(s.tmp, "put-stale"), filepath.Join(s.tmp, "put-fresh")
	os.WriteFile(stale, []byte("x"), 0o600)
	os.WriteFile(fresh, []byte("x"), 0o600)
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(stale, old, old)
	mustLocal(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (a live upload) removed: %v", err)
	}
}

func TestLocalPingUnwritable(t *testing.T) {
	s := mustLocal(t, t.TempDir())
	os.RemoveAll(s.root)
	if err := s.Ping(context.Background()); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("Ping with the directory gone = %v; want ErrUnavailable", err)
	}
}

func TestValidateKeyAccepts(t *testing.T) {
	for _, k := range []string{"a", "a/b/c.jpg", "evidence/0f/0f3a…/orig", "x.y-z_1", "a.b", ".hidden/x", strings.Repeat("a", 255)} {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{strings.Repeat("a", 256), strings.Repeat("a/", 600) + "a", "a\x7fb", "\xff"} {
		if ValidateKey(k) == nil {
			t.Errorf("ValidateKey(%q) accepted", k)
		}
	}
	if !bytes.Equal([]byte(headerMagic), []byte("fieldsync-blob/1 ")) {
		t.Error("changing headerMagic makes existing stores unreadable")
	}
}
