package models

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"
)

// FuzzPolygon reads a geofence the way POST and PATCH /v1/sites do (the
// polygon member of SiteInput) and checks what Validate accepts against an
// independent oracle in exact rational arithmetic: every position is the
// two or three numbers the JSON gave, within WGS-84 bounds; every ring is
// closed, simple (two edges meet only where adjacent edges share their
// vertex) and encloses an area; rings do not touch one another, and each
// hole lies inside the outer ring and outside the other holes. Whatever
// the input, the answer is a geofence code, never a panic.
func FuzzPolygon(f *testing.F) {
	for _, s := range []string{
		`{"type":"Polygon","coordinates":[[[116,29.7],[116.01,29.7],[116.01,29.71],[116,29.71],[116,29.7]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[1,2],[2,2],[2,1],[1,1]]]}`,
		`{"type":"Polygon","coordinates":[[[116,29.7,12.5],[116.01,29.7,12],[116.01,29.71,11],[116,29.7,12.5]]]}`,
		`{"type":"Polygon","coordinates":[[[116,29.7],[116.01,29.71],[116.01,29.7],[116,29.71],[116,29.7]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,1],[2,2],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[116],[117],[118],[116]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[5,5],[5,6],[6,6],[6,5],[5,5]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[2,2],[6,2],[6,3],[2,3],[2,2]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[6,0],[6,6],[0,6],[0,0]],[[1,1],[1,5],[5,5],[5,1],[1,1]],[[2,2],[2,3],[3,3],[3,2],[2,2]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1e-300,1e-300],[3e-300,3e-300],[0,1],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[181,0],[1,0],[1,1],[181,0]]]}`,
		`{"type":"Point","coordinates":[116,29.7]}`,
		`{"type":"Polygon","coordinates":[]}`,
		`{"type":"Polygon","coordinates":[[[1e400,0]]]}`,
		`null`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Nullable[Polygon]
		if json.Unmarshal(data, &in) != nil || in.Value == nil {
			return
		}
		p := in.Value
		if err := p.Validate(); err != nil {
			switch ErrorCode(err) {
			case CodeGeofenceInvalid, CodePolygonNotClosed, CodePolygonSelfIntersects, CodePolygonTooFewPoints,
				CodePolygonTooManyPoints, CodeLatOutOfRange, CodeLngOutOfRange:
			default:
				t.Fatalf("refused with %v, not a geofence code", err)
			}
			return
		}
		var raw struct{ Coordinates [][][]float64 }
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
			t.Fatalf("accepted, but the coordinates do not read as numbers: %v", err)
		}
		checkPositions(t, raw.Coordinates, p)
		rings := make([][]rpoint, len(p.Coordinates))
		for i, ring := range p.Coordinates {
			if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
				t.Fatalf("ring %d accepted open or short: %v", i, ring)
			}
			rings[i] = exactRing(ring)
			if msg := simpleRing(rings[i]); msg != "" {
				t.Fatalf("ring %d accepted, but %s: %v", i, msg, ring)
			}
		}
		for i := range rings {
			for j := i + 1; j < len(rings); j++ {
				if ringsTouch(rings[i], rings[j]) {
					t.Fatalf("rings %d and %d touch, and the polygon was accepted: %v", i, j, p.Coordinates)
				}
			}
			if i == 0 {
				continue
			}
			if !insideExact(rings[i][0], rings[0]) {
				t.Fatalf("hole %d lies outside the outer ring, and the polygon was accepted: %v", i, p.Coordinates)
			}
			for j := 1; j < len(rings); j++ {
				if j != i && insideExact(rings[i][0], rings[j]) {
					t.Fatalf("hole %d lies inside hole %d, and the polygon was accepted: %v", i, j, p.Coordinates)
				}
			}
		}
	})
}

// checkPositions: every accepted position is the [lng, lat] (and an
// optional altitude) that the JSON holds, none padded or cut short.
func checkPositions(t *testing.T, raw [][][]float64, p *Polygon) {
	t.Helper()
	if len(raw) != len(p.Coordinates) {
		t.Fatalf("%d rings in the JSON, %d accepted", len(raw), len(p.Coordinates))
	}
	for i, ring := range raw {
		if len(ring) != len(p.Coordinates[i]) {
			t.Fatalf("ring %d: %d positions in the JSON, %d accepted", i, len(ring), len(p.Coordinates[i]))
		}
		for j, pos := range ring {
			if len(pos) < 2 || len(pos) > 3 || pos[0] != p.Coordinates[i][j][0] || pos[1] != p.Coordinates[i][j][1] {
				t.Fatalf("ring %d position %d is %v in the JSON, accepted as %v", i, j, pos, p.Coordinates[i][j])
			}
			if pos[0] < -180 || pos[0] > 180 || pos[1] < -90 || pos[1] > 90 {
				t.Fatalf("ring %d position %d %v is outside WGS-84", i, j, pos)
			}
		}
	}
}

