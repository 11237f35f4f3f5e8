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
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/bits"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gen2brain/heic"

	"github.com/fieldsync/fieldsync/models"
)

// The pixel decoders; variables so that a test can make one panic.
var (
	decodeJPEG = jpeg.Decode
	decodePNG  = png.Decode
	decodeHEIC = heic.Decode
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
	// DecodeBudget bounds the memory that the decoded pixels of all the
	// photos this Analyzer decodes at one time take (Analyze and
	// RenderPublic together), in bytes; each decode reserves its decoded
	// size (decodeCost) from the header, before any pixel buffer exists.
	// 0 means DefaultDecodeBudget. Set it before first use.
	DecodeBudget int64
	// AdmissionWait is how long a decode waits for room in the budget
	// before it is refused with CodeUnavailable (503, Retry-After). 0
	// means DefaultAdmissionWait.
	AdmissionWait time.Duration

	budgetOnce sync.Once
	budget     *decodeBudget
}

// New returns an Analyzer with the default limits.
func New() *Analyzer { return &Analyzer{} }

var _ models.MediaAnalyzer = (*Analyzer)(nil)

func (a *Analyzer) decodeBudget() *decodeBudget {
	a.budgetOnce.Do(func() {
		size := a.DecodeBudget
		if size <= 0 {
			size = DefaultDecodeBudget
		}
		a.budget = newDecodeBudget(size)
	})
	return a.budget
}

func (a *Analyzer) admissionWait() time.Duration {
	if a.AdmissionWait > 0 {
		return a.AdmissionWait
	}
	return DefaultAdmissionWait
}

// DecodeMemory reports the bytes of the decode budget reserved now and the
// most ever reserved at one time.
func (a *Analyzer) DecodeMemory() (inUse, peak int64) { return a.decodeBudget().stats() }

// admit reserves the decoded size of an image with this header.
func (a *Analyzer) admit(ct string, cfg image.Config, data []byte) (func(), error) {
	return a.decodeBudget().acquire(decodeCost(ct, cfg, data), a.admissionWait(), formatName(ct))
}

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
// hashes: 0 for the same picture, small (≲10) for an edited copy, around
// 32 for unrelated pictures.
func HammingDistance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// Analyze reads at most size bytes from r (size <= 0: unknown, bounded by
// MaxBytes) into memory once and reports what the bytes are.
//
// Outcomes:
//   - JPEG, PNG, HEIC/HEIF: type, dimensions, EXIF (JPEG APP1, PNG eXIf,
//     the HEIF Exif item), an upright thumbnail and the perceptual hashes
//     of the upright image (PHash, PHashes). HEIC is decoded by libheif
//     and libde265 compiled to WebAssembly (github.com/gen2brain/heic),
//     which apply the file's rotation and mirroring: the dimensions
//     reported for HEIC are those of the picture as shown.
//   - Anything else, or an empty file: CodeMediaUnsupported, naming what
//     was found.
//   - Dimensions above MaxSide or MaxPixels (read from the header, before
//     any decoding; for HEIC from ispe): CodeMediaTooLarge. So is an image
//     whose decoded size alone (width × height × bytes per pixel of its
//     colour model and bit depth, decodeCost) exceeds DecodeBudget. A
//     HEIC grid larger than PublicSize is decoded tile by tile at a
//     reduced size instead (heifgrid.go), at the cost of that.
//   - No room in the decode budget within AdmissionWait:
//     CodeUnavailable with RetryAfter; nothing was decoded, the caller
//     may try again.
//   - A header that cannot be parsed (a HEIF without a sized primary
//     image among them), pixel data that cannot be decoded (truncated or
//     corrupted), or a panic in a decoder: CodeMediaUnreadable.
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
	if b, ok := r.(interface{ Bytes() []byte }); ok && size > 0 && int64(len(b.Bytes())) == size {
		// A *bytes.Buffer holding exactly the file: use its bytes rather
		// than a second copy (Analyze never writes to them).
		return b.Bytes(), nil
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
	// Dimensions from the header, before decoding.
	cfg, blob, err := header(data, ct)
	if err != nil {
		return info, err
	}
	if err := a.checkDimensions(cfg.Width, cfg.Height); err != nil {
		return info, err
	}
	info.Width, info.Height = cfg.Width, cfg.Height
	applyExif(&info, readExif(blob))

	// Decode once; everything below works on this image.
	img, shownW, shownH, release, err := a.decode(data, ct, cfg)
	if err != nil {
		return info, err
	}
	defer release()
	orientation := info.Orientation
	if isHEIF(ct) {
		// libheif applies the file's own rotation and mirroring (irot,
		// imir), and so does a grid's reduced decode; they take
		// precedence over EXIF orientation: the pixels come out upright,
		// and the size is the one they are shown at.
		orientation = 1
		info.Width, info.Height = shownW, shownH
	}

	thumb, hashes, err := a.thumbnailAndHash(img, orientation)
	if err != nil {
		return info, &models.Error{Code: models.CodeMediaUnreadable,
			Message: "cannot make a thumbnail", Err: err}
	}
	info.Thumbnail, info.PHash, info.PHashes = thumb, &hashes[0], hashes
	return info, nil
}

