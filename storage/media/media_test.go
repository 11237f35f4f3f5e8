package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/fieldsync/fieldsync/models"
)

var le, bigEnd = binary.LittleEndian, binary.BigEndian

// TestReadmeTable checks every value of the table in
// testdata/photos/README.md (exiftool -n) against Analyze. The
// README's "camera" column is a human summary; the exact EXIF Make and
// Model strings are spelled out here.
func TestReadmeTable(t *testing.T) {
	type row struct {
		file        string
		gps         bool
		lat, lng    float64
		taken       string // wall time, "" when absent
		offset      int    // seconds east of UTC when EXIF gives an offset
		hasOffset   bool
		make, model string
		orientation int
		w, h        int
		wantErr     models.Code
	}
	rows := []row{
		{file: "DSCN0010.jpg", gps: true, lat: 43.4674483, lng: 11.8851267, taken: "2008-10-22 16:28:39", make: "NIKON", model: "COOLPIX P6000", orientation: 1, w: 640, h: 480},
		{file: "DSCN0012.jpg", gps: true, lat: 43.4671567, lng: 11.8853950, taken: "2008-10-22 16:29:49", make: "NIKON", model: "COOLPIX P6000", orientation: 1, w: 640, h: 480},
		{file: "DSCN0021.jpg", gps: true, lat: 43.4670817, lng: 11.8845383, taken: "2008-10-22 16:38:20", make: "NIKON", model: "COOLPIX P6000", orientation: 1, w: 640, h: 480},
		{file: "DSCN0025.jpg", gps: true, lat: 43.4683650, lng: 11.8816350, taken: "2008-10-22 16:43:21", make: "NIKON", model: "COOLPIX P6000", orientation: 1, w: 640, h: 480},
		// GPS stored as SRATIONAL, DateTimeOriginal with OffsetTimeOriginal +03:00.
		{file: "HMD_Nokia_8.3_5G.jpg", gps: true, lat: 60.1467056, lng: 24.9067722, taken: "2022-08-14 14:12:31", offset: 3 * 3600, hasOffset: true, make: "HMD Global", model: "Nokia 8.3 5G", orientation: 1, w: 4608, h: 1976},
		{file: "jolla.jpg", taken: "2014-09-21 16:00:56", make: "Jolla", model: "Jolla", orientation: 1, w: 3264, h: 2448},
		{file: "Canon_40D.jpg", taken: "2008-05-30 15:56:01", make: "Canon", model: "Canon EOS 40D", orientation: 1, w: 100, h: 68},
		{file: "orientation_landscape_6.jpg", orientation: 6, w: 450, h: 600},
		{file: "orientation_portrait_8.jpg", orientation: 8, w: 600, h: 450},
		// Truncated body: the header and EXIF are read, the pixels are not.
		{file: "corrupted.jpg", taken: "2015-09-08 11:02:17", make: "OLYMPUS IMAGING CORP.", model: "u1020,S1020", orientation: 1, w: 3648, h: 2736, wantErr: models.CodeMediaUnreadable},
		// "Broken EXIF" in the README: these files carry no EXIF APP1 at
		// all (only an XMP APP1 packet), so there is nothing to read; the
		// pixels decode.
		{file: "invalid_image00971.jpg", w: 636, h: 227},
		{file: "invalid_image01088.jpg", w: 425, h: 120},
	}
	a := New()
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			info, err := analyze(t, a, readPhoto(t, r.file))
			if r.wantErr != "" {
				wantCode(t, err, r.wantErr)
			} else if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if info.ContentType != ContentTypeJPEG {
				t.Errorf("ContentType = %q", info.ContentType)
			}
			if info.Width != r.w || info.Height != r.h {
				t.Errorf("size = %dx%d, want %dx%d", info.Width, info.Height, r.w, r.h)
			}
			if info.HasGPS != r.gps {
				t.Errorf("HasGPS = %v, want %v", info.HasGPS, r.gps)
			}
			if r.gps && (math.Abs(info.Lat-r.lat) > 1e-6 || math.Abs(info.Lng-r.lng) > 1e-6) {
				t.Errorf("GPS = %.7f, %.7f, want %.7f, %.7f", info.Lat, info.Lng, r.lat, r.lng)
			}
			if !r.gps && (info.Lat != 0 || info.Lng != 0) {
				t.Errorf("GPS = %v, %v without HasGPS", info.Lat, info.Lng)
			}
			switch {
			case r.taken == "" && info.TakenAt != nil:
				t.Errorf("TakenAt = %v, want none", info.TakenAt)
			case r.taken != "" && info.TakenAt == nil:
				t.Errorf("TakenAt = nil, want %s", r.taken)
			case r.taken != "":
				if got := info.TakenAt.Format("2006-01-02 15:04:05"); got != r.taken {
					t.Errorf("TakenAt wall time = %s, want %s", got, r.taken)
				}
				_, off := info.TakenAt.Zone()
				if r.hasOffset {
					if info.TakenAtLocal || off != r.offset {
						t.Errorf("TakenAt = %v (local %v), want offset %ds", info.TakenAt, info.TakenAtLocal, r.offset)
					}
				} else if !info.TakenAtLocal || off != 0 || info.TakenAt.Location() != time.UTC {
					t.Errorf("TakenAt = %v (local %v), want UTC wall time with TakenAtLocal", info.TakenAt, info.TakenAtLocal)
				}
			}
			if info.Make != r.make || info.Model != r.model {
				t.Errorf("camera = %q %q, want %q %q", info.Make, info.Model, r.make, r.model)
			}
			if info.Orientation != r.orientation {
				t.Errorf("Orientation = %d, want %d", info.Orientation, r.orientation)
			}
			if info.AltitudeM != nil {
				t.Errorf("AltitudeM = %v; none of the photos has GPSAltitude", *info.AltitudeM)
			}
			if r.wantErr != "" {
				if info.PHash != nil || info.Thumbnail != nil {
					t.Errorf("PHash/Thumbnail set on error")
				}
				return
			}
			if info.PHash == nil || len(info.Thumbnail) == 0 {
				t.Fatalf("PHash %v, thumbnail %d bytes", info.PHash, len(info.Thumbnail))
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(info.Thumbnail))
			if err != nil {
				t.Fatalf("thumbnail is not a JPEG: %v", err)
			}
			dw, dh := r.w, r.h
			if r.orientation >= 5 {
				dw, dh = dh, dw
			}
			if ww, wh := fitSize(dw, dh, 320); cfg.Width != ww || cfg.Height != wh {
				t.Errorf("thumbnail %dx%d, want %dx%d", cfg.Width, cfg.Height, ww, wh)
			}
		})
	}
}

