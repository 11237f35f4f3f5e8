package api_test

import (
	"context"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/media"
)

// The attack tests check that each attack is refused with its code and
// leaves nothing behind. state is everything an attack could have left:
// how many records of each kind exist (the change log and sessions
// included; the audit log is left out, since refusals are audited), the
// objects in the blob store, and the files under the local store's
// directory (temporary uploads included).
type state struct {
	Counts  map[string]int64
	Objects map[string]int64 // key → size
	Files   []string
}

// localStore gives the env's service a local blob store in a directory of
// the test's, and returns the directory, so that state can list its files.
func localStore(t *testing.T, e *env) string {
	t.Helper()
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := media.New()
	e.svc.Blobs, e.svc.Media, e.svc.Renderer = s, a, a
	return dir
}

// snapshot reads the state; dir is the local store's directory, or "".
func (e *env) snapshot(t *testing.T, dir string) state {
	t.Helper()
	ctx := context.Background()
	st := state{Counts: map[string]int64{}, Objects: map[string]int64{}}
	tables := map[string]any{
		"units": &models.Unit{}, "users": &models.User{}, "devices": &models.Device{}, "sessions": &models.Session{},
		"refresh_tokens": &models.RefreshToken{}, "items": &models.RectificationItem{}, "sites": &models.Site{},
		"templates": &models.ChecklistTemplate{}, "tasks": &models.InspectionTask{}, "verifications": &models.Verification{},
		"answers": &models.Answer{}, "notes": &models.Note{}, "evidence": &models.Evidence{}, "submissions": &models.Submission{},
		"decisions": &models.Decision{}, "changes": &models.Change{}, "disclosures": &models.PhotoDisclosure{},
	}
	err := e.svc.Store.Tx(ctx, func(tx models.Tx) error {
		for name, m := range tables {
			n, err := tx.Count(m, nil)
			if err != nil {
				return err
			}
			st.Counts[name] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Blobs.List(ctx, "", func(b models.BlobInfo) error { st.Objects[b.Key] = b.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if dir != "" {
		st.Files = files(t, dir)
	}
	return st
}

// files lists every file under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unchanged fails the test with what differs between two states.
func unchanged(t *testing.T, what string, before, after state) {
	t.Helper()
	for name, n := range before.Counts {
		if after.Counts[name] != n {
			t.Errorf("%s: %s went from %d to %d", what, name, n, after.Counts[name])
		}
	}
	if !maps.Equal(before.Objects, after.Objects) {
		t.Errorf("%s: the blob store changed: before %v, after %v", what, before.Objects, after.Objects)
	}
	if !slices.Equal(before.Files, after.Files) {
		t.Errorf("%s: files under the store changed: before %v, after %v", what, before.Files, after.Files)
	}
}

// refusedWith checks that r is a refusal with one of the codes, and that
// its body holds none of the secrets.
func refusedWith(t *testing.T, what string, r response, secrets []string, codes ...string) {
	t.Helper()
	if r.Status < 400 || !slices.Contains(codes, r.code(t)) {
		t.Errorf("%s: got %d %q, want one of %v: %.300s", what, r.Status, r.code(t), codes, r.Body)
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(string(r.Body), s) {
			t.Errorf("%s: the refusal shows %q: %s", what, s, r.Body)
		}
	}
}
