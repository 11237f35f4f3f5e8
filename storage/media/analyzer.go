// Package media reads what the server needs from an uploaded evidence
// photo: its sniffed content type, pixel dimensions, EXIF (GPS, capture
// time, camera, orientation), an upright JPEG thumbnail and a 64-bit
// perceptual hash for near-duplicate detection.
//
// Analyzer implements models.MediaAnalyzer. It is safe for concurrent use.
// Hostile input is the normal case here: dimensions are checked before any
// pixel buffer is allocated, EXIF is parsed from bytes already in memory
// with every length checked first, and panics in third-party decoders are
// turned into CodeMediaUnreadable.
package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/bits"
	"runtime/debug"

	"github.com/fieldsync/fieldsync/models"
)

// The pixel decoders; variables so that a test can make one panic.
var (
	decodeJPEG = jpeg.Decode
	decodePNG  = png.Decode
)

// Content types that Analyze reports.
const (
	ContentTypeJPEG = "image/jpeg"
	ContentTypePNG  = "image/png"
	// ContentTypeHEIC is reported for ISO BMFF files with a HEVC-coded
	// HEIF brand (heic, heix, heim, heis, hevc, hevx).
	ContentTypeHEIC = "image/heic"
	// ContentTypeHEIF is reported for HEIF files that only carry the
	// generic brands mif1/msf1 (the codec is not named).
	ContentTypeHEIF = "image/heif"
)

// Defaults used when the corresponding Analyzer field is zero.
const (
	DefaultMaxPixels        = 50_000_000
	DefaultMaxSide          = 20_000
	DefaultMaxBytes         = 64 << 20
	DefaultThumbnailSize    = 320
	DefaultThumbnailQuality = 80
	DefaultPublicSize       = 2048
	DefaultPublicQuality    = 85
)

// Analyzer implements models.MediaAnalyzer for JPEG, PNG and HEIC/HEIF.
// The zero value is ready to use with the defaults above.
type Analyzer struct {
	// MaxPixels refuses images with more pixels (width × height) than
	// this, before decoding, with CodeMediaTooLarge. 0 means
	// DefaultMaxPixels (50 megapixels).
	MaxPixels int64
	// MaxSide refuses images with either side longer than this. 0 means
	// DefaultMaxSide (20000).
	MaxSide int
	// MaxBytes is a backstop on how much Analyze reads from r; callers are
	// expected to enforce their own, tighter, upload limit. 0 means
	// DefaultMaxBytes (64 MiB).
	MaxBytes int64
	// ThumbnailSize is the longest side of the thumbnail. 0 means 320.
	ThumbnailSize int
	// ThumbnailQuality is the JPEG quality of the thumbnail. 0 means 80.
	ThumbnailQuality int
	// PublicSize is the longest side of the copies RenderPublic makes:
	// enough for a web page, and it bounds what the public gets of the
	// original. 0 means 2048.
	PublicSize int
	// PublicQuality is their JPEG quality. 0 means 85.
	PublicQuality int
}

// New returns an Analyzer with the default limits.
func New() *Analyzer { return &Analyzer{} }

var _ models.MediaAnalyzer = (*Analyzer)(nil)

func (a *Analyzer) maxPixels() int64 {
	if a.MaxPixels > 0 {
		return a.MaxPixels
	}
	return DefaultMaxPixels
}

func (a *Analyzer) maxSide() int {
	if a.MaxSide > 0 {
		return a.MaxSide
	}
	return DefaultMaxSide
}

func (a *Analyzer) maxBytes() int64 {
	if a.MaxBytes > 0 {
		return a.MaxBytes
	}
	return DefaultMaxBytes
}

func (a *Analyzer) thumbSize() int {
	if a.ThumbnailSize > 0 {
		return a.ThumbnailSize
	}
	return DefaultThumbnailSize
}

func (a *Analyzer) thumbQuality() int {
	if a.ThumbnailQuality > 0 && a.ThumbnailQuality <= 100 {
		return a.ThumbnailQuality
	}
	return DefaultThumbnailQuality
}

func (a *Analyzer) publicSize() int {
	if a.PublicSize > 0 {
		return a.PublicSize
	}
	return DefaultPublicSize
}

func (a *Analyzer) publicQuality() int {
	if a.PublicQuality > 0 && a.PublicQuality <= 100 {
		return a.PublicQuality
	}
	return DefaultPublicQuality
}

