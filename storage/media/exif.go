package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"strings"
	"sync"
	"time"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"

	"github.com/fieldsync/fieldsync/models"
)

// maxExifBytes bounds the TIFF blob handed to the EXIF parser. A JPEG APP1
// segment holds at most 64 KiB; PNG eXIf and HEIF Exif items are not
// limited by their format, but real ones are far smaller than this.
const maxExifBytes = 1 << 20

// exifInfo is what Analyze keeps from EXIF.
type exifInfo struct {
	hasGPS      bool
	lat, lng    float64
	altitude    *float64
	takenAt     *time.Time
	takenLocal  bool
	make, model string
	orientation int
}

func applyExif(info *models.MediaInfo, x exifInfo) {
	info.HasGPS, info.Lat, info.Lng, info.AltitudeM = x.hasGPS, x.lat, x.lng, x.altitude
	info.TakenAt, info.TakenAtLocal = x.takenAt, x.takenLocal
	info.Make, info.Model = x.make, x.model
	info.Orientation = x.orientation
}

// jpegExif returns the TIFF blob of the first APP1 "Exif" segment before
// the scan data, or nil.
func jpegExif(data []byte) []byte {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return nil // not at a marker: malformed
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8): // TEM, RSTn, SOI: no length
			i += 2
			continue
		case marker == 0xD9 || marker == 0xDA: // EOI, SOS: no metadata after this
			return nil
		}
		n := int(binary.BigEndian.Uint16(data[i+2 : i+4]))
		if n < 2 || i+2+n > len(data) {
			return nil
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the contents of the eXIf chunk (a TIFF blob), or nil.
// Chunks are walked up to IEND; a chunk whose CRC does not match is not
// used.
func pngExif(data []byte) []byte {
	i := len(pngMagic)
	for i+12 <= len(data) {
		n := binary.BigEndian.Uint32(data[i : i+4])
		if uint64(n) > uint64(len(data)-i-12) {
			return nil
		}
		typ := string(data[i+4 : i+8])
		body := data[i+8 : i+8+int(n)]
		switch typ {
		case "eXIf":
			crc := binary.BigEndian.Uint32(data[i+8+int(n) : i+12+int(n)])
			if crc32.ChecksumIEEE(data[i+4:i+8+int(n)]) != crc {
				return nil
			}
			return body
		case "IEND":
			return nil
		}
		i += 12 + int(n)
	}
	return nil
}

var (
	exifTablesOnce sync.Once
	exifMapping    *exifcommon.IfdMapping
	exifTags       *exif.TagIndex
	exifTablesErr  error
)

// exifTables loads go-exif's IFD and tag tables once. The tag index loads
// itself lazily on first use without locking, so it is filled here, before
// any concurrent use; afterwards it is only read.
func exifTables() (*exifcommon.IfdMapping, *exif.TagIndex, error) {
	exifTablesOnce.Do(func() {
		exifMapping, exifTablesErr = exifcommon.NewIfdMappingWithStandard()
		if exifTablesErr != nil {
			return
		}
		ti := exif.NewTagIndex()
		// Accept tags whose stored type differs from the standard one:
		// phones write GPS coordinates as SRATIONAL (the Nokia 8.3 test
		// photo does), which the strict index would silently drop.
		ti.SetUniversalSearch(true)
		if exifTablesErr = exif.LoadStandardTags(ti); exifTablesErr == nil {
			exifTags = ti
		}
	})
	return exifMapping, exifTags, exifTablesErr
}

// readExif parses a TIFF-structured EXIF blob. Anything wrong with it —
// including a panic inside the parser — yields what was read so far or
// nothing; it never fails the analysis.
func readExif(blob []byte) (x exifInfo) {
	if len(blob) < 8 || len(blob) > maxExifBytes {
		return exifInfo{}
	}
	defer func() {
		if recover() != nil {
			x = exifInfo{}
		}
	}()
	im, ti, err := exifTables()
	if err != nil {
		return exifInfo{}
	}
	blob = sanitizeExif(blob)
	_, index, err := exif.Collect(im, ti, blob)
	if err != nil || index.RootIfd == nil {
		return exifInfo{}
	}
	root := index.RootIfd
	t := tagReader{limit: uint64(len(blob))}

	x.make = t.ascii(root, 0x010F)
	x.model = t.ascii(root, 0x0110)
	if o, ok := t.uint(root, 0x0112); ok && o >= 1 && o <= 8 {
		x.orientation = int(o)
	}
	if sub, err := root.ChildWithIfdPath(exifcommon.IfdExifStandardIfdIdentity); err == nil && sub != nil {
		x.takenAt, x.takenLocal = exifTime(t.ascii(sub, 0x9003), t.ascii(sub, 0x9011))
	}
	if gps, err := root.ChildWithIfdPath(exifcommon.IfdGpsInfoStandardIfdIdentity); err == nil && gps != nil {
		readGPS(t, gps, &x)
	}
	return x
}

// readGPS fills the position only when latitude, longitude and both
// hemisphere references are present and in range, and the receiver did not
// mark the measurement void (GPSStatus "V"): a position without its sign is
// worse than none for evidence.
func readGPS(t tagReader, gps *exif.Ifd, x *exifInfo) {
	if strings.EqualFold(t.ascii(gps, 0x0009), "V") {
		return
	}
	lat, ok1 := t.degrees(gps, 0x0002)
	lng, ok2 := t.degrees(gps, 0x0004)
	latRef := strings.ToUpper(t.ascii(gps, 0x0001))
	lngRef := strings.ToUpper(t.ascii(gps, 0x0003))
	if !ok1 || !ok2 || lat > 90 || lng > 180 {
		return
	}
	switch latRef {
	case "N":
	case "S":
		lat = -lat
	default:
		return
	}
	switch lngRef {
	case "E":
	case "W":
		lng = -lng
	default:
		return
	}
	x.hasGPS, x.lat, x.lng = true, lat, lng

	if alt, ok := t.rationals(gps, 0x0006); ok && len(alt) == 1 && !math.IsNaN(alt[0]) {
		v := alt[0]
		// GPSAltitudeRef: 0 above sea level (the default), 1 below.
		if ref, ok := t.uint(gps, 0x0005); ok && ref == 1 {
			v = -v
		}
		x.altitude = &v
	}
}

// exifTime parses DateTimeOriginal ("2006:01:02 15:04:05") with
// OffsetTimeOriginal ("+02:00"). Without a usable offset the wall time is
// read as UTC and local is true.
func exifTime(dt, offset string) (t *time.Time, local bool) {
	dt = strings.TrimSpace(dt)
	if dt == "" || strings.HasPrefix(dt, "0000") {
		return nil, false
	}
	var parsed time.Time
	var err error
	for _, layout := range []string{"2006:01:02 15:04:05", "2006-01-02 15:04:05", "2006:01:02T15:04:05", "2006-01-02T15:04:05"} {
		if parsed, err = time.Parse(layout, dt); err == nil {
			break
		}
	}
	if err != nil {
		return nil, false
	}
	local = true
	if secs, ok := parseOffset(offset); ok {
		parsed = time.Date(parsed.Year(), parsed.Month(), parsed.Day(),
			parsed.Hour(), parsed.Minute(), parsed.Second(), 0, time.FixedZone("", secs))
		local = false
	}
	if !models.StorableTime(parsed) {
		// A camera's year 9999 at -14:00 is the year 10000 in UTC: the
		// database could not store it, and completing the evidence
		// would fail on every retry. Such a time says nothing anyway.
		return nil, false
	}
	return &parsed, local
}

// parseOffset reads "+HH:MM" / "-HH:MM" (also without the colon, or "Z").
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "Z" {
		return 0, true
	}
	s = strings.Replace(s, ":", "", 1)
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	h := int(s[1]-'0')*10 + int(s[2]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 14 || m > 59 {
		return 0, false
	}
	secs := h*3600 + m*60
	if s[0] == '-' {
		secs = -secs
	}
	return secs, true
}

// tagReader reads tag values, refusing any whose declared size exceeds the
// blob: go-exif allocates count×size bytes before it notices that the data
// is not there, so a 12-byte entry could otherwise ask for 32 GiB.
type tagReader struct{ limit uint64 }

func (t tagReader) value(ifd *exif.Ifd, id uint16) (any, bool) {
	entries, err := ifd.FindTagWithId(id)
	if err != nil || len(entries) == 0 {
		return nil, false
	}
	ite := entries[0]
	typ := ite.TagType()
	if !typ.IsValid() || typ == exifcommon.TypeUndefined {
		return nil, false
	}
	if uint64(ite.UnitCount())*uint64(typ.Size()) > t.limit {
		return nil, false
	}
	v, err := ite.Value()
	if err != nil {
		return nil, false
	}
	return v, true
}

func (t tagReader) ascii(ifd *exif.Ifd, id uint16) string {
	v, ok := t.value(ifd, id)
	if !ok {
		return ""
	}
	s, _ := v.(string)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.ToValidUTF8(s, ""))
}

