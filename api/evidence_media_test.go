package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"io"
	"strconv"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestEvidenceHEICAndDisguisedReuse (issue 12), on both databases and
// both blob stores: real HEIC photos are verified with a thumbnail and
// hash; a fake HEIC is rejected media_unreadable; distinct photos of one
// site taken minutes apart are not near duplicates; a photo reused on
// another site as HEIC, or mirrored, cropped and greyed, is.
func TestEvidenceHEICAndDisguisedReuse(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				testEvidenceHEICAndDisguisedReuse(t, e)
			})
		}
	}
}

func testEvidenceHEICAndDisguisedReuse(t *testing.T, e *env) {
	site := evidenceSite(t, e, "insp1", 0)
	ids := map[string]string{}
	for _, name := range []string{"DSCN0010.jpg", "DSCN0012.jpg", "DSCN0021.jpg", "DSCN0025.jpg"} {
		rec := e.upload("insp1", site, readPhoto(t, name), "image/jpeg", nil)
		if rec["status"] != "verified" {
			t.Fatalf("%s: %v", name, rec)
		}
		if f, ok := flagsOf(rec)["near_duplicate_photo"]; ok {
			t.Errorf("%s is a different photo of the site, yet flagged: %v", name, f)
		}
		ids[name] = rec["id"].(string)
	}

	heic := e.upload("insp1", site, readPhoto(t, "IMG_5195.HEIC"), "image/heic", nil)
	m, _ := heic["media"].(map[string]any)
	if heic["status"] != "verified" || m["content_type"] != "image/heic" || m["width"] != 2566.0 || m["height"] != 3313.0 || m["has_thumbnail"] != true {
		t.Fatalf("a real iPhone HEIC: %v", heic)
	}
	th := e.do("supa", "GET", "/v1/evidence/"+heic["id"].(string)+"/thumbnail", nil)
	if th.Status != 200 {
		t.Fatalf("HEIC thumbnail: %d %s", th.Status, th.Body)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.Body)); err != nil || cfg.Width >= cfg.Height {
		t.Errorf("HEIC thumbnail must be an upright portrait JPEG: %+v %v", cfg, err)
	}

	fake := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), []byte("this is a text file, not a photo")...)
	rej := e.upload("insp1", site, fake, "image/heic", nil)
	if rej["status"] != "rejected" || rej["reject_code"] != string(models.CodeMediaUnreadable) {
		t.Errorf("a fake HEIC must be rejected media_unreadable: %v", rej)
	}

	// Reused on other sites, disguised.
	img, err := jpeg.Decode(bytes.NewReader(readPhoto(t, "DSCN0012.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	edited := imaging.Grayscale(imaging.Crop(imaging.FlipH(img), image.Rect(b.Dx()/20, 0, b.Dx(), b.Dy())))
	var disguised bytes.Buffer
	if err := jpeg.Encode(&disguised, edited, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		what, ct string
		data     []byte
		ref      string
	}{
		{"DSCN0010 converted to HEIC", "image/heic", readPhoto(t, "DSCN0010.heic"), ids["DSCN0010.jpg"]},
		{"DSCN0012 mirrored, cropped 5%, grey", "image/jpeg", disguised.Bytes(), ids["DSCN0012.jpg"]},
		{"DSCN0021 turned 90°", "image/jpeg", turned(t, readPhoto(t, "DSCN0021.jpg")), ids["DSCN0021.jpg"]},
	} {
		other := evidenceSite(t, e, "insp1", 0.01*float64(i+1))
		rec := e.upload("insp1", other, c.data, c.ct, nil)
		f, ok := flagsOf(rec)["near_duplicate_photo"]
		if rec["status"] != "verified" || !ok || f["ref"] != c.ref {
			t.Errorf("%s must be flagged near_duplicate_photo of %s: %v", c.what, c.ref, rec["flags"])
		}
	}
}

// declare declares a photo as the named inspector without sending it and
// returns its id.
func (e *env) declare(who string, task models.InspectionTask, data []byte, contentType string) string {
	e.t.Helper()
	sum := sha256.Sum256(data)
	id := uuid.NewString()
	body := map[string]any{"id": id, "task_id": task.ID, "kind": "photo", "sha256": hex.EncodeToString(sum[:]),
		"size": len(data), "content_type": contentType, "captured_at": e.now}
	e.must(201, who, "POST", "/v1/evidence", body)
	return id
}

func turned(t *testing.T, data []byte) []byte {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, imaging.Rotate90(img), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// busyAnalyzer answers as storage/media does when its decode budget stays
// full for longer than its admission wait.
type busyAnalyzer struct{ models.MediaAnalyzer }

func (busyAnalyzer) Analyze(io.Reader, int64) (models.MediaInfo, error) {
	return models.MediaInfo{}, &models.Error{Code: models.CodeUnavailable,
		Message: "the server is busy decoding other photos; try again shortly", RetryAfter: 5e9}
}

// TestEvidenceDecodeBusy: no room to decode is 503 with Retry-After and
// the evidence stays pending, to be completed later; never a rejection.
func TestEvidenceDecodeBusy(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			withBlobs(t, e, "local")
			real := e.svc.Media
			e.svc.Media = busyAnalyzer{real}
			task := evidenceSite(t, e, "insp1", 0)
			data := readPhoto(t, "DSCN0010.jpg")
			id := e.declare("insp1", task, data, "image/jpeg")
			e.putContent("insp1", id, data, 200)
			r := e.do("insp1", "POST", "/v1/evidence/"+id+"/complete", nil)
			if r.Status != 503 || r.code(t) != string(models.CodeUnavailable) {
				t.Fatalf("busy: %d %s", r.Status, r.Body)
			}
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
			if got := e.must(200, "insp1", "GET", "/v1/evidence/"+id, nil); got["status"] != "pending" {
				t.Errorf("after a busy refusal the evidence must stay pending: %v", got["status"])
			}
			e.svc.Media = real
			if got := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/complete", nil); got["status"] != "verified" {
				t.Errorf("completed later: %v", got)
			}
		})
	}
}
