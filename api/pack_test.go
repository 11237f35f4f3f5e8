package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/fieldwork"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// packScene is county A's item with field work behind it: a task at the
// shared photos' site, four real photos with device fixes, a verification
// naming three of them, an answer and a note, and two decisions: one made
// before the fourth photo arrived, one on everything.
type packScene struct {
	task      models.InspectionTask
	originals map[string][]byte // evidence id → bytes
	decisions []models.Decision
}

func newPackScene(t *testing.T, e *env) packScene {
	t.Helper()
	ctx := context.Background()
	sc := packScene{task: evidenceSite(t, e, "insp1", 0), originals: map[string][]byte{}}
	var ids []string
	upload := func(name string, lat, lng float64) {
		data := readPhoto(t, name)
		rec := e.upload("insp1", sc.task, data, "image/jpeg", map[string]any{"lat": lat, "lng": lng, "accuracy_m": 8, "mocked": false})
		if rec["status"] != "verified" {
			t.Fatalf("%s: %v", name, rec)
		}
		id := rec["id"].(string)
		sc.originals[id] = data
		ids = append(ids, id)
	}
	upload("DSCN0010.jpg", 43.46745, 11.88513)
	upload("DSCN0012.jpg", 43.4679, 11.8870) // about 150 m from its EXIF position
	upload("DSCN0021.jpg", 43.46708, 11.88454)
	client := uuid.NewString()
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": client, "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": fieldwork.MutVerificationRecord, "args": map[string]any{"id": uuid.NewString(), "task_id": sc.task.ID, "conclusion": "rectified",
			"notes": "排口已封堵", "location": map[string]any{"lat": 43.46722, "lng": 11.88495, "accuracy_m": 5, "mocked": false},
			"recorded_at": e.now, "evidence_ids": ids}},
		{"id": 2, "name": fieldwork.MutChecklistAnswer, "args": map[string]any{"id": uuid.NewString(), "task_id": sc.task.ID, "question_id": "q1", "value": true}},
		{"id": 3, "name": fieldwork.MutNoteAdd, "args": map[string]any{"id": uuid.NewString(), "task_id": sc.task.ID, "text": "下游有新建截污管"}},
	}})
	for _, r := range res["results"].([]any) {
		if r.(map[string]any)["status"] != "applied" {
			t.Fatalf("push: %v", res)
		}
	}
	decide := func(kind string, at time.Time) {
		es, _, err := acceptance.New(e.svc).EvidenceOf(ctx, system, e.fx.itemA.ID)
		if err != nil {
			t.Fatal(err)
		}
		digest, _ := es.Digest()
		d := models.Decision{ID: uuid.NewString(), ItemID: e.fx.itemA.ID, UnitPath: e.fx.itemA.UnitPath, Kind: kind, FromStatus: models.ItemPendingAcceptance,
			ToStatus: models.ItemRejected, DeciderID: e.fx.users["supa"].ID, Comment: "意见 " + kind, Reasons: models.StringList{}, FlagAcks: models.FlagAcks{},
			EvidenceDigest: digest, Version: 1, CreatedAt: at, UpdatedAt: at}
		if err := e.svc.Store.Tx(ctx, func(tx models.Tx) error { return tx.Create(&d) }); err != nil {
			t.Fatal(err)
		}
		sc.decisions = append(sc.decisions, d)
	}
	decide(models.DecisionReject, e.now.Add(time.Minute))
	upload("DSCN0025.jpg", 43.46837, 11.88164) // outside the geofence
	decide(models.DecisionReject, e.now.Add(2*time.Minute))
	return sc
}

// packKeys fetches the server's public pack keys, the current one first.
func packKeys(t *testing.T, e *env) []ed25519.PublicKey {
	t.Helper()
	var out []ed25519.PublicKey
	for i, k := range e.must(200, "", "GET", "/v1/evidence-pack/keys", nil)["keys"].([]any) {
		m := k.(map[string]any)
		key, err := pack.ParsePublicKey(m["public_key"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if m["key_id"] != pack.KeyID(key) || m["current"] != (i == 0) {
			t.Errorf("key %d: %v", i, m)
		}
		out = append(out, key)
	}
	if len(out) != 2 {
		t.Fatalf("want the current and the previous key, got %d", len(out))
	}
	return out
}

func TestEvidencePackExport(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				testEvidencePackExport(t, e)
			})
		}
	}
}

