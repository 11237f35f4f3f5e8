package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image/jpeg"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/reporting"
	"github.com/fieldsync/fieldsync/storage/media"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestPublicDisclosure runs the public disclosure on both databases and
// both blob stores: what it shows, that it leaks nothing private, and who
// may make a photo public.
func TestPublicDisclosure(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, dialect)
				withBlobs(t, e, store)
				w := buildPublicWorld(t, e)
				t.Run("Progress", func(t *testing.T) { testPublicProgress(t, e) })
				t.Run("Items", func(t *testing.T) { testPublicItems(t, e, w) })
				t.Run("Photos", func(t *testing.T) { testPublicPhotos(t, e, w) })
				t.Run("NoLeaks", func(t *testing.T) { testPublicLeaks(t, e, w) })
				t.Run("Marking", func(t *testing.T) { testPublicMarking(t, e, w) })
			})
		}
	}
}

// public fetches a public endpoint without credentials and checks it may
// be cached by anyone.
func (e *env) public(path string) response {
	e.t.Helper()
	r := e.do("", "GET", path, nil)
	if r.Status == 200 && r.Header.Get("Cache-Control") != "public, max-age=300" {
		e.t.Errorf("GET %s: Cache-Control %q", path, r.Header.Get("Cache-Control"))
	}
	return r
}

func testPublicProgress(t *testing.T, e *env) {
	r := e.public("/v1/public/progress")
	if r.Status != 200 {
		t.Fatalf("progress: %d %s", r.Status, r.Body)
	}
	var p reporting.PublicProgress
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	// The fixture's two not-started items (黑臭水体, one per county) and
	// the world's four.
	type want struct {
		total, accepted, overdue, notStarted, inProgress int64
		rate                                             float64
	}
	check := func(what string, c reporting.ProgressCounts, w want) {
		t.Helper()
		var sum int64
		for _, n := range c.ByStatus {
			sum += n
		}
		if c.Total != w.total || c.Accepted != w.accepted || c.ByStatus[models.ItemAccepted] != w.accepted || c.Overdue != w.overdue ||
			c.ByStatus[models.ItemNotStarted] != w.notStarted || c.ByStatus[models.ItemInProgress] != w.inProgress ||
			c.CompletionRate != w.rate || sum != c.Total || len(c.ByStatus) != len(models.ItemMachine.Statuses()) {
			t.Errorf("%s: %+v, want %+v", what, c, w)
		}
	}
	check("totals", p.Totals, want{6, 2, 1, 3, 1, 0.3333})
	if len(p.ByCategory) != 2 || p.ByCategory[0].Category != "工业污染" || p.ByCategory[1].Category != "黑臭水体" {
		t.Fatalf("categories: %+v", p.ByCategory)
	}
	check("工业污染", p.ByCategory[0].ProgressCounts, want{2, 1, 0, 0, 1, 0.5})
	check("黑臭水体", p.ByCategory[1].ProgressCounts, want{4, 1, 1, 3, 0, 0.25})
	// Every item of the fixture and the world is of one area.
	if len(p.ByArea) != 1 || p.ByArea[0].Area != "水环境" {
		t.Fatalf("areas: %+v", p.ByArea)
	}
	check("水环境", p.ByArea[0].ProgressCounts, want{6, 2, 1, 3, 1, 0.3333})
	if len(p.ByUnit) != 2 || p.ByUnit[0].UnitID != e.fx.countyA.ID || p.ByUnit[0].UnitName != e.fx.countyA.Name || p.ByUnit[1].UnitID != e.fx.countyB.ID {
		t.Fatalf("units: %+v", p.ByUnit)
	}
	check("county A", p.ByUnit[0].ProgressCounts, want{3, 1, 0, 1, 1, 0.3333})
	check("county B", p.ByUnit[1].ProgressCounts, want{3, 1, 1, 2, 0, 0.3333})
	if !p.GeneratedAt.Equal(e.now) {
		t.Errorf("generated_at %v, want %v", p.GeneratedAt, e.now)
	}
}

