package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"runtime"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

func render(t *testing.T, a *Analyzer, data []byte, orientation int) ([]byte, error) {
	t.Helper()
	return a.RenderPublic(bytes.NewReader(data), orientation)
}

// markersBeforeScan lists the JPEG markers up to the first SOS.
func markersBeforeScan(t *testing.T, data []byte) []byte {
	t.Helper()
	var out []byte
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := data[i+1]
		out = append(out, m)
		if m == 0xDA {
			return out
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:i+4]))
	}
	t.Fatal("no SOS")
	return nil
}

// TestRenderPublicStripsMetadata: what comes out is pixels only, of real
// photos with GPS, camera and time EXIF and of ones with broken EXIF.
func TestRenderPublicStripsMetadata(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		file string
		w, h int
	}{
		{"DSCN0010.jpg", 640, 480},
		{"Canon_40D.jpg", 100, 68},
		{"HMD_Nokia_8.3_5G.jpg", 2048, 878}, // 4608×1976 scaled to PublicSize
		{"invalid_image00971.jpg", 636, 227},
	} {
		t.Run(tc.file, func(t *testing.T) {
			orig := readPhoto(t, tc.file)
			out, err := render(t, a, orig, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, jpegMagic) {
				t.Fatal("not a JPEG")
			}
			for _, m := range markersBeforeScan(t, out) {
				if m >= 0xE0 && m <= 0xEF || m == 0xFE {
					t.Errorf("marker %#x (an application segment or comment) in the public copy", m)
				}
			}
			for _, s := range []string{"Exif", "II*\x00", "MM\x00*", "NIKON", "COOLPIX", "Canon", "HMD"} {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("the public copy contains %q", s)
				}
			}
			if bytes.Contains(out, orig[len(orig)/2:len(orig)/2+256]) {
				t.Error("the public copy holds bytes of the original")
			}
			info, err := analyze(t, a, out)
			if err != nil {
				t.Fatal(err)
			}
			if info.HasGPS || info.Make != "" || info.Model != "" || info.TakenAt != nil || info.Orientation != 0 {
				t.Errorf("metadata survived: %+v", info)
			}
			if info.Width != tc.w || info.Height != tc.h {
				t.Errorf("public copy %dx%d, want %dx%d", info.Width, info.Height, tc.w, tc.h)
			}
		})
	}
}

// TestRenderPublicUpright turns every EXIF orientation of a four-colour
// picture upright, in JPEG and PNG, and the real rotated photos.
func TestRenderPublicUpright(t *testing.T) {
	a := New()
	up := quadrants(64, 48)
	for o := 1; o <= 8; o++ {
		stored := storeAs(up, o)
		for format, data := range map[string][]byte{"jpeg": encodeJPEG(t, stored, 95), "png": encodePNG(t, stored)} {
			out, err := render(t, a, data, o)
			if err != nil {
				t.Fatalf("orientation %d %s: %v", o, format, err)
			}
			img, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 48 {
				t.Fatalf("orientation %d %s: %v, want 64x48", o, format, b)
			}
			for _, w := range []struct {
				x, y int
				c    color.RGBA
			}{{16, 12, color.RGBA{255, 0, 0, 255}}, {48, 12, color.RGBA{0, 255, 0, 255}}, {16, 36, color.RGBA{0, 0, 255, 255}}, {48, 36, color.RGBA{255, 255, 255, 255}}} {
				r, g, b, _ := img.At(w.x, w.y).RGBA()
				if absDiff(r>>8, w.c.R) > 40 || absDiff(g>>8, w.c.G) > 40 || absDiff(b>>8, w.c.B) > 40 {
					t.Errorf("orientation %d %s: pixel (%d,%d) = %d,%d,%d, want %v", o, format, w.x, w.y, r>>8, g>>8, b>>8, w.c)
				}
			}
		}
	}
	for _, tc := range []struct {
		file        string
		orientation int
		w, h        int
	}{{"orientation_landscape_6.jpg", 6, 600, 450}, {"orientation_portrait_8.jpg", 8, 450, 600}} {
		data := readPhoto(t, tc.file)
		out, err := render(t, a, data, tc.orientation)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := jpeg.Decode(bytes.NewReader(data))
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h || stored.Bounds().Dx() != tc.h {
			t.Fatalf("%s: %v from stored %v, want %dx%d", tc.file, b, stored.Bounds(), tc.w, tc.h)
		}
		if d := meanAbsDiff(blockLuma(img, 6, 6), blockLuma(displayAs(stored, tc.orientation), 6, 6)); d > 6 {
			t.Errorf("%s does not match the upright picture: mean luma difference %.1f", tc.file, d)
		}
	}
}

// TestRenderPublicFlattens: transparency becomes white, not black.
func TestRenderPublicFlattens(t *testing.T) {
	out, err := render(t, New(), encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 10, 10))), 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(5, 5).RGBA(); r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
		t.Errorf("transparent pixel became %d,%d,%d", r>>8, g>>8, b>>8)
	}
}

// TestRenderPublicRefuses: what cannot be re-encoded is refused with a
// media code, bombs before any pixel buffer exists.
func TestRenderPublicRefuses(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		name string
		data []byte
		want models.Code
	}{
		{"HEIC without a coded image", buildHEIC(4032, 3024, nil), models.CodeMediaUnreadable},
		{"HEIC bomb", buildHEIC(60000, 60000, nil), models.CodeMediaTooLarge},
		{"text", []byte("not a photo at all"), models.CodeMediaUnsupported},
		{"empty", nil, models.CodeMediaUnsupported},
		{"truncated JPEG", readPhoto(t, "corrupted.jpg"), models.CodeMediaUnreadable},
		{"JPEG header only", readPhoto(t, "DSCN0010.jpg")[:2000], models.CodeMediaUnreadable},
		{"JPEG bomb", craftedJPEG(60000, 60000, true), models.CodeMediaTooLarge},
		{"PNG bomb", craftedPNG(60000, 60000), models.CodeMediaTooLarge},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := render(t, a, tc.data, 1)
		runtime.ReadMemStats(&after)
		wantCode(t, err, tc.want)
		if grew := after.TotalAlloc - before.TotalAlloc; tc.want == models.CodeMediaTooLarge && grew > 8<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", tc.name, grew)
		}
	}
	saved := decodeJPEG
	t.Cleanup(func() { decodeJPEG = saved })
	decodeJPEG = func(io.Reader) (image.Image, error) { panic(errors.New("boom")) }
	_, err := render(t, a, readPhoto(t, "Canon_40D.jpg"), 1)
	wantCode(t, err, models.CodeMediaUnreadable)
}
