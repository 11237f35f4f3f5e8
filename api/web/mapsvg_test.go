package web

import (
	"math"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

func TestWGS84ToGCJ02(t *testing.T) {
	// Outside mainland China the datums agree.
	if lat, lng := wgs84ToGCJ02(43.4672, 11.8849); lat != 43.4672 || lng != 11.8849 {
		t.Errorf("Italy moved to %v, %v", lat, lng)
	}
	// Inside, GCJ-02 is a few hundred metres off WGS-84: in Beijing about
	// 0.0014° north and 0.0062° east.
	lat, lng := wgs84ToGCJ02(39.9087, 116.3975)
	if math.Abs(lat-39.9087-0.0014) > 0.0003 || math.Abs(lng-116.3975-0.0062) > 0.0003 {
		t.Errorf("Beijing: %.5f, %.5f", lat, lng)
	}
	if d := models.DistanceM(39.9087, 116.3975, lat, lng); d < 400 || d > 700 {
		t.Errorf("the shift in Beijing is %.0f m", d)
	}
}

func review() *acceptance.Review {
	lat, lng := 29.7001, 116.0002
	return &acceptance.Review{EvidenceSet: acceptance.EvidenceSet{
		Sites: []models.Site{{ID: "s", Name: "排口", Lat: 29.7, Lng: 116.0, RadiusM: 100}},
		Evidence: []models.Evidence{{ID: "e", Media: &models.MediaSummary{HasGPS: true, Lat: &lat, Lng: &lng},
			Location: &models.EvidenceLocation{Lat: 29.7003, Lng: 116.0001}}},
	}}
}

func TestSiteMap(t *testing.T) {
	w := &Console{}
	m := w.siteMap(review(), nil)
	if m.Empty || len(m.Circles) != 1 || len(m.Marks) != 2 || len(m.Tiles) != 0 {
		t.Fatalf("offline map: %+v", m)
	}
	c := m.Circles[0]
	if c.CX < 0 || c.CX > mapW || c.CY < 0 || c.CY > mapH || c.R < 20 {
		t.Errorf("the geofence is drawn at %+v", c)
	}
	for _, mk := range m.Marks {
		if math.Hypot(mk.X-c.CX, mk.Y-c.CY) > c.R {
			t.Errorf("mark %+v lies outside the 100 m circle %+v", mk, c)
		}
	}
	// With GCJ-02 tiles, the overlays move east and north with the tiles'
	// datum, and the tiles cover the frame.
	w.cfg = Config{Tiles: "https://tiles.example/{z}/{x}/{y}.png", TilesGCJ02: true}
	g := w.siteMap(review(), nil)
	if len(g.Tiles) == 0 || !strings.HasPrefix(g.Tiles[0].Href, "https://tiles.example/") || strings.Contains(g.Tiles[0].Href, "{") {
		t.Fatalf("tiles: %+v", g.Tiles)
	}
	if !g.GCJ02 {
		t.Errorf("GCJ-02 not applied")
	}
	if tileOrigin(w.cfg.Tiles) != "https://tiles.example" {
		t.Errorf("CSP origin %q", tileOrigin(w.cfg.Tiles))
	}
	if m := w.siteMap(&acceptance.Review{}, nil); !m.Empty {
		t.Errorf("a map without positions: %+v", m)
	}
}

func TestFlagValue(t *testing.T) {
	cat := i18n.MustNew()
	zh := &view{req: &req{L: cat.In(i18n.Default)}}
	en := &view{req: &req{L: cat.In(language.English)}}
	for _, c := range []struct {
		v     *view
		value float64
		unit  string
		want  string
	}{
		{zh, 293.6, "m", "294 米"}, {zh, 90, "s", "90 秒"}, {zh, 7200, "s", "2.0 小时"}, {zh, 571871152.9, "s", "6619 天"},
		{zh, 30, "h", "30.0 小时"}, {en, 72, "h", "3 days"}, {en, 5, "bits", "5 bits"},
	} {
		if got := c.v.FlagValue(c.value, c.unit); got != c.want {
			t.Errorf("%v %s: %q, want %q", c.value, c.unit, got, c.want)
		}
	}
}
