package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// outage wraps a real blob store and fails it on demand the way the
// stores report an outage (models.ErrUnavailable): down fails every call
// at once; readsLeft lets that many Gets through, then fails the next
// one after its first bytes, in the middle of a file.
type outage struct {
	models.BlobStore
	down      atomic.Bool
	readsLeft atomic.Int64
}

var errStoreDown = fmt.Errorf("test outage: %w", models.ErrUnavailable)

func (o *outage) Ping(ctx context.Context) error {
	if o.down.Load() {
		return errStoreDown
	}
	return o.BlobStore.Ping(ctx)
}

func (o *outage) Stat(ctx context.Context, key string) (models.BlobInfo, error) {
	if o.down.Load() {
		return models.BlobInfo{}, errStoreDown
	}
	return o.BlobStore.Stat(ctx, key)
}

func (o *outage) Get(ctx context.Context, key string) (io.ReadCloser, models.BlobInfo, error) {
	if o.down.Load() {
		return nil, models.BlobInfo{}, errStoreDown
	}
	rc, info, err := o.BlobStore.Get(ctx, key)
	if err != nil || o.readsLeft.Add(-1) >= 0 {
		return rc, info, err
	}
	return &brokenAfter{rc, 1000}, info, nil
}

// brokenAfter reads n bytes of a file, then fails as a dropped store
// connection does.
type brokenAfter struct {
	io.ReadCloser
	n int
}

func (b *brokenAfter) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errStoreDown
	}
	n, _ := b.ReadCloser.Read(p[:min(len(p), b.n)])
	b.n -= n
	if b.n <= 0 {
		return n, errStoreDown
	}
	return n, nil
}

// TestEvidencePackStoreOutage: with the blob store down, the pack is 503
// with Retry-After before any byte, and no export is audited; with the
// store failing in the middle of the pack, the download breaks and does
// not verify, and the failed export is audited.
func TestEvidencePackStoreOutage(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				newPackScene(t, e)
				o := &outage{BlobStore: e.svc.Blobs}
				e.svc.Blobs = o
				path := "/v1/items/" + e.fx.itemA.ID + "/evidence-pack"

				o.down.Store(true)
				r := e.do("supa", "GET", path, nil)
				wantProblem(t, r, 503, "unavailable")
				if r.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				if items, _ := e.auditList("action=export.evidence_pack"); len(items) != 0 {
					t.Errorf("a pack refused before its first byte was audited as exported: %v", items)
				}

				o.down.Store(false)
				o.readsLeft.Store(1)
				req, _ := http.NewRequest("GET", e.listen()+path, nil)
				req.Header.Set("Authorization", "Bearer "+e.tokens["supa"])
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || err == nil || errors.Is(err, context.Canceled) {
					t.Fatalf("status %d, read error %v: the download must break", res.StatusCode, err)
				}
				if _, err := pack.Verify(bytes.NewReader(body), int64(len(body)), packKeys(t, e)...); err == nil {
					t.Error("a broken download verified")
				}
				// The audit is written as the stream fails, after the client
				// saw it break: wait for it.
				var failed []map[string]any
				for deadline := time.Now().Add(10 * time.Second); len(failed) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					failed, _ = e.auditList("action=export.evidence_pack_failed")
				}
				if len(failed) != 1 {
					t.Fatalf("failed exports audited: %v", failed)
				}
				d := detail(failed[0])
				if d["error"] != "unavailable" || d["bytes_written"].(float64) <= 0 || d["evidence_digest"] == "" ||
					failed[0]["record_id"] != e.fx.itemA.ID {
					t.Errorf("failed export: %v", failed[0])
				}
			})
		}
	}
}
