package media

import (
	"bufio"
	"bytes"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"runtime/debug"

	"github.com/disintegration/imaging"

	"github.com/fieldsync/fieldsync/models"
)

var _ models.PublicRenderer = (*Analyzer)(nil)

// RenderPublic implements models.PublicRenderer for JPEG and PNG (there is
// no pure Go HEVC decoder, so HEIC/HEIF is CodeMediaUnsupported).
//
// Only pixels survive: the image is decoded, scaled so that its longer
// side is at most PublicSize, turned upright by orientation, flattened
// onto white and encoded afresh by image/jpeg, which writes no application
// segment at all (no EXIF, no JFIF, no comment). Nothing of the original's
// byte stream is copied.
//
// r is streamed, not read into memory: only the bytes the header check
// reads are kept aside, to be decoded again. The header's dimensions are
// checked against MaxSide and MaxPixels before any pixel buffer exists, so
// memory is bounded by the decoded image and its scaled copy. At most
// MaxBytes are read.
func (a *Analyzer) RenderPublic(r io.Reader, orientation int) (out []byte, err error) {
	br := bufio.NewReader(io.LimitReader(r, a.maxBytes()))
	// Enough for sniff to tell HEIF brands apart, for a clear refusal.
	magic, _ := br.Peek(512)
	ct, err := sniff(magic)
	if err != nil {
		return nil, err
	}
	if ct != ContentTypeJPEG && ct != ContentTypePNG {
		return nil, models.Errorf(models.CodeMediaUnsupported, "a %s photo cannot be re-encoded; only JPEG and PNG can", formatName(ct))
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &models.Error{Code: models.CodeMediaUnreadable,
				Message: fmt.Sprintf("the %s file could not be decoded (decoder failure)", formatName(ct)),
				Err:     fmt.Errorf("media: panic while rendering %s: %v\n%s", ct, p, debug.Stack())}
		}
	}()
	var head bytes.Buffer
	decodeConfig, decode := jpeg.DecodeConfig, decodeJPEG
	if ct == ContentTypePNG {
		decodeConfig, decode = png.DecodeConfig, decodePNG
	}
	cfg, err := decodeConfig(io.TeeReader(br, &head))
	if err != nil {
		return nil, &models.Error{Code: models.CodeMediaUnreadable,
			Message: fmt.Sprintf("cannot read the %s header: %v", formatName(ct), err), Err: err}
	}
	if err := a.checkDimensions(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, err := decode(io.MultiReader(&head, br))
	if err != nil {
		return nil, &models.Error{Code: models.CodeMediaUnreadable,
			Message: fmt.Sprintf("the %s pixel data cannot be decoded: %v", formatName(ct), err), Err: err}
	}
	b := img.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, models.Errorf(models.CodeMediaUnreadable, "decoded %dx%d pixels, header said %dx%d", b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	// Scaling before turning is cheaper and gives the same pixels.
	if w, h := fitSize(b.Dx(), b.Dy(), a.publicSize()); w != b.Dx() || h != b.Dy() {
		img = imaging.Resize(img, w, h, imaging.Lanczos)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, flatten(orient(img, orientation)), &jpeg.Options{Quality: a.publicQuality()}); err != nil {
		return nil, fmt.Errorf("media: encode public copy: %w", err)
	}
	return buf.Bytes(), nil
}
