package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/jpeg"
	pngenc "image/png"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/media"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

const photos = "../testdata/photos/"

func readPhoto(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(photos + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blobStores are the stores the evidence tests run on. The longest suites
// run each database and store pair as a parallel subtest: each pair has a
// database, bucket and directory of its own.
var blobStores = []string{"local", "minio"}

// withBlobs gives the env's service a blob store and the media analyzer.
func withBlobs(t *testing.T, e *env, kind string) {
	t.Helper()
	switch kind {
	case "local":
		s, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		e.svc.Blobs = s
	case "minio":
		m := testenv.MinIO(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := blob.NewMinIO(ctx, blob.S3Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
			Bucket: "fieldsync-api-" + uuid.NewString()[:8]})
		testenv.Require(t, "MinIO", err)
		e.svc.Blobs = s
	}
	a := media.New()
	e.svc.Media, e.svc.Renderer = a, a
}

// evidenceSite adds a site with a 100 m geofence around the shared test
// photos' walk, and a task there for the inspector.
func evidenceSite(t *testing.T, e *env, who string, lngShift float64) models.InspectionTask {
	t.Helper()
	ctx := context.Background()
	st := must(items.New(e.svc).CreateSite(ctx, system, items.SiteInput{UnitID: &e.fx.countyA.ID, Name: ptr("测试排口"), Kind: ptr("sewage_outfall"),
		Lat: ptr(43.4672), Lng: ptr(11.8849 + lngShift), RadiusM: ptr(100.0)}))
	task := must(items.New(e.svc).CreateTask(ctx, system, items.TaskInput{ItemID: &e.fx.itemA.ID, SiteID: &st.ID, Kind: ptr(models.TaskProgressCheck),
		TemplateID: &e.fx.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)), AssigneeID: ptr(e.fx.users[who].ID)}))
	return task
}

// upload declares, sends and completes one file as the named inspector and
// returns the completed record as JSON.
func (e *env) upload(who string, task models.InspectionTask, data []byte, contentType string, loc map[string]any) map[string]any {
	e.t.Helper()
	sum := sha256.Sum256(data)
	id := uuid.NewString()
	body := map[string]any{"id": id, "task_id": task.ID, "kind": "photo", "sha256": hex.EncodeToString(sum[:]), "size": len(data),
		"content_type": contentType, "captured_at": e.now, "location": loc}
	created := e.must(201, who, "POST", "/v1/evidence", body)
	up := created["upload"].(map[string]any)
	if up["url"] != "/v1/evidence/"+id+"/content" {
		e.t.Fatalf("upload target %v", up)
	}
	e.putContent(who, id, data, 200)
	return e.must(200, who, "POST", "/v1/evidence/"+id+"/complete", nil)
}

// putContent streams bytes to the upload endpoint over a real connection
// (the server streams upload bodies, which Fiber's in-memory app.Test
// does not model).
func (e *env) putContent(who, id string, data []byte, want int) response {
	e.t.Helper()
	if e.base == "" {
		e.base = e.listen()
	}
	req, _ := http.NewRequest("PUT", e.base+"/v1/evidence/"+id+"/content", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if err := contracttest.ValidateResponse("PUT", "/v1/evidence/"+id+"/content", res.StatusCode, res.Header, b); err != nil {
		e.t.Errorf("PUT content does not match openapi.yaml: %v", err)
	}
	if res.StatusCode != want {
		e.t.Fatalf("PUT content: %d, want %d: %s", res.StatusCode, want, b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// wantFlags checks that rec carries exactly the flags named, no more and
// no fewer.
func wantFlags(t *testing.T, what string, rec map[string]any, codes ...string) {
	t.Helper()
	var got []string
	for code := range flagsOf(rec) {
		got = append(got, code)
	}
	slices.Sort(got)
	slices.Sort(codes)
	if !slices.Equal(got, codes) {
		t.Errorf("%s: flags %v, want exactly %v: %v", what, got, codes, rec["flags"])
	}
}

func flagsOf(rec map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, f := range rec["flags"].([]any) {
		m := f.(map[string]any)
		out[m["code"].(string)] = m
	}
	return out
}

// TestEvidencePipeline uploads the shared real photos through the API on
// both databases and both blob stores.
func TestEvidencePipeline(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				testEvidencePipeline(t, e)
			})
		}
	}
}

