package web

import (
	"math"
	"strconv"
	"strings"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

// The item page's map is an inline SVG drawn on the server: the sites'
// polygons or geofence circles, where each photo's EXIF says it was
// taken, and each device fix. It needs no script and no tiles; with a
// tile URL template configured the same Web Mercator frame is laid over
// the deployment's tiles.

const mapW, mapH = 640, 360

type svgMap struct {
	W, H    int
	Tiles   []mapTile
	Polys   []mapPoly
	Circles []mapCircle
	Marks   []mapMark
	Empty   bool
	GCJ02   bool
}

type mapTile struct {
	X, Y float64
	Href string
}

type mapPoly struct {
	Points string
	Name   string
}

type mapCircle struct {
	CX, CY, R float64
	Name      string
}

type mapMark struct {
	X, Y  float64
	Kind  string // exif, device, verification
	Label string
}

type latLng struct{ lat, lng float64 }

// mercator gives world pixel coordinates at zoom z.
func mercator(p latLng, z int) (float64, float64) {
	scale := 256 * math.Exp2(float64(z))
	x := (p.lng + 180) / 360 * scale
	s := math.Sin(p.lat * math.Pi / 180)
	s = math.Max(math.Min(s, 0.9999), -0.9999)
	y := (0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * scale
	return x, y
}

func (w *Console) siteMap(rv *acceptance.Review, sites map[string]models.Site) svgMap {
	m := svgMap{W: mapW, H: mapH, GCJ02: w.cfg.TilesGCJ02 && w.cfg.Tiles != ""}
	conv := func(lat, lng float64) latLng {
		if m.GCJ02 {
			lat, lng = wgs84ToGCJ02(lat, lng)
		}
		return latLng{lat, lng}
	}
	type shape struct {
		ring   []latLng
		centre latLng
		radius float64
		name   string
	}
	var shapes []shape
	var pts []latLng
	for _, s := range rv.Sites {
		sh := shape{centre: conv(s.Lat, s.Lng), radius: s.RadiusM, name: s.Name}
		if s.Polygon != nil {
			for _, ring := range s.Polygon.Coordinates {
				for _, c := range ring {
					p := conv(c[1], c[0])
					sh.ring = append(sh.ring, p)
					pts = append(pts, p)
				}
				break // the outer ring
			}
		} else {
			// The circle's extent, north-south and east-west.
			dLat := s.RadiusM / 111320
			dLng := s.RadiusM / (111320 * math.Max(math.Cos(s.Lat*math.Pi/180), 0.01))
			pts = append(pts, conv(s.Lat+dLat, s.Lng+dLng), conv(s.Lat-dLat, s.Lng-dLng))
		}
		pts = append(pts, sh.centre)
		shapes = append(shapes, sh)
	}
	type mark struct {
		p     latLng
		kind  string
		label string
	}
	var marks []mark
	for i, e := range rv.Evidence {
		n := strconv.Itoa(i + 1)
		if e.Media != nil && e.Media.HasGPS && e.Media.Lat != nil && e.Media.Lng != nil {
			marks = append(marks, mark{conv(*e.Media.Lat, *e.Media.Lng), "exif", n})
		}
		if e.Location != nil {
			marks = append(marks, mark{conv(e.Location.Lat, e.Location.Lng), "device", n})
		}
	}
	for _, v := range rv.Verifications {
		marks = append(marks, mark{conv(v.Lat, v.Lng), "verification", ""})
	}
	for _, mk := range marks {
		pts = append(pts, mk.p)
	}
	if len(pts) == 0 {
		m.Empty = true
		return m
	}
	// The largest zoom at which everything fits, with a margin.
	z := 18
	var minX, minY, maxX, maxY float64
	for ; z > 2; z-- {
		minX, minY, maxX, maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range pts {
			x, y := mercator(p, z)
			minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
		}
		if maxX-minX < mapW-80 && maxY-minY < mapH-80 {
			break
		}
	}
	ox, oy := (minX+maxX)/2-mapW/2, (minY+maxY)/2-mapH/2
	at := func(p latLng) (float64, float64) {
		x, y := mercator(p, z)
		return round1(x - ox), round1(y - oy)
	}
	if w.cfg.Tiles != "" {
		for tx := int(math.Floor(ox / 256)); float64(tx*256) < ox+mapW; tx++ {
			for ty := int(math.Floor(oy / 256)); float64(ty*256) < oy+mapH; ty++ {
				href := strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(tx), "{y}", strconv.Itoa(ty), "{s}", "a").Replace(w.cfg.Tiles)
				m.Tiles = append(m.Tiles, mapTile{X: round1(float64(tx*256) - ox), Y: round1(float64(ty*256) - oy), Href: href})
			}
		}
	}
	pxPerM := 256 * math.Exp2(float64(z)) / (40075016.686 * math.Cos(pts[0].lat*math.Pi/180))
	for _, sh := range shapes {
		if len(sh.ring) > 0 {
			var b strings.Builder
			for i, p := range sh.ring {
				x, y := at(p)
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64))
			}
			m.Polys = append(m.Polys, mapPoly{Points: b.String(), Name: sh.name})
			continue
		}
		x, y := at(sh.centre)
		m.Circles = append(m.Circles, mapCircle{CX: x, CY: y, R: round1(math.Max(sh.radius*pxPerM, 3)), Name: sh.name})
	}
	for _, mk := range marks {
		x, y := at(mk.p)
		m.Marks = append(m.Marks, mapMark{X: x, Y: y, Kind: mk.kind, Label: mk.label})
	}
	return m
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// wgs84ToGCJ02 shifts a WGS-84 position onto the GCJ-02 datum that maps
// of mainland China are published in (the published approximation of the
// datum's transform); outside China it is unchanged.
func wgs84ToGCJ02(lat, lng float64) (float64, float64) {
	if lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271 {
		return lat, lng
	}
	const a, ee = 6378245.0, 0.00669342162296594323
	dLat := transformLat(lng-105, lat-35)
	dLng := transformLng(lng-105, lat-35)
	radLat := lat / 180 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - ee*magic*magic
	sq := math.Sqrt(magic)
	dLat = (dLat * 180) / ((a * (1 - ee)) / (magic * sq) * math.Pi)
	dLng = (dLng * 180) / (a / sq * math.Cos(radLat) * math.Pi)
	return lat + dLat, lng + dLng
}

func transformLat(x, y float64) float64 {
	r := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	r += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	return r
}

func transformLng(x, y float64) float64 {
	r := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	r += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	r += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	r += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	return r
}
