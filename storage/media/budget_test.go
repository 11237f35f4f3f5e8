package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// bombPNG is a PNG of w×h pixels of one colour of model m: a few hundred
// KB that decode to w×h×bytesPerPixel(m).
func bombPNG(t testing.TB, w, h int, m color.Model) []byte {
	t.Helper()
	r := image.Rect(0, 0, w, h)
	var img image.Image
	switch m {
	case color.Gray16Model:
		g := image.NewGray16(r)
		for i := range g.Pix {
			g.Pix[i] = byte(i % 7)
		}
		img = g
	case color.RGBA64Model:
		g := image.NewRGBA64(r)
		for i := range g.Pix {
			g.Pix[i] = byte(i%7) | 1 // opaque enough to stay RGBA64
		}
		for i := 6; i < len(g.Pix); i += 8 {
			g.Pix[i], g.Pix[i+1] = 0xFF, 0xFF
		}
		img = g
	default:
		g := image.NewNRGBA(r)
		for i := range g.Pix {
			g.Pix[i] = byte(i % 7)
		}
		img = g
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeCost(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		m    color.Model
		data []byte
		want int64 // bytes per pixel
	}{
		{ContentTypePNG, color.GrayModel, nil, 1},
		{ContentTypePNG, color.Gray16Model, nil, 2},
		{ContentTypePNG, color.NRGBAModel, nil, 4},
		{ContentTypePNG, color.RGBA64Model, nil, 8},
		{ContentTypePNG, color.NRGBA64Model, nil, 8},
		{ContentTypePNG, color.Palette{color.Black}, nil, 1},
		{ContentTypeJPEG, color.YCbCrModel, readPhoto(t, "DSCN0010.jpg"), 3},
		{ContentTypeJPEG, color.YCbCrModel, encodeProgressive(t), 15},
		{ContentTypeHEIC, color.YCbCrModel, nil, heicBytesPerPixel},
	} {
		cfg := image.Config{ColorModel: tc.m, Width: 1000, Height: 1000}
		if got := decodeCost(tc.ct, cfg, tc.data) - 4<<20 - 2*int64(len(tc.data))*b2i(isHEIF(tc.ct)); got != tc.want*1e6 {
			t.Errorf("%s %T: %d bytes for a megapixel, want %d", tc.ct, tc.m, got, tc.want*1e6)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// encodeProgressive is the header of a progressive JPEG (SOF2).
func encodeProgressive(t *testing.T) []byte {
	b := encodeJPEG(t, quadrants(16, 16), 90)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	b[i+1] = 0xC2
	return b
}

// TestDecodeAdmission: concurrent decompression bombs (2500×2500 16-bit
// grey PNGs, 81 KB that decode to 12.5 MB each) are admitted by decoded size:
// never more than the budget at once, the rest wait; with the budget
// full, an upload is refused 503-style (unavailable, Retry-After) at
// once; a single image larger than the whole budget is media_too_large.
// The rule is the same at any scale, so the images and the budget are
// scaled down from the default's (256 MiB against 98 MB bombs, what
// BenchmarkDecodeMemory sends) to keep the test short under -race: two
// fit in the budget, three do not.
func TestDecodeAdmission(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes five 12.5 MB images")
	}
	const side, budget = 2500, 40 << 20
	// The wait is long: under -race the decodes are slow, and the test is
	// about how much is admitted at once, not how fast.
	a := &Analyzer{DecodeBudget: budget, AdmissionWait: 20 * time.Minute}
	bomb := bombPNG(t, side, side, color.Gray16Model)
	cost := decodeCost(ContentTypePNG, image.Config{ColorModel: color.Gray16Model, Width: side, Height: side}, bomb)
	t.Logf("%d×%d 16-bit grey PNG: %d KB, admitted at %d MB", side, side, len(bomb)>>10, cost>>20)

	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = a.Analyze(bytes.NewReader(bomb), int64(len(bomb)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d: %v", i, err)
		}
	}
	inUse, peak := a.DecodeMemory()
	t.Logf("peak admitted %d MB of %d MB", peak>>20, budget>>20)
	if inUse != 0 || peak > budget || peak < cost {
		t.Errorf("in use %d, peak %d, budget %d, one image %d", inUse, peak, budget, cost)
	}
	if budget/cost < 2 || peak/cost > budget/cost {
		t.Errorf("peak %d admits more than %d images of %d", peak, budget/cost, cost)
	}

	// A full budget: refused at once, with a Retry-After.
	busy := &Analyzer{DecodeBudget: budget, AdmissionWait: 50 * time.Millisecond}
	hold, err := busy.decodeBudget().acquire(budget-cost+1, time.Second, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = busy.Analyze(bytes.NewReader(bomb), int64(len(bomb)))
	wantCode(t, err, models.CodeUnavailable)
	if me := models.AsError(err); me == nil || me.RetryAfter != RetryAfterBusy {
		t.Errorf("no Retry-After: %#v", err)
	}
	_, err = busy.RenderPublic(bytes.NewReader(bomb), 1)
	wantCode(t, err, models.CodeUnavailable)
	hold()
	if _, err := busy.Analyze(bytes.NewReader(bomb), int64(len(bomb))); err != nil {
		t.Errorf("after release: %v", err)
	}

	// 16-bit RGBA at this size decodes to 50 MB: more than the budget.
	var before, after runtime.MemStats
	big := bombPNG(t, side, side, color.RGBA64Model)
	runtime.ReadMemStats(&before)
	_, err = a.Analyze(bytes.NewReader(big), int64(len(big)))
	runtime.ReadMemStats(&after)
	wantCode(t, err, models.CodeMediaTooLarge)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MB before refusing", grew>>20)
	}
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Skip("no VmHWM")
	return 0
}

// BenchmarkDecodeMemory sends 16 concurrent worst-case uploads within the
// limits (decompression-bomb PNGs of each bit depth, a 50-megapixel JPEG,
// a real HEIC, 24- and 48-megapixel HEIC grids) through the default
// Analyzer while 80 MiB of file bytes are held, as the completions holding
// their files would (models' analysisMemory), and reports the process's
// peak RSS.
//
//	go test -tags nodynamic ./storage/media -run '^$' -bench DecodeMemory -benchtime 1x
func BenchmarkDecodeMemory(b *testing.B) {
	files := [][]byte{
		bombPNG(b, 7000, 7000, color.Gray16Model),
		bombPNG(b, 7000, 7000, color.NRGBAModel),
		bombPNG(b, 5000, 5000, color.RGBA64Model),
		bombPNG(b, 7000, 7000, color.RGBA64Model), // refused: 392 MB
		readPhoto(b, "IMG_5195.HEIC"),
		// Phone-style grids of 24 and 48 megapixels, decoded tile by tile
		// at a reduced size.
		readPhoto(b, "grid-24mp.heic"),
		regrid(b, readPhoto(b, "grid-24mp.heic"), 12, 16, 8000, 6000),
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewYCbCr(image.Rect(0, 0, 8000, 6000), image.YCbCrSubsampleRatio444), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	files = append(files, jb.Bytes())
	held := make([]byte, 80<<20)
	for i := range held {
		held[i] = byte(i)
	}
	// Making the bombs took memory of its own: hand it back and start the
	// high-water mark afresh (clear_refs 5 resets VmHWM).
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS: %v", err)
	}
	before := peakRSS(b)
	a := New()
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for i := range 16 {
			f := files[i%len(files)]
			wg.Go(func() { _, _ = a.Analyze(bytes.NewReader(f), int64(len(f))) })
		}
		wg.Wait()
	}
	b.StopTimer()
	runtime.KeepAlive(held)
	_, peak := a.DecodeMemory()
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(before)/(1<<20), "RSS-before-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-admitted-MB")
}
