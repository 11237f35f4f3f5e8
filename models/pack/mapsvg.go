package pack

import (
	"fmt"
	"math"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// The map is drawn in a local equirectangular projection around the site
// centre: at the scale of a site (metres to a few kilometres) it is exact
// to well under a pixel, and it needs no tiles, so the report stays
// offline and self-contained.

// Map canvas size, in SVG user units.
const (
	mapW   = 720.0
	mapH   = 460.0
	mapPad = 36.0
)

// siteMap is one site's map, laid out in canvas coordinates.
type siteMap struct {
	Site    models.Site
	Circle  *svgCircle
	Rings   []string // polygon rings as SVG points, the outer one first
	Centre  svgPoint
	Markers []mapMarker
	Links   []svgLine // from a photo's EXIF position to its device fix
	Scale   scaleBar
	// OffMap counts the markers too far away to draw to scale; they sit
	// on the frame's edge in their direction, labelled with the distance.
	OffMap int
}

type svgPoint struct{ X, Y float64 }

type svgCircle struct{ CX, CY, R float64 }

type svgLine struct{ X1, Y1, X2, Y2 float64 }

// mapMarker kinds.
const (
	markExif         = "exif"
	markDevice       = "device"
	markVerification = "verification"
)

type mapMarker struct {
	Kind    string
	Label   string
	X, Y    float64
	Outside bool    // outside the geofence
	Off     bool    // beyond the frame, pinned to its edge
	DistM   float64 // from the site centre
	AccR    float64 // the device's accuracy, drawn as a ring (0: none)
}

type scaleBar struct {
	X, Y, Len float64
	Label     string
}

// mapPoint is a position to plot, in metres east and north of the centre.
type mapPoint struct {
	mapMarker
	east, north, accM float64
	link              int // index of the EXIF point of the same photo, or -1
}

// buildMap lays out the site's geofence and the given points.
func buildMap(s models.Site, pts []mapPoint) siteMap {
	proj := projection(s)
	// The frame holds the geofence and every point near it; a point far
	// off (an EXIF position kilometres away) would shrink the site to a
	// dot, so it is pinned to the edge instead.
	minX, maxX, minY, maxY := -10.0, 10.0, -10.0, 10.0
	grow := func(x, y float64) {
		minX, maxX, minY, maxY = math.Min(minX, x), math.Max(maxX, x), math.Min(minY, y), math.Max(maxY, y)
	}
	var rings [][][2]float64
	if s.Polygon != nil && len(s.Polygon.Coordinates) > 0 {
		for _, ring := range s.Polygon.Coordinates {
			var r [][2]float64
			for _, p := range ring {
				x, y := proj(p[1], p[0])
				grow(x, y)
				r = append(r, [2]float64{x, y})
			}
			rings = append(rings, r)
		}
	} else {
		grow(-s.RadiusM, -s.RadiusM)
		grow(s.RadiusM, s.RadiusM)
	}
	fence := math.Max(math.Max(-minX, maxX), math.Max(-minY, maxY))
	limit := math.Max(6*fence, 300)
	for i := range pts {
		p := &pts[i]
		p.DistM = math.Hypot(p.east, p.north)
		if p.DistM <= limit {
			grow(p.east, p.north)
		} else {
			p.Off = true
		}
	}
	padM := math.Max(0.12*math.Max(maxX-minX, maxY-minY), 15)
	minX, maxX, minY, maxY = minX-padM, maxX+padM, minY-padM, maxY+padM
	scale := math.Min((mapW-2*mapPad)/(maxX-minX), (mapH-2*mapPad)/(maxY-minY))
	ox := (mapW - (maxX-minX)*scale) / 2
	oy := (mapH - (maxY-minY)*scale) / 2
	px := func(x, y float64) svgPoint {
		return svgPoint{X: round1(ox + (x-minX)*scale), Y: round1(oy + (maxY-y)*scale)}
	}

	m := siteMap{Site: s, Centre: px(0, 0)}
	if rings != nil {
		for _, r := range rings {
			var b strings.Builder
			for i, p := range r {
				q := px(p[0], p[1])
				if i > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%g,%g", q.X, q.Y)
			}
			m.Rings = append(m.Rings, b.String())
		}
	} else {
		m.Circle = &svgCircle{CX: m.Centre.X, CY: m.Centre.Y, R: round1(s.RadiusM * scale)}
	}
	for i := range pts {
		p := &pts[i]
		var q svgPoint
		if p.Off {
			q = edgePoint(m.Centre, p.east, -p.north)
			m.OffMap++
		} else {
			q = px(p.east, p.north)
			if p.accM > 0 && p.accM <= limit {
				p.AccR = round1(p.accM * scale)
			}
		}
		p.X, p.Y = q.X, q.Y
		m.Markers = append(m.Markers, p.mapMarker)
	}
	for i, p := range pts {
		if p.link >= 0 {
			e := m.Markers[p.link]
			m.Links = append(m.Links, svgLine{X1: e.X, Y1: e.Y, X2: m.Markers[i].X, Y2: m.Markers[i].Y})
		}
	}
	m.Scale = newScaleBar(scale)
	return m
}

// projection maps positions to metres east and north of the site centre.
func projection(s models.Site) func(lat, lng float64) (east, north float64) {
	rad := math.Pi / 180
	kx := models.EarthRadiusM * rad * math.Cos(s.Lat*rad)
	ky := models.EarthRadiusM * rad
	return func(lat, lng float64) (float64, float64) { return (lng - s.Lng) * kx, (lat - s.Lat) * ky }
}

// edgePoint is where a ray from c in direction (dx, dy) (canvas axes)
// meets the frame, inset so that a marker there stays visible.
func edgePoint(c svgPoint, dx, dy float64) svgPoint {
	const inset = 18
	t := math.Inf(1)
	if dx > 0 {
		t = math.Min(t, (mapW-inset-c.X)/dx)
	} else if dx < 0 {
		t = math.Min(t, (inset-c.X)/dx)
	}
	if dy > 0 {
		t = math.Min(t, (mapH-inset-c.Y)/dy)
	} else if dy < 0 {
		t = math.Min(t, (inset-c.Y)/dy)
	}
	if math.IsInf(t, 1) {
		return c
	}
	return svgPoint{X: round1(c.X + t*dx), Y: round1(c.Y + t*dy)}
}

// newScaleBar picks a round length (1, 2 or 5 × 10ⁿ m) of about a fifth
// of the canvas.
func newScaleBar(pxPerM float64) scaleBar {
	target := mapW / 5 / pxPerM
	step := math.Pow(10, math.Floor(math.Log10(target)))
	length := step
	for _, f := range []float64{2, 5, 10} {
		if f*step <= target {
			length = f * step
		}
	}
	return scaleBar{X: 20, Y: mapH - 18, Len: round1(length * pxPerM), Label: metres(length)}
}

// metres writes a distance for people: metres up to a kilometre, then km.
func metres(m float64) string {
	switch {
	case m >= 10000:
		return fmt.Sprintf("%.0f km", m/1000)
	case m >= 1000:
		return fmt.Sprintf("%.1f km", m/1000)
	case m >= 10:
		return fmt.Sprintf("%.0f m", m)
	default:
		return fmt.Sprintf("%.1f m", m)
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
