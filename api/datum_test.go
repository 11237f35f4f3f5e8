package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// Beijing, as eviltransform's published test vector gives it in WGS-84
// and in GCJ-02 (see models/datum_test.go).
const (
	bjWGSLat, bjWGSLng = 39.911954, 116.377817
	bjGCJLat, bjGCJLng = 39.91334545536069, 116.38404722455657
)

// gpsJPEG is a small JPEG whose EXIF carries a GPS position (WGS-84, as
// cameras and phones write it).
// Without gps, it has no EXIF at all. lat and lng also vary the pixels,
// so that photos of different positions are different files.
func gpsJPEG(t *testing.T, lat, lng float64, gps bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	seed := uint8(int(lat*1e6) ^ int(lng*1e6))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), uint8(x ^ y), 255})
		}
	}
	var body bytes.Buffer
	if err := jpeg.Encode(&body, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	if !gps {
		return body.Bytes()
	}
	// TIFF, big-endian: IFD0 holds only the GPS IFD pointer; the GPS IFD
	// holds the references and the degrees/minutes/seconds rationals.
	be := binary.BigEndian
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&tiff, be, tag)
		binary.Write(&tiff, be, typ)
		binary.Write(&tiff, be, count)
		binary.Write(&tiff, be, value)
	}
	// IFD0 at 8: one entry, then the next-IFD offset (0); the GPS IFD
	// follows at 8+2+12+4 = 26.
	binary.Write(&tiff, be, uint16(1))
	entry(0x8825, 4, 1, 26)
	binary.Write(&tiff, be, uint32(0))
	// GPS IFD at 26: four entries (2+48+4 = 54 bytes), data from 80.
	dataAt := uint32(26 + 2 + 4*12 + 4)
	binary.Write(&tiff, be, uint16(4))
	entry(0x0001, 2, 2, uint32('N')<<24)
	entry(0x0002, 5, 3, dataAt)
	entry(0x0003, 2, 2, uint32('E')<<24)
	entry(0x0004, 5, 3, dataAt+24)
	binary.Write(&tiff, be, uint32(0))
	for _, v := range []float64{lat, lng} {
		deg := math.Floor(v)
		mins := math.Floor((v - deg) * 60)
		secs := ((v-deg)*60 - mins) * 60
		for _, r := range [][2]uint32{{uint32(deg), 1}, {uint32(mins), 1}, {uint32(math.Round(secs * 1e6)), 1e6}} {
			binary.Write(&tiff, be, r)
		}
	}
	app1 := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(body.Bytes()[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, be, uint16(len(app1)+2))
	out.Write(app1)
	out.Write(body.Bytes()[2:])
	return out.Bytes()
}

// chinaSite adds a site with a 100 m geofence at the Beijing point (WGS-84,
// as sites are) and a task there for insp1.
func chinaSite(t *testing.T, e *env) models.InspectionTask {
	t.Helper()
	ctx := context.Background()
	st := must(items.New(e.svc).CreateSite(ctx, system, items.SiteInput{UnitID: &e.fx.countyA.ID, Name: ptr("北京测试排口"), Kind: ptr("sewage_outfall"),
		Lat: ptr(bjWGSLat), Lng: ptr(bjWGSLng), RadiusM: ptr(100.0)}))
	return must(items.New(e.svc).CreateTask(ctx, system, items.TaskInput{ItemID: &e.fx.itemA.ID, SiteID: &st.ID, Kind: ptr(models.TaskProgressCheck),
		TemplateID: &e.fx.tmpl.ID, WindowStart: ptr(e.now), DueAt: ptr(e.now.AddDate(0, 0, 7)), AssigneeID: ptr(e.fx.users["insp1"].ID)}))
}

func flagCodes(rec map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, f := range rec["flags"].([]any) {
		out[f.(map[string]any)["code"].(string)] = true
	}
	return out
}

// TestDatums: photos taken at a Beijing site, with the device fix sent as
// an AMap-style SDK gives it (GCJ-02) or Baidu's (BD-09). Declared with its
// datum, the fix is converted and neither exif_gps_mismatch (EXIF, in
// WGS-84, at the site) nor outside_geofence (a photo without EXIF GPS) is
// raised, and the record keeps the original; the same GCJ-02 numbers sent
// as WGS-84 are ~550 m off and flagged. A verification's fix is converted the same way. An unknown
// datum is 400 unknown_datum (a rejected mutation in a push).
func TestDatums(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				t.Parallel()
				testDatums(t, newEnv(t, dialect), store)
			})
		}
	}
}

