package models

import (
	"math"
	"testing"
)

func TestDistance(t *testing.T) {
	// DSCN0025 from the site centre of the shared test photos: ~294 m.
	d := DistanceM(43.4672, 11.8849, 43.4683650, 11.8816350)
	if math.Abs(d-294) > 3 {
		t.Fatalf("distance %.1f m, want about 294", d)
	}
	s := Site{Lat: 43.4672, Lng: 11.8849, RadiusM: 100}
	if out := s.DistanceOutsideM(43.4674483, 11.8851267); out != 0 {
		t.Errorf("DSCN0010 is inside the 100 m fence, got %.1f m outside", out)
	}
	if out := s.DistanceOutsideM(43.4683650, 11.8816350); math.Abs(out-194) > 3 {
		t.Errorf("DSCN0025 is ~194 m outside the fence, got %.1f", out)
	}
}

func square(lng, lat, size float64) *Polygon {
	return &Polygon{Type: "Polygon", Coordinates: [][][2]float64{{
		{lng, lat}, {lng + size, lat}, {lng + size, lat + size}, {lng, lat + size}, {lng, lat},
	}}}
}

func TestPolygonDistance(t *testing.T) {
	s := Site{Lat: 29.705, Lng: 116.005, Polygon: square(116, 29.7, 0.01)}
	if d := s.DistanceOutsideM(29.705, 116.005); d != 0 {
		t.Errorf("centre is inside, got %.1f", d)
	}
	// 0.001° of latitude north of the top edge is ~111 m.
	if d := s.DistanceOutsideM(29.711, 116.005); math.Abs(d-111.2) > 1 {
		t.Errorf("north of the square: %.1f m, want ~111", d)
	}
	withHole := square(116, 29.7, 0.01)
	withHole.Coordinates = append(withHole.Coordinates, square(116.004, 29.704, 0.002).Coordinates[0])
	s.Polygon = withHole
	if d := s.DistanceOutsideM(29.705, 116.005); d == 0 {
		t.Error("a point in the hole is outside the fence")
	}
}

func TestPolygonValidate(t *testing.T) {
	cases := []struct {
		name string
		p    *Polygon
		code Code
	}{
		{"ok", square(116, 29.7, 0.01), ""},
		{"wrong type", &Polygon{Type: "LineString", Coordinates: square(116, 29.7, 0.01).Coordinates}, CodeGeofenceInvalid},
		{"no ring", &Polygon{Type: "Polygon"}, CodePolygonTooFewPoints},
		{"three points", &Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{116, 29.7}, {116.1, 29.7}, {116, 29.7}}}}, CodePolygonTooFewPoints},
		{"open", &Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{116, 29.7}, {116.1, 29.7}, {116.1, 29.8}, {116, 29.8}}}}, CodePolygonNotClosed},
		{"bow tie", &Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{116, 29.7}, {116.1, 29.8}, {116.1, 29.7}, {116, 29.8}, {116, 29.7}}}}, CodePolygonSelfIntersects},
		{"lat out of range", &Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{116, 95}, {116.1, 29.7}, {116.1, 29.8}, {116, 95}}}}, CodeLatOutOfRange},
		{"touching edge", &Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{0, 0}, {2, 0}, {2, 2}, {1, 0}, {0, 2}, {0, 0}}}}, CodePolygonSelfIntersects},
	}
	for _, c := range cases {
		err := c.p.Validate()
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if ErrorCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	big := &Polygon{Type: "Polygon", Coordinates: [][][2]float64{make([][2]float64, MaxPolygonPoints+1)}}
	if ErrorCode(big.Validate()) != CodePolygonTooManyPoints {
		t.Error("an oversized polygon must be refused")
	}
}

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{
		"0190a8e6-7d2c-7c4e-9b1a-3f1e2d3c4b5a": true,
		"0190A8E6-7D2C-7C4E-9B1A-3F1E2D3C4B5A": true,
		"0190a8e6-7d2c-7c4e-9b1a-3f1e2d3c4b5":  false,
		"0190a8e6x7d2c-7c4e-9b1a-3f1e2d3c4b5a": false,
		"../../../../etc/passwd-aaaaaaaaaaaaa": false,
		"":                                     false,
	} {
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v", s, !want)
		}
	}
}
