package geo

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Point is one person's location: ID is the index key.
type Point struct {
	ID       uint32
	Lat, Lng float64
}

// RuralShare is the part of a generated population spread evenly over the
// land rather than around a city.
const RuralShare = 0.15

// kmPerDegree is the length of a degree of latitude on the sphere.
const kmPerDegree = EarthRadiusKm * degToRad

// Generate returns n points with IDs 0..n-1, the same for the same n and
// seed on every machine and Go version (it uses the PCG generator): 85%
// around the cities in a Gaussian of each city's spread, chosen by
// population, and 15% spread evenly over mainland China's land.
func Generate(n int, seed int64) []Point {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x79756e63616e)) // "yuncan"
	cum := make([]float64, len(cities))
	total := 0.0
	for i, c := range cities {
		total += c.millions
		cum[i] = total
	}
	pts := make([]Point, n)
	for i := range pts {
		var lat, lng float64
		if rng.Float64() < RuralShare {
			lat, lng = ruralPoint(rng)
		} else {
			c := cities[sort.SearchFloat64s(cum, rng.Float64()*total)]
			lat = c.lat + rng.NormFloat64()*c.sigmaKm/kmPerDegree
			lng = c.lng + rng.NormFloat64()*c.sigmaKm/(kmPerDegree*math.Cos(c.lat*degToRad))
		}
		pts[i] = Point{ID: uint32(i), Lat: lat, Lng: lng}
	}
	return pts
}

// ruralPoint draws uniformly by area over the land polygons: uniform in
// longitude and in sin(latitude) over the bounding box, then rejected until
// it falls on land.
func ruralPoint(rng *rand.Rand) (lat, lng float64) {
	s0, s1 := math.Sin(landBox.minLat*degToRad), math.Sin(landBox.maxLat*degToRad)
	for {
		lat = math.Asin(s0+rng.Float64()*(s1-s0)) / degToRad
		lng = landBox.minLng + rng.Float64()*(landBox.maxLng-landBox.minLng)
		if onLand(lat, lng) {
			return lat, lng
		}
	}
}
