package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// photosDir holds the real test photos, testdata/photos at the
// repository's root (see its README for their licence).
var photosDir = filepath.Join("..", "..", "testdata", "photos")

func readPhoto(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(photosDir, name))
	if err != nil {
		t.Fatalf("test photo %s (testdata/photos): %v", name, err)
	}
	return b
}

// analyze runs Analyze with a deadline, so that a hang fails the test
// instead of stalling it.
func analyze(t testing.TB, a *Analyzer, data []byte) (models.MediaInfo, error) {
	t.Helper()
	type result struct {
		info models.MediaInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := a.Analyze(bytes.NewReader(data), int64(len(data)))
		done <- result{info, err}
	}()
	select {
	case r := <-done:
		return r.info, r.err
	case <-time.After(60 * time.Second):
		t.Fatalf("Analyze did not return within 60 s")
		return models.MediaInfo{}, nil
	}
}

func code(err error) models.Code {
	var me *models.Error
	if errors.As(err, &me) {
		return me.Code
	}
	return ""
}

func wantCode(t *testing.T, err error, want models.Code) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
}

// --- TIFF / EXIF builder -------------------------------------------------

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

type tag struct {
	id    uint16
	typ   uint16
	count uint32
	data  []byte // value bytes; <= 4 bytes are stored inline
	// raw, when set, is written as the 4-byte value field verbatim
	// (count and type are then free to lie).
	raw []byte
}

func asciiTag(id uint16, s string) tag {
	return tag{id: id, typ: 2, count: uint32(len(s) + 1), data: append([]byte(s), 0)}
}

func shortTag(bo binary.ByteOrder, id uint16, v uint16) tag {
	b := make([]byte, 2)
	bo.PutUint16(b, v)
	return tag{id: id, typ: 3, count: 1, data: b}
}

func byteTag(id uint16, v byte) tag { return tag{id: id, typ: 1, count: 1, data: []byte{v}} }

func rationalTag(bo binary.ByteOrder, id uint16, typ uint16, nd ...uint32) tag {
	b := make([]byte, 4*len(nd))
	for i, v := range nd {
		bo.PutUint32(b[4*i:], v)
	}
	return tag{id: id, typ: typ, count: uint32(len(nd) / 2), data: b}
}

// buildTIFF lays out a TIFF blob: header, GPS IFD, Exif IFD, IFD0 (with
// pointers to the other two when they are non-nil), and optionally IFD1.
func buildTIFF(bo byteOrder, ifd0, exifIFD, gps, ifd1 []tag) []byte {
	buf := make([]byte, 8)
	if bo == binary.LittleEndian {
		copy(buf, "II*\x00")
	} else {
		copy(buf, "MM\x00*")
	}
	writeIFD := func(tags []tag, next uint32) uint32 {
		off := uint32(len(buf))
		dataOff := off + 2 + 12*uint32(len(tags)) + 4
		var ifd, data []byte
		ifd = bo.AppendUint16(ifd, uint16(len(tags)))
		for _, tg := range tags {
			ifd = bo.AppendUint16(ifd, tg.id)
			ifd = bo.AppendUint16(ifd, tg.typ)
			ifd = bo.AppendUint32(ifd, tg.count)
			switch {
			case tg.raw != nil:
				ifd = append(ifd, tg.raw[:4]...)
			case len(tg.data) <= 4:
				v := make([]byte, 4)
				copy(v, tg.data)
				ifd = append(ifd, v...)
			default:
				ifd = bo.AppendUint32(ifd, dataOff+uint32(len(data)))
				data = append(data, tg.data...)
				if len(data)%2 == 1 {
					data = append(data, 0)
				}
			}
		}
		ifd = bo.AppendUint32(ifd, next)
		buf = append(buf, ifd...)
		buf = append(buf, data...)
		return off
	}
	long := func(id uint16, v uint32) tag {
		b := make([]byte, 4)
		bo.PutUint32(b, v)
		return tag{id: id, typ: 4, count: 1, data: b}
	}
	var tags0 []tag
	tags0 = append(tags0, ifd0...)
	if gps != nil {
		tags0 = append(tags0, long(0x8825, writeIFD(gps, 0)))
	}
	if exifIFD != nil {
		tags0 = append(tags0, long(0x8769, writeIFD(exifIFD, 0)))
	}
	var next uint32
	if ifd1 != nil {
		next = writeIFD(ifd1, 0)
	}
	off0 := writeIFD(tags0, next) // (before taking buf[4:]: writeIFD reallocates buf)
	bo.PutUint32(buf[4:], off0)
	return buf
}

