package geo

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// FuzzWithin builds a small population from the input and holds the index
// to the brute-force answer. Coordinates are drawn both anywhere and near
// the centre, so that points crowd the ring's edge.
func FuzzWithin(f *testing.F) {
	f.Add([]byte("zhengzhou"), 34.7466, 113.6254, 100.0)
	f.Add([]byte{0, 0, 0, 0, 255, 255, 255, 255}, 90.0, 180.0, 20000.0)
	f.Add([]byte("antimeridian and pole"), -89.9, -179.9, 0.5)
	f.Fuzz(func(t *testing.T, data []byte, lat, lng, r float64) {
		if ValidateLatLng(lat, lng) != nil || validateRadius(r) != nil {
			var x Index
			if _, err := x.AppendWithin(nil, lat, lng, r); err == nil {
				t.Fatalf("AppendWithin(%v, %v, %v) accepted", lat, lng, r)
			}
			return
		}
		var pts []Point
		for len(data) >= 5 && len(pts) < 300 {
			a, b := binary.LittleEndian.Uint16(data), binary.LittleEndian.Uint16(data[2:])
			var p Point
			switch data[4] % 3 {
			case 0: // anywhere
				p = Point{Lat: float64(a)/65535*180 - 90, Lng: float64(b)/65535*360 - 180}
			case 1: // within a few radii of the centre, crowding the edge
				d := r / EarthRadiusKm / degToRad
				p = Point{Lat: lat + (float64(a)/65535*2-1)*3*d, Lng: lng + (float64(b)/65535*2-1)*3*d}
			default: // exactly at the radius
				p.Lat, p.Lng = destination(lat, lng, float64(a)/65535*2*math.Pi, r)
			}
			p.Lat = math.Max(-90, math.Min(90, p.Lat))
			if p.Lng = math.Mod(p.Lng+180, 360); p.Lng < 0 {
				p.Lng += 360
			}
			p.Lng -= 180
			p.ID = uint32(len(pts))
			pts = append(pts, p)
			data = data[5:]
		}
		var x Index
		for _, p := range pts {
			if err := x.Set(p.ID, p.Lat, p.Lng); err != nil {
				t.Fatal(err)
			}
		}
		checkWithin(t, &x, pts, lat, lng, r)
	})
}

// FuzzReadCSV: the decoder never panics, and what it accepts writes back
// and reads again unchanged.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("id,lat,lng\n1,34.5,113.25\n"))
	f.Add([]byte("1,2\n"))
	f.Add([]byte("\"1\",\"2\",\"3\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pts, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, pts); err != nil {
			t.Fatal(err)
		}
		again, err := ReadCSV(&buf)
		if err != nil || !slices.Equal(pts, again) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
