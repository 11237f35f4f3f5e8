package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// photoSource hands out the bytes of the photos devices upload: the
// JPEGs of a directory, in turn, or generated ones with the position
// each upload asks for in their EXIF.
type photoSource struct {
	files [][]byte
	// width and height of generated photos.
	width, height int
}

func loadPhotos(dir string, width, height int) (*photoSource, error) {
	p := &photoSource{width: width, height: height}
	if dir == "" {
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".jpg" && ext != ".jpeg") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, b)
	}
	if len(p.files) == 0 {
		return nil, fmt.Errorf("-photos %s: no .jpg files", dir)
	}
	return p, nil
}

// photo returns the n-th photo: a file of the directory, or a generated
// JPEG taken at (lat, lng) at the given time. Generated photos differ
// from each other in content, so the server's duplicate checks see them
// as distinct pictures.
func (p *photoSource) photo(n int, lat, lng float64, taken time.Time) ([]byte, error) {
	if len(p.files) > 0 {
		return p.files[n%len(p.files)], nil
	}
	return generateJPEG(uint64(n), p.width, p.height, 90, lat, lng, taken)
}

// generateJPEG draws a w×h picture from seed (colour blocks over noise,
// so that it compresses like a photo and hashes apart from others) and
// encodes it with an EXIF APP1 segment giving the position and time.
func generateJPEG(seed uint64, w, h, quality int, lat, lng float64, taken time.Time) ([]byte, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	const block = 64
	cols := (w + block - 1) / block
	base := make([]color.YCbCr, cols*((h+block-1)/block))
	for i := range base {
		base[i] = color.YCbCr{Y: uint8(rng.IntN(128)), Cb: uint8(rng.IntN(256)), Cr: uint8(rng.IntN(256))}
	}
	for y := range h {
		for x := range w {
			c := base[(y/block)*cols+x/block]
			img.Y[y*img.YStride+x] = c.Y + uint8(rng.IntN(128))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			c := base[(2*y/block)*cols+2*x/block]
			img.Cb[y*img.CStride+x], img.Cr[y*img.CStride+x] = c.Cb, c.Cr
		}
	}
	var raw bytes.Buffer
	if err := jpeg.Encode(&raw, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	tiff, err := exifBlock(lat, lng, taken)
	if err != nil {
		return nil, err
	}
	return withExif(raw.Bytes(), tiff)
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

// exifBlock encodes the TIFF structure of a phone photo's EXIF: make and
// model, DateTimeOriginal with OffsetTimeOriginal, and the GPS position.
func exifBlock(lat, lng float64, taken time.Time) ([]byte, error) {
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
		{root, "Make", "fieldsim"},
		{root, "Model", "simulated phone"},
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

// offsetMetres moves a position by north and east metres.
func offsetMetres(lat, lng, north, east float64) (float64, float64) {
	const r = 6371000.0
	return lat + north/r*180/math.Pi, lng + east/(r*math.Cos(lat*math.Pi/180))*180/math.Pi
}

// documentOf makes a generated PDF of size bytes (the pack scenario's
// large evidence, which the server only hashes).
func documentOf(n int, size int) []byte {
	head := fmt.Sprintf("%%PDF-1.4\n%% fieldsim document %d\n", n)
	b := make([]byte, max(size, len(head)))
	copy(b, head)
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	for i := len(head); i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b
}