// TestUprightThumbnails checks the two orientation photos by content: the
// thumbnail must match the stored pixels turned as the EXIF 2.3 text
// defines orientations 6 and 8 (storeAs/displayAs in helpers_test.go,
// written without the imaging package), and must not match the picture
// turned the other way. It also checks a fact about the scene: bright sky
// is at the top of the upright photo. (Both thumbnails were also looked at:
// the "top/left/right/bottom" labels painted on them read upright.)
func TestUprightThumbnails(t *testing.T) {
	for _, tc := range []struct {
		file          string
		orientation   int
		wrong         int
		thumbW, thumb int
	}{
		{"orientation_landscape_6.jpg", 6, 8, 320, 240},
		{"orientation_portrait_8.jpg", 8, 6, 240, 320},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readPhoto(t, tc.file)
			info, err := analyze(t, New(), data)
			if err != nil {
				t.Fatal(err)
			}
			thumb, err := jpeg.Decode(bytes.NewReader(info.Thumbnail))
			if err != nil {
				t.Fatal(err)
			}
			if b := thumb.Bounds(); b.Dx() != tc.thumbW || b.Dy() != tc.thumb {
				t.Fatalf("thumbnail %v, want %dx%d (upright aspect)", b, tc.thumbW, tc.thumb)
			}
			stored, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			gx, gy := 8, 6
			if tc.thumbW < tc.thumb {
				gx, gy = 6, 8
			}
			got := blockLuma(thumb, gx, gy)
			right := meanAbsDiff(got, blockLuma(displayAs(stored, tc.orientation), gx, gy))
			wrong := meanAbsDiff(got, blockLuma(displayAs(stored, tc.wrong), gx, gy))
			t.Logf("mean luma difference of %dx%d blocks: %.1f against the EXIF-defined rotation, %.1f against the opposite one", gx, gy, right, wrong)
			if right > 6 || wrong < 4*right {
				t.Errorf("thumbnail does not match the upright picture: diff %.1f (opposite rotation %.1f)", right, wrong)
			}
			var top, bottom float64
			for x := 0; x < gx; x++ {
				top += got[x] / float64(gx)
				bottom += got[(gy-1)*gx+x] / float64(gx)
			}
			t.Logf("top row luma %.0f, bottom row luma %.0f", top, bottom)
			if top < bottom+20 {
				t.Errorf("sky is not at the top: top luma %.0f, bottom %.0f", top, bottom)
			}
		})
	}
}

// TestAllOrientations stores a four-colour picture as a camera would for
// each EXIF orientation 1..8 and checks that the thumbnail comes out
// upright (colour of each quadrant), in JPEG, and in PNG with eXIf.
func TestAllOrientations(t *testing.T) {
	up := quadrants(64, 48)
	want := []struct {
		x, y int
		c    color.RGBA
	}{
		{16, 12, color.RGBA{255, 0, 0, 255}},
		{48, 12, color.RGBA{0, 255, 0, 255}},
		{16, 36, color.RGBA{0, 0, 255, 255}},
		{48, 36, color.RGBA{255, 255, 255, 255}},
	}
	a := New()
	for o := 1; o <= 8; o++ {
		stored := storeAs(up, o)
		for _, format := range []string{"jpeg", "png"} {
			var data []byte
			if format == "jpeg" {
				data = withJPEGExif(encodeJPEG(t, stored, 95), buildTIFF(le, []tag{shortTag(le, 0x0112, uint16(o))}, nil, nil, nil))
			} else {
				data = withPNGExif(encodePNG(t, stored), buildTIFF(bigEnd, []tag{shortTag(bigEnd, 0x0112, uint16(o))}, nil, nil, nil))
			}
			info, err := analyze(t, a, data)
			if err != nil {
				t.Fatalf("orientation %d %s: %v", o, format, err)
			}
			if info.Orientation != o {
				t.Errorf("orientation %d %s: read %d", o, format, info.Orientation)
			}
			if sb := stored.Bounds(); info.Width != sb.Dx() || info.Height != sb.Dy() {
				t.Errorf("orientation %d %s: size %dx%d, want stored %v", o, format, info.Width, info.Height, sb)
			}
			thumb, err := jpeg.Decode(bytes.NewReader(info.Thumbnail))
			if err != nil {
				t.Fatal(err)
			}
			if b := thumb.Bounds(); b.Dx() != 64 || b.Dy() != 48 {
				t.Fatalf("orientation %d %s: thumbnail %v, want 64x48", o, format, b)
			}
			for _, w := range want {
				r, g, b, _ := thumb.At(w.x, w.y).RGBA()
				if absDiff(r>>8, w.c.R) > 40 || absDiff(g>>8, w.c.G) > 40 || absDiff(b>>8, w.c.B) > 40 {
					t.Errorf("orientation %d %s: pixel (%d,%d) = %d,%d,%d, want %v", o, format, w.x, w.y, r>>8, g>>8, b>>8, w.c)
				}
			}
		}
	}
}