// withJPEGExif inserts an APP1 Exif segment right after SOI.
func withJPEGExif(jpg, tiff []byte) []byte {
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+6+len(tiff)))
	seg = append(seg, "Exif\x00\x00"...)
	seg = append(seg, tiff...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, body []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	c = append(c, typ...)
	c = append(c, body...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withPNGExif inserts an eXIf chunk after IHDR.
func withPNGExif(p, tiff []byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, pngChunk("eXIf", tiff)...)
	return append(out, p[ihdrEnd:]...)
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// --- ISO BMFF builder -----------------------------------------------------

func bmffBox(typ string, body ...[]byte) []byte {
	n := 8
	for _, b := range body {
		n += len(b)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(n))
	out = append(out, typ...)
	for _, b := range body {
		out = append(out, b...)
	}
	return out
}

func fullBox(typ string, version byte, flags uint32, body ...[]byte) []byte {
	vf := binary.BigEndian.AppendUint32(nil, uint32(version)<<24|flags&0xFFFFFF)
	return bmffBox(typ, append([][]byte{vf}, body...)...)
}

func ftyp(major string, compat ...string) []byte {
	body := []byte(major)
	body = append(body, 0, 0, 0, 0)
	for _, c := range compat {
		body = append(body, c...)
	}
	return bmffBox("ftyp", body)
}

// buildHEIC makes a structurally valid HEIC container (no real HEVC data):
// item 1 is the primary hvc1 image with ispe w×h (property 2); property 1
// is a larger ispe (8000×6000) that belongs to no item, to check that the
// primary's is the one reported. When tiff is non-nil, item 2 is an Exif
// item stored in mdat at a file offset.
func buildHEIC(w, h uint32, tiff []byte) []byte {
	ft := ftyp("heic", "mif1", "heic")
	infe := func(id uint16, typ string) []byte {
		return fullBox("infe", 2, 0, be16(id), be16(0), []byte(typ), []byte("\x00"))
	}
	ipco := bmffBox("ipco",
		fullBox("ispe", 0, 0, be32(8000), be32(6000)),
		fullBox("ispe", 0, 0, be32(w), be32(h)))
	ipma := fullBox("ipma", 0, 0, be32(1), be16(1), []byte{1, 0x80 | 2})
	var payload []byte
	if tiff != nil {
		payload = append(be32(6), "Exif\x00\x00"...)
		payload = append(payload, tiff...)
	}
	build := func(exifOffset uint32) []byte {
		items := [][]byte{infe(1, "hvc1")}
		count := uint16(1)
		// iloc v0: offset_size=4, length_size=4, base_offset_size=0.
		ilocBody := [][]byte{be16(0x4400)}
		if tiff != nil {
			items = append(items, infe(2, "Exif"))
			count = 2
			ilocBody = append(ilocBody, be16(1),
				be16(2), be16(0), be16(1), be32(exifOffset), be32(uint32(len(payload))))
		} else {
			ilocBody = append(ilocBody, be16(0))
		}
		meta := fullBox("meta", 0, 0,
			fullBox("hdlr", 0, 0, be32(0), []byte("pict"), make([]byte, 12), []byte("\x00")),
			fullBox("pitm", 0, 0, be16(1)),
			fullBox("iinf", 0, 0, append([][]byte{be16(count)}, items...)...),
			fullBox("iloc", 0, 0, ilocBody...),
			bmffBox("iprp", ipco, ipma))
		out := append(append([]byte{}, ft...), meta...)
		return append(out, bmffBox("mdat", payload)...)
	}
	// The Exif item's offset depends on the layout: build twice.
	first := build(0)
	return build(uint32(len(first) - len(payload)))
}

// --- images ---------------------------------------------------------------

// quadrants is an upright w×h test picture: red top-left, green top-right,
// blue bottom-left, white bottom-right.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c color.RGBA
			switch {
			case x < w/2 && y < h/2:
				c = color.RGBA{255, 0, 0, 255}
			case y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			case x < w/2:
				c = color.RGBA{0, 0, 255, 255}
			default:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// storeAs returns the pixels a camera stores for an upright picture and
// EXIF orientation o, written straight from the EXIF 2.3 definitions
// ("the 0th row is the visual …, the 0th column is the visual …"),
// independently of the imaging package. For stored pixel (sx, sy) it
// finds the displayed pixel (dx, dy).
func storeAs(up image.Image, o int) *image.RGBA {
	b := up.Bounds()
	dw, dh := b.Dx(), b.Dy()
	sw, sh := dw, dh
	if o >= 5 {
		sw, sh = dh, dw
	}
	st := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for sy := 0; sy < sh; sy++ {
		for sx := 0; sx < sw; sx++ {
			var dx, dy int
			switch o {
			case 1: // row 0 top, column 0 left
				dx, dy = sx, sy
			case 2: // row 0 top, column 0 right
				dx, dy = dw-1-sx, sy
			case 3: // row 0 bottom, column 0 right
				dx, dy = dw-1-sx, dh-1-sy
			case 4: // row 0 bottom, column 0 left
				dx, dy = sx, dh-1-sy
			case 5: // row 0 left, column 0 top
				dx, dy = sy, sx
			case 6: // row 0 right, column 0 top
				dx, dy = dw-1-sy, sx
			case 7: // row 0 right, column 0 bottom
				dx, dy = dw-1-sy, dh-1-sx
			case 8: // row 0 left, column 0 bottom
				dx, dy = sy, dh-1-sx
			}
			st.Set(sx, sy, up.At(b.Min.X+dx, b.Min.Y+dy))
		}
	}
	return st
}

// displayAs is the inverse of storeAs: the upright picture for stored
// pixels with orientation o.
func displayAs(st image.Image, o int) *image.RGBA {
	b := st.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dw, dh := sw, sh
	if o >= 5 {
		dw, dh = sh, sw
	}
	up := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for sy := 0; sy < sh; sy++ {
		for sx := 0; sx < sw; sx++ {
			var dx, dy int
			switch o {
			case 1:
				dx, dy = sx, sy
			case 2:
				dx, dy = dw-1-sx, sy
			case 3:
				dx, dy = dw-1-sx, dh-1-sy
			case 4:
				dx, dy = sx, dh-1-sy
			case 5:
				dx, dy = sy, sx
			case 6:
				dx, dy = dw-1-sy, sx
			case 7:
				dx, dy = dw-1-sy, dh-1-sx
			case 8:
				dx, dy = sy, dh-1-sx
			}
			up.Set(dx, dy, st.At(b.Min.X+sx, b.Min.Y+sy))
		}
	}
	return up
}

// blockLuma averages luma over a gx×gy grid of img.
func blockLuma(img image.Image, gx, gy int) []float64 {
	b := img.Bounds()
	sums := make([]float64, gx*gy)
	counts := make([]float64, gx*gy)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			i := (y-b.Min.Y)*gy/b.Dy()*gx + (x-b.Min.X)*gx/b.Dx()
			sums[i] += l
			counts[i]++
		}
	}
	for i := range sums {
		sums[i] /= counts[i]
	}
	return sums
}

func meanAbsDiff(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		s += d
	}
	return s / float64(len(a))
}
