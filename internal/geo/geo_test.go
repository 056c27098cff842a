package geo

import (
	"math"
	"testing"

	"github.com/yuncan/yuncan"
)

func TestHaversine(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, lng1, lat2, lng2 float64
		want, tol              float64
	}{
		{"same point", 34.7466, 113.6254, 34.7466, 113.6254, 0, 0},
		{"one degree of latitude", 10, 20, 11, 20, EarthRadiusKm * math.Pi / 180, 1e-9},
		{"quarter of the equator", 0, 0, 0, 90, EarthRadiusKm * math.Pi / 2, 1e-9},
		{"antipodes", 0, 0, 0, 180, EarthRadiusKm * math.Pi, 1e-9},
		{"pole to pole", 90, 0, -90, 0, EarthRadiusKm * math.Pi, 1e-9},
		{"across the antimeridian", 0, 179.5, 0, -179.5, EarthRadiusKm * math.Pi / 180, 1e-9},
		{"Zhengzhou to Beijing", 34.7466, 113.6254, 39.9042, 116.4074, 622, 5},
	} {
		got := Haversine(tc.lat1, tc.lng1, tc.lat2, tc.lng2)
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: Haversine = %v km, want %v ± %v", tc.name, got, tc.want, tc.tol)
		}
		if back := Haversine(tc.lat2, tc.lng2, tc.lat1, tc.lng1); back != got {
			t.Errorf("%s: not symmetric: %v and %v", tc.name, got, back)
		}
	}
}

func TestValidateLatLng(t *testing.T) {
	for _, tc := range []struct {
		lat, lng float64
		field    string
	}{
		{0, 0, ""}, {90, 180, ""}, {-90, -180, ""}, {math.Copysign(0, -1), math.Copysign(0, -1), ""},
		{90.000001, 0, "lat"}, {-91, 0, "lat"}, {math.NaN(), 0, "lat"}, {math.Inf(1), 0, "lat"},
		{0, 180.000001, "lng"}, {0, -181, "lng"}, {0, math.NaN(), "lng"}, {0, math.Inf(-1), "lng"},
	} {
		err := ValidateLatLng(tc.lat, tc.lng)
		if tc.field == "" {
			if err != nil {
				t.Errorf("ValidateLatLng(%v, %v) = %v", tc.lat, tc.lng, err)
			}
			continue
		}
		if yuncan.ErrorCode(err) != yuncan.Invalid || yuncan.AsError(err).Fields[tc.field] == "" {
			t.Errorf("ValidateLatLng(%v, %v) = %v, want Invalid on %s", tc.lat, tc.lng, err, tc.field)
		}
	}
}