func absDiff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

func phashOf(t *testing.T, a *Analyzer, data []byte) uint64 {
	t.Helper()
	info, err := analyze(t, a, data)
	if err != nil {
		t.Fatal(err)
	}
	if info.PHash == nil {
		t.Fatal("no PHash")
	}
	return *info.PHash
}

// TestPerceptualHash: copies of one photo stay within 10 bits; different
// photos of the same walk do not.
func TestPerceptualHash(t *testing.T) {
	a := New()
	orig := readPhoto(t, "DSCN0010.jpg")
	h0 := phashOf(t, a, orig)
	img, err := jpeg.Decode(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	half := imaging.Resize(img, img.Bounds().Dx()/2, img.Bounds().Dy()/2, imaging.Lanczos)
	copies := []struct {
		name string
		data []byte
	}{
		{"re-encoded at JPEG quality 60", encodeJPEG(t, img, 60)},
		{"resized to 50% (quality 90)", encodeJPEG(t, half, 90)},
		{"resized to 50% and quality 60", encodeJPEG(t, half, 60)},
		{"as PNG", encodePNG(t, img)},
		// Pixels stored turned, with EXIF orientation 6 to turn them back:
		// the hash is of the upright picture, so it matches.
		{"stored turned, EXIF orientation 6", withJPEGExif(encodeJPEG(t, storeAs(img, 6), 90),
			buildTIFF(le, []tag{shortTag(le, 0x0112, 6)}, nil, nil, nil))},
	}
	for _, c := range copies {
		d := HammingDistance(h0, phashOf(t, a, c.data))
		t.Logf("DSCN0010 vs itself %s: distance %d", c.name, d)
		if d > 10 {
			t.Errorf("DSCN0010 %s: distance %d > 10", c.name, d)
		}
	}
	names := []string{"DSCN0010.jpg", "DSCN0012.jpg", "DSCN0021.jpg", "DSCN0025.jpg"}
	hashes := make([]uint64, len(names))
	for i, n := range names {
		hashes[i] = phashOf(t, a, readPhoto(t, n))
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			d := HammingDistance(hashes[i], hashes[j])
			t.Logf("%s vs %s: distance %d", names[i], names[j], d)
			if d <= 10 {
				t.Errorf("%s and %s are different photos but distance %d <= 10", names[i], names[j], d)
			}
		}
	}
}

// TestBrokenFiles: a clear outcome, never a panic or a hang.
func TestBrokenFiles(t *testing.T) {
	a := New()
	t.Run("corrupted.jpg", func(t *testing.T) {
		info, err := analyze(t, a, readPhoto(t, "corrupted.jpg"))
		wantCode(t, err, models.CodeMediaUnreadable)
		t.Logf("corrupted.jpg: %v", err)
		if info.ContentType != ContentTypeJPEG || info.Width != 3648 || info.Height != 2736 || info.TakenAt == nil {
			t.Errorf("what was readable is not returned with the error: %+v", info)
		}
	})
	for _, name := range []string{"invalid_image00971.jpg", "invalid_image01088.jpg"} {
		t.Run(name, func(t *testing.T) {
			info, err := analyze(t, a, readPhoto(t, name))
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if info.Orientation != 0 || info.TakenAt != nil || info.Make != "" || info.HasGPS {
				t.Errorf("EXIF read from a file without EXIF: %+v", info)
			}
			if info.PHash == nil || len(info.Thumbnail) == 0 {
				t.Errorf("decodable pixels but no hash/thumbnail")
			}
			t.Logf("%s: analysed, %dx%d, no EXIF", name, info.Width, info.Height)
		})
	}
	t.Run("truncations", func(t *testing.T) {
		orig := readPhoto(t, "DSCN0010.jpg")
		for _, n := range []int{1, 2, 3, 100, 5000, 11000, 11300, 12000, 20000, 80000, len(orig) - 1000, len(orig) - 2} {
			_, err := analyze(t, a, orig[:n])
			switch code(err) {
			case "", models.CodeMediaUnreadable, models.CodeMediaUnsupported:
			default:
				t.Errorf("truncated at %d: %v", n, err)
			}
			t.Logf("DSCN0010 truncated to %d bytes: %v", n, err)
		}
	})
}

