package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// envPackMB sets the size of the pack TestEvidencePackMemory streams, in
// MiB (default 256); 1024 measures a 1 GB pack by hand.
const envPackMB = "FIELDSYNC_TEST_PACK_MB"

// TestEvidencePackMemory exports a pack of 256 MiB of documents over a
// real connection and measures the server's heap growth while it streams:
// no file may be held in memory. It also compares the export's throughput
// with reading the same objects straight from the store.
func TestEvidencePackMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB per store")
	}
	mb := 256
	if v := os.Getenv(envPackMB); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of MiB", envPackMB, v)
		}
		mb = n
	}
	for _, store := range blobStores {
		t.Run(store, func(t *testing.T) { testPackMemory(t, store, int64(mb)<<20) })
	}
}

func testPackMemory(t *testing.T, store string, total int64) {
	const docMax = 128 << 20
	e := newEnv(t, storagetest.Dialects[0])
	withBlobs(t, e, store)
	e.svc.Evidence.MaxSize = docMax
	task := evidenceSite(t, e, "insp1", 0)
	base := e.listen()
	var keys []string
	for i := 0; total > 0; i++ {
		size := min(total, docMax)
		keys = append(keys, uploadGeneratedPDF(t, e, base, task, i, size))
		total -= size
	}

	out, err := os.CreateTemp(t.TempDir(), "pack-*.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var n int64
	start := time.Now()
	growth, baseline := heapGrowth(func() {
		req, _ := http.NewRequest("GET", base+"/v1/items/"+e.fx.itemA.ID+"/evidence-pack", nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["supa"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 || res.ContentLength != -1 {
			t.Fatalf("export: status %d, length %d; want 200, streamed", res.StatusCode, res.ContentLength)
		}
		if n, err = io.Copy(out, res.Body); err != nil {
			t.Fatal(err)
		}
	})
	export := time.Since(start)

	start = time.Now()
	var direct int64
	for _, key := range keys {
		rc, _, err := e.svc.Blobs.Get(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		k, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		direct += k
	}
	read := time.Since(start)
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	t.Logf("%s: a %.0f MiB pack through the API: heap in use grew by %.1f MiB at most (baseline %.1f MiB); export %.1f s (%.0f MiB/s), "+
		"reading the %.0f MiB straight from the store %.1f s (%.0f MiB/s)", store, mib(n), mib(growth), mib(baseline),
		export.Seconds(), mib(n)/export.Seconds(), mib(direct), read.Seconds(), mib(direct)/read.Seconds())
	if growth > 48<<20 {
		t.Errorf("heap grew by %.0f MiB while streaming the pack; no file may be held in memory", mib(growth))
	}
	// The documents and report.html: documents have no thumbnails.
	rep, err := pack.Verify(out, n, packKeys(t, e)[0])
	if err != nil || rep.Files != len(keys)+1 {
		t.Fatalf("the streamed pack: %v, %d files", err, rep.Files)
	}
}

// uploadGeneratedPDF streams a generated PDF of size bytes through the API
// as evidence of the task and returns its object key.
func uploadGeneratedPDF(t *testing.T, e *env, base string, task models.InspectionTask, i int, size int64) string {
	t.Helper()
	head := fmt.Sprintf("%%PDF-1.4\n%%%d\n", i)
	file := func() io.Reader { return io.MultiReader(strings.NewReader(head), &pattern{n: size - int64(len(head))}) }
	h := sha256.New()
	io.Copy(h, file())
	id := uuid.NewString()
	e.must(201, "insp1", "POST", "/v1/evidence", map[string]any{"id": id, "task_id": task.ID, "kind": "document",
		"sha256": hex.EncodeToString(h.Sum(nil)), "size": size, "content_type": "application/pdf"})
	req, _ := http.NewRequest("PUT", base+"/v1/evidence/"+id+"/content", file())
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+e.tokens["insp1"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	if rec := e.must(200, "insp1", "POST", "/v1/evidence/"+id+"/complete", nil); rec["status"] != models.EvidenceVerified {
		t.Fatalf("document %d: %v", i, rec)
	}
	return "evidence/" + id
}
