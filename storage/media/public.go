package media

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"runtime/debug"

	"github.com/disintegration/imaging"

	"github.com/fieldsync/fieldsync/models"
)

var _ models.PublicRenderer = (*Analyzer)(nil)

// RenderPublic implements models.PublicRenderer for JPEG, PNG and
// HEIC/HEIF.
//
// Only pixels survive: the image is decoded, scaled so that its longer
// side is at most PublicSize, turned upright by orientation (HEIF comes
// out of its decoder upright already, so orientation is not applied to
// it), flattened onto white and encoded afresh by image/jpeg, which writes
// no application segment at all (no EXIF, no JFIF, no comment). Nothing of
// the original's byte stream is copied.
//
// JPEG and PNG are streamed, not read into memory: only the bytes the
// header check reads are kept aside, to be decoded again. HEIF is read
// whole (its decoder needs it), at most MaxBytes. The header's dimensions
// are checked against MaxSide and MaxPixels, and the decoded size is
// admitted against the decode budget, before any pixel buffer exists.
func (a *Analyzer) RenderPublic(r io.Reader, orientation int) (out []byte, err error) {
	br := bufio.NewReader(io.LimitReader(r, a.maxBytes()))
	// Enough for sniff to tell HEIF brands apart, for a clear refusal.
	magic, _ := br.Peek(512)
	ct, err := sniff(magic)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &models.Error{Code: models.CodeMediaUnreadable,
				Message: fmt.Sprintf("the %s file could not be decoded (decoder failure)", formatName(ct)),
				Err:     fmt.Errorf("media: panic while rendering %s: %v\n%s", ct, p, debug.Stack())}
		}
	}()
	var (
		img image.Image
		cfg image.Config
	)
	if isHEIF(ct) {
		data, err := a.readAll(br, 0)
		if err != nil {
			return nil, err
		}
		if cfg, _, err = header(data, ct); err != nil {
			return nil, err
		}
		if err := a.checkDimensions(cfg.Width, cfg.Height); err != nil {
			return nil, err
		}
		var release func()
		if img, _, _, release, err = a.decode(data, ct, cfg); err != nil {
			return nil, err
		}
		defer release()
		orientation = 1
	} else {
		var head bytes.Buffer
		decodeConfig, decode := jpeg.DecodeConfig, decodeJPEG
		if ct == ContentTypePNG {
			decodeConfig, decode = png.DecodeConfig, decodePNG
		}
		if cfg, err = decodeConfig(io.TeeReader(br, &head)); err != nil {
			return nil, &models.Error{Code: models.CodeMediaUnreadable,
				Message: fmt.Sprintf("cannot read the %s header: %v", formatName(ct), err), Err: err}
		}
		if err := a.checkDimensions(cfg.Width, cfg.Height); err != nil {
			return nil, err
		}
		release, err := a.admit(ct, cfg, head.Bytes())
		if err != nil {
			return nil, err
		}
		defer release()
		if img, err = decode(io.MultiReader(&head, br)); err != nil {
			return nil, &models.Error{Code: models.CodeMediaUnreadable,
				Message: fmt.Sprintf("the %s pixel data cannot be decoded: %v", formatName(ct), err), Err: err}
		}
		if err := checkDecoded(img, cfg, ct); err != nil {
			return nil, err
		}
	}
	b := img.Bounds()
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
