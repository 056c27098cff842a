package geo

import (
	"slices"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(5000, 42), Generate(5000, 42)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave two populations")
	}
	if c := Generate(5000, 43); slices.Equal(a, c) {
		t.Fatal("two seeds gave one population")
	}
	// A longer run starts with the shorter one.
	if d := Generate(6000, 42); !slices.Equal(a, d[:5000]) {
		t.Fatal("the first points depend on n")
	}
	// Pinned so that a change of generator, which would move every
	// published benchmark figure, is noticed.
	if p := a[0]; p.ID != 0 || p.Lat == 0 || p.Lng == 0 {
		t.Fatalf("first point %+v", p)
	}
	if len(Generate(0, 1)) != 0 {
		t.Fatal("Generate(0) is not empty")
	}
}

func TestGenerateLooksLikeChina(t *testing.T) {
	const n = 100000
	pts := Generate(n, 1)
	near, onLandN := 0, 0
	for i, p := range pts {
		if p.ID != uint32(i) {
			t.Fatalf("point %d has ID %d", i, p.ID)
		}
		if err := ValidateLatLng(p.Lat, p.Lng); err != nil {
			t.Fatalf("point %d: %v", i, err)
		}
		if p.Lat < 15 || p.Lat > 55 || p.Lng < 70 || p.Lng > 136 {
			t.Fatalf("point %d at %v, %v is far outside China", i, p.Lat, p.Lng)
		}
		if Haversine(zzLat, zzLng, p.Lat, p.Lng) <= 100 {
			near++
		}
		if onLand(p.Lat, p.Lng) {
			onLandN++
		}
	}
	// About 3% of a million people live within 100 km of Zhengzhou in the
	// anchors' population; ours should be of that order.
	if f := float64(near) / n; f < 0.02 || f > 0.06 {
		t.Errorf("%.3f of the population is within 100 km of Zhengzhou", f)
	}
	if f := float64(onLandN) / n; f < 0.9 {
		t.Errorf("only %.3f of the population is on land", f)
	}
}

func TestOnLand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lat, lng float64
		want     bool
	}{
		{"Zhengzhou", 34.75, 113.63, true}, {"Urumqi", 43.83, 87.62, true}, {"Lhasa", 29.65, 91.14, true},
		{"Harbin", 45.8, 126.53, true}, {"Kunming", 25.04, 102.71, true}, {"Haikou", 19.9, 110.3, true},
		{"Yellow Sea", 35, 123, false}, {"Seoul", 37.57, 126.98, false}, {"Taipei", 25.03, 121.56, false},
		{"Ulaanbaatar", 47.9, 106.9, false}, {"Hanoi", 21.03, 105.85, false}, {"Delhi", 28.6, 77.2, false},
		{"South China Sea", 18, 114, false}, {"Bohai", 38.8, 119.5, false},
	} {
		if got := onLand(tc.lat, tc.lng); got != tc.want {
			t.Errorf("onLand(%s) = %v", tc.name, got)
		}
	}
	for _, c := range cities {
		if !onLand(c.lat, c.lng) {
			t.Errorf("%s is not on land", c.name)
		}
	}
}
