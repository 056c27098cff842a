package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golang/geo/s2"
)

// The hand-inlined leaf cell code must give s2's cells, or the index and the
// s2 cell geometry the queries use would disagree.
func TestLeafCellMatchesS2(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := uniformSphere(rng, 200000)
	pts = append(pts, Point{Lat: 90}, Point{Lat: -90}, Point{Lng: 180}, Point{Lng: -180},
		Point{Lat: 45, Lng: 45}, Point{Lat: 0, Lng: 45}, Point{Lat: 35.26438968275466, Lng: 45}, Point{Lat: math.Copysign(0, -1), Lng: math.Copysign(0, -1)})
	for _, p := range pts {
		got := leafCell(p.Lat, p.Lng)
		want := uint64(s2.CellIDFromLatLng(s2.LatLngFromDegrees(p.Lat, p.Lng)))
		if got != want {
			t.Fatalf("leafCell(%v, %v) = %x, s2 says %x", p.Lat, p.Lng, got, want)
		}
		x, y, z := leafXYZ(got)
		c := s2.CellID(got).Point()
		n := math.Sqrt(x*x + y*y + z*z)
		if math.Abs(x/n-c.X) > 1e-15 || math.Abs(y/n-c.Y) > 1e-15 || math.Abs(z/n-c.Z) > 1e-15 {
			t.Fatalf("leafXYZ(%x) = %v %v %v, s2 says %v", got, x/n, y/n, z/n, c)
		}
	}
}