func testDatums(t *testing.T, e *env, store string) {
	withBlobs(t, e, store)
	task := chinaSite(t, e)
	bdLat, bdLng := models.GCJ02ToBD09(bjGCJLat, bjGCJLng)
	cases := []struct {
		name         string
		lat, lng     float64
		datum        string
		wantFlagged  bool
		wantOriginal bool
	}{
		{"gcj02", bjGCJLat, bjGCJLng, "gcj02", false, true},
		{"bd09", bdLat, bdLng, "bd09", false, true},
		{"wgs84 named", bjWGSLat, bjWGSLng, "wgs84", false, false},
		{"wgs84 by default", bjWGSLat, bjWGSLng, "", false, false},
		{"gcj02 numbers sent as wgs84", bjGCJLat, bjGCJLng, "", true, false},
	}
	for i, c := range cases {
		loc := map[string]any{"lat": c.lat, "lng": c.lng, "accuracy_m": 5, "mocked": false}
		if c.datum != "" {
			loc["datum"] = c.datum
		}
		// A photo whose EXIF puts it at the site: the device fix is
		// compared with it (exif_gps_mismatch). Each case has photos of
		// its own, so that no upload is the same file as another.
		rec := e.upload("insp1", task, gpsJPEG(t, bjWGSLat+float64(i)*1e-6, bjWGSLng, true), "image/jpeg", loc)
		if m := rec["media"].(map[string]any); rec["status"] != "verified" || m["has_gps"] != true {
			t.Fatalf("%s: the test photo or its EXIF GPS was not read: %v", c.name, rec)
		}
		if flags := flagCodes(rec); flags["exif_gps_mismatch"] != c.wantFlagged || flags["outside_geofence"] {
			t.Errorf("%s, EXIF at the site: flags %v, want exif_gps_mismatch %v", c.name, rec["flags"], c.wantFlagged)
		}
		// A photo without EXIF GPS: the device fix is where it was taken
		// (outside_geofence).
		plain := e.upload("insp1", task, gpsJPEG(t, bjWGSLat+float64(i)*1e-6, bjWGSLng, false), "image/jpeg", loc)
		if flags := flagCodes(plain); flags["outside_geofence"] != c.wantFlagged || !flags["no_exif_gps"] {
			t.Errorf("%s, no EXIF GPS: flags %v, want outside_geofence %v", c.name, plain["flags"], c.wantFlagged)
		}
		got := rec["location"].(map[string]any)
		wantDatum := c.datum
		if wantDatum == "" {
			wantDatum = "wgs84"
		}
		if got["datum"] != wantDatum {
			t.Errorf("%s: location.datum %v", c.name, got["datum"])
		}
		if c.wantOriginal {
			if got["original_lat"] != c.lat || got["original_lng"] != c.lng {
				t.Errorf("%s: original %v, %v, want %v, %v", c.name, got["original_lat"], got["original_lng"], c.lat, c.lng)
			}
			if d := models.DistanceM(got["lat"].(float64), got["lng"].(float64), bjWGSLat, bjWGSLng); d > 1 {
				t.Errorf("%s: converted to %v, %v: %.2f m from the WGS-84 point", c.name, got["lat"], got["lng"], d)
			}
		} else if _, ok := got["original_lat"]; ok || got["lat"] != c.lat {
			t.Errorf("%s: a WGS-84 fix was changed: %v", c.name, got)
		}
	}

	// An unknown datum: refused, with its code and field, nothing stored.
	for _, datum := range []string{"GCJ02", "wgs-84", "bd09ll", ""} {
		d := declaration(e, task.ID, gpsJPEG(t, bjWGSLat, bjWGSLng+1e-5, true))
		d["location"] = map[string]any{"lat": bjGCJLat, "lng": bjGCJLng, "accuracy_m": 5, "mocked": false, "datum": datum}
		r := e.do("insp1", "POST", "/v1/evidence", d)
		if datum == "" {
			// An empty datum is the default, WGS-84.
			if r.Status != 201 {
				t.Errorf("datum \"\": %d %s", r.Status, r.Body)
			}
			continue
		}
		wantProblem(t, r, 400, "unknown_datum")
		if f := r.json(t)["field"]; f != "location.datum" {
			t.Errorf("datum %q: field %v", datum, f)
		}
		e.must(404, "insp1", "GET", "/v1/evidence/"+d["id"].(string), nil)
	}

	// A verification's fix: converted, original kept, and it reaches the
	// pull as such; an unknown datum rejects the mutation.
	p := e.phone("insp1")
	vid := uuid.NewString()
	p.push(mut("task.start", map[string]any{"task_id": task.ID}),
		mut("verification.record", map[string]any{"id": vid, "task_id": task.ID, "conclusion": "rectified", "notes": "",
			"location":    map[string]any{"lat": bdLat, "lng": bdLng, "datum": "bd09", "accuracy_m": 5, "mocked": false},
			"recorded_at": e.now, "evidence_ids": []string{}}))
	var v models.Verification
	if err := e.svc.Store.Read(context.Background(), func(tx models.Tx) error { return tx.Get(&v, vid) }); err != nil {
		t.Fatal(err)
	}
	if v.Datum != "bd09" || v.OriginalLat == nil || *v.OriginalLat != bdLat || *v.OriginalLng != bdLng ||
		models.DistanceM(v.Lat, v.Lng, bjWGSLat, bjWGSLng) > 1 {
		t.Errorf("verification stored as %v, %v (%s, original %v, %v)", v.Lat, v.Lng, v.Datum, v.OriginalLat, v.OriginalLng)
	}
	page := e.syncPull("insp1", uuid.NewString(), nil)
	for page.HasMore {
		page = e.syncPull("insp1", uuid.NewString(), &page.Cursor)
	}
	res := e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": p.client, "schema_version": 1, "mutations": []any{
		map[string]any{"id": p.next, "name": "verification.record", "args": map[string]any{"id": uuid.NewString(), "task_id": task.ID,
			"conclusion": "rectified", "notes": "", "location": map[string]any{"lat": bjGCJLat, "lng": bjGCJLng, "datum": "mars", "accuracy_m": 5, "mocked": false},
			"recorded_at": e.now, "evidence_ids": []string{}}},
	}})
	if got := res["results"].([]any)[0].(map[string]any); got["status"] != "rejected" || got["code"] != "unknown_datum" {
		t.Errorf("verification with datum mars: %v", got)
	}
}
