// Package exifjpeg writes the EXIF block a phone puts in a photo (make,
// model, time taken with its offset, GPS position) into a JPEG. fieldsim
// stamps its generated photos with it, the demo its shipped ones, so that
// the server's evidence analysis reads a position and a time as from a
// real phone.
package exifjpeg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// Camera is what a photo says took it.
type Camera struct{ Make, Model string }

// Stamp returns jpg with an APP1 "Exif" segment right after its SOI
// marker giving camera, the time taken (in taken's zone, with its offset)
// and the position. jpg should carry no EXIF of its own: readers take the
// first.
func Stamp(jpg []byte, camera Camera, lat, lng float64, taken time.Time) ([]byte, error) {
	tiff, err := block(camera, lat, lng, taken)
	if err != nil {
		return nil, err
	}
	return withExif(jpg, tiff)
}

// withExif puts an APP1 "Exif" segment holding tiff right after the
// JPEG's SOI marker, where readers look for it.
func withExif(jpg, tiff []byte) ([]byte, error) {
	if len(jpg) < 2 || jpg[0] != 0xFF || jpg[1] != 0xD8 {
		return nil, errors.New("not a JPEG")
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	if len(payload)+2 > math.MaxUint16 {
		return nil, errors.New("EXIF block too large for one APP1 segment")
	}
	out := make([]byte, 0, len(jpg)+len(payload)+4)
	out = append(out, 0xFF, 0xD8, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	out = append(out, payload...)
	return append(out, jpg[2:]...), nil
}

// block encodes the TIFF structure of a phone photo's EXIF: make and
// model, DateTimeOriginal with OffsetTimeOriginal, and the GPS position.
func block(camera Camera, lat, lng float64, taken time.Time) ([]byte, error) {
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		return nil, err
	}
	order := binary.BigEndian
	root := exif.NewIfdBuilder(im, exif.NewTagIndex(), exifcommon.IfdStandardIfdIdentity, order)
	sub, err := exif.GetOrCreateIbFromRootIb(root, "IFD/Exif")
	if err != nil {
		return nil, err
	}
	gps, err := exif.GetOrCreateIbFromRootIb(root, "IFD/GPSInfo")
	if err != nil {
		return nil, err
	}
	latRef, lngRef := "N", "E"
	if lat < 0 {
		latRef = "S"
	}
	if lng < 0 {
		lngRef = "W"
	}
	for _, t := range []struct {
		ib    *exif.IfdBuilder
		name  string
		value any
	}{
		{root, "Make", camera.Make},
		{root, "Model", camera.Model},
		{sub, "DateTimeOriginal", taken.Format("2006:01:02 15:04:05")},
		{gps, "GPSVersionID", []byte{2, 3, 0, 0}},
		{gps, "GPSLatitudeRef", latRef},
		{gps, "GPSLatitude", dms(lat)},
		{gps, "GPSLongitudeRef", lngRef},
		{gps, "GPSLongitude", dms(lng)},
	} {
		if err := t.ib.SetStandardWithName(t.name, t.value); err != nil {
			return nil, fmt.Errorf("exif %s: %w", t.name, err)
		}
	}
	// OffsetTimeOriginal (EXIF 2.31) is not in go-exif's tag table; it is
	// an ASCII tag like any other.
	offset := exif.NewBuilderTag(sub.IfdIdentity().UnindexedString(), 0x9011, exifcommon.TypeAscii,
		exif.NewIfdBuilderTagValueFromBytes([]byte(taken.Format("-07:00")+"\x00")), order)
	if err := sub.Add(offset); err != nil {
		return nil, err
	}
	return exif.NewIfdByteEncoder().EncodeToExif(root)
}

// dms writes a coordinate as degrees, minutes and seconds (to 1/10000 s).
func dms(v float64) []exifcommon.Rational {
	v = math.Abs(v)
	deg := math.Floor(v)
	m := math.Floor((v - deg) * 60)
	s := ((v-deg)*60 - m) * 60
	return []exifcommon.Rational{{Numerator: uint32(deg), Denominator: 1}, {Numerator: uint32(m), Denominator: 1},
		{Numerator: uint32(math.Round(s * 10000)), Denominator: 10000}}
}

// OffsetMetres moves a position by north and east metres.
func OffsetMetres(lat, lng, north, east float64) (float64, float64) {
	const r = 6371000.0
	return lat + north/r*180/math.Pi, lng + east/(r*math.Cos(lat*math.Pi/180))*180/math.Pi
}
