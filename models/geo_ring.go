package models

import (
	"math"
	"math/big"
)

// The geometry of Validate. Its predicates are exact: a position is a
// pair of floats, and a float rounding error in deciding whether two
// edges touch would let a ring that crosses itself through.

// checkRing refuses a closed ring that is not simple: a position repeated
// at once, two adjacent edges running back over each other (a spike of no
// width), or two other edges that touch or cross. Rings are small
// (MaxPolygonPoints), so O(n²) is fine.
func checkRing(i int, ring [][2]float64) error {
	n := len(ring) - 1 // edges; edge k runs from ring[k] to ring[k+1]
	for k := 0; k < n; k++ {
		if ring[k] == ring[k+1] {
			return FieldError(CodePolygonSelfIntersects, "polygon.coordinates", "ring %d has the same position twice in a row (%d and %d)", i, k, k+1)
		}
	}
	for k := 0; k < n; k++ {
		prev := ring[(k+n-1)%n]
		if backtracks(prev, ring[k], ring[k+1]) {
			return FieldError(CodePolygonSelfIntersects, "polygon.coordinates", "ring %d runs back over itself at position %d", i, k)
		}
	}
	for a := 0; a < n; a++ {
		for b := a + 2; b < n; b++ {
			if a == 0 && b == n-1 {
				continue // adjacent across the closing position
			}
			if segmentsMeet(ring[a], ring[a+1], ring[b], ring[b+1]) {
				return FieldError(CodePolygonSelfIntersects, "polygon.coordinates", "ring %d crosses itself", i)
			}
		}
	}
	return nil
}

// backtracks reports whether the edges prev→v and v→next overlap beyond v:
// the three positions lie on one line with prev and next on the same side
// of v. Positions are distinct, so along an axis where prev and v differ,
// next lies on prev's side exactly when it lies beyond v the same way.
func backtracks(prev, v, next [2]float64) bool {
	if orient(v, prev, next) != 0 {
		return false
	}
	k := 0
	if prev[0] == v[0] {
		k = 1
	}
	return (prev[k] > v[k]) == (next[k] > v[k])
}

// checkHoles refuses rings that touch each other, and holes (every ring
// after the first) outside the outer ring or inside another hole. Rings
// that do not touch are each wholly inside or outside another, so one
// position of a hole tells where it lies.
func checkHoles(rings [][][2]float64) error {
	for a := range rings {
		for b := a + 1; b < len(rings); b++ {
			if ringsMeet(rings[a], rings[b]) {
				return FieldError(CodePolygonSelfIntersects, "polygon.coordinates", "rings %d and %d touch or cross", a, b)
			}
		}
	}
	for h := 1; h < len(rings); h++ {
		if !insideRing(rings[h][0], rings[0]) {
			return FieldError(CodeGeofenceInvalid, "polygon.coordinates", "ring %d, a hole, lies outside the outer ring", h)
		}
		for o := 1; o < len(rings); o++ {
			if o != h && insideRing(rings[h][0], rings[o]) {
				return FieldError(CodeGeofenceInvalid, "polygon.coordinates", "ring %d, a hole, lies inside ring %d, another hole", h, o)
			}
		}
	}
	return nil
}

func ringsMeet(r, s [][2]float64) bool {
	for a := 0; a+1 < len(r); a++ {
		for b := 0; b+1 < len(s); b++ {
			if segmentsMeet(r[a], r[a+1], s[b], s[b+1]) {
				return true
			}
		}
	}
	return false
}

// segmentsMeet reports whether the closed segments p1p2 and p3p4 share a
// point.
func segmentsMeet(p1, p2, p3, p4 [2]float64) bool {
	d1, d2, d3, d4 := orient(p3, p4, p1), orient(p3, p4, p2), orient(p1, p2, p3), orient(p1, p2, p4)
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && onSegment(p3, p4, p1)) || (d2 == 0 && onSegment(p3, p4, p2)) ||
		(d3 == 0 && onSegment(p1, p2, p3)) || (d4 == 0 && onSegment(p1, p2, p4))
}

// onSegment reports whether p, on the line through a and b, lies between
// them.
func onSegment(a, b, p [2]float64) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

// insideRing is the crossing-number test for a position not on the ring:
// it counts the edges that cross the horizontal line through p to its
// right.
func insideRing(p [2]float64, ring [][2]float64) bool {
	in := false
	for k := 0; k+1 < len(ring); k++ {
		a, b := ring[k], ring[k+1]
		if (a[1] > p[1]) != (b[1] > p[1]) && (b[1] > a[1]) == (orient(a, b, p) > 0) {
			in = !in
		}
	}
	return in
}

// orientErrBound bounds the rounding error of orient's float evaluation
// relative to |l|+|r| (Shewchuk, "Adaptive Precision Floating-Point
// Arithmetic and Fast Robust Geometric Predicates", ccwerrboundA).
const orientErrBound = (3 + 16*0x1p-53) * 0x1p-53

// orient is the sign of (b-a)×(c-a): 1 when c lies left of the line from a
// to b, -1 right of it, 0 on it. The float result stands when it is
// farther from zero than its rounding error can reach (and no product
// came near underflow); otherwise the sign is computed in rationals,
// which floats convert to exactly.
func orient(a, b, c [2]float64) int {
	l := (b[0] - a[0]) * (c[1] - a[1])
	r := (b[1] - a[1]) * (c[0] - a[0])
	det, sum := l-r, math.Abs(l)+math.Abs(r)
	if math.Abs(det) > orientErrBound*sum && sum > 0x1p-900 {
		if det > 0 {
			return 1
		}
		return -1
	}
	q := func(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }
	d := func(x, y float64) *big.Rat { return new(big.Rat).Sub(q(x), q(y)) }
	lr := new(big.Rat).Mul(d(b[0], a[0]), d(c[1], a[1]))
	rr := new(big.Rat).Mul(d(b[1], a[1]), d(c[0], a[0]))
	return lr.Cmp(rr)
}
