package media

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"

	"github.com/disintegration/imaging"
)

// orient returns img turned upright according to the EXIF orientation
// (1..8; anything else is taken as 1, upright already).
func orient(img image.Image, orientation int) image.Image {
	switch orientation {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // 90° clockwise
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img) // 90° counter-clockwise
	}
	return img
}

// flatten draws an image with transparency onto white: JPEG has no alpha,
// and encoding NRGBA directly would turn transparent pixels black.
func flatten(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, image.White, image.Point{}, draw.Src)
	draw.Draw(rgba, b, img, b.Min, draw.Over)
	return rgba
}

// fitSize scales w×h so that its longer side is at most limit, keeping
// the aspect ratio and at least one pixel a side.
func fitSize(w, h, limit int) (int, int) {
	long := max(w, h)
	if long <= limit {
		return w, h
	}
	s := float64(limit) / float64(long)
	nw := int(math.Round(float64(w) * s))
	nh := int(math.Round(float64(h) * s))
	return min(limit, max(1, nw)), min(limit, max(1, nh))
}

// thumbnailAndHash scales the decoded image down (before turning it, which
// is cheaper and gives the same pixels), turns it upright, encodes it as
// JPEG and computes the perceptual hashes of the same upright image. The
// hash reduces any input to 32×32 first, so hashing the ≤320 px upright
// image rather than the full-size one changes nothing that matters, and is
// much cheaper on 50-megapixel photos.
func (a *Analyzer) thumbnailAndHash(img image.Image, orientation int) ([]byte, []uint64, error) {
	b := img.Bounds()
	w, h := fitSize(b.Dx(), b.Dy(), a.thumbSize())
	var small *image.NRGBA
	if w == b.Dx() && h == b.Dy() {
		small = imaging.Clone(img)
	} else {
		small = imaging.Resize(img, w, h, imaging.Lanczos)
	}
	flat := flatten(orient(small, orientation))

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, flat, &jpeg.Options{Quality: a.thumbQuality()}); err != nil {
		return nil, nil, fmt.Errorf("media: encode thumbnail: %w", err)
	}
	return buf.Bytes(), perceptualHashes(flat), nil
}
