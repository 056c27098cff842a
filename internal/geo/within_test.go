package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yuncan/yuncan"
)

var radii = []float64{0, 1e-9, 1e-6, 0.001, 0.05, 1, 7, 50, 100, 500, 1500, 5000, 10007.5, 15000, 19999, MaxRadiusKm}

func TestWithinMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		pts  []Point
	}{
		{"uniform sphere", uniformSphere(rng, 6000)},
		{"clustered like China", Generate(10000, 7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := mustLoad(t, tc.pts)
			for _, r := range radii {
				for range 3 {
					p := tc.pts[rng.IntN(len(tc.pts))]
					checkWithin(t, x, tc.pts, p.Lat, p.Lng, r) // centred on a point
					checkWithin(t, x, tc.pts, 180*rng.Float64()-90, 360*rng.Float64()-180, r)
				}
			}
			checkWithin(t, x, tc.pts, zzLat, zzLng, 100)
			checkWithin(t, x, tc.pts, zzLat, zzLng, 500)
		})
	}
}

// Points crowded at the poles and along the antimeridian, where latitude
// and longitude stop being a grid.
func TestWithinPolesAndAntimeridian(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var pts []Point
	add := func(lat, lng float64) {
		pts = append(pts, Point{ID: uint32(len(pts)), Lat: lat, Lng: lng})
	}
	for range 1500 {
		add(90-rng.Float64()*0.5, 360*rng.Float64()-180)
		add(-90+rng.Float64()*0.5, 360*rng.Float64()-180)
		add(40*rng.NormFloat64()/3, 180-rng.Float64()*0.5)
		add(40*rng.NormFloat64()/3, -180+rng.Float64()*0.5)
	}
	add(90, 0)
	add(90, 123)
	add(-90, -45)
	add(0, 180)
	add(0, -180)
	x := mustLoad(t, pts)
	centres := [][2]float64{{90, 0}, {-90, 0}, {89.9, 17}, {-89.99, -170}, {0, 180}, {0, -180}, {10, 179.99}, {-10, -179.99}}
	for _, c := range centres {
		for _, r := range radii {
			checkWithin(t, x, pts, c[0], c[1], r)
		}
	}
}

// A point exactly at the radius is in; the next smaller radius leaves it
// out. Many points on one circle share the same distance up to rounding.
func TestWithinBoundary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var pts []Point
	for i := range 1000 {
		// A ring of points at latitude 80 around the pole, and a ring
		// around Zhengzhou at one fixed bearing-independent distance.
		pts = append(pts, Point{ID: uint32(2 * i), Lat: 80, Lng: 360*rng.Float64() - 180})
		b := 2 * math.Pi * rng.Float64()
		lat, lng := destination(zzLat, zzLng, b, 100)
		pts = append(pts, Point{ID: uint32(2*i + 1), Lat: lat, Lng: lng})
	}
	x := mustLoad(t, pts)
	for _, p := range pts[:40] {
		for _, c := range [][2]float64{{90, 0}, {zzLat, zzLng}} {
			r := Haversine(c[0], c[1], p.Lat, p.Lng)
			if r > MaxRadiusKm {
				continue
			}
			for _, rr := range []float64{r, math.Nextafter(r, 0), math.Nextafter(r, math.Inf(1))} {
				checkWithin(t, x, pts, c[0], c[1], rr)
			}
			got, _ := x.AppendWithin(nil, c[0], c[1], r)
			found := false
			for _, k := range got {
				found = found || k == p.ID
			}
			if !found {
				t.Fatalf("point %d at exactly %v km from %v is missing", p.ID, r, c)
			}
		}
	}
}

// destination returns the point at distKm from (lat, lng) along bearing b.
func destination(lat, lng, b, distKm float64) (float64, float64) {
	d := distKm / EarthRadiusKm
	phi, lam := lat*degToRad, lng*degToRad
	phi2 := math.Asin(math.Sin(phi)*math.Cos(d) + math.Cos(phi)*math.Sin(d)*math.Cos(b))
	lam2 := lam + math.Atan2(math.Sin(b)*math.Sin(d)*math.Cos(phi), math.Cos(d)-math.Sin(phi)*math.Sin(phi2))
	lng2 := math.Mod(lam2/degToRad+540, 360) - 180
	return phi2 / degToRad, lng2
}

// Many people in one leaf cell, more than a chunk holds.
func TestWithinSharedCell(t *testing.T) {
	var pts []Point
	for i := range 3 * chunkCap {
		pts = append(pts, Point{ID: uint32(i), Lat: 34.75, Lng: 113.63})
	}
	pts = append(pts, Point{ID: uint32(len(pts)), Lat: 34.75, Lng: 113.6300001})
	x := mustLoad(t, pts)
	for _, r := range []float64{0, 1e-6, 1e-5, 1} {
		checkWithin(t, x, pts, 34.75, 113.63, r)
		checkWithin(t, x, pts, 34.75, 113.6300001, r)
	}
	for _, p := range pts[:chunkCap] {
		x.Remove(p.ID)
	}
	checkWithin(t, x, pts[chunkCap:], 34.75, 113.63, 1)
	checkInvariants(t, x)
}

func TestWithinEmpty(t *testing.T) {
	var x Index
	got, err := x.AppendWithin(nil, 0, 0, MaxRadiusKm)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty index: %v, %v", got, err)
	}
}

func TestWithinValidates(t *testing.T) {
	var x Index
	x.Set(1, 0, 0)
	for _, tc := range []struct {
		lat, lng, r float64
		field       string
	}{
		{91, 0, 1, "lat"}, {math.NaN(), 0, 1, "lat"}, {0, -180.5, 1, "lng"}, {0, math.Inf(1), 1, "lng"},
		{0, 0, -1, "radius_km"}, {0, 0, math.NaN(), "radius_km"}, {0, 0, MaxRadiusKm + 1, "radius_km"}, {0, 0, math.Inf(1), "radius_km"},
	} {
		dst, err := x.AppendWithin([]uint32{7}, tc.lat, tc.lng, tc.r)
		if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.AsError(err).Fields[tc.field] == "" {
			t.Errorf("AppendWithin(%v, %v, %v) error %v, want Invalid on %s", tc.lat, tc.lng, tc.r, err, tc.field)
		}
		if len(dst) != 1 || dst[0] != 7 {
			t.Errorf("AppendWithin changed dst on error: %v", dst)
		}
		if err := x.Within(tc.lat, tc.lng, tc.r, func(uint32, float64) bool { return true }); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("Within(%v, %v, %v) error %v, want Invalid", tc.lat, tc.lng, tc.r, err)
		}
	}
}

func TestWithinCallback(t *testing.T) {
	pts := Generate(5000, 3)
	x := mustLoad(t, pts)
	want := bruteWithin(pts, zzLat, zzLng, 300)
	seen := map[uint32]bool{}
	err := x.Within(zzLat, zzLng, 300, func(k uint32, d float64) bool {
		p := pts[k]
		if d != Haversine(zzLat, zzLng, p.Lat, p.Lng) || d > 300 {
			t.Errorf("key %d reported at %v km", k, d)
		}
		seen[k] = true
		return true
	})
	if err != nil || len(seen) != len(want) {
		t.Fatalf("Within saw %d keys, want %d (%v)", len(seen), len(want), err)
	}
	n := 0
	x.Within(zzLat, zzLng, 300, func(uint32, float64) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("Within went on after fn returned false: %d calls", n)
	}
}