// rpoint is a position as exact rationals: floats are rationals, so the
// oracle's geometry has no rounding at all.
type rpoint [2]*big.Rat

func exactRing(ring [][2]float64) []rpoint {
	out := make([]rpoint, len(ring))
	for i, pt := range ring {
		out[i] = rpoint{new(big.Rat).SetFloat64(pt[0]), new(big.Rat).SetFloat64(pt[1])}
	}
	return out
}

func sub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }
func mul(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }

// orientExact is the sign of (b-a)×(c-a).
func orientExact(a, b, c rpoint) int {
	return sub(mul(sub(b[0], a[0]), sub(c[1], a[1])), mul(sub(b[1], a[1]), sub(c[0], a[0]))).Sign()
}

// dotExact is the sign of (b-a)·(c-a).
func dotExact(a, b, c rpoint) int {
	return new(big.Rat).Add(mul(sub(b[0], a[0]), sub(c[0], a[0])), mul(sub(b[1], a[1]), sub(c[1], a[1]))).Sign()
}

// within reports whether p, collinear with a and b, lies on segment ab.
func within(a, b, p rpoint) bool {
	for k := 0; k < 2; k++ {
		lo, hi := a[k], b[k]
		if lo.Cmp(hi) > 0 {
			lo, hi = hi, lo
		}
		if p[k].Cmp(lo) < 0 || p[k].Cmp(hi) > 0 {
			return false
		}
	}
	return true
}

// meetExact reports whether closed segments ab and cd share a point.
func meetExact(a, b, c, d rpoint) bool {
	d1, d2, d3, d4 := orientExact(c, d, a), orientExact(c, d, b), orientExact(a, b, c), orientExact(a, b, d)
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return d1 == 0 && within(c, d, a) || d2 == 0 && within(c, d, b) || d3 == 0 && within(a, b, c) || d4 == 0 && within(a, b, d)
}

// simpleRing explains why a closed ring is not simple, or returns "".
func simpleRing(r []rpoint) string {
	n := len(r) - 1 // edges; edge i runs from r[i] to r[i+1]
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			switch {
			case j == i+1:
				// Adjacent edges share r[j]; they may not run back over each other.
				if orientExact(r[j], r[i], r[j+1]) == 0 && dotExact(r[j], r[i], r[j+1]) > 0 {
					return "edges " + itoa(i) + " and " + itoa(j) + " overlap"
				}
			case i == 0 && j == n-1:
				if orientExact(r[0], r[1], r[n-1]) == 0 && dotExact(r[0], r[1], r[n-1]) > 0 {
					return "the last and first edges overlap"
				}
			case meetExact(r[i], r[i+1], r[j], r[j+1]):
				return "edges " + itoa(i) + " and " + itoa(j) + " meet"
			}
		}
	}
	area := new(big.Rat)
	for i := 0; i < n; i++ {
		area.Add(area, sub(mul(r[i][0], r[i+1][1]), mul(r[i+1][0], r[i][1])))
	}
	if area.Sign() == 0 {
		return "it encloses no area"
	}
	return ""
}

func ringsTouch(a, b []rpoint) bool {
	for i := 0; i+1 < len(a); i++ {
		for j := 0; j+1 < len(b); j++ {
			if meetExact(a[i], a[i+1], b[j], b[j+1]) {
				return true
			}
		}
	}
	return false
}

// insideExact is the crossing-number test for a point known not to lie on
// the ring.
func insideExact(p rpoint, r []rpoint) bool {
	in := false
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		if (a[1].Cmp(p[1]) > 0) != (b[1].Cmp(p[1]) > 0) {
			// The edge crosses the horizontal line through p; count it
			// when the crossing lies to p's right.
			o := orientExact(a, b, p)
			if (b[1].Cmp(a[1]) > 0) == (o > 0) {
				in = !in
			}
		}
	}
	return in
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
