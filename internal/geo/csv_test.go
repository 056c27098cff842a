package geo

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/yuncan/yuncan"
)

func TestCSVRoundTrip(t *testing.T) {
	pts := append(Generate(2000, 5),
		Point{ID: math.MaxUint32, Lat: -90, Lng: 180},
		Point{ID: 7, Lat: math.Nextafter(0, 1), Lng: -0.1 + 0.2},
		Point{ID: 8, Lat: 89.99999999999999, Lng: -179.99999999999997})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, pts); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "id,lat,lng\n") {
		t.Fatalf("no header: %q", buf.String()[:20])
	}
	got, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, pts) {
		t.Fatal("the population changed on its way through CSV")
	}
}

func TestReadCSV(t *testing.T) {
	got, err := ReadCSV(strings.NewReader("1,34.5,113.25\n 2 , -10 ,  20.5\n"))
	want := []Point{{1, 34.5, 113.25}, {2, -10, 20.5}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("without a header: %v, %v", got, err)
	}
	if got, err := ReadCSV(strings.NewReader("")); err != nil || len(got) != 0 {
		t.Fatalf("empty input: %v, %v", got, err)
	}
	if got, err := ReadCSV(strings.NewReader("ID,Lat,Lng\n")); err != nil || len(got) != 0 {
		t.Fatalf("header only: %v, %v", got, err)
	}
}

func TestReadCSVRejectsBadRows(t *testing.T) {
	for _, tc := range []struct {
		name, in, line string
	}{
		{"two fields", "id,lat,lng\n1,2,3\n4,5\n", "line 3"},
		{"four fields", "1,2,3\n4,5,6,7\n", "line 2"},
		{"id not a number", "id,lat,lng\nx,1,1\n", "line 2"},
		{"negative id", "-1,1,1\n", "line 1"},
		{"id too big", "4294967296,1,1\n", "line 1"},
		{"lat not a number", "1,north,1\n", "line 1"},
		{"lat out of range", "1,1,1\n2,90.5,1\n", "line 2"},
		{"lng out of range", "1,1,-180.1\n", "line 1"},
		{"NaN", "1,NaN,1\n", "line 1"},
		{"header later", "1,1,1\nid,lat,lng\n", "line 2"},
		{"bad quoting", "1,\"1,1\n", "line 1"},
	} {
		_, err := ReadCSV(strings.NewReader(tc.in))
		if yuncan.ErrorCode(err) != yuncan.Invalid || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("%s: %v, want Invalid naming %s", tc.name, err, tc.line)
		}
	}
	boom := errors.New("disk on fire")
	if _, err := ReadCSV(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("a read error is %v", err)
	}
}