func testEvidencePipeline(t *testing.T, e *env) {
	task := evidenceSite(t, e, "insp1", 0)
	exif := map[string][2]float64{
		"DSCN0010.jpg": {43.4674483, 11.8851267}, "DSCN0012.jpg": {43.4671567, 11.8853950},
		"DSCN0021.jpg": {43.4670817, 11.8845383}, "DSCN0025.jpg": {43.4683650, 11.8816350},
	}
	for name, pos := range exif {
		rec := e.upload("insp1", task, readPhoto(t, name), "image/jpeg", map[string]any{"lat": pos[0], "lng": pos[1], "accuracy_m": 5, "mocked": false})
		if rec["status"] != "verified" {
			t.Fatalf("%s: %v", name, rec)
		}
		m := rec["media"].(map[string]any)
		if math.Abs(m["lat"].(float64)-pos[0]) > 1e-6 || math.Abs(m["lng"].(float64)-pos[1]) > 1e-6 || m["model"] != "COOLPIX P6000" {
			t.Errorf("%s: EXIF read as %v", name, m)
		}
		flags := flagsOf(rec)
		out, flagged := flags["outside_geofence"]
		if name == "DSCN0025.jpg" {
			if !flagged || math.Abs(out["value"].(float64)-294) > 5 {
				t.Errorf("DSCN0025 must be flagged at about 294 m: %v", rec["flags"])
			}
		} else if flagged {
			t.Errorf("%s lies inside the geofence but was flagged: %v", name, out)
		}
		// The photos were taken in 2008, long before this task existed,
		// and the device says now: the times give three flags.
		want := []string{"before_assignment", "outside_task_window", "clock_skew"}
		if name == "DSCN0025.jpg" {
			want = append(want, "outside_geofence")
		}
		wantFlags(t, name, rec, want...)
		if skew := flags["clock_skew"]; skew != nil && skew["value"].(float64) < 18*365*24*3600 {
			t.Errorf("%s: clock skew %v s, want the 18 years between EXIF and device time", name, skew["value"])
		}
	}
	// The same photo for another task at another site: an exact duplicate;
	// a re-encoded copy: a near duplicate.
	other := evidenceSite(t, e, "insp1", 0.01)
	orig := readPhoto(t, "DSCN0010.jpg")
	dup := e.upload("insp1", other, orig, "image/jpeg", map[string]any{"lat": 43.4674, "lng": 11.895, "accuracy_m": 5, "mocked": false})
	if f, ok := flagsOf(dup)["duplicate_photo"]; !ok || f["ref"] == "" {
		t.Errorf("a reused photo must be flagged duplicate_photo: %v", dup["flags"])
	}
	wantFlags(t, "the reused photo", dup, "duplicate_photo", "outside_geofence", "exif_gps_mismatch", "before_assignment", "outside_task_window", "clock_skew")
	img, err := jpeg.Decode(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	var re bytes.Buffer
	jpeg.Encode(&re, img, &jpeg.Options{Quality: 55})
	third := evidenceSite(t, e, "insp1", 0.02)
	near := e.upload("insp1", third, re.Bytes(), "image/jpeg", map[string]any{"lat": 43.4674, "lng": 11.905, "accuracy_m": 5, "mocked": true})
	flags := flagsOf(near)
	if f, ok := flags["near_duplicate_photo"]; !ok || f["ref"] == "" {
		t.Errorf("a re-encoded copy must be flagged near_duplicate_photo: %v", near["flags"])
	}
	if _, ok := flags["mocked_location"]; !ok {
		t.Errorf("a mocked fix must be flagged: %v", near["flags"])
	}
	if _, ok := flags["no_exif_gps"]; !ok {
		t.Errorf("a re-encoded copy lost its EXIF: no_exif_gps expected: %v", near["flags"])
	}
	// Without EXIF the device's time and fix count: inside the window and
	// the site, so no time or place flags.
	wantFlags(t, "the re-encoded copy", near, "near_duplicate_photo", "mocked_location", "no_exif_gps")
	// A far-off device fix is flagged however poor the device says its
	// accuracy is; the same photo twice in one task is a duplicate too.
	far := e.upload("insp1", task, readPhoto(t, "DSCN0012.jpg"), "image/jpeg", map[string]any{"lat": 43.57, "lng": 11.8854, "accuracy_m": 1e7, "mocked": false})
	if f, ok := flagsOf(far)["exif_gps_mismatch"]; !ok || f["value"].(float64) < 10000 {
		t.Errorf("an 11 km mismatch must be flagged whatever the claimed accuracy: %v", far["flags"])
	}
	if _, ok := flagsOf(far)["duplicate_photo"]; !ok {
		t.Errorf("the same photo twice in one task must be flagged: %v", far["flags"])
	}
	wantFlags(t, "the far-off fix", far, "exif_gps_mismatch", "duplicate_photo", "before_assignment", "outside_task_window", "clock_skew")
	// Orientation: thumbnails come out upright.
	for name, landscape := range map[string]bool{"orientation_landscape_6.jpg": true, "orientation_portrait_8.jpg": false} {
		rec := e.upload("insp1", task, readPhoto(t, name), "image/jpeg", nil)
		id := rec["id"].(string)
		r := e.do("insp1", "GET", "/v1/evidence/"+id+"/thumbnail", nil)
		thumb := r.Body
		if r.Status == 302 {
			thumb = fetch(t, r.Header.Get("Location"))
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(thumb))
		if err != nil {
			t.Fatalf("%s thumbnail: %v (%d)", name, err, r.Status)
		}
		if (cfg.Width > cfg.Height) != landscape {
			t.Errorf("%s: thumbnail %dx%d is not upright", name, cfg.Width, cfg.Height)
		}
	}
	// Another inspector can neither read nor upload to it.
	id := dup["id"].(string)
	e.must(404, "insp2", "GET", "/v1/evidence/"+id, nil)
	e.putContent("insp2", id, orig, 404)
	// The supervisor of the county reads it with its flags; of another, not.
	e.must(200, "supa", "GET", "/v1/evidence/"+id, nil)
	e.must(404, "supb", "GET", "/v1/evidence/"+id, nil)
	list := e.must(200, "supa", "GET", "/v1/evidence?task_id="+other.ID, nil)
	if len(list["items"].([]any)) != 1 {
		t.Errorf("evidence of a task: %v", list)
	}
	// The original comes back byte for byte.
	r := e.do("insp1", "GET", "/v1/evidence/"+id+"/content", nil)
	got := r.Body
	if r.Status == 302 {
		got = fetch(t, r.Header.Get("Location"))
	}
	if !bytes.Equal(got, orig) {
		t.Errorf("content differs from the upload (%d bytes, status %d)", len(got), r.Status)
	}
}

// fetch downloads a presigned URL.
func fetch(t *testing.T, url string) []byte {
	t.Helper()
	res, err := httpGet(url)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func httpGet(url string) ([]byte, error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return io.ReadAll(res.Body)
}

// TestEvidenceBadInput: each bad upload gets its code and leaves no
// object behind that should not be there.
func TestEvidenceBadInput(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				testEvidenceBadInput(t, e)
			})
		}
	}
}

