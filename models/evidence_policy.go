package models

import (
	"context"
	"time"
)

// EvidencePolicy configures the evidence pipeline.
type EvidencePolicy struct {
	// MaxSize bounds one file.
	MaxSize int64
	// MaxAnalyzeSize bounds the files read into memory for image
	// analysis; larger ones (documents) are only hashed, streaming.
	MaxAnalyzeSize int64
	// NearDuplicateDistance is the largest perceptual-hash Hamming
	// distance reported as a near-duplicate.
	NearDuplicateDistance int
	// GPSMismatchM is how far the EXIF position may lie from the device
	// fix (beyond the fix's own accuracy) before it is flagged.
	GPSMismatchM float64
	// ClockSkew is how far EXIF time may differ from device time.
	ClockSkew time.Duration
}

// DefaultEvidencePolicy is used for zero fields.
var DefaultEvidencePolicy = EvidencePolicy{
	MaxSize: 512 << 20, MaxAnalyzeSize: 64 << 20, NearDuplicateDistance: 10, GPSMismatchM: 100, ClockSkew: 10 * time.Minute,
}

// maxAnalyses bounds the completions that hold a file in memory and
// decode it, and the publications that decode a photo, at the same time.
const maxAnalyses = 4

var analyses = make(chan struct{}, maxAnalyses)

// AnalysisSlot waits briefly for a free analysis slot; a server that is
// busy answers 503 with Retry-After rather than running out of memory.
func (s *Service) AnalysisSlot(ctx context.Context) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	select {
	case analyses <- struct{}{}:
		return func() { <-analyses }, nil
	case <-ctx.Done():
		return nil, &Error{Code: CodeUnavailable, Message: "the server is busy decoding other photos; try again shortly", RetryAfter: 5 * time.Second}
	}
}
