package models

import (
	"encoding/json"
	"math"
)

// EarthRadiusM is the mean Earth radius used for distances.
const EarthRadiusM = 6371008.8

// MaxPolygonPoints bounds the size of a geofence polygon.
const MaxPolygonPoints = 1000

// Polygon is a GeoJSON Polygon geometry: an outer ring and optional holes,
// each a closed ring of [lng, lat] positions (WGS-84).
type Polygon struct {
	Type        string         `json:"type"`
	Coordinates [][][2]float64 `json:"coordinates"`
}

// UnmarshalJSON reads a GeoJSON Polygon, refusing a position that is not
// two or three numbers ([lng, lat] or [lng, lat, altitude]): decoded into
// [2]float64 directly, a short one would silently become a vertex at 0°
// and extra numbers would vanish.
func (p *Polygon) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type        string        `json:"type"`
		Coordinates [][][]float64 `json:"coordinates"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := Polygon{Type: raw.Type, Coordinates: make([][][2]float64, len(raw.Coordinates))}
	for i, ring := range raw.Coordinates {
		out.Coordinates[i] = make([][2]float64, len(ring))
		for j, pos := range ring {
			if len(pos) < 2 || len(pos) > 3 {
				return FieldError(CodeGeofenceInvalid, "polygon.coordinates",
					"ring %d position %d has %d numbers; a position is [lng, lat] or [lng, lat, altitude]", i, j, len(pos))
			}
			out.Coordinates[i][j] = [2]float64{pos[0], pos[1]}
		}
	}
	*p = out
	return nil
}

// ValidateLatLng checks a WGS-84 position.
func ValidateLatLng(lat, lng float64, field string) error {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return FieldError(CodeLatOutOfRange, field+"lat", "latitude %v is outside -90..90", lat)
	}
	if math.IsNaN(lng) || lng < -180 || lng > 180 {
		return FieldError(CodeLngOutOfRange, field+"lng", "longitude %v is outside -180..180", lng)
	}
	return nil
}

// Validate checks that p is a GeoJSON Polygon (RFC 7946 §3.1.6) that a
// geofence can rely on: rings closed, of at least four positions within
// WGS-84 bounds, each simple (see checkRing), none touching another, and
// every hole inside the outer ring and outside the other holes.
func (p *Polygon) Validate() error {
	if p.Type != "Polygon" {
		return FieldError(CodeGeofenceInvalid, "polygon.type", "geofence polygon must have type \"Polygon\", not %q", p.Type)
	}
	if len(p.Coordinates) == 0 {
		return FieldError(CodePolygonTooFewPoints, "polygon.coordinates", "polygon has no ring")
	}
	total := 0
	for i, ring := range p.Coordinates {
		total += len(ring)
		if total > MaxPolygonPoints {
			return FieldError(CodePolygonTooManyPoints, "polygon.coordinates", "polygon has more than %d points", MaxPolygonPoints)
		}
		if len(ring) < 4 {
			return FieldError(CodePolygonTooFewPoints, "polygon.coordinates", "ring %d has %d positions; a closed ring needs at least 4", i, len(ring))
		}
		for _, pt := range ring {
			if err := ValidateLatLng(pt[1], pt[0], "polygon."); err != nil {
				return err
			}
		}
		if ring[0] != ring[len(ring)-1] {
			return FieldError(CodePolygonNotClosed, "polygon.coordinates", "ring %d is not closed: its first and last positions differ", i)
		}
		if err := checkRing(i, ring); err != nil {
			return err
		}
	}
	return checkHoles(p.Coordinates)
}

// DistanceM returns the great-circle distance in metres between two
// WGS-84 positions (haversine).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// ValidateGeofence checks a site's position and geofence: a positive
// radius, or a valid polygon, or both.
func (s *Site) ValidateGeofence() error {
	if err := ValidateLatLng(s.Lat, s.Lng, ""); err != nil {
		return err
	}
	if math.IsNaN(s.RadiusM) || s.RadiusM < 0 || s.RadiusM > 100000 {
		return FieldError(CodeGeofenceInvalid, "radius_m", "radius_m must be between 0 and 100000 metres")
	}
	if s.Polygon != nil {
		return s.Polygon.Validate()
	}
	if s.RadiusM == 0 {
		return FieldError(CodeGeofenceMissing, "radius_m", "a site needs a geofence: radius_m or polygon")
	}
	return nil
}

// DistanceOutsideM returns how far (metres) a position lies outside the
// site's geofence; 0 means inside. With a polygon, the polygon decides.
func (s *Site) DistanceOutsideM(lat, lng float64) float64 {
	if s.Polygon != nil && len(s.Polygon.Coordinates) > 0 {
		return polygonDistanceM(s.Polygon, lat, lng)
	}
	return math.Max(0, DistanceM(s.Lat, s.Lng, lat, lng)-s.RadiusM)
}

// polygonDistanceM projects the polygon onto a local plane around the
// point (equirectangular; exact enough at site scale) and returns 0 inside
// the outer ring and outside every hole, else the distance to the nearest
// edge.
func polygonDistanceM(p *Polygon, lat, lng float64) float64 {
	rad := math.Pi / 180
	kx := EarthRadiusM * rad * math.Cos(lat*rad)
	ky := EarthRadiusM * rad
	proj := func(pt [2]float64) [2]float64 { return [2]float64{(pt[0] - lng) * kx, (pt[1] - lat) * ky} }
	inside := false
	nearest := math.Inf(1)
	for i, ring := range p.Coordinates {
		in := false
		for j := 0; j+1 < len(ring); j++ {
			a, b := proj(ring[j]), proj(ring[j+1])
			nearest = math.Min(nearest, pointSegmentDist(a, b))
			if (a[1] > 0) != (b[1] > 0) && 0 < (b[0]-a[0])*(0-a[1])/(b[1]-a[1])+a[0] {
				in = !in
			}
		}
		if i == 0 {
			inside = in
		} else if in {
			inside = false
		}
	}
	if inside {
		return 0
	}
	return nearest
}

// pointSegmentDist is the distance from the origin to segment ab.
func pointSegmentDist(a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, -(a[0]*dx+a[1]*dy)/l2))
	}
	return math.Hypot(a[0]+t*dx, a[1]+t*dy)
}
