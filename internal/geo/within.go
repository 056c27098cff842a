package geo

import (
	"math"

	"github.com/golang/geo/s1"
	"github.com/golang/geo/s2"
)

// margin, in radians (about 0.6 m), separates what a cell can decide from
// what needs a point's exact coordinates. A stored leaf cell is within 3e-9
// of its point and the float error of every test here is below 2e-8; margin
// is several times both, so a decision taken from cells is always the one
// Haversine would take.
const margin = 1e-7

// checkBelow: a cell across the ring's edge holding at most this many points
// has them checked one by one rather than being split into its children
// (checking a point costs about as much as a twentieth of a split).
const checkBelow = 24

// AppendWithin appends to dst the key of every point within radiusKm of
// (lat, lng), that is every point p with Haversine(lat, lng, p) <= radiusKm,
// in no particular order. It returns an Invalid error for a centre out of
// range or a radius not in [0, MaxRadiusKm].
//
// The ring is walked down the S2 cell hierarchy: a cell wholly inside the
// ring contributes its run of keys without looking at them, a cell wholly
// outside is skipped, and a cell across the edge is split into its four
// children until few points are left, which are checked one by one.
func (x *Index) AppendWithin(dst []uint32, lat, lng, radiusKm float64) ([]uint32, error) {
	if err := ValidateLatLng(lat, lng); err != nil {
		return dst, err
	}
	if err := validateRadius(radiusKm); err != nil {
		return dst, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.n == 0 {
		return dst, nil
	}
	q := newQuery(x, lat, lng, radiusKm, dst)
	for _, id := range s2.CapFromCenterChordAngle(q.centre, s1.ChordAngle(q.rOut)).CellUnionBound() {
		a := x.lowerBound(entry{uint64(id.RangeMin()), 0})
		b := x.lowerBound(entry{uint64(id.RangeMax()) + 1, 0})
		if a != b {
			q.visit(s2.CellFromCellID(id), a, b)
		}
	}
	return q.dst, nil
}

// Within calls fn with each key within radiusKm of (lat, lng) and its
// distance, until fn returns false. fn runs after the index is unlocked, so
// it may update the index. Errors are as for AppendWithin.
func (x *Index) Within(lat, lng, radiusKm float64, fn func(key uint32, distKm float64) bool) error {
	keys, err := x.AppendWithin(nil, lat, lng, radiusKm)
	if err != nil {
		return err
	}
	type hit struct {
		key  uint32
		dist float64
	}
	hits := make([]hit, 0, len(keys))
	x.mu.RLock()
	for _, k := range keys {
		// A key moved or removed since the query is reported only if it
		// is still in the ring.
		if p := x.pos.get(k); p.present() {
			if d := Haversine(lat, lng, p.lat, p.lng); d <= radiusKm {
				hits = append(hits, hit{k, d})
			}
		}
	}
	x.mu.RUnlock()
	for _, h := range hits {
		if !fn(h.key, h.dist) {
			break
		}
	}
	return nil
}

type query struct {
	x        *Index
	lat, lng float64 // the centre, for the exact check
	radiusKm float64
	centre   s2.Point
	antipode s2.Point
	// Squared chord lengths: within rIn of the centre is surely in the ring,
	// beyond rOut surely out; rInComp is the radius of the inner cap's
	// complement. rIn is negative when the ring is smaller than margin.
	rIn, rOut, rInComp float64
	// The same thresholds as dot products with the centre, for points.
	cosIn, cosOut float64
	dst           []uint32
}

type class int8

const (
	partial class = iota
	inside
	outside
)

func newQuery(x *Index, lat, lng, radiusKm float64, dst []uint32) *query {
	theta := radiusKm / EarthRadiusKm
	c := s2.PointFromLatLng(s2.LatLngFromDegrees(lat, lng))
	q := &query{x: x, lat: lat, lng: lng, radiusKm: radiusKm, dst: dst,
		centre: c, antipode: s2.Point{Vector: c.Mul(-1)},
		rIn: -1, rInComp: 4, cosIn: math.Inf(1),
		rOut: float64(s1.ChordAngleFromAngle(s1.Angle(theta + margin))), cosOut: math.Cos(theta + margin)}
	if theta > margin {
		in := s1.ChordAngleFromAngle(s1.Angle(theta - margin))
		q.rIn, q.rInComp = float64(in), float64(s1.StraightChordAngle.Sub(in))
		q.cosIn = math.Cos(theta - margin)
	}
	return q
}

// visit reports the points of cell, which lie in [a, b), a != b.
func (q *query) visit(cell s2.Cell, a, b cursor) {
	switch q.classify(cell) {
	case inside:
		q.emit(a, b)
		return
	case outside:
		return
	}
	if cell.IsLeaf() || q.x.count(a, b, checkBelow) <= checkBelow {
		q.check(a, b)
		return
	}
	children, _ := cell.Children()
	for k := 0; k < 4 && a != b; k++ {
		next := b
		if k < 3 {
			next = q.x.lowerBoundIn(entry{uint64(children[k+1].ID().RangeMin()), 0}, a, b)
		}
		if a != next {
			q.visit(children[k], a, next)
		}
		a = next
	}
}

// classify says whether cell is wholly inside the ring's inner cap, wholly
// outside its outer cap, or neither. It is s2.Cap's ContainsCell and
// IntersectsCell, sharing the four vertices between them.
func (q *query) classify(cell s2.Cell) class {
	var v [4]s2.Point
	nIn, nOut := 0, 0
	for k := range 4 {
		v[k] = cell.Vertex(k)
		d := q.centre.Sub(v[k].Vector).Norm2()
		if d <= q.rIn {
			nIn++
		}
		if d <= q.rOut {
			nOut++
		}
	}
	if nIn == 4 && !capMeetsCell(q.antipode, q.rInComp, cell, &v) {
		return inside
	}
	if nOut == 0 && !capMeetsCell(q.centre, q.rOut, cell, &v) {
		return outside
	}
	return partial
}

// capMeetsCell reports whether the cap of the given centre and squared chord
// radius meets cell anywhere but at its vertices v, which the caller has
// found outside the cap. It is s2.Cap.intersects, which s2 does not export.
func capMeetsCell(centre s2.Point, radius float64, cell s2.Cell, v *[4]s2.Point) bool {
	// A cap of a hemisphere or more is met only through a vertex: the cell
	// and the cap's complement are both convex.
	if radius >= float64(s1.RightChordAngle) || radius < 0 {
		return false
	}
	if cell.ContainsPoint(centre) {
		return true
	}
	sin2 := s1.ChordAngle(radius).Sin2()
	for k := range 4 {
		edge := cell.EdgeRaw(k).Vector
		dot := centre.Dot(edge)
		if dot > 0 {
			// The centre is on the cell's side of this edge: if the cap met
			// this edge it would meet the opposite one too.
			continue
		}
		if dot*dot > sin2*edge.Norm2() {
			return false
		}
		// The edge's great circle crosses the cap; does the closest point
		// fall between the edge's endpoints?
		dir := edge.Cross(centre.Vector)
		if dir.Dot(v[k].Vector) < 0 && dir.Dot(v[(k+1)&3].Vector) > 0 {
			return true
		}
	}
	return false
}

// emit appends every key in [a, b).
func (q *query) emit(a, b cursor) {
	for i := a.c; i <= b.c && i < len(q.x.chunks); i++ {
		c := q.x.chunks[i]
		lo, hi := 0, int(c.n)
		if i == a.c {
			lo = a.o
		}
		if i == b.c {
			hi = b.o
		}
		q.dst = append(q.dst, c.keys[lo:hi]...)
	}
}

// check appends the keys in [a, b) that are in the ring, one by one: from
// the leaf cell's centre when it is clear of the ring's edge by margin, from
// the exact coordinates when not.
func (q *query) check(a, b cursor) {
	cv := q.centre.Vector
	for i := a.c; i <= b.c && i < len(q.x.chunks); i++ {
		c := q.x.chunks[i]
		lo, hi := 0, int(c.n)
		if i == a.c {
			lo = a.o
		}
		if i == b.c {
			hi = b.o
		}
		for j := lo; j < hi; j++ {
			x, y, z := leafXYZ(c.cells[j])
			d := (x*cv.X + y*cv.Y + z*cv.Z) / math.Sqrt(x*x+y*y+z*z)
			switch {
			case d >= q.cosIn:
				q.dst = append(q.dst, c.keys[j])
			case d >= q.cosOut:
				p := q.x.pos.get(c.keys[j])
				if Haversine(q.lat, q.lng, p.lat, p.lng) <= q.radiusKm {
					q.dst = append(q.dst, c.keys[j])
				}
			}
		}
	}
}