func TestUnsupported(t *testing.T) {
	// A text file named .jpg: the name is never looked at.
	path := filepath.Join(t.TempDir(), "evidence.jpg")
	if err := os.WriteFile(path, []byte("this is not a photo, just text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, quadrants(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data, mention string
	}{
		{"text named .jpg", string(text), "text/plain"},
		{"PDF", "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf"},
		{"GIF", gifBuf.String(), "image/gif"},
		{"WebP", "RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "image/webp"},
		{"TIFF", "II*\x00\x08\x00\x00\x00\x00\x00", "image/tiff"},
		{"AVIF", string(ftyp("avif", "avif", "mif1", "miaf")), "image/avif"},
		{"MP4", string(ftyp("isom", "isom", "iso2", "mp41")), "brands isom"},
		{"empty", "", "empty"},
		{"zeros", string(make([]byte, 100)), "application/octet-stream"},
	} {
		_, err := analyze(t, New(), []byte(tc.data))
		wantCode(t, err, models.CodeMediaUnsupported)
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: message %q does not name %q", tc.name, err, tc.mention)
		}
	}
}

func TestPNG(t *testing.T) {
	a := New()
	img, err := jpeg.Decode(bytes.NewReader(readPhoto(t, "DSCN0010.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	info, err := analyze(t, a, encodePNG(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != ContentTypePNG || info.Width != 640 || info.Height != 480 || info.PHash == nil || info.HasGPS || info.Orientation != 0 {
		t.Errorf("PNG: %+v", info)
	}

	// Transparent pixels become white in the JPEG thumbnail, not black.
	trans := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	info, err = analyze(t, a, encodePNG(t, trans))
	if err != nil {
		t.Fatal(err)
	}
	th, err := jpeg.Decode(bytes.NewReader(info.Thumbnail))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := th.At(5, 5).RGBA(); r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
		t.Errorf("transparent pixel became %d,%d,%d", r>>8, g>>8, b>>8)
	}

	// EXIF in an eXIf chunk is read. A chunk with a bad CRC is not (and
	// Go's PNG decoder then refuses the file as corrupt).
	tiff := buildTIFF(bigEnd, []tag{asciiTag(0x010F, "PNGCam"), shortTag(bigEnd, 0x0112, 3)}, nil, nil, nil)
	withExif := withPNGExif(encodePNG(t, quadrants(20, 10)), tiff)
	if info, err = analyze(t, a, withExif); err != nil || info.Make != "PNGCam" || info.Orientation != 3 {
		t.Errorf("PNG eXIf: %+v, %v", info, err)
	}
	bad := bytes.Clone(withExif)
	bad[33+8] ^= 0xFF // first byte of the eXIf body
	if info, err = analyze(t, a, bad); code(err) != models.CodeMediaUnreadable || info.Make != "" {
		t.Errorf("PNG eXIf with a bad CRC: %+v, %v", info, err)
	}
}

func TestHEIC(t *testing.T) {
	a := New()
	// Bytes behind a HEIC ftyp that are no HEIC image are refused.
	for _, fake := range [][]byte{
		ftyp("heic", "mif1", "heic"),
		append(ftyp("heic", "mif1", "heic"), []byte(strings.Repeat("not a photo ", 8))...),
		ftyp("heix", "heix"), ftyp("hevc", "hevc"), ftyp("msf1", "msf1"), ftyp("mif1", "mif1", "miaf"),
	} {
		_, err := analyze(t, a, fake)
		wantCode(t, err, models.CodeMediaUnreadable)
	}
	t.Run("ispe and Exif item, no coded image", func(t *testing.T) {
		tiff := buildTIFF(bigEnd,
			[]tag{asciiTag(0x010F, "Apple"), asciiTag(0x0110, "iPhone 15"), shortTag(bigEnd, 0x0112, 6)},
			[]tag{asciiTag(0x9003, "2024:03:01 09:15:00"), asciiTag(0x9011, "-05:00")},
			[]tag{asciiTag(1, "S"), rationalTag(bigEnd, 2, 5, 34, 1, 36, 1, 1332, 100),
				asciiTag(3, "W"), rationalTag(bigEnd, 4, 5, 58, 1, 22, 1, 5376, 100)},
			nil)
		info, err := analyze(t, a, buildHEIC(4032, 3024, tiff))
		wantCode(t, err, models.CodeMediaUnreadable)
		// What the header says is kept for the log, as for a JPEG whose
		// pixels are broken.
		if info.ContentType != ContentTypeHEIC || info.Width != 4032 || info.Height != 3024 {
			t.Errorf("type/size: %+v", info)
		}
		if !info.HasGPS || math.Abs(info.Lat+34.6037) > 1e-6 || math.Abs(info.Lng+58.3816) > 1e-6 {
			t.Errorf("GPS = %v %.7f %.7f", info.HasGPS, info.Lat, info.Lng)
		}
		if info.Make != "Apple" || info.Model != "iPhone 15" || info.Orientation != 6 {
			t.Errorf("camera: %+v", info)
		}
		if info.TakenAt == nil || info.TakenAtLocal || info.TakenAt.Format(time.RFC3339) != "2024-03-01T09:15:00-05:00" {
			t.Errorf("TakenAt = %v local %v", info.TakenAt, info.TakenAtLocal)
		}
		if info.PHash != nil || info.Thumbnail != nil {
			t.Errorf("no pixels, yet a hash or thumbnail")
		}
	})
	t.Run("ispe bomb", func(t *testing.T) {
		_, err := analyze(t, a, buildHEIC(60000, 60000, nil))
		wantCode(t, err, models.CodeMediaTooLarge)
	})
	t.Run("truncated real HEIC", func(t *testing.T) {
		data := readPhoto(t, "samplefilehub.heif")
		_, err := analyze(t, a, data[:len(data)/2])
		wantCode(t, err, models.CodeMediaUnreadable)
	})
}

// TestRealHEIC: real phone HEIC photos are decoded like a JPEG: size,
// EXIF, an upright thumbnail and a hash, and the same picture as HEIC and
// as JPEG hash alike.
func TestRealHEIC(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		name       string
		ct         string
		w, h       int
		make, gps  string
		sameAsJPEG string
	}{
		{"IMG_5195.HEIC", ContentTypeHEIC, 2566, 3313, "Apple", "", ""},
		{"samplefilehub.heif", ContentTypeHEIC, 640, 426, "", "", ""},
		{"DSCN0010.heic", ContentTypeHEIC, 640, 480, "", "", "DSCN0010.jpg"},
		{"Canon_40D.heic", ContentTypeHEIC, 100, 68, "", "", "Canon_40D.jpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := analyze(t, a, readPhoto(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if info.ContentType != tc.ct || info.Width != tc.w || info.Height != tc.h {
				t.Errorf("got %s %dx%d, want %s %dx%d", info.ContentType, info.Width, info.Height, tc.ct, tc.w, tc.h)
			}
			if tc.make != "" && info.Make != tc.make {
				t.Errorf("Make = %q, want %q", info.Make, tc.make)
			}
			if info.PHash == nil || len(info.PHashes) != 1+len(hashCrops) || info.PHashes[0] != *info.PHash {
				t.Fatalf("hashes: %v %v", info.PHash, info.PHashes)
			}
			thumb, err := jpeg.Decode(bytes.NewReader(info.Thumbnail))
			if err != nil {
				t.Fatalf("thumbnail: %v", err)
			}
			tb := thumb.Bounds()
			if max(tb.Dx(), tb.Dy()) > DefaultThumbnailSize || (tb.Dx() > tb.Dy()) != (tc.w > tc.h) {
				t.Errorf("thumbnail %v for a %dx%d photo", tb, tc.w, tc.h)
			}
			if tc.sameAsJPEG != "" {
				if d := HammingDistance(*info.PHash, phashOf(t, a, readPhoto(t, tc.sameAsJPEG))); d > 4 {
					t.Errorf("%s and %s: distance %d", tc.name, tc.sameAsJPEG, d)
				}
			}
			pub, err := a.RenderPublic(bytes.NewReader(readPhoto(t, tc.name)), info.Orientation)
			if err != nil {
				t.Fatalf("RenderPublic: %v", err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(pub))
			if err != nil || (cfg.Width > cfg.Height) != (tc.w > tc.h) {
				t.Errorf("public copy %dx%d, %v", cfg.Width, cfg.Height, err)
			}
		})
	}
}

