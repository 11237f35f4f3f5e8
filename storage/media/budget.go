package media

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/fieldsync/fieldsync/models"
)

// Defaults of the decode memory budget.
const (
	// DefaultDecodeBudget is the memory that decoded pixels of all photos
	// being analysed or re-encoded at one time may take. With the file
	// bytes the caller holds and the Go runtime it keeps the server under
	// 512 MB RSS (BENCHMARKS.md, "Decode memory").
	DefaultDecodeBudget = 352 << 20
	// DefaultAdmissionWait is how long a decode waits for room in the
	// budget before it is refused with CodeUnavailable.
	DefaultAdmissionWait = 20 * time.Second
	// RetryAfterBusy is the Retry-After of that refusal.
	RetryAfterBusy = 5 * time.Second
	// heicBytesPerPixel is the peak memory of a HEIC decode per pixel:
	// libheif and libde265 run in a WebAssembly instance whose linear
	// memory holds the coded stream, the decoder's picture buffers and
	// the output planes, and grows by copying. Measured 18.7–19.7 bytes
	// a pixel on 0.3, 12 and 16 megapixel photos; 22 leaves a margin.
	heicBytesPerPixel = 22
	// freeAfter is the decode size above which the memory is handed back
	// to the operating system as soon as the decode is over.
	freeAfter = 32 << 20
)

// decodeBudget is a weighted semaphore in bytes: Analyze and RenderPublic
// reserve the decoded size of a photo before decoding it, so that any mix
// of concurrent uploads holds at most the budget in pixels.
type decodeBudget struct {
	size int64
	sem  *semaphore.Weighted

	mu         sync.Mutex
	inUse      int64
	peak       int64
	sinceFreed int64
}

func newDecodeBudget(size int64) *decodeBudget {
	return &decodeBudget{size: size, sem: semaphore.NewWeighted(size)}
}

// acquire waits up to wait for n bytes. n above the whole budget can never
// be admitted: CodeMediaTooLarge. A full budget after wait:
// CodeUnavailable with a Retry-After.
func (b *decodeBudget) acquire(n int64, wait time.Duration, what string) (release func(), err error) {
	if n > b.size {
		return nil, models.Errorf(models.CodeMediaTooLarge,
			"decoding this %s would take %d MB of memory; at most %d MB are available for one photo",
			what, n>>20, b.size>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, &models.Error{Code: models.CodeUnavailable,
			Message:    "the server is busy decoding other photos; try again shortly",
			RetryAfter: RetryAfterBusy,
			Err:        fmt.Errorf("media: %d bytes of decode budget not free within %s", n, wait)}
	}
	b.mu.Lock()
	b.inUse += n
	b.peak = max(b.peak, b.inUse)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.inUse -= n
		b.sinceFreed += n
		free := b.sinceFreed >= freeAfter
		if free {
			b.sinceFreed = 0
		}
		b.mu.Unlock()
		b.sem.Release(n)
		if free {
			// The decoded pixels are garbage now; without this the heap
			// keeps them until the next GC cycle and the scavenger returns
			// the pages minutes later, so the next large decode would add
			// to them rather than reuse them.
			debug.FreeOSMemory()
		}
	}, nil
}

// stats reports the bytes reserved now and the most ever reserved at once.
func (b *decodeBudget) stats() (inUse, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inUse, b.peak
}

// decodeCost is the memory that decoding an image with this header takes:
// width × height × the bytes a pixel takes in the image type the decoder
// returns for that colour model and bit depth, plus what the thumbnail and
// hash take (bounded by the thumbnail size, so a constant), plus, for
// HEIC, the WebAssembly decoder's whole working memory.
func decodeCost(ct string, cfg image.Config, data []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	const work = 4 << 20 // thumbnail, hash and resize scratch
	if ct == ContentTypeHEIC || ct == ContentTypeHEIF {
		// The decoder copies the file in twice (reading, then into its
		// memory).
		return px*heicBytesPerPixel + 2*int64(len(data)) + work
	}
	bpp := bytesPerPixel(cfg.ColorModel)
	if ct == ContentTypeJPEG && jpegProgressive(data) {
		// A progressive JPEG's coefficients are all kept until the last
		// scan: 64 int32 a block for each of up to 4 components (3 for
		// YCbCr), on top of the pixels.
		if cfg.ColorModel == color.CMYKModel {
			bpp += 16
		} else {
			bpp += 12
		}
	}
	return px*bpp + work
}

// jpegProgressive reports whether the first frame header of a JPEG is a
// progressive one (SOF2, SOF6, SOF10 or SOF14).
func jpegProgressive(data []byte) bool {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return false
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			i += 2
			continue
		case m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE:
			return true
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return false
		case m == 0xDA || m == 0xD9:
			return false
		}
		i += 2 + (int(data[i+2])<<8 | int(data[i+3]))
	}
	return false
}

// bytesPerPixel of the image types image/jpeg and image/png decode into.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.YCbCrModel:
		// Chroma subsampling is not in image.Config: count 4:4:4.
		return 3
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.CMYKModel:
		// Four component planes, then the CMYK image.
		return 8
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	// Anything else: the widest the standard decoders produce.
	return 8
}
