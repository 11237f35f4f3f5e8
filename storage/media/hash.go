package media

import (
	"image"
	"math"
	"slices"

	"github.com/disintegration/imaging"
)

// The perceptual hash. A photo reused as false evidence is usually edited
// to hide it: resized, recompressed, cropped a little, mirrored or turned,
// recoloured or made grey, captioned, converted between JPEG, PNG and
// HEIC. The hash is built to survive all of these:
//
//   - the upright image is reduced to 32×32 luminance (colour changes and
//     grey copies keep most of their luminance; resizing and
//     recompression vanish at this size; the aspect ratio is dropped, so a
//     crop changes the picture only by what it cut away);
//   - it is the 2-D DCT of that, keeping the low frequencies, which a
//     small caption, timestamp or 10% crop changes little;
//   - the eight ways of mirroring and turning a picture by 90° steps
//     (the dihedral group) only change the signs of DCT coefficients and
//     swap C(u,v) with C(v,u). The hash is built from quantities that
//     none of them changes: C(u,v)+C(v,u) where u and v are both even,
//     and |C(u,v)|+|C(v,u)| otherwise. One 64-bit value then stands for
//     all eight orientations, and the index needs one lookup, not eight.
//
// Each bit says whether its quantity is above the median of its kind.
// BENCHMARKS.md ("Disguised reuse") has the precision and recall per edit.

const (
	hashSide = 32 // luminance grid
	hashFreq = 11 // frequencies 0..10 in each direction
)

// dctMatrix[k][n] is the orthonormal DCT-II basis, for k < hashFreq.
var dctMatrix = func() [hashFreq][hashSide]float64 {
	var m [hashFreq][hashSide]float64
	for k := range hashFreq {
		s := math.Sqrt(2.0 / hashSide)
		if k == 0 {
			s = math.Sqrt(1.0 / hashSide)
		}
		for n := range hashSide {
			m[k][n] = s * math.Cos(math.Pi*float64(k)*(2*float64(n)+1)/(2*hashSide))
		}
	}
	return m
}()

// hashPairs are the (u, v), u <= v, (u, v) != (0, 0), whose invariants
// make up the hash: the 64 lowest in u+v order.
var hashPairs = func() [][2]int {
	var ps [][2]int
	for s := 1; s < 2*hashFreq; s++ {
		for u := 0; u <= s/2; u++ {
			if v := s - u; v < hashFreq {
				ps = append(ps, [2]int{u, v})
			}
		}
	}
	return ps[:64]
}()

// perceptualHash is the dihedral-invariant hash of an upright image.
func perceptualHash(img image.Image) uint64 {
	small := imaging.Resize(img, hashSide, hashSide, imaging.Box)
	var lum [hashSide][hashSide]float64
	for y := range hashSide {
		row := small.Pix[y*small.Stride:]
		for x := range hashSide {
			p := row[4*x : 4*x+3]
			lum[y][x] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		}
	}
	// C = D · L · Dᵀ, low frequencies only.
	var tmp [hashFreq][hashSide]float64
	for u := range hashFreq {
		for x := range hashSide {
			var s float64
			for y := range hashSide {
				s += dctMatrix[u][y] * lum[y][x]
			}
			tmp[u][x] = s
		}
	}
	var c [hashFreq][hashFreq]float64
	for u := range hashFreq {
		for v := range hashFreq {
			var s float64
			for x := range hashSide {
				s += tmp[u][x] * dctMatrix[v][x]
			}
			c[u][v] = s
		}
	}
	var signed, magnitude []float64
	feature := make([]float64, len(hashPairs))
	for i, p := range hashPairs {
		u, v := p[0], p[1]
		if u%2 == 0 && v%2 == 0 {
			feature[i] = c[u][v] + c[v][u]
			signed = append(signed, feature[i])
		} else {
			feature[i] = math.Abs(c[u][v]) + math.Abs(c[v][u])
			magnitude = append(magnitude, feature[i])
		}
	}
	ms, mm := median(signed), median(magnitude)
	var h uint64
	for i, p := range hashPairs {
		m := mm
		if p[0]%2 == 0 && p[1]%2 == 0 {
			m = ms
		}
		if feature[i] > m {
			h |= 1 << (63 - i)
		}
	}
	return h
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// hashCrops are the parts of the upright picture, besides the whole, whose
// hashes are stored too (left, top, right, bottom fractions cut away): a
// copy cropped by up to 10% is close to one of them. With the whole
// picture's hash first, they make up MediaInfo.PHashes.
var hashCrops = [][4]float64{
	{.05, .05, .05, .05},                                           // centre 90%
	{.10, 0, 0, 0}, {0, .10, 0, 0}, {0, 0, .10, 0}, {0, 0, 0, .10}, // one side
	{.10, .10, 0, 0}, {0, .10, .10, 0}, {0, 0, .10, .10}, {.10, 0, 0, .10}, // one corner
}

// perceptualHashes returns the hash of the whole upright image, then those
// of hashCrops.
func perceptualHashes(img image.Image) []uint64 {
	out := make([]uint64, 0, 1+len(hashCrops))
	out = append(out, perceptualHash(img))
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	for _, c := range hashCrops {
		r := image.Rect(b.Min.X+int(math.Round(w*c[0])), b.Min.Y+int(math.Round(h*c[1])),
			b.Max.X-int(math.Round(w*c[2])), b.Max.Y-int(math.Round(h*c[3])))
		if r.Empty() {
			r = b
		}
		out = append(out, perceptualHash(imaging.Crop(img, r)))
	}
	return out
}
