package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/exifjpeg"
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
	return exifjpeg.Stamp(raw.Bytes(), exifjpeg.Camera{Make: "fieldsim", Model: "simulated phone"}, lat, lng, taken)
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