// HammingDistance is the number of differing bits between two perceptual
// hashes: 0 for the same picture, small (≲10) for a re-encoded or resized
// copy, around 32 for unrelated pictures.
func HammingDistance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// Analyze reads at most size bytes from r (size <= 0: unknown, bounded by
// MaxBytes) into memory once and reports what the bytes are.
//
// Outcomes:
//   - JPEG, PNG: type, dimensions, EXIF (JPEG APP1 or PNG eXIf), an upright
//     thumbnail and the perceptual hash of the upright image.
//   - HEIC/HEIF: type, dimensions from the primary item's ispe box, EXIF
//     from the Exif item when present; PHash and Thumbnail are nil (no pure
//     Go HEVC decoder). This is not an error.
//   - Anything else, or an empty file: CodeMediaUnsupported, naming what
//     was found.
//   - Dimensions above MaxSide or MaxPixels (read from the header, before
//     any decoding; for HEIC from ispe): CodeMediaTooLarge.
//   - A header that cannot be parsed, pixel data that cannot be decoded
//     (truncated or corrupted), or a panic in a decoder: CodeMediaUnreadable.
//     When only the pixel data failed, the MediaInfo returned with this
//     error still carries ContentType, Width, Height and the EXIF fields,
//     so that the caller can log or flag them; PHash and Thumbnail are nil.
//     With any other error the MediaInfo holds at most ContentType.
//   - More bytes in r than a positive size, or size or the bytes read
//     above MaxBytes: CodeMediaTooLarge (a declared size above MaxBytes is
//     refused before reading). Fewer bytes than a positive size:
//     CodeMediaUnreadable.
//
// Broken or hostile EXIF never fails the analysis: it is treated as absent.
// Errors reading r itself are returned wrapped, not as media codes.
func (a *Analyzer) Analyze(r io.Reader, size int64) (info models.MediaInfo, err error) {
	data, err := a.readAll(r, size)
	if err != nil {
		return models.MediaInfo{}, err
	}
	ct, err := sniff(data)
	if err != nil {
		return models.MediaInfo{}, err
	}
	defer func() {
		if p := recover(); p != nil {
			info = models.MediaInfo{ContentType: ct}
			err = &models.Error{Code: models.CodeMediaUnreadable,
				Message: fmt.Sprintf("the %s file could not be decoded (decoder failure)", formatName(ct)),
				Err:     fmt.Errorf("media: panic while analysing %s: %v\n%s", ct, p, debug.Stack())}
		}
	}()
	return a.analyze(data, ct)
}

func (a *Analyzer) readAll(r io.Reader, size int64) ([]byte, error) {
	limit := a.maxBytes()
	if size > limit {
		return nil, models.Errorf(models.CodeMediaTooLarge,
			"file is %d bytes, more than the %d bytes that can be analysed", size, limit)
	}
	if size > 0 {
		buf := make([]byte, size)
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, models.Errorf(models.CodeMediaUnreadable,
				"file ended after %d of its declared %d bytes", n, size)
		}
		if err != nil {
			return nil, fmt.Errorf("media: read: %w", err)
		}
		var one [1]byte
		if m, _ := io.ReadFull(r, one[:]); m > 0 {
			return nil, models.Errorf(models.CodeMediaTooLarge,
				"file is longer than its declared %d bytes", size)
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("media: read: %w", err)
	}
	if int64(len(buf)) > limit {
		return nil, models.Errorf(models.CodeMediaTooLarge,
			"file is more than the %d bytes that can be analysed", limit)
	}
	return buf, nil
}

func (a *Analyzer) analyze(data []byte, ct string) (models.MediaInfo, error) {
	info := models.MediaInfo{ContentType: ct}
	switch ct {
	case ContentTypeHEIC, ContentTypeHEIF:
		return a.analyzeHEIF(data, info)
	}

	// JPEG or PNG: dimensions from the header, before decoding.
	var (
		cfg image.Config
		err error
	)
	if ct == ContentTypeJPEG {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return info, &models.Error{Code: models.CodeMediaUnreadable,
			Message: fmt.Sprintf("cannot read the %s header: %v", formatName(ct), err), Err: err}
	}
	if err := a.checkDimensions(cfg.Width, cfg.Height); err != nil {
		return info, err
	}
	info.Width, info.Height = cfg.Width, cfg.Height

	var blob []byte
	if ct == ContentTypeJPEG {
		blob = jpegExif(data)
	} else {
		blob = pngExif(data)
	}
	applyExif(&info, readExif(blob))

	// Decode once; everything below works on this image.
	var img image.Image
	if ct == ContentTypeJPEG {
		img, err = decodeJPEG(bytes.NewReader(data))
	} else {
		img, err = decodePNG(bytes.NewReader(data))
	}
	if err != nil {
		return info, &models.Error{Code: models.CodeMediaUnreadable,
			Message: fmt.Sprintf("the %s pixel data cannot be decoded: %v", formatName(ct), err), Err: err}
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return info, models.Errorf(models.CodeMediaUnreadable,
			"decoded %dx%d pixels, header said %dx%d", b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}

	thumb, hash, err := a.thumbnailAndHash(img, info.Orientation)
	if err != nil {
		return info, &models.Error{Code: models.CodeMediaUnreadable,
			Message: "cannot make a thumbnail", Err: err}
	}
	info.Thumbnail, info.PHash = thumb, &hash
	return info, nil
}

func (a *Analyzer) analyzeHEIF(data []byte, info models.MediaInfo) (models.MediaInfo, error) {
	h := parseHEIF(data)
	if h.width > 0 && h.height > 0 {
		if err := a.checkDimensions(h.width, h.height); err != nil {
			return info, err
		}
		info.Width, info.Height = h.width, h.height
	}
	applyExif(&info, readExif(h.exif))
	return info, nil
}

// checkDimensions refuses decompression bombs from the header's claim.
func (a *Analyzer) checkDimensions(w, h int) error {
	if w <= 0 || h <= 0 {
		return models.Errorf(models.CodeMediaUnreadable, "image header gives no size (%dx%d)", w, h)
	}
	if w > a.maxSide() || h > a.maxSide() || int64(w)*int64(h) > a.maxPixels() {
		return models.Errorf(models.CodeMediaTooLarge,
			"image is %dx%d pixels (%.1f megapixels); at most %d pixels a side and %.1f megapixels are accepted",
			w, h, float64(w)*float64(h)/1e6, a.maxSide(), float64(a.maxPixels())/1e6)
	}
	return nil
}

func formatName(ct string) string {
	switch ct {
	case ContentTypeJPEG:
		return "JPEG"
	case ContentTypePNG:
		return "PNG"
	case ContentTypeHEIC:
		return "HEIC"
	case ContentTypeHEIF:
		return "HEIF"
	}
	return ct
}