func testEvidencePackExport(t *testing.T, e *env) {
	sc := newPackScene(t, e)
	path := "/v1/items/" + e.fx.itemA.ID + "/evidence-pack"
	r := e.do("supa", "GET", path, nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/zip" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="evidence-pack-A-1.zip"` {
		t.Fatalf("export: %d %v %.300s", r.Status, r.Header, r.Body)
	}
	keys := packKeys(t, e)
	rep, err := pack.Verify(bytes.NewReader(r.Body), int64(len(r.Body)), keys[0])
	if err != nil {
		t.Fatalf("the exported pack does not verify: %v", err)
	}
	if rep.ItemCode != "A-1" || len(rep.Decisions) != 2 || rep.Decisions[0].OnThisEvidence || !rep.Decisions[1].OnThisEvidence {
		t.Errorf("report: %+v", rep)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	thumbs := 0
	for _, f := range zr.File {
		thumbs += map[bool]int{true: 1}[strings.HasPrefix(f.Name, "thumbs/")]
	}
	for id, want := range sc.originals {
		rc, err := zr.Open("photos/" + id + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		if !bytes.Equal(got, want) {
			t.Errorf("photo %s differs from the upload", id)
		}
	}
	if thumbs != 4 {
		t.Errorf("%d thumbnails, want 4", thumbs)
	}
	// Only the previous key: the signature is refused.
	if _, err := pack.Verify(bytes.NewReader(r.Body), int64(len(r.Body)), keys[1]); !errors.Is(err, pack.ErrNotVerified) {
		t.Errorf("verified with the previous key: %v", err)
	}
	// The unit lead and an admin export it too; county B's supervisor
	// does not see it, an inspector may not export.
	for _, who := range []string{"leada", "admin"} {
		if r := e.do(who, "GET", path, nil); r.Status != 200 {
			t.Errorf("%s: %d", who, r.Status)
		}
	}
	wantProblem(t, e.do("supb", "GET", path, nil), 404, "not_found")
	wantProblem(t, e.do("insp1", "GET", path, nil), 403, "forbidden")
	wantProblem(t, e.do("", "GET", path, nil), 401, "unauthenticated")
	wantProblem(t, e.do("supa", "GET", "/v1/items/not-a-uuid/evidence-pack", nil), 400, "invalid_id")
	wantProblem(t, e.do("supa", "GET", "/v1/items/"+uuid.NewString()+"/evidence-pack", nil), 404, "not_found")
}

// TestEvidencePackAbortsMidStream: an original that no longer hashes to
// its record is found only while the pack is streamed; the server then
// drops the connection, and what the client got does not verify.
func TestEvidencePackAbortsMidStream(t *testing.T) {
	for _, store := range blobStores {
		t.Run(store, func(t *testing.T) {
			e := newEnv(t, storagetest.Dialects[0])
			withBlobs(t, e, store)
			sc := newPackScene(t, e)
			var last string
			for id := range sc.originals {
				last = max(last, id)
			}
			other := readPhoto(t, "Canon_40D.jpg")
			if _, err := e.svc.Blobs.Put(context.Background(), "evidence/"+last, bytes.NewReader(other), int64(len(other)), "image/jpeg"); err != nil {
				t.Fatal(err)
			}
			base := e.listen()
			req, _ := http.NewRequest("GET", base+"/v1/items/"+e.fx.itemA.ID+"/evidence-pack", nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens["supa"])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if res.StatusCode != 200 || err == nil {
				t.Fatalf("status %d, read error %v: the download must break", res.StatusCode, err)
			}
			if _, err := pack.Verify(bytes.NewReader(body), int64(len(body)), packKeys(t, e)...); err == nil {
				t.Error("a broken download verified")
			}
		})
	}
}
