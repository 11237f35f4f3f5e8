package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestAbandonedUploadsJanitor: bytes of an upload that never completed are
// removed after the configured time; the record stays pending.
func TestAbandonedUploadsJanitor(t *testing.T) {
	for _, store := range blobStores {
		t.Run(store, func(t *testing.T) {
			e := newEnv(t, storagetest.Dialects[0])
			withBlobs(t, e, store)
			ctx := context.Background()
			task := evidenceSite(t, e, "insp1", 0)
			photo := readPhoto(t, "DSCN0012.jpg")
			d := declaration(e, task.ID, photo)
			e.must(201, "insp1", "POST", "/v1/evidence", d)
			e.putContent("insp1", d["id"].(string), photo, 200)
			key := "evidence/" + d["id"].(string)
			if n, err := evidence.New(e.svc).CleanAbandonedUploads(ctx, e.now.Add(-time72h)); err != nil || n != 0 {
				t.Fatalf("a fresh upload was cleaned: %d %v", n, err)
			}
			// Stored bytes carry the real clock's time, not the test's:
			// move past both.
			e.now = time.Now().UTC().AddDate(0, 0, 4)
			e.tokens["insp1"] = e.login("insp1", "password-insp1", uuid.NewString())["access_token"].(string)
			n, err := evidence.New(e.svc).CleanAbandonedUploads(ctx, e.now.Add(-time72h))
			if err != nil || n != 1 {
				t.Fatalf("janitor: %d %v", n, err)
			}
			if _, err := e.svc.Blobs.Stat(ctx, key); !models.IsNotFound(err) {
				t.Fatalf("abandoned bytes are still there: %v", err)
			}
			rec := e.must(200, "insp1", "GET", "/v1/evidence/"+d["id"].(string), nil)
			if rec["status"] != "pending" {
				t.Fatalf("record after cleaning: %v", rec["status"])
			}
			// The device can still send the file and complete.
			e.putContent("insp1", d["id"].(string), photo, 200)
			if rec := e.must(200, "insp1", "POST", "/v1/evidence/"+d["id"].(string)+"/complete", nil); rec["status"] != "verified" {
				t.Fatalf("re-upload after cleaning: %v", rec["status"])
			}
		})
	}
}

const time72h = 72 * time.Hour