// craftedPNG is a PNG signature and an IHDR (with a correct CRC) claiming
// w×h RGB pixels, and nothing else.
func craftedPNG(w, h uint32) []byte {
	ihdr := append(be32(w), be32(h)...)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no filter, no interlace
	out := append([]byte{}, pngMagic...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0, 0, 0, 0, 1})...)
	return append(out, pngChunk("IEND", nil)...)
}

// craftedJPEG is SOI, optionally a JFIF APP0, a baseline SOF0 claiming
// w×h 3-component pixels, an SOS header and EOI: no tables, no data.
func craftedJPEG(w, h uint16, jfif bool) []byte {
	out := []byte{0xFF, 0xD8}
	if jfif {
		out = append(out, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	}
	out = append(out, 0xFF, 0xC0, 0, 17, 8)
	out = append(out, be16(h)...)
	out = append(out, be16(w)...)
	out = append(out, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	out = append(out, 0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0)
	return append(out, 0xFF, 0xD9)
}

// TestDecompressionBombs: the header's claim is refused before any pixel
// buffer exists (60000×60000 RGB would be 10.8 GB).
func TestDecompressionBombs(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"PNG 60000x60000", craftedPNG(60000, 60000)},
		{"JPEG SOF 60000x60000 (JFIF)", craftedJPEG(60000, 60000, true)},
		{"JPEG SOF 60000x60000", craftedJPEG(60000, 60000, false)},
		{"JPEG 20001x10 (side)", craftedJPEG(20001, 10, true)},
		{"PNG 8000x7000 (56 MP)", craftedPNG(8000, 7000)},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := analyze(t, a, tc.data)
		runtime.ReadMemStats(&after)
		wantCode(t, err, models.CodeMediaTooLarge)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", tc.name, grew)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// The limit is the exported field; DSCN0010 is 640×480 = 307200 pixels.
	dscn := readPhoto(t, "DSCN0010.jpg")
	_, err := analyze(t, &Analyzer{MaxPixels: 307_199}, dscn)
	wantCode(t, err, models.CodeMediaTooLarge)
	if _, err := analyze(t, &Analyzer{MaxPixels: 307_200}, dscn); err != nil {
		t.Errorf("exactly MaxPixels: %v", err)
	}
	// A header that claims no size is unreadable, not a bomb.
	_, err = analyze(t, a, craftedPNG(0, 10))
	wantCode(t, err, models.CodeMediaUnreadable)
}

func smallJPEG(t *testing.T) []byte { return encodeJPEG(t, quadrants(32, 24), 90) }

// TestHostileExif: EXIF written to hurt the parser is ignored or read in
// part; the picture is still analysed, without large allocations.
func TestHostileExif(t *testing.T) {
	a := New()
	base := smallJPEG(t)
	run := func(name string, tiff []byte) models.MediaInfo {
		t.Helper()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		info, err := analyze(t, a, withJPEGExif(base, tiff))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.PHash == nil {
			t.Errorf("%s: picture not analysed", name)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: allocated %d MB", name, grew>>20)
		}
		return info
	}
	long := func(id uint16, count, v uint32) tag {
		return tag{id: id, typ: 4, count: count, raw: le.AppendUint32(nil, v)}
	}
	// go-exif allocates the IFD1 thumbnail length before reading it: 4 GiB
	// from these 40 bytes without sanitizeExif.
	info := run("thumbnail length 0xFFFFFFF0", buildTIFF(le, []tag{asciiTag(0x010F, "Evil")}, nil, nil,
		[]tag{long(0x0201, 1, 8), long(0x0202, 1, 0xFFFFFFF0)}))
	if info.Make != "Evil" {
		t.Errorf("the rest of the EXIF was lost: Make %q", info.Make)
	}
	run("thumbnail length count 0x3FFFFFFF", buildTIFF(le, nil, nil, nil,
		[]tag{long(0x0201, 1, 8), long(0x0202, 0x3FFFFFFF, 8)}))
	info = run("Make count 0x7FFFFFFF", buildTIFF(le,
		[]tag{{id: 0x010F, typ: 2, count: 0x7FFFFFFF, raw: le.AppendUint32(nil, 8)}, shortTag(le, 0x0112, 3)}, nil, nil, nil))
	if info.Make != "" || info.Orientation != 3 {
		t.Errorf("oversized Make: %+v", info)
	}
	// IFD0 whose next-IFD link points at itself.
	cycle := []byte("II*\x00\x08\x00\x00\x00")
	cycle = append(cycle, 1, 0)
	cycle = append(cycle, le.AppendUint16(le.AppendUint16(nil, 0x0110), 2)...)
	cycle = append(cycle, le.AppendUint32(le.AppendUint32(nil, 4), 0x00434241)...) // "ABC\0" inline
	cycle = append(cycle, le.AppendUint32(nil, 8)...)
	if info := run("IFD cycle", cycle); info.Model != "ABC" {
		t.Errorf("IFD cycle: Model %q", info.Model)
	}
	run("garbage", append([]byte("MM\x00*\x00\x00\x00\x08"), bytes.Repeat([]byte{0xFF, 0x00, 0x13}, 500)...))
	run("header only", []byte("II*\x00"))
	run("first IFD beyond the blob", []byte("II*\x00\xFF\xFF\xFF\x7F"))

	gpsCase := func(name string, gps []tag) models.MediaInfo {
		return run(name, buildTIFF(le, nil, nil, gps, nil))
	}
	lat := rationalTag(le, 2, 5, 43, 1, 28, 1, 281400000, 100000000)
	lng := rationalTag(le, 4, 5, 11, 1, 53, 1, 645599999, 100000000)
	if info := gpsCase("zero denominator", []tag{asciiTag(1, "N"), rationalTag(le, 2, 5, 43, 0, 28, 1, 0, 1), asciiTag(3, "E"), lng}); info.HasGPS {
		t.Errorf("zero denominator: GPS %v %v", info.Lat, info.Lng)
	}
	if info := gpsCase("no refs", []tag{lat, lng}); info.HasGPS {
		t.Errorf("GPS without N/S/E/W refs was accepted")
	}
	if info := gpsCase("void", []tag{asciiTag(1, "N"), lat, asciiTag(3, "E"), lng, asciiTag(9, "V")}); info.HasGPS {
		t.Errorf("GPSStatus V (void) was accepted")
	}
	if info := gpsCase("latitude 95", []tag{asciiTag(1, "N"), rationalTag(le, 2, 5, 95, 1, 0, 1, 0, 1), asciiTag(3, "E"), lng}); info.HasGPS {
		t.Errorf("latitude 95 was accepted")
	}
	if info := gpsCase("two rationals", []tag{asciiTag(1, "N"), rationalTag(le, 2, 5, 43, 1, 28, 1), asciiTag(3, "E"), lng}); info.HasGPS {
		t.Errorf("a 2-part latitude was accepted")
	}
}

func TestExifValues(t *testing.T) {
	a := New()
	base := smallJPEG(t)
	lat := rationalTag(le, 2, 5, 33, 1, 51, 1, 5450, 100) // 33°51'54.5"
	lng := rationalTag(le, 4, 5, 151, 1, 12, 1, 3560, 100)
	latF, lngF := 33+51/60.0+54.5/3600, 151+12/60.0+35.6/3600
	for _, tc := range []struct {
		name     string
		gps      []tag
		exif     []tag
		lat, lng float64
		alt      *float64
		taken    string // RFC 3339, "" none
		local    bool
	}{
		{name: "south-east, below sea level, offset -05:00",
			gps:  []tag{asciiTag(1, "S"), lat, asciiTag(3, "E"), lng, byteTag(5, 1), rationalTag(le, 6, 5, 125, 10)},
			exif: []tag{asciiTag(0x9003, "2023:12:31 23:59:59"), asciiTag(0x9011, "-05:00")},
			lat:  -latF, lng: lngF, alt: ptr(-12.5), taken: "2023-12-31T23:59:59-05:00"},
		{name: "north-west, above sea level, no offset",
			gps:  []tag{asciiTag(1, "N"), lat, asciiTag(3, "W"), lng, byteTag(5, 0), rationalTag(le, 6, 5, 3000, 1)},
			exif: []tag{asciiTag(0x9003, "2023:06:01 08:00:00")},
			lat:  latF, lng: -lngF, alt: ptr(3000), taken: "2023-06-01T08:00:00Z", local: true},
		{name: "altitude without ref, offset +0530",
			gps:  []tag{asciiTag(1, "N"), lat, asciiTag(3, "E"), lng, rationalTag(le, 6, 5, 7, 2)},
			exif: []tag{asciiTag(0x9003, "2023:06:01 08:00:00"), asciiTag(0x9011, "+0530")},
			lat:  latF, lng: lngF, alt: ptr(3.5), taken: "2023-06-01T08:00:00+05:30"},
		{name: "bad offset is ignored",
			gps:  []tag{asciiTag(1, "N"), lat, asciiTag(3, "E"), lng},
			exif: []tag{asciiTag(0x9003, "2023:06:01 08:00:00"), asciiTag(0x9011, "+25:00")},
			lat:  latF, lng: lngF, taken: "2023-06-01T08:00:00Z", local: true},
		{name: "blank date",
			gps:  []tag{asciiTag(1, "N"), lat, asciiTag(3, "E"), lng},
			exif: []tag{asciiTag(0x9003, "0000:00:00 00:00:00")},
			lat:  latF, lng: lngF},
	} {
		info, err := analyze(t, a, withJPEGExif(base, buildTIFF(le, []tag{asciiTag(0x010F, " Cam  "), asciiTag(0x0110, "Model X\x00junk")}, tc.exif, tc.gps, nil)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !info.HasGPS || math.Abs(info.Lat-tc.lat) > 1e-9 || math.Abs(info.Lng-tc.lng) > 1e-9 {
			t.Errorf("%s: GPS %v %.7f %.7f, want %.7f %.7f", tc.name, info.HasGPS, info.Lat, info.Lng, tc.lat, tc.lng)
		}
		switch {
		case tc.alt == nil && info.AltitudeM != nil, tc.alt != nil && (info.AltitudeM == nil || *info.AltitudeM != *tc.alt):
			t.Errorf("%s: altitude %v, want %v", tc.name, info.AltitudeM, tc.alt)
		}
		got := ""
		if info.TakenAt != nil {
			got = info.TakenAt.Format(time.RFC3339)
		}
		if got != tc.taken || info.TakenAtLocal != tc.local {
			t.Errorf("%s: TakenAt %s local %v, want %s local %v", tc.name, got, info.TakenAtLocal, tc.taken, tc.local)
		}
		if info.Make != "Cam" || info.Model != "Model X" {
			t.Errorf("%s: camera %q %q", tc.name, info.Make, info.Model)
		}
	}
	// An orientation outside 1..8 is reported as absent and not applied.
	info, err := analyze(t, a, withJPEGExif(base, buildTIFF(le, []tag{shortTag(le, 0x0112, 9)}, nil, nil, nil)))
	if err != nil || info.Orientation != 0 {
		t.Errorf("orientation 9: %d, %v", info.Orientation, err)
	}
}

func ptr(f float64) *float64 { return &f }

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReadLimits(t *testing.T) {
	data := readPhoto(t, "Canon_40D.jpg")
	a := New()
	if _, err := a.Analyze(bytes.NewReader(data), int64(len(data))+1); code(err) != models.CodeMediaUnreadable {
		t.Errorf("shorter than declared: %v", err)
	}
	if _, err := a.Analyze(bytes.NewReader(data), int64(len(data))-1); code(err) != models.CodeMediaTooLarge {
		t.Errorf("longer than declared: %v", err)
	}
	if _, err := a.Analyze(bytes.NewReader(data), 0); err != nil {
		t.Errorf("unknown size: %v", err)
	}
	cr := &countingReader{r: bytes.NewReader(data)}
	if _, err := (&Analyzer{MaxBytes: 1000}).Analyze(cr, int64(len(data))); code(err) != models.CodeMediaTooLarge || cr.reads != 0 {
		t.Errorf("declared size over MaxBytes: %v after %d reads", err, cr.reads)
	}
	if _, err := (&Analyzer{MaxBytes: 1000}).Analyze(bytes.NewReader(data), -1); code(err) != models.CodeMediaTooLarge {
		t.Errorf("unknown size over MaxBytes: %v", err)
	}
	boom := errors.New("connection reset")
	if _, err := a.Analyze(failingReader{boom}, 100); !errors.Is(err, boom) || code(err) != "" {
		t.Errorf("read error: %v", err)
	}
}

// TestDecoderPanic: a panicking decoder is CodeMediaUnreadable.
func TestDecoderPanic(t *testing.T) {
	saved := decodeJPEG
	t.Cleanup(func() { decodeJPEG = saved })
	for _, v := range []any{"boom", errors.New("boom"), 42} {
		decodeJPEG = func(io.Reader) (image.Image, error) { panic(v) }
		info, err := analyze(t, New(), readPhoto(t, "Canon_40D.jpg"))
		wantCode(t, err, models.CodeMediaUnreadable)
		if info.ContentType != ContentTypeJPEG || info.PHash != nil {
			t.Errorf("after panic: %+v", info)
		}
	}
}

// TestConcurrent exercises the shared EXIF tables under the race detector.
func TestConcurrent(t *testing.T) {
	a := New()
	files := []string{"DSCN0010.jpg", "DSCN0012.jpg", "Canon_40D.jpg", "orientation_portrait_8.jpg", "invalid_image01088.jpg", "corrupted.jpg"}
	datas := make([][]byte, len(files))
	for i, f := range files {
		datas[i] = readPhoto(t, f)
	}
	var wg sync.WaitGroup
	for i := 0; i < 2*len(files); i++ {
		wg.Add(1)
		go func(d []byte) {
			defer wg.Done()
			if _, err := a.Analyze(bytes.NewReader(d), int64(len(d))); err != nil && code(err) != models.CodeMediaUnreadable {
				t.Errorf("Analyze: %v", err)
			}
		}(datas[i%len(files)])
	}
	wg.Wait()
}

// FuzzAnalyze: whatever the bytes, Analyze returns (no panic, no hang) a
// media error code or a consistent result. The seed corpus (the photos'
// first 64 KiB, the broken files whole, and crafted inputs) runs in every
// `go test`; `go test -fuzz FuzzAnalyze ./storage/media/` explores further.
// Limits are lowered so that mutated headers do not make each run decode
// 50 megapixels; the checks are the same.
func FuzzAnalyze(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(photosDir, "*.jpg"))
	if len(files) == 0 {
		f.Fatalf("no photos in %s", photosDir)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		base := filepath.Base(p)
		if base == "corrupted.jpg" || strings.HasPrefix(base, "invalid_") {
			f.Add(b)
		}
		f.Add(b[:min(len(b), 64<<10)])
	}
	q := quadrants(32, 24)
	tiff := buildTIFF(le, []tag{asciiTag(0x010F, "Cam"), shortTag(le, 0x0112, 6)},
		[]tag{asciiTag(0x9003, "2024:03:01 09:15:00"), asciiTag(0x9011, "+01:00")},
		[]tag{asciiTag(1, "N"), rationalTag(le, 2, 5, 43, 1, 28, 1, 2814, 100), asciiTag(3, "E"), rationalTag(le, 4, 5, 11, 1, 53, 1, 6455, 100)},
		[]tag{{id: 0x0201, typ: 4, count: 1, raw: le.AppendUint32(nil, 8)}, {id: 0x0202, typ: 4, count: 1, raw: le.AppendUint32(nil, 16)}})
	for _, seed := range [][]byte{
		withJPEGExif(encodeJPEG(f, q, 80), tiff),
		withPNGExif(encodePNG(f, q), tiff),
		buildHEIC(4032, 3024, tiff),
		ftyp("heic", "mif1", "heic"),
		craftedPNG(60000, 60000),
		craftedJPEG(60000, 60000, true),
		craftedJPEG(64, 64, false),
		[]byte("just text"),
	} {
		f.Add(seed)
	}
	a := &Analyzer{MaxPixels: 1 << 20, MaxSide: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := analyze(t, a, data)
		if err != nil {
			switch code(err) {
			case models.CodeMediaUnreadable, models.CodeMediaTooLarge, models.CodeMediaUnsupported:
			default:
				t.Fatalf("error without a media code: %v", err)
			}
			if info.PHash != nil || info.Thumbnail != nil {
				t.Fatalf("PHash/Thumbnail with an error")
			}
			return
		}
		if info.Width < 0 || info.Height < 0 || info.Width > 4096 || info.Height > 4096 || int64(info.Width)*int64(info.Height) > 1<<20 {
			t.Fatalf("size %dx%d beyond the limits", info.Width, info.Height)
		}
		if info.Orientation < 0 || info.Orientation > 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
		if info.HasGPS && (math.IsNaN(info.Lat) || math.IsNaN(info.Lng) || math.Abs(info.Lat) > 90 || math.Abs(info.Lng) > 180) {
			t.Fatalf("GPS %v %v", info.Lat, info.Lng)
		}
		if info.TakenAtLocal && info.TakenAt == nil {
			t.Fatalf("TakenAtLocal without TakenAt")
		}
		switch info.ContentType {
		case ContentTypeHEIC, ContentTypeHEIF:
			if info.PHash != nil || info.Thumbnail != nil {
				t.Fatalf("HEIC with pixels")
			}
		case ContentTypeJPEG, ContentTypePNG:
			if info.PHash == nil || info.Width == 0 || info.Height == 0 {
				t.Fatalf("decoded without hash or size: %+v", info)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(info.Thumbnail))
			if err != nil {
				t.Fatalf("thumbnail: %v", err)
			}
			dw, dh := info.Width, info.Height
			if info.Orientation >= 5 {
				dw, dh = dh, dw
			}
			if w, h := fitSize(dw, dh, DefaultThumbnailSize); cfg.Width != w || cfg.Height != h {
				t.Fatalf("thumbnail %dx%d for %dx%d orientation %d", cfg.Width, cfg.Height, info.Width, info.Height, info.Orientation)
			}
		default:
			t.Fatalf("content type %q", info.ContentType)
		}
	})
}
