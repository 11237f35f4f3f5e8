package sync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// BenchmarkPull times a delta pull that carries 45 new records (30 notes
// and 15 verifications, about what a device of fieldsim's sustained load
// receives a cycle), read by a second device of the inspector who wrote
// them, from the cursor before them: the change rows, the records and
// their JSON, with no compression (the API's).
func BenchmarkPull(b *testing.B) {
	for _, dialect := range storagetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			e := newEnv(b, dialect)
			_, _, cur := e.pullAll(e.insp[0], nil)
			var muts []fsync.Mutation
			for i := range 45 {
				id := int64(i + 1)
				if i%3 == 2 {
					muts = append(muts, mut(id, "verification.record", map[string]any{"id": uuid.NewString(), "task_id": e.tasks[0].ID, "conclusion": "rectified",
						"notes": "现场复核", "location": map[string]any{"lat": 43.4672, "lng": 11.8849, "accuracy_m": 5, "mocked": false},
						"recorded_at": "2026-11-28T09:00:00Z", "evidence_ids": []string{}}))
				} else {
					muts = append(muts, mut(id, "note.add", map[string]any{"id": uuid.NewString(), "task_id": e.tasks[i%2].ID, "text": fmt.Sprintf("现场记录 %d", i)}))
				}
			}
			for _, r := range e.push(e.insp[0], muts...).Results {
				if r.Status != fsync.StatusApplied {
					b.Fatalf("mutation %d: %s %s", r.ID, r.Code, r.Message)
				}
			}
			ctx, device := context.Background(), uuid.NewString()
			for b.Loop() {
				res, err := e.eng.Pull(ctx, e.insp[0], fsync.PullRequest{ClientID: device, Cursor: &cur, SchemaVersion: fsync.SchemaVersion})
				if err != nil || res.HasMore || len(res.Changes["notes"].Upserts) != 30 || len(res.Changes["verifications"].Upserts) != 15 {
					b.Fatalf("pull: %v, more %v, %d entities", err, res.HasMore, len(res.Changes))
				}
			}
		})
	}
}