func testEvidenceBadInput(t *testing.T, e *env) {
	ctx := context.Background()
	task := evidenceSite(t, e, "insp1", 0)
	photo := readPhoto(t, "DSCN0012.jpg")
	declare := func(data []byte, size int, contentType string) string {
		sum := sha256.Sum256(data)
		id := uuid.NewString()
		e.must(201, "insp1", "POST", "/v1/evidence", map[string]any{"id": id, "task_id": task.ID, "kind": "photo",
			"sha256": hex.EncodeToString(sum[:]), "size": size, "content_type": contentType, "captured_at": e.now})
		return id
	}
	gone := func(id string) {
		t.Helper()
		if _, err := e.svc.Blobs.Stat(ctx, "evidence/"+id); !models.IsNotFound(err) {
			t.Errorf("evidence %s left an object behind: %v", id, err)
		}
	}
	// Declared SHA-256 of other bytes.
	id := declare(bytes.Repeat([]byte{1}, len(photo)), len(photo), "image/jpeg")
	wantProblem(t, e.putContent("insp1", id, photo, 400), 400, "sha256_mismatch")
	gone(id)
	wantProblem(t, e.do("insp1", "POST", "/v1/evidence/"+id+"/complete", nil), 409, "content_missing")
	// More bytes than declared.
	id = declare(photo, len(photo)-10, "image/jpeg")
	wantProblem(t, e.putContent("insp1", id, photo, 400), 400, "size_mismatch")
	gone(id)
	// A PNG declared as JPEG, a text file named .jpg, a decompression bomb,
	// a corrupted JPEG: rejected with the reason, bytes deleted.
	var png bytes.Buffer
	img, _ := jpeg.Decode(bytes.NewReader(photo))
	pngEncode(&png, img)
	bomb := pngHeader(60000, 60000)
	for name, c := range map[string]struct {
		data []byte
		ct   string
		code string
	}{
		"png as jpeg": {png.Bytes(), "image/jpeg", "content_type_mismatch"},
		"text as jpg": {[]byte("this is not a photo, just text pretending\n"), "image/jpeg", "media_unsupported_type"},
		"bomb":        {bomb, "image/png", "media_too_large"},
	} {
		rec := e.upload("insp1", task, c.data, c.ct, nil)
		if rec["status"] != "rejected" || rec["reject_code"] != c.code {
			t.Errorf("%s: status %v code %v, want rejected %s", name, rec["status"], rec["reject_code"], c.code)
		}
		gone(rec["id"].(string))
		// A replayed completion answers the same record.
		again := e.must(200, "insp1", "POST", "/v1/evidence/"+rec["id"].(string)+"/complete", nil)
		if again["version"] != rec["version"] || again["status"] != rec["status"] {
			t.Errorf("%s: replayed completion changed the record: %v", name, again)
		}
	}
	for _, name := range []string{"corrupted.jpg", "invalid_image00971.jpg", "invalid_image01088.jpg"} {
		rec := e.upload("insp1", task, readPhoto(t, name), "image/jpeg", nil)
		switch rec["status"] {
		case "verified":
		case "rejected":
			if rec["reject_code"] == "" {
				t.Errorf("%s rejected without a reason", name)
			}
		default:
			t.Errorf("%s ended %v", name, rec["status"])
		}
		t.Logf("%s: %s %v %v", name, rec["status"], rec["reject_code"], rec["reject_reason"])
	}
	// Declarations that are refused outright.
	sum := sha256.Sum256(photo)
	good := map[string]any{"id": uuid.NewString(), "task_id": task.ID, "kind": "photo", "sha256": hex.EncodeToString(sum[:]),
		"size": len(photo), "content_type": "image/jpeg", "captured_at": e.now}
	bad := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	for name, c := range map[string]struct {
		who    string
		body   map[string]any
		status int
		code   string
	}{
		"short sha":              {"insp1", bad("sha256", "abc"), 400, "validation_failed"},
		"zero size":              {"insp1", bad("size", 0), 400, "validation_failed"},
		"huge size":              {"insp1", bad("size", int64(1)<<40), 413, "evidence_too_large"},
		"photo too big to check": {"insp1", bad("size", 65<<20), 413, "evidence_too_large"},
		"gif":                    {"insp1", bad("content_type", "image/gif"), 400, "invalid_enum"},
		"other's task":           {"insp2", good, 404, "not_found"},
		"supervisor":             {"supa", good, 403, "forbidden"},
		"bad lat":                {"insp1", bad("location", map[string]any{"lat": 123, "lng": 1, "accuracy_m": 1, "mocked": false}), 400, "lat_out_of_range"},
		"no capture time":        {"insp1", bad("captured_at", nil), 400, "required"},
	} {
		r := e.do(c.who, "POST", "/v1/evidence", c.body)
		if r.Status != c.status || r.code(t) != c.code {
			t.Errorf("%s: %d %s, want %d %s", name, r.Status, r.code(t), c.status, c.code)
		}
	}
	// Declaring the same id again with other content is a conflict.
	e.must(201, "insp1", "POST", "/v1/evidence", good)
	e.must(201, "insp1", "POST", "/v1/evidence", good)
	wantProblem(t, e.do("insp1", "POST", "/v1/evidence", bad("size", len(photo)+1)), 409, "evidence_mismatch")
}

func pngEncode(w io.Writer, img image.Image) {
	if err := pngenc.Encode(w, img); err != nil {
		panic(err)
	}
}

// pngHeader is a PNG signature and IHDR claiming w×h pixels, and nothing
// else: a decompression bomb's header.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{0, 0, 0, 0, 0, 0, 0, 0, 8, 6, 0, 0, 0}
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	b.Write(bytes.Repeat([]byte{0}, 64))
	return b.Bytes()
}
