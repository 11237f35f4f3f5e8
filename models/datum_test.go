package models

import (
	"math"
	"testing"
)

// The reference points are the published test vectors of eviltransform
// (github.com/googollee/eviltransform, python/test.py, the suite every
// port of it checks against): WGS-84 ↔ GCJ-02 in Shanghai, Shenzhen and
// Beijing; and the BD-09 ↔ GCJ-02 examples of
// github.com/wandergis/coordtransform's README.

func TestDatumPublishedPoints(t *testing.T) {
	wgsGCJ := []struct {
		name                           string
		wgsLat, wgsLng, gcjLat, gcjLng float64
	}{
		{"Shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215},
		{"Shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363},
		{"Beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657},
	}
	for _, p := range wgsGCJ {
		lat, lng := WGS84ToGCJ02(p.wgsLat, p.wgsLng)
		if math.Abs(lat-p.gcjLat) > 1e-6 || math.Abs(lng-p.gcjLng) > 1e-6 {
			t.Errorf("%s: WGS84ToGCJ02 = %.9f, %.9f, want %.9f, %.9f", p.name, lat, lng, p.gcjLat, p.gcjLng)
		}
		lat, lng = GCJ02ToWGS84(p.gcjLat, p.gcjLng)
		if d := DistanceM(lat, lng, p.wgsLat, p.wgsLng); d > 0.5 {
			t.Errorf("%s: GCJ02ToWGS84 is %.3f m from the published WGS-84 point", p.name, d)
		}
		got, gotLng, err := ToWGS84(DatumGCJ02, p.gcjLat, p.gcjLng, "location.datum")
		if err != nil || got != lat || gotLng != lng {
			t.Errorf("%s: ToWGS84(gcj02) = %v, %v, %v", p.name, got, gotLng, err)
		}
		// The offset these tests guard against is hundreds of metres.
		if d := DistanceM(p.wgsLat, p.wgsLng, p.gcjLat, p.gcjLng); d < 100 {
			t.Errorf("%s: the published offset is only %.0f m", p.name, d)
		}
	}
	// BD-09 ↔ GCJ-02: the examples of wandergis/coordtransform's README
	// (also the vectors of hutool's CoordinateUtilTest), at (116.404,
	// 39.915) taken as BD-09 and as GCJ-02.
	lat, lng := BD09ToGCJ02(39.915, 116.404)
	if math.Abs(lat-39.90865673957631) > 1e-9 || math.Abs(lng-116.39762729119315) > 1e-9 {
		t.Errorf("BD09ToGCJ02(39.915, 116.404) = %.14f, %.14f", lat, lng)
	}
	lat, lng = GCJ02ToBD09(39.915, 116.404)
	if math.Abs(lat-39.92133699351021) > 1e-9 || math.Abs(lng-116.41036949371029) > 1e-9 {
		t.Errorf("GCJ02ToBD09(39.915, 116.404) = %.14f, %.14f", lat, lng)
	}
	// BD-09 → WGS-84 is BD-09 → GCJ-02 → WGS-84.
	lat, lng, err := ToWGS84(DatumBD09, 39.915, 116.404, "location.datum")
	if wLat, wLng := GCJ02ToWGS84(39.90865673957631, 116.39762729119315); err != nil || DistanceM(lat, lng, wLat, wLng) > 1e-3 {
		t.Errorf("ToWGS84(bd09, 39.915, 116.404) = %v, %v, %v; via GCJ-02 %v, %v", lat, lng, err, wLat, wLng)
	}
}

// TestDatumRoundTrips: the iterative inverse undoes the forward offset to
// under a centimetre across China, and BD-09 round-trips through GCJ-02.
func TestDatumRoundTrips(t *testing.T) {
	for lat := 18.0; lat <= 53; lat += 1.7 {
		for lng := 74.0; lng <= 134; lng += 2.3 {
			gLat, gLng := WGS84ToGCJ02(lat, lng)
			wLat, wLng := GCJ02ToWGS84(gLat, gLng)
			if d := DistanceM(lat, lng, wLat, wLng); d > 0.01 {
				t.Fatalf("(%v, %v): GCJ-02 round trip off by %.4f m", lat, lng, d)
			}
			bLat, bLng := GCJ02ToBD09(gLat, gLng)
			wLat, wLng = BD09ToWGS84(bLat, bLng)
			// Baidu's two formulas are inverses only to centimetres.
			if d := DistanceM(lat, lng, wLat, wLng); d > 0.5 {
				t.Fatalf("(%v, %v): BD-09 round trip off by %.4f m", lat, lng, d)
			}
		}
	}
}

// TestDatumOutsideChina: outside China GCJ-02 is WGS-84, so a position in
// Tuscany (the test photos' walk) or Tokyo passes unchanged.
func TestDatumOutsideChina(t *testing.T) {
	for _, p := range [][2]float64{{43.4672, 11.8849}, {35.6812, 139.7671}, {-33.86, 151.21}, {60.17, 24.94}} {
		if !OutOfChina(p[0], p[1]) {
			t.Errorf("%v counted inside China", p)
		}
		lat, lng, err := ToWGS84(DatumGCJ02, p[0], p[1], "location.datum")
		if err != nil || lat != p[0] || lng != p[1] {
			t.Errorf("%v in gcj02 became %v, %v (%v)", p, lat, lng, err)
		}
	}
	if OutOfChina(39.9, 116.4) {
		t.Error("Beijing counted outside China")
	}
}

func TestDatumUnknown(t *testing.T) {
	for _, d := range []string{"WGS84", "gcj-02", "bd09ll", "epsg:4326", " wgs84"} {
		_, _, err := ToWGS84(d, 30, 116, "location.datum")
		if e := AsError(err); e == nil || e.Code != CodeUnknownDatum || e.Field != "location.datum" {
			t.Errorf("datum %q: %v", d, err)
		}
	}
}
