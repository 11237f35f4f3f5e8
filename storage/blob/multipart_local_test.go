package blob_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// Multipart uploads on the local store, called directly.

func TestLocalPutPart(t *testing.T) {
	p, _ := newLocalPresigner(t)
	const key = "evidence/v.mp4"
	up, err := p.StartMultipart(bg, key, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	g := mustGrant(t, p, mustPresignPart(t, p, key, up, 2).URL)
	if _, err := p.PutPart(bg, g, strings.NewReader("abc"), -1); models.ErrorCode(err) != models.CodeValidation {
		t.Errorf("PutPart of unknown length = %v; want CodeValidation", err)
	}
	first, err := p.PutPart(bg, g, strings.NewReader("first"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if sum := md5.Sum([]byte("first")); first.ETag != hex.EncodeToString(sum[:]) || first.Number != 2 || first.Size != 5 {
		t.Errorf("PutPart = %+v; want part 2, 5 bytes, ETag = MD5", first)
	}
	// Sending a part again replaces it.
	second, err := p.PutPart(bg, g, strings.NewReader("second!"), 7)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := p.ListParts(bg, key, up)
	if err != nil || len(parts) != 1 || parts[0] != second {
		t.Errorf("ListParts = %+v, %v; want only %+v", parts, err, second)
	}
	if err := p.AbortMultipart(bg, key, up); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PutPart(bg, g, strings.NewReader("late"), 4); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("PutPart after abort = %v; want ErrNotFound", err)
	}
	wantNoObjects(t, p.Store, "")
}

// A part sent again after the server listed the parts (a slow retry that
// arrives late) makes CompleteMultipart fail rather than assemble bytes
// the caller did not list.
func TestLocalCompleteDetectsChangedPart(t *testing.T) {
	p, _ := newLocalPresigner(t)
	const key = "evidence/changed.mp4"
	up, err := p.StartMultipart(bg, key, "")
	if err != nil {
		t.Fatal(err)
	}
	file := genFile{seed: 60, sizes: []int64{blob.MinPartSize, 1000}}
	for n := 1; n <= 2; n++ {
		g := mustGrant(t, p, mustPresignPart(t, p, key, up, n).URL)
		if _, err := p.PutPart(bg, g, file.part(n), file.sizes[n-1]); err != nil {
			t.Fatal(err)
		}
	}
	listed, err := p.ListParts(bg, key, up)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGrant(t, p, mustPresignPart(t, p, key, up, 1).URL)
	if _, err := p.PutPart(bg, g, genFile{seed: 61, sizes: file.sizes}.part(1), blob.MinPartSize); err != nil {
		t.Fatal(err)
	}
	err = p.CompleteMultipart(bg, key, up, listed)
	if me := models.AsError(err); me == nil || me.Code != models.CodeValidation || !strings.Contains(me.Message, "list the parts") {
		t.Errorf("CompleteMultipart with a part changed since listing = %v; want CodeValidation telling to list again", err)
	}
	wantMissing(t, p.Store, key)
	relisted, err := p.ListParts(bg, key, up)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CompleteMultipart(bg, key, up, relisted); err != nil {
		t.Fatal(err)
	}
	wantNoObjects(t, p.Store, "uploads/")
}

func TestLocalAbortStale(t *testing.T) {
	p, clock := newLocalPresigner(t)
	old, err := p.StartMultipart(bg, "evidence/old.mp4", "")
	if err != nil {
		t.Fatal(err)
	}
	g := mustGrant(t, p, mustPresignPart(t, p, "evidence/old.mp4", old, 1).URL)
	if _, err := p.PutPart(bg, g, strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	fresh, err := p.StartMultipart(bg, "evidence/fresh.mp4", "")
	if err != nil {
		t.Fatal(err)
	}
	// Parts whose upload's info is gone (a crash while completing).
	if _, err := p.Store.Put(bg, "uploads/"+strings.Repeat("ab", 16)+"/00001", strings.NewReader("orphan"), 6, ""); err != nil {
		t.Fatal(err)
	}
	n, err := p.AbortStale(bg, clockStart.Add(time.Hour))
	if err != nil || n != 2 {
		t.Errorf("AbortStale = %d, %v; want 2 (the old upload and the orphaned parts)", n, err)
	}
	if _, err := p.ListParts(bg, "evidence/old.mp4", old); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("ListParts of the stale upload = %v; want ErrNotFound", err)
	}
	if _, err := p.ListParts(bg, "evidence/fresh.mp4", fresh); err != nil {
		t.Errorf("ListParts of the fresh upload = %v", err)
	}
	wantNoObjects(t, p.Store, "uploads/"+strings.Repeat("ab", 16))
	wantNoObjects(t, p.Store, "uploads/"+old)
}