func (t tagReader) uint(ifd *exif.Ifd, id uint16) (uint64, bool) {
	v, ok := t.value(ifd, id)
	if !ok {
		return 0, false
	}
	switch v := v.(type) {
	case []uint8:
		if len(v) > 0 {
			return uint64(v[0]), true
		}
	case []uint16:
		if len(v) > 0 {
			return uint64(v[0]), true
		}
	case []uint32:
		if len(v) > 0 {
			return uint64(v[0]), true
		}
	}
	return 0, false
}

// rationals returns each value as a float; NaN for a zero denominator
// (or a negative signed one).
func (t tagReader) rationals(ifd *exif.Ifd, id uint16) ([]float64, bool) {
	v, ok := t.value(ifd, id)
	if !ok {
		return nil, false
	}
	var out []float64
	switch rs := v.(type) {
	case []exifcommon.Rational:
		for _, r := range rs {
			f := math.NaN()
			if r.Denominator != 0 {
				f = float64(r.Numerator) / float64(r.Denominator)
			}
			out = append(out, f)
		}
	case []exifcommon.SignedRational:
		// Written by some phones where the standard says RATIONAL. A
		// negative part is not meaningful (the sign is in the Ref tags).
		for _, r := range rs {
			f := math.NaN()
			if r.Denominator > 0 && r.Numerator >= 0 {
				f = float64(r.Numerator) / float64(r.Denominator)
			}
			out = append(out, f)
		}
	default:
		return nil, false
	}
	return out, true
}

