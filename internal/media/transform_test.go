package media

import (
	"image"
	"testing"
)

func TestOrient(t *testing.T) {
	// A 3x2 image whose pixels are the letters A-F, row by row:
	//   A B C
	//   D E F
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[i*4] = 'A' + byte(i)
	}
	tests := []struct {
		o    int
		want []string // rows
	}{
		{1, []string{"ABC", "DEF"}},
		{2, []string{"CBA", "FED"}},
		{3, []string{"FED", "CBA"}},
		{4, []string{"DEF", "ABC"}},
		{5, []string{"AD", "BE", "CF"}},
		{6, []string{"DA", "EB", "FC"}},
		{7, []string{"FC", "EB", "DA"}},
		{8, []string{"CF", "BE", "AD"}},
		{0, []string{"ABC", "DEF"}},
		{9, []string{"ABC", "DEF"}},
	}
	for _, tt := range tests {
		m := orient(src, tt.o)
		var got []string
		for y := range m.Rect.Dy() {
			row := ""
			for x := range m.Rect.Dx() {
				row += string(rune(m.Pix[m.PixOffset(x, y)]))
			}
			got = append(got, row)
		}
		if len(got) != len(tt.want) {
			t.Errorf("orientation %d: got %q, want %q", tt.o, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("orientation %d: got %q, want %q", tt.o, got, tt.want)
				break
			}
		}
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		w, h, max    int
		wantW, wantH int
	}{
		{100, 50, 0, 100, 50},
		{100, 50, 100, 100, 50},
		{100, 50, 200, 100, 50},
		{100, 50, 10, 10, 5},
		{50, 100, 10, 5, 10},
		{3, 2, 2, 2, 1},
		{10000, 1, 100, 100, 1},
		{1 << 30, 1 << 29, 2048, 2048, 1024},
	}
	for _, tt := range tests {
		w, h := fit(tt.w, tt.h, tt.max)
		if w != tt.wantW || h != tt.wantH {
			t.Errorf("fit(%d, %d, %d) = %d, %d; want %d, %d", tt.w, tt.h, tt.max, w, h, tt.wantW, tt.wantH)
		}
	}
}

func TestResizeSubImage(t *testing.T) {
	// Decoders may return images whose bounds do not start at 0,0 (a GIF
	// frame); cropping must follow the bounds.
	m := halves(40, 20, red, blue).SubImage(image.Rect(20, 0, 40, 20))
	out := resize(m, true, 0)
	if out.Rect.Dx() != 20 || out.Rect.Dy() != 20 {
		t.Fatalf("got %v", out.Rect)
	}
	if !near(out.At(0, 0), blue) {
		t.Errorf("top left is %v, want blue", out.At(0, 0))
	}
}