// publicPages reads every page of the public items, a page at a time.
func publicPages(t *testing.T, e *env, limit string) ([]reporting.PublicItem, [][]byte) {
	t.Helper()
	var (
		items  []reporting.PublicItem
		bodies [][]byte
		token  string
	)
	for page := 0; ; page++ {
		path := "/v1/public/items?limit=" + limit
		if token != "" {
			path += "&page_token=" + url.QueryEscape(token)
		}
		r := e.public(path)
		if r.Status != 200 || page > 10 {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var l struct {
			Items []reporting.PublicItem `json:"items"`
			Next  string                 `json:"next_page_token"`
		}
		if err := json.Unmarshal(r.Body, &l); err != nil {
			t.Fatal(err)
		}
		items, bodies = append(items, l.Items...), append(bodies, r.Body)
		if token = l.Next; token == "" {
			return items, bodies
		}
	}
}

func testPublicItems(t *testing.T, e *env, w publicWorld) {
	items, bodies := publicPages(t, e, "1")
	if len(items) != 2 || len(bodies) != 2 || items[0].ID != w.acceptedA.ID || items[1].ID != w.acceptedB.ID {
		t.Fatalf("the accepted items, a page each: %+v", items)
	}
	a, b := items[0], items[1]
	if a.Code != "PUB-A1" || a.Title != w.acceptedA.Title || a.Category != "工业污染" || a.Area != "水环境" ||
		a.ResponsibleUnitID != e.fx.countyA.ID || a.ResponsibleUnitName != e.fx.countyA.Name || !a.Deadline.Equal(w.acceptedA.Deadline) ||
		a.ClosedAt == nil || !a.ClosedAt.Equal(*w.acceptedA.ClosedAt) || a.PublicSummary != "已完成截污纳管 PUB-A1" {
		t.Errorf("item A: %+v", a)
	}
	// Coordinates rounded to two decimals; the cancelled task's site is
	// not the item's.
	if len(a.Sites) != 1 || a.Sites[0] != (reporting.PublicSite{Name: "东沟排口", Kind: "sewage_outfall", Lat: 29.71, Lng: 116.01}) {
		t.Errorf("item A's sites: %+v", a.Sites)
	}
	if len(b.Sites) != 1 || b.Sites[0] != (reporting.PublicSite{Name: "南河排口", Kind: "sewage_outfall", Lat: 29.82, Lng: 116.12}) {
		t.Errorf("item B's sites: %+v", b.Sites)
	}
	if !bytes.Contains(bodies[0], []byte(`"lat":29.71,"lng":116.01`)) {
		t.Errorf("coordinates as sent: %s", bodies[0])
	}
	wantPhotos := []string{w.gps, w.rotated}
	if w.rotated < w.gps {
		wantPhotos = []string{w.rotated, w.gps}
	}
	if len(a.Photos) != 2 || a.Photos[0].ID != wantPhotos[0] || a.Photos[1].ID != wantPhotos[1] ||
		a.Photos[0].URL != "/v1/public/photos/"+wantPhotos[0] || len(b.Photos) != 0 {
		t.Errorf("public photos: %+v and %+v, want %v", a.Photos, b.Photos, wantPhotos)
	}
	// The rounding is the configured one.
	for decimals, want := range map[int][2]float64{3: {29.712, 116.012}, 0: {30, 116}} {
		e.svc.Disclosure.CoordDecimals = decimals
		items, _ := publicPages(t, e, "50")
		if s := items[0].Sites[0]; s.Lat != want[0] || s.Lng != want[1] {
			t.Errorf("%d decimals: %v, %v", decimals, s.Lat, s.Lng)
		}
	}
	e.svc.Disclosure.CoordDecimals = 2
	if r := e.public("/v1/public/items?page_token=bm9wZQ"); r.Status != 400 || r.code(t) != "invalid_page_cursor" {
		t.Errorf("a bad page token: %d %s", r.Status, r.Body)
	}
	// A token, even a bad one, changes nothing on the public endpoints.
	for _, p := range []string{"/v1/public/items", "/v1/public/progress", "/v1/public/photos/" + w.gps} {
		if r := e.do("not-a-token", "GET", p, nil); r.Status != 200 {
			t.Errorf("GET %s with a bad token: %d %s", p, r.Status, r.Body)
		}
	}
}

func testPublicPhotos(t *testing.T, e *env, w publicWorld) {
	for id, size := range map[string][2]int{w.gps: {640, 480}, w.rotated: {600, 450}} {
		r := e.public("/v1/public/photos/" + id)
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("public photo %s: %d %s %.200s", id, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		img, err := jpeg.Decode(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatalf("public photo %s is not a JPEG: %v", id, err)
		}
		// orientation_landscape_6 is stored 450×600 and shown 600×450.
		if b := img.Bounds(); b.Dx() != size[0] || b.Dy() != size[1] {
			t.Errorf("public photo %s is %v, want upright %dx%d", id, b, size[0], size[1])
		}
	}
	// Everything not shown is the same 404.
	var first response
	for name, id := range map[string]string{"private": w.private, "withdrawn": w.withdrawn, "item not accepted": w.openItem,
		"rejected": w.rejected, "pending": w.pending, "document": w.document, "unknown": uuid.NewString(), "malformed": "not-a-uuid"} {
		r := e.public("/v1/public/photos/" + id)
		var p map[string]any
		json.Unmarshal(r.Body, &p)
		if first.Body == nil {
			first = r
		}
		if r.Status != 404 || p["code"] != "not_found" || p["detail"] != first.json(t)["detail"] {
			t.Errorf("%s photo: %d %s, want the same 404 as %s", name, r.Status, r.Body, first.Body)
		}
	}
	// An item no longer accepted no longer shows its photos.
	setItem(t, e, w.acceptedA.ID, models.Set{"status": models.ItemReopened})
	if r := e.public("/v1/public/photos/" + w.gps); r.Status != 404 {
		t.Errorf("photo of a reopened item: %d", r.Status)
	}
	setItem(t, e, w.acceptedA.ID, models.Set{"status": models.ItemAccepted})
}

// testPublicLeaks reads every public answer and searches it for every
// private value of the world.
func testPublicLeaks(t *testing.T, e *env, w publicWorld) {
	_, bodies := publicPages(t, e, "1")
	bodies = append(bodies, e.public("/v1/public/progress").Body)
	items, _ := publicPages(t, e, "50")
	for _, body := range bodies {
		for _, s := range w.secrets {
			if s != "" && bytes.Contains(body, []byte(s)) {
				t.Errorf("a public answer contains %q: %s", s, body)
			}
		}
	}
	a := media.New()
	n := 0
	for _, it := range items {
		for _, ph := range it.Photos {
			n++
			got := e.public(ph.URL).Body
			orig := w.originals[ph.ID]
			if bytes.Equal(got, orig) || bytes.Contains(got, orig[len(orig)/2:len(orig)/2+512]) {
				t.Errorf("photo %s: the original's bytes are served", ph.ID)
			}
			for _, s := range append(w.secrets, "Exif\x00\x00", "II*\x00", "MM\x00*", "NIKON", "COOLPIX") {
				if s != "" && bytes.Contains(got, []byte(s)) {
					t.Errorf("photo %s contains %q", ph.ID, s)
				}
			}
			for _, m := range jpegMarkers(t, got) {
				if m >= 0xE0 && m <= 0xEF || m == 0xFE {
					t.Errorf("photo %s has segment %#x (application data or a comment)", ph.ID, m)
				}
			}
			info, err := a.Analyze(bytes.NewReader(got), int64(len(got)))
			if err != nil || info.HasGPS || info.Make != "" || info.Model != "" || info.TakenAt != nil || info.Orientation != 0 {
				t.Errorf("photo %s still carries metadata: %+v %v", ph.ID, info, err)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d public photos checked, want 2", n)
	}
}

// jpegMarkers lists the markers of a JPEG up to its first scan.
func jpegMarkers(t *testing.T, data []byte) []byte {
	t.Helper()
	var out []byte
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; i += 2 + int(binary.BigEndian.Uint16(data[i+2:i+4])) {
		if out = append(out, data[i+1]); data[i+1] == 0xDA {
			return out
		}
	}
	t.Fatalf("not a JPEG with a scan")
	return nil
}

func testPublicMarking(t *testing.T, e *env, w publicWorld) {
	ctx := context.Background()
	path := "/v1/evidence/" + w.gps + "/public"
	before := must(evidence.New(e.svc).GetEvidence(ctx, system, w.gps))
	es, _ := must2(acceptance.New(e.svc).EvidenceOf(ctx, system, w.acceptedA.ID))
	digest := must(es.Digest())
	for _, c := range []struct {
		who, path string
		body      any
		status    int
		code      string
	}{
		{"supb", path, map[string]any{"public": false}, 404, "not_found"},
		{"insp1", path, map[string]any{"public": false}, 403, "forbidden"},
		{"leada", path, map[string]any{"public": false}, 403, "forbidden"},
		{"supa", "/v1/evidence/" + w.rejected + "/public", map[string]any{"public": true}, 409, "evidence_not_verified"},
		{"supa", "/v1/evidence/" + w.pending + "/public", map[string]any{"public": true}, 409, "evidence_not_verified"},
		{"admin", "/v1/evidence/" + w.document + "/public", map[string]any{"public": true}, 409, "evidence_not_a_photo"},
		{"supa", "/v1/evidence/" + uuid.NewString() + "/public", map[string]any{"public": true}, 404, "not_found"},
		{"supa", "/v1/evidence/not-a-uuid/public", map[string]any{"public": true}, 404, "not_found"},
		{"supa", path, map[string]any{}, 400, "required"},
		{"supa", path, map[string]any{"public": "yes"}, 400, "invalid_type"},
		{"supa", path, map[string]any{"public": true, "until": "2030"}, 400, "unknown_field"},
		{"supa", path, "{", 400, "malformed_json"},
	} {
		r := e.do(c.who, "POST", c.path, c.body)
		if r.Status != c.status || r.code(t) != c.code {
			t.Errorf("POST %s as %s with %v: %d %s, want %d %s", c.path, c.who, c.body, r.Status, r.Body, c.status, c.code)
		}
	}
	// Asking again for what is so changes nothing; the evidence record
	// and the digest a decision would be bound to never change.
	d := e.must(200, "supa", "POST", path, map[string]any{"public": true})
	if d["version"] != 1.0 || d["public"] != true {
		t.Errorf("marking a public photo public again: %v", d)
	}
	after := must(evidence.New(e.svc).GetEvidence(ctx, system, w.gps))
	es, _ = must2(acceptance.New(e.svc).EvidenceOf(ctx, system, w.acceptedA.ID))
	if after.Version != before.Version || !after.UpdatedAt.Equal(before.UpdatedAt) || must(es.Digest()) != digest {
		t.Errorf("publishing changed the evidence: v%d → v%d, digest %s → %s", before.Version, after.Version, digest, must(es.Digest()))
	}
	// Withdrawing deletes the copy; publishing again makes a new one.
	copies := func(id string) int {
		n := 0
		if err := e.svc.Blobs.List(ctx, "public/"+id+"/", func(models.BlobInfo) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if copies(w.gps) != 1 || copies(w.withdrawn) != 0 || copies(w.private) != 0 {
		t.Errorf("copies: public %d, withdrawn %d, private %d; want 1, 0, 0", copies(w.gps), copies(w.withdrawn), copies(w.private))
	}
	if d := e.must(200, "supa", "POST", path, map[string]any{"public": false}); d["public"] != false || d["version"] != 2.0 {
		t.Errorf("withdrawing: %v", d)
	}
	if r := e.public("/v1/public/photos/" + w.gps); r.Status != 404 || copies(w.gps) != 0 {
		t.Errorf("a withdrawn photo: %d, %d copies", r.Status, copies(w.gps))
	}
	e.must(200, "admin", "POST", path, map[string]any{"public": true})
	if r := e.public("/v1/public/photos/" + w.gps); r.Status != 200 || copies(w.gps) != 1 {
		t.Errorf("published again: %d, %d copies", r.Status, copies(w.gps))
	}
	items, _ := publicPages(t, e, "50")
	if ps := items[0].Photos; len(ps) != 2 || ps[0].ID != w.gps && ps[1].ID != w.gps {
		t.Errorf("published again but not listed: %+v", ps)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// TestPublicProgressIsCounted once a minute: anonymous requests within the
// TTL share one count of the item table.
func TestPublicProgressIsCounted(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	total := func() float64 {
		return e.must(200, "", "GET", "/v1/public/progress", nil)["totals"].(map[string]any)["total"].(float64)
	}
	before := total()
	must(items.New(e.svc).CreateItem(context.Background(), system, items.ItemInput{Code: ptr("P-NEW"), Title: ptr("新问题"), Source: ptr("督察"),
		Category: ptr("水"), Target: ptr("达标"), Measures: ptr("整治"), ResponsibleUnitID: &e.fx.countyA.ID, FirstResponsible: ptr("县长"),
		Deadline: models.At(e.now.AddDate(0, 1, 0))}))
	if got := total(); got != before {
		t.Fatalf("within the TTL the count changed from %v to %v", before, got)
	}
	e.now = e.now.Add(reporting.PublicProgressTTL)
	if got := total(); got != before+1 {
		t.Fatalf("after the TTL the count is %v, want %v", got, before+1)
	}
}
