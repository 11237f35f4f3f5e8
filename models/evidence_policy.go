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

// analysisMemory bounds the bytes of the files that completions and
// publications hold in memory to decode at one time. It is admission by
// size, not by count: each takes a token per MiB of its file. The pixels
// they decode have their own budget in the MediaAnalyzer (storage/media,
// DecodeBudget); the two together keep the server under 512 MB
// (BENCHMARKS.md, "Decode memory").
const analysisMemory = 80 << 20

var (
	analysisTokens = make(chan struct{}, analysisMemory>>20)
	// analysisTurn lets one waiter at a time collect its tokens, so that
	// two large files never each hold half of what they need.
	analysisTurn = make(chan struct{}, 1)
)

// AnalysisSlot waits briefly for room to hold a file of size bytes; a
// server that is busy answers 503 with Retry-After rather than running
// out of memory.
func (s *Service) AnalysisSlot(ctx context.Context, size int64) (func(), error) {
	n := int(min(max(1, (size+1<<20-1)>>20), int64(cap(analysisTokens))))
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	busy := &Error{Code: CodeUnavailable, Message: "the server is busy decoding other photos; try again shortly", RetryAfter: 5 * time.Second}
	select {
	case analysisTurn <- struct{}{}:
	case <-ctx.Done():
		return nil, busy
	}
	defer func() { <-analysisTurn }()
	for taken := 0; taken < n; taken++ {
		select {
		case analysisTokens <- struct{}{}:
		case <-ctx.Done():
			for ; taken > 0; taken-- {
				<-analysisTokens
			}
			return nil, busy
		}
	}
	return func() {
		for range n {
			<-analysisTokens
		}
	}, nil
}
