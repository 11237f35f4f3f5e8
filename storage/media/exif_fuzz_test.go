package media

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

// allocated runs fn and returns how many bytes it allocated. The fuzz
// targets run one input at a time, so other goroutines add little.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// exifAllocBound is what parsing a blob may allocate: go-exif builds an
// index of every entry (a few hundred bytes each, and a 12-byte entry per
// 12 bytes of blob at most), plus a fixed cost for its tables.
func exifAllocBound(n int) uint64 { return 4<<20 + 512*uint64(n) }

// FuzzReadExif: the EXIF reader on its own, with a TIFF blob as a photo's
// APP1 segment, PNG eXIf chunk or HEIF Exif item carries it. Whatever the
// bytes: no panic, an allocation bounded by the blob's size (go-exif
// trusts counts and lengths that sanitizeExif and tagReader must cap), and
// values a flag can be computed from: a position only with both
// hemispheres and within range, an orientation of 1 to 8, readable text,
// and the same answer twice. The seeds include whole APP1 segments of the
// shared photos; minimising an input that large takes long, so fuzz with
// -fuzzminimizetime=5s.
func FuzzReadExif(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(photosDir, "*.jpg"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if blob := jpegExif(b); blob != nil {
			f.Add(blob)
		}
	}
	gps := []tag{asciiTag(1, "S"), rationalTag(le, 2, 5, 43, 1, 28, 1, 2814, 100), asciiTag(3, "W"), rationalTag(le, 4, 10, 11, 1, 53, 1, 6455, 100),
		byteTag(5, 1), rationalTag(le, 6, 5, 125, 2)}
	for _, seed := range [][]byte{
		buildTIFF(le, []tag{asciiTag(0x010F, "Cam"), asciiTag(0x0110, "X\x00hidden"), shortTag(le, 0x0112, 8)},
			[]tag{asciiTag(0x9003, "2024:03:01 09:15:00"), asciiTag(0x9011, "-03:30")}, gps, nil),
		buildTIFF(le, nil, []tag{asciiTag(0x9003, "9999:12:31 23:59:59"), asciiTag(0x9011, "-14:00")}, nil, nil),
		buildTIFF(le, nil, []tag{asciiTag(0x9003, "0001:01:01 00:00:00"), asciiTag(0x9011, "+14:00")}, nil, nil),
		buildTIFF(binary.BigEndian, []tag{shortTag(binary.BigEndian, 0x0112, 9)}, nil, []tag{asciiTag(9, "V")}, nil),
		// A Make that claims four billion characters, and a thumbnail
		// length past the end of the blob.
		buildTIFF(le, []tag{{id: 0x010F, typ: 2, count: 0xFFFFFFFF, raw: le.AppendUint32(nil, 8)}}, nil, nil,
			[]tag{{id: 0x0201, typ: 4, count: 1, raw: le.AppendUint32(nil, 8)}, {id: 0x0202, typ: 4, count: 1, raw: le.AppendUint32(nil, 1<<30)}}),
		[]byte("II*\x00\x08\x00\x00\x00\xff\xff"),
		[]byte("MM\x00*\xff\xff\xff\xff"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		if len(blob) > maxExifBytes {
			t.Skip() // readExif does not parse these
		}
		var x exifInfo
		var grew uint64
		done := make(chan struct{})
		go func() {
			defer close(done)
			grew = allocated(func() { x = readExif(blob) })
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("parsing %d bytes of EXIF did not end within 5 s", len(blob))
		}
		if grew > exifAllocBound(len(blob)) {
			t.Fatalf("parsing %d bytes of EXIF allocated %d bytes", len(blob), grew)
		}
		if x.hasGPS {
			if math.IsNaN(x.lat) || math.IsNaN(x.lng) || math.Abs(x.lat) > 90 || math.Abs(x.lng) > 180 {
				t.Fatalf("position %v, %v", x.lat, x.lng)
			}
		} else if x.lat != 0 || x.lng != 0 {
			t.Fatalf("a position %v, %v without hasGPS", x.lat, x.lng)
		}
		if x.altitude != nil && (math.IsNaN(*x.altitude) || math.IsInf(*x.altitude, 0)) {
			t.Fatalf("altitude %v", *x.altitude)
		}
		if x.orientation < 0 || x.orientation > 8 {
			t.Fatalf("orientation %d", x.orientation)
		}
		if x.takenLocal && x.takenAt == nil {
			t.Fatal("takenLocal without takenAt")
		}
		if x.takenAt != nil && !models.StorableTime(*x.takenAt) {
			t.Fatalf("capture time %v, which the database cannot store", x.takenAt)
		}
		for _, s := range []string{x.make, x.model} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || s != strings.TrimSpace(s) || len(s) > len(blob) {
				t.Fatalf("text %q is not as a supervisor should see it", s)
			}
		}
		if again := readExif(blob); !sameExif(x, again) {
			t.Fatalf("read twice: %+v, then %+v", x, again)
		}
		// sanitizeExif never changes the length or the entries other
		// than the thumbnail's, and what it returns is safe as it is.
		s := sanitizeExif(blob)
		if len(s) != len(blob) || !bytes.Equal(sanitizeExif(s), s) {
			t.Fatalf("sanitizeExif is not a length-preserving fixed point")
		}
	})
}