// degrees reads a GPS coordinate: three rationals, degrees, minutes and
// seconds.
func (t tagReader) degrees(ifd *exif.Ifd, id uint16) (float64, bool) {
	rs, ok := t.rationals(ifd, id)
	if !ok || len(rs) != 3 {
		return 0, false
	}
	d, m, s := rs[0], rs[1], rs[2]
	v := d + m/60 + s/3600
	if math.IsNaN(v) || m >= 60 || s >= 60 {
		return 0, false
	}
	return v, true
}

// sanitizeExif returns blob, or a patched copy of it, such that go-exif's
// Collect cannot be made to allocate more than the blob holds. Collect
// reads one value by itself: the IFD1 thumbnail, whose length
// (JPEGInterchangeFormatLength, 0x0202) it trusts and allocates before
// reading. An entry that declares more than one value, or a length that
// reaches past the blob from any thumbnail offset (0x0201), is rewritten
// as LONG×1 = 0: the thumbnail is dropped, the rest of the EXIF is kept.
func sanitizeExif(blob []byte) []byte {
	var bo binary.ByteOrder
	switch {
	case bytes.HasPrefix(blob, []byte("II*\x00")):
		bo = binary.LittleEndian
	case bytes.HasPrefix(blob, []byte("MM\x00*")):
		bo = binary.BigEndian
	default:
		return blob
	}
	entries := func(off uint32) (start, count int, next uint32, ok bool) {
		if uint64(off)+2 > uint64(len(blob)) {
			return 0, 0, 0, false
		}
		count = int(bo.Uint16(blob[off:]))
		start = int(off) + 2
		end := start + 12*count
		if end+4 > len(blob) {
			return start, count, 0, false
		}
		return start, count, bo.Uint32(blob[end:]), true
	}
	_, _, ifd1, ok := entries(bo.Uint32(blob[4:8]))
	if !ok || ifd1 == 0 {
		return blob
	}
	start, count, _, ok := entries(ifd1)
	if !ok {
		return blob
	}
	var maxOff uint64
	for i := 0; i < count; i++ {
		e := blob[start+12*i : start+12*i+12]
		if bo.Uint16(e) == 0x0201 {
			maxOff = max(maxOff, uint64(bo.Uint32(e[8:])))
		}
	}
	var patched []byte
	for i := 0; i < count; i++ {
		at := start + 12*i
		e := blob[at : at+12]
		if bo.Uint16(e) != 0x0202 {
			continue
		}
		typ, n, length := bo.Uint16(e[2:]), bo.Uint32(e[4:]), uint64(bo.Uint32(e[8:]))
		if typ == uint16(exifcommon.TypeLong) && n == 1 && maxOff+length <= uint64(len(blob)) {
			continue
		}
		if patched == nil {
			patched = bytes.Clone(blob)
		}
		pe := patched[at : at+12]
		bo.PutUint16(pe[2:], uint16(exifcommon.TypeLong))
		bo.PutUint32(pe[4:], 1)
		bo.PutUint32(pe[8:], 0)
	}
	if patched != nil {
		return patched
	}
	return blob
}
