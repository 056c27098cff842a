// Package geo answers "who is within this distance of that place" for the
// alert fan-out: an in-memory index of consenting locations keyed by a dense
// uint32 (the location area maps people to keys), a reference great-circle
// distance, and a synthetic population clustered like China's for benchmarks.
//
// Distances are on a sphere of radius EarthRadiusKm. The reference is
// Haversine; the index returns exactly the points Haversine puts within the
// radius, never an approximation of them.
package geo

import (
	"math"

	"github.com/yuncan/yuncan"
)

// EarthRadiusKm is the radius of the sphere every distance is measured on.
const EarthRadiusKm = 6371.0

// MaxRadiusKm is the largest radius Within accepts: just under half the
// circumference, so a ring never wraps onto itself.
const MaxRadiusKm = 20000.0

const degToRad = math.Pi / 180

// Haversine returns the great-circle distance in kilometres between two
// points given in degrees. It is the reference the index agrees with: a point
// is within r of a centre exactly when Haversine(centre, point) <= r, with
// the centre's coordinates as the first pair.
func Haversine(lat1, lng1, lat2, lng2 float64) float64 {
	return EarthRadiusKm * haversineAngle(lat1, lng1, lat2, lng2)
}

// haversineAngle is the central angle in radians. The atan2 form stays
// accurate near both zero and antipodal distances, where asin(sqrt(h)) loses
// digits.
func haversineAngle(lat1, lng1, lat2, lng2 float64) float64 {
	phi1, phi2 := lat1*degToRad, lat2*degToRad
	sdPhi := math.Sin((phi2 - phi1) / 2)
	sdLambda := math.Sin((lng2 - lng1) * degToRad / 2)
	h := sdPhi*sdPhi + math.Cos(phi1)*math.Cos(phi2)*sdLambda*sdLambda
	h = min(max(h, 0), 1)
	return 2 * math.Atan2(math.Sqrt(h), math.Sqrt(1-h))
}

// ValidateLatLng reports an Invalid error naming the bad field when lat is
// not in [-90, 90] or lng not in [-180, 180] (NaN and infinities included).
func ValidateLatLng(lat, lng float64) error {
	if !(lat >= -90 && lat <= 90) {
		return yuncan.FieldError("lat", "must be a number from -90 to 90")
	}
	if !(lng >= -180 && lng <= 180) {
		return yuncan.FieldError("lng", "must be a number from -180 to 180")
	}
	return nil
}

// validateRadius reports an Invalid error when r is not in [0, MaxRadiusKm].
func validateRadius(r float64) error {
	if !(r >= 0 && r <= MaxRadiusKm) {
		return yuncan.FieldError("radius_km", "must be a number from 0 to 20000")
	}
	return nil
}
