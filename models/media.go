package models

import (
	"io"
	"time"
)

// MediaInfo is what the server reads from an uploaded file's bytes.
type MediaInfo struct {
	// ContentType is sniffed from the bytes, never taken from the client.
	ContentType string
	Width       int
	Height      int
	// EXIF, when present.
	HasGPS       bool
	Lat          float64
	Lng          float64
	AltitudeM    *float64
	TakenAt      *time.Time // DateTimeOriginal, in its offset when EXIF gives one, else UTC
	TakenAtLocal bool       // TakenAt had no offset in EXIF and was read as UTC wall time
	Make         string
	Model        string
	Orientation  int // EXIF orientation 1..8; 0 when absent
	// PHash is a 64-bit perceptual hash of the image, for near-duplicate
	// detection; nil when the file is not an image that could be decoded.
	PHash *uint64
	// PHashes are PHash and the hashes of parts of the picture (a copy
	// cropped by up to 10% is close to one of them), all stored in the
	// near-duplicate index; nil when PHash is.
	PHashes []uint64
	// Thumbnail is a JPEG with the orientation applied, nil when none
	// could be made.
	Thumbnail []byte
}

// MediaAnalyzer reads a file's type, dimensions, EXIF, perceptual hash and
// thumbnail. It must refuse decompression bombs (dimensions are checked
// before decoding) and must not panic or hang on broken files: it returns
// an *Error with CodeMediaUnreadable / CodeMediaTooLarge /
// CodeMediaUnsupported instead.
type MediaAnalyzer interface {
	Analyze(r io.Reader, size int64) (MediaInfo, error)
}
