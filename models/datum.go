package models

import "math"

// Map datums a device may report its position in. Phones' own GPS and
// photos' EXIF are WGS-84; Chinese location SDKs (AMap, Tencent) answer
// in GCJ-02 by default, Baidu's in BD-09, hundreds of metres away.
const (
	DatumWGS84 = "wgs84"
	DatumGCJ02 = "gcj02"
	DatumBD09  = "bd09"
)

// Datums lists the datums the API accepts.
var Datums = []string{DatumWGS84, DatumGCJ02, DatumBD09}

// gcjA and gcjEE are the ellipsoid GCJ-02's published obfuscation uses
// (Krasovsky 1940): semi-major axis and first eccentricity squared.
const (
	gcjA  = 6378245.0
	gcjEE = 0.00669342162296594323
	// bdXPi is the angle factor of Baidu's BD-09 offset.
	bdXPi = math.Pi * 3000.0 / 180.0
)

// OutOfChina is the usual rectangle test for where GCJ-02 is not applied:
// outside mainland China's bounding box GCJ-02 equals WGS-84. (The box
// takes in some neighbours' border areas, as every published
// implementation does.)
func OutOfChina(lat, lng float64) bool {
	return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271
}

// WGS84ToGCJ02 applies the published GCJ-02 offset.
func WGS84ToGCJ02(lat, lng float64) (float64, float64) {
	if OutOfChina(lat, lng) {
		return lat, lng
	}
	dLat, dLng := gcjDelta(lat, lng)
	return lat + dLat, lng + dLng
}

// GCJ02ToWGS84 inverts WGS84ToGCJ02 by fixed-point iteration: the offset
// changes slowly with position, so each step corrects the guess by the
// error of its forward image, and a few steps reach millimetres.
func GCJ02ToWGS84(lat, lng float64) (float64, float64) {
	if OutOfChina(lat, lng) {
		return lat, lng
	}
	wLat, wLng := lat, lng
	for i := 0; i < 30; i++ {
		gLat, gLng := WGS84ToGCJ02(wLat, wLng)
		eLat, eLng := gLat-lat, gLng-lng
		wLat, wLng = wLat-eLat, wLng-eLng
		if math.Abs(eLat) < 1e-10 && math.Abs(eLng) < 1e-10 {
			break
		}
	}
	return wLat, wLng
}

// BD09ToGCJ02 removes Baidu's offset from a BD-09 position.
func BD09ToGCJ02(lat, lng float64) (float64, float64) {
	x, y := lng-0.0065, lat-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	return z * math.Sin(theta), z * math.Cos(theta)
}

// GCJ02ToBD09 applies Baidu's offset to a GCJ-02 position.
func GCJ02ToBD09(lat, lng float64) (float64, float64) {
	z := math.Sqrt(lng*lng+lat*lat) + 0.00002*math.Sin(lat*bdXPi)
	theta := math.Atan2(lat, lng) + 0.000003*math.Cos(lng*bdXPi)
	return z*math.Sin(theta) + 0.006, z*math.Cos(theta) + 0.0065
}

// BD09ToWGS84 is BD-09 → GCJ-02 → WGS-84.
func BD09ToWGS84(lat, lng float64) (float64, float64) {
	return GCJ02ToWGS84(BD09ToGCJ02(lat, lng))
}

// ToWGS84 converts a position in datum ("" is WGS-84) to WGS-84; an
// unknown datum is refused with CodeUnknownDatum naming field.
func ToWGS84(datum string, lat, lng float64, field string) (float64, float64, error) {
	switch datum {
	case "", DatumWGS84:
		return lat, lng, nil
	case DatumGCJ02:
		wLat, wLng := GCJ02ToWGS84(lat, lng)
		return wLat, wLng, nil
	case DatumBD09:
		wLat, wLng := BD09ToWGS84(lat, lng)
		return wLat, wLng, nil
	}
	return 0, 0, FieldError(CodeUnknownDatum, field, "datum %q is not one of wgs84, gcj02, bd09", datum)
}

// gcjDelta is GCJ-02's offset at a WGS-84 position, in degrees.
func gcjDelta(lat, lng float64) (float64, float64) {
	x, y := lng-105, lat-35
	dLat := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	dLat += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	dLat += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	dLat += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	dLng := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	dLng += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	dLng += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	dLng += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	rad := lat / 180 * math.Pi
	magic := 1 - gcjEE*math.Sin(rad)*math.Sin(rad)
	sq := math.Sqrt(magic)
	dLat = dLat * 180 / ((gcjA * (1 - gcjEE)) / (magic * sq) * math.Pi)
	dLng = dLng * 180 / (gcjA / sq * math.Cos(rad) * math.Pi)
	return dLat, dLng
}