func sameExif(a, b exifInfo) bool {
	eqT := a.takenAt == nil && b.takenAt == nil || a.takenAt != nil && b.takenAt != nil && a.takenAt.Equal(*b.takenAt)
	eqA := a.altitude == nil && b.altitude == nil || a.altitude != nil && b.altitude != nil && *a.altitude == *b.altitude
	a.takenAt, b.takenAt, a.altitude, b.altitude = nil, nil, nil, nil
	return eqT && eqA && a == b
}

// FuzzSniff: a type is reported only for bytes that carry its signature,
// and a refusal names what was found without echoing raw bytes into the
// message a device shows and the server logs.
func FuzzSniff(f *testing.F) {
	for _, seed := range [][]byte{jpegMagic, pngMagic, ftyp("heic", "mif1"), ftyp("avif"), ftyp("mif1"), ftyp("\x00\x1b[2J", "\r\n\x00\x07"),
		[]byte("II*\x00"), []byte("%PDF-1.7"), []byte("<html>"), {}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, err := sniff(data)
		if err != nil {
			if code(err) != models.CodeMediaUnsupported {
				t.Fatalf("refused with %v", err)
			}
			if msg := err.Error(); !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
				t.Fatalf("message %q echoes raw bytes", msg)
			}
			return
		}
		brands, isBMFF := ftypBrands(data)
		switch {
		case ct == ContentTypeJPEG && bytes.HasPrefix(data, jpegMagic),
			ct == ContentTypePNG && bytes.HasPrefix(data, pngMagic),
			ct == ContentTypeHEIC && isBMFF && hasAny(brands, heicBrands),
			ct == ContentTypeHEIF && isBMFF && hasAny(brands, heifBrands) && !hasAny(brands, avifBrands):
		default:
			t.Fatalf("sniffed %s from % x", ct, data[:min(len(data), 32)])
		}
	})
}

// Limits of FuzzHeaderDimensions: small, so that every accepted claim
// decodes quickly and every refused one is far from what a decoder would
// allocate.
const (
	fuzzMaxSide   = 512
	fuzzMaxPixels = 1 << 16
)

// FuzzHeaderDimensions: an image whose header claims more pixels than the
// limits is refused with media_too_large before any pixel buffer exists,
// whatever follows the header; one within them is reported with the size
// its header gives, or refused as unreadable.
func FuzzHeaderDimensions(f *testing.F) {
	f.Add(uint8(0), uint32(60000), uint32(60000), []byte{})
	f.Add(uint8(1), uint32(600), uint32(100), []byte{0xFF, 0xD9})
	f.Add(uint8(2), uint32(256), uint32(256), []byte{})
	f.Add(uint8(2), uint32(1<<31), uint32(3), []byte("Exif"))
	f.Add(uint8(0), uint32(32), uint32(24), []byte{})
	a := &Analyzer{MaxSide: fuzzMaxSide, MaxPixels: fuzzMaxPixels}
	f.Fuzz(func(t *testing.T, kind uint8, w, h uint32, tail []byte) {
		var data []byte
		switch kind % 3 {
		case 0:
			data = append(craftedPNG(w, h), tail...)
		case 1:
			if w > math.MaxUint16 || h > math.MaxUint16 {
				t.Skip() // a JPEG SOF holds 16-bit sizes
			}
			data = append(craftedJPEG(uint16(w), uint16(h), true), tail...)
		case 2:
			data = append(buildHEIC(w, h, nil), tail...)
		}
		var info models.MediaInfo
		var err error
		grew := allocated(func() { info, err = a.Analyze(bytes.NewReader(data), int64(len(data))) })
		tooLarge := int64(w) > fuzzMaxSide || int64(h) > fuzzMaxSide || int64(w)*int64(h) > fuzzMaxPixels
		if tooLarge && w > 0 && h > 0 {
			if code(err) != models.CodeMediaTooLarge && !(kind%3 == 0 && code(err) == models.CodeMediaUnreadable) {
				t.Fatalf("%dx%d: %v, want media_too_large", w, h, err)
			}
			if limit := 1<<20 + 4*uint64(len(data)); grew > limit {
				t.Fatalf("%dx%d: allocated %d bytes before refusing", w, h, grew)
			}
			return
		}
		if err == nil && kind%3 != 2 && (info.Width != int(w) || info.Height != int(h)) {
			t.Fatalf("header %dx%d, reported %dx%d", w, h, info.Width, info.Height)
		}
		if err != nil {
			switch code(err) {
			case models.CodeMediaUnreadable, models.CodeMediaTooLarge, models.CodeMediaUnsupported:
			default:
				t.Fatalf("%dx%d: %v", w, h, err)
			}
		}
	})
}
