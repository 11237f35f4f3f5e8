package api_test

import (
	"context"
	"slices"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestPHashBackfill: photos verified before the near-duplicate index
// existed (their evidence_phashes rows removed here, as they never had
// any) are put back in it from their stored bytes, with the hashes an
// upload gets; a second run finds nothing to do; a copy uploaded later
// is caught against a backfilled photo; a photo whose bytes are gone is
// reported and skipped.
func TestPHashBackfill(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			ctx := context.Background()
			site := evidenceSite(t, e, "insp1", 0)
			var ids []string
			for _, name := range []string{"DSCN0010.jpg", "DSCN0012.jpg", "IMG_5195.HEIC"} {
				ct := "image/jpeg"
				if name == "IMG_5195.HEIC" {
					ct = "image/heic"
				}
				rec := e.upload("insp1", site, readPhoto(t, name), ct, nil)
				if rec["status"] != "verified" {
					t.Fatalf("%s: %v", name, rec)
				}
				ids = append(ids, rec["id"].(string))
			}
			rows := func() []evidence.EvidencePHash {
				var out []evidence.EvidencePHash
				err := e.svc.Store.Tx(ctx, func(tx models.Tx) error {
					return tx.List(&out, models.Query{OrderBy: "evidence_id, part"})
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			before := rows()
			if len(before) < 3 {
				t.Fatalf("%d index rows after three uploads", len(before))
			}
			// As before migration 00009: the first two are not indexed, and
			// the third's bytes are gone too.
			err := e.svc.Store.Tx(ctx, func(tx models.Tx) error {
				_, err := tx.Delete(&evidence.EvidencePHash{}, []models.Cond{{Column: "evidence_id", Op: models.OpIn, Value: ids}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var gone models.Evidence
			if err := e.svc.Store.Tx(ctx, func(tx models.Tx) error { return tx.Get(&gone, ids[2]) }); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.Blobs.Delete(ctx, gone.ObjectKey); err != nil {
				t.Fatal(err)
			}
			var skipped []string
			skip := func(id string, err error) { skipped = append(skipped, id) }
			n, err := evidence.New(e.svc).BackfillPHashes(ctx, skip)
			if err != nil || n != 2 || !slices.Equal(skipped, ids[2:]) {
				t.Fatalf("backfill: %d indexed, skipped %v, %v; want 2 indexed, %s skipped", n, skipped, err, ids[2])
			}
			var want []evidence.EvidencePHash
			for _, r := range before {
				if r.EvidenceID != ids[2] {
					want = append(want, r)
				}
			}
			if got := rows(); !slices.Equal(got, want) {
				t.Errorf("backfilled rows differ from an upload's:\n got %v\nwant %v", got, want)
			}
			skipped = nil
			if n, err := evidence.New(e.svc).BackfillPHashes(ctx, skip); err != nil || n != 0 || !slices.Equal(skipped, ids[2:]) {
				t.Errorf("a second run: %d indexed, skipped %v, %v", n, skipped, err)
			}
			// A copy, turned, on another site: caught against the backfilled photo.
			rec := e.upload("insp1", evidenceSite(t, e, "insp1", 0.02), turned(t, readPhoto(t, "DSCN0012.jpg")), "image/jpeg", nil)
			if f, ok := flagsOf(rec)["near_duplicate_photo"]; !ok || f["ref"] != ids[1] {
				t.Errorf("a copy of a backfilled photo: %v", rec["flags"])
			}
		})
	}
}
