package pack

import (
	"math"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

func TestMapScaleAndFarPoints(t *testing.T) {
	site := models.Site{Lat: 43.4672, Lng: 11.8849, RadiusM: 100}
	pts := []mapPoint{
		sitePoint(site, markExif, "1", 43.4674483, 11.8851267, 0, -1), // 32 m from the centre
		sitePoint(site, markExif, "2", 43.4683650, 11.8816350, 0, -1), // 294 m, outside
		sitePoint(site, markDevice, "2", 43.57, 11.8854, 5, 1),        // 11 km north
	}
	m := buildMap(site, pts)
	if m.Circle == nil || m.Rings != nil {
		t.Fatalf("a circular geofence: %+v", m)
	}
	in, out, far := m.Markers[0], m.Markers[1], m.Markers[2]
	if in.Outside || !out.Outside || in.Off || out.Off || !far.Off || m.OffMap != 1 {
		t.Errorf("markers: %+v", m.Markers)
	}
	// To scale: the circle's radius and the distance to a plotted point
	// share one scale, and the map keeps north up.
	pxPerM := m.Circle.R / 100
	d := math.Hypot(out.X-m.Centre.X, out.Y-m.Centre.Y) / pxPerM
	if math.Abs(d-294) > 3 || out.Y >= m.Centre.Y || out.X >= m.Centre.X {
		t.Errorf("point 2 drawn %.0f m away at (%v, %v), centre %v: want 294 m to the north-west", d, out.X, out.Y, m.Centre)
	}
	// The far fix sits on the frame's top edge, straight north.
	if far.Y > 20 || math.Abs(far.X-m.Centre.X) > 3 || math.Abs(far.DistM-11400) > 200 {
		t.Errorf("the far fix at (%v, %v), %v m", far.X, far.Y, far.DistM)
	}
	if len(m.Links) != 1 || m.Links[0].X1 != out.X || m.Links[0].X2 != far.X {
		t.Errorf("the link from EXIF to device fix: %+v", m.Links)
	}
	// A round scale bar of about a fifth of the canvas.
	if got := math.Round(m.Scale.Len / pxPerM); got != 100 || m.Scale.Len > mapW/5+1 || m.Scale.Label != "100 m" {
		t.Errorf("scale bar %+v at %.3f px/m", m.Scale, pxPerM)
	}
}

func TestMapPolygon(t *testing.T) {
	site := models.Site{Lat: 30, Lng: 120, Polygon: &models.Polygon{Type: "Polygon", Coordinates: [][][2]float64{
		{{119.999, 29.999}, {120.001, 29.999}, {120.001, 30.001}, {119.999, 30.001}, {119.999, 29.999}},
	}}}
	m := buildMap(site, []mapPoint{sitePoint(site, markExif, "1", 30.0005, 120.0005, 0, -1), sitePoint(site, markExif, "2", 30.0015, 120, 0, -1)})
	if m.Circle != nil || len(m.Rings) != 1 || strings.Count(m.Rings[0], ",") != 5 {
		t.Fatalf("polygon rings: %+v", m.Rings)
	}
	if m.Markers[0].Outside || !m.Markers[1].Outside {
		t.Errorf("inside/outside the polygon: %+v", m.Markers)
	}
	for _, p := range m.Markers {
		if p.X < 0 || p.X > mapW || p.Y < 0 || p.Y > mapH {
			t.Errorf("marker off the canvas: %+v", p)
		}
	}
}

func TestUnitsForPeople(t *testing.T) {
	for m, want := range map[float64]string{3.25: "3.2 m", 50: "50 m", 999: "999 m", 1500: "1.5 km", 11400: "11 km"} {
		if got := metres(m); got != want {
			t.Errorf("metres(%v) = %q, want %q", m, got, want)
		}
	}
	for s, want := range map[float64]string{45: "45 秒", 7200: "2 小时", 600: "10 分钟", 1200: "20 分钟", 571163411: "6610.7 天"} {
		if got := duration(s); got != want {
			t.Errorf("duration(%v) = %q, want %q", s, got, want)
		}
	}
	for v, want := range map[float64]string{116: "116", 11.8851267: "11.885127", -0.0000001: "0", 120.5: "120.5"} {
		if got := trimFloat(v, 6); got != want {
			t.Errorf("trimFloat(%v) = %q, want %q", v, got, want)
		}
	}
}
