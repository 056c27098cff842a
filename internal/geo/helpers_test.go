package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteWithin is the reference: every point Haversine puts in the ring.
func bruteWithin(pts []Point, lat, lng, r float64) []uint32 {
	var out []uint32
	for _, p := range pts {
		if Haversine(lat, lng, p.Lat, p.Lng) <= r {
			out = append(out, p.ID)
		}
	}
	slices.Sort(out)
	return out
}

// checkWithin fails t unless the index returns exactly the reference keys.
func checkWithin(t testing.TB, x *Index, pts []Point, lat, lng, r float64) {
	t.Helper()
	got, err := x.AppendWithin(nil, lat, lng, r)
	if err != nil {
		t.Fatalf("AppendWithin(%v, %v, %v): %v", lat, lng, r, err)
	}
	slices.Sort(got)
	want := bruteWithin(pts, lat, lng, r)
	if !slices.Equal(got, want) {
		extra, missing := diff(got, want)
		t.Fatalf("AppendWithin(%v, %v, %v km): %d keys, want %d; extra %v, missing %v",
			lat, lng, r, len(got), len(want), head(extra), head(missing))
	}
}

func diff(got, want []uint32) (extra, missing []uint32) {
	for _, k := range got {
		if _, ok := slices.BinarySearch(want, k); !ok {
			extra = append(extra, k)
		}
	}
	for _, k := range want {
		if _, ok := slices.BinarySearch(got, k); !ok {
			missing = append(missing, k)
		}
	}
	return extra, missing
}

func head(s []uint32) []uint32 { return s[:min(len(s), 5)] }

// uniformSphere returns n points spread evenly over the whole sphere.
func uniformSphere(rng *rand.Rand, n int) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{ID: uint32(i), Lat: math.Asin(2*rng.Float64()-1) / degToRad, Lng: 360*rng.Float64() - 180}
	}
	return pts
}

func mustLoad(t testing.TB, pts []Point) *Index {
	t.Helper()
	x := new(Index)
	if err := x.Load(pts); err != nil {
		t.Fatal(err)
	}
	return x
}