// decode admits and decodes the image whose header is cfg, and returns it
// with the size it is shown at (for HEIF, after its rotation) and the
// release of its admission. A HEIF grid larger than the public copy is
// decoded tile by tile at a reduced size (heifgrid.go), which is what
// makes a 24 or 48 megapixel phone photo fit the budget; the image is
// then smaller than the size returned.
func (a *Analyzer) decode(data []byte, ct string, cfg image.Config) (img image.Image, w, h int, release func(), err error) {
	unreadable := func(err error) error {
		return &models.Error{Code: models.CodeMediaUnreadable,
			Message: fmt.Sprintf("the %s pixel data cannot be decoded: %v", formatName(ct), err), Err: err}
	}
	if isHEIF(ct) {
		if g, ok := parseGrid(data); ok && g.width == cfg.Width && g.height == cfg.Height {
			if s := reduction(g.width, g.height, a.publicSize()); s > 1 {
				release, err := a.decodeBudget().acquire(g.reducedCost(s), a.admissionWait(), formatName(ct))
				if err != nil {
					return nil, 0, 0, nil, err
				}
				if img, err = g.decodeReduced(s); err != nil {
					release()
					return nil, 0, 0, nil, unreadable(err)
				}
				w, h = g.shown()
				return img, w, h, release, nil
			}
		}
	}
	release, err = a.admit(ct, cfg, data)
	if err != nil {
		return nil, 0, 0, nil, err
	}
	if img, err = decodePixels(data, ct); err != nil {
		release()
		return nil, 0, 0, nil, unreadable(err)
	}
	if err := checkDecoded(img, cfg, ct); err != nil {
		release()
		return nil, 0, 0, nil, err
	}
	return img, img.Bounds().Dx(), img.Bounds().Dy(), release, nil
}

func isHEIF(ct string) bool { return ct == ContentTypeHEIC || ct == ContentTypeHEIF }

// header reads an image's size and colour model, and its EXIF blob, from
// the header alone. HEIF's size is the primary item's ispe property.
func header(data []byte, ct string) (cfg image.Config, exif []byte, err error) {
	switch ct {
	case ContentTypeJPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		exif = jpegExif(data)
	case ContentTypePNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		exif = pngExif(data)
	default:
		h := parseHEIF(data)
		if h.width <= 0 || h.height <= 0 {
			return cfg, nil, models.Errorf(models.CodeMediaUnreadable,
				"the %s file names no primary image with a size (no ispe property)", formatName(ct))
		}
		cfg = image.Config{ColorModel: color.YCbCrModel, Width: h.width, Height: h.height}
		exif = h.exif
	}
	if err != nil {
		return cfg, nil, &models.Error{Code: models.CodeMediaUnreadable,
			Message: fmt.Sprintf("cannot read the %s header: %v", formatName(ct), err), Err: err}
	}
	return cfg, exif, nil
}

// decodePixels decodes the whole image.
func decodePixels(data []byte, ct string) (image.Image, error) {
	switch ct {
	case ContentTypeJPEG:
		return decodeJPEG(bytes.NewReader(data))
	case ContentTypePNG:
		return decodePNG(bytes.NewReader(data))
	}
	return decodeHEIC(bytes.NewReader(data))
}

// checkDecoded refuses pixels that do not match the header the memory was
// admitted for. A HEIF image may come out turned (irot) or cropped (clap),
// never larger.
func checkDecoded(img image.Image, cfg image.Config, ct string) error {
	b := img.Bounds()
	if b.Dx() == cfg.Width && b.Dy() == cfg.Height {
		return nil
	}
	if isHEIF(ct) && b.Dx() > 0 && b.Dy() > 0 &&
		(b.Dx() <= cfg.Width && b.Dy() <= cfg.Height || b.Dx() <= cfg.Height && b.Dy() <= cfg.Width) {
		return nil
	}
	return models.Errorf(models.CodeMediaUnreadable,
		"decoded %dx%d pixels, header said %dx%d", b.Dx(), b.Dy(), cfg.Width, cfg.Height)
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
