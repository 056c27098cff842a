package media

import (
	"image"

	"golang.org/x/image/draw"
)

// resize copies src into a new RGBA image, first centre-cropped to a
// square when square is set, then scaled down so its longest side is at
// most maxSide (0: no limit). It works in the stored orientation: a
// centred square and a longest side stay what they are under every EXIF
// orientation, so rotating afterwards turns a small image, not a big one.
func resize(src image.Image, square bool, maxSide int) *image.RGBA {
	sr := src.Bounds()
	if square {
		s := min(sr.Dx(), sr.Dy())
		x := sr.Min.X + (sr.Dx()-s)/2
		y := sr.Min.Y + (sr.Dy()-s)/2
		sr = image.Rect(x, y, x+s, y+s)
	}
	w, h := fit(sr.Dx(), sr.Dy(), maxSide)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == sr.Dx() && h == sr.Dy() {
		draw.Draw(dst, dst.Rect, src, sr.Min, draw.Src)
	} else {
		draw.CatmullRom.Scale(dst, dst.Rect, src, sr, draw.Src, nil)
	}
	return dst
}

// fit returns w×h scaled down so that neither side exceeds maxSide,
// keeping the aspect ratio and at least one pixel a side.
func fit(w, h, maxSide int) (int, int) {
	long := max(w, h)
	if maxSide <= 0 || long <= maxSide {
		return w, h
	}
	scale := func(n int) int {
		// Round to nearest; int64 so a 2^31-pixel side cannot overflow.
		return max(1, int((int64(n)*int64(maxSide)+int64(long)/2)/int64(long)))
	}
	return scale(w), scale(h)
}

// orient returns m turned upright according to an EXIF orientation
// (1–8). Orientations 5–8 swap width and height. Unknown values leave m
// as it is.
func orient(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // needs a quarter turn clockwise
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // needs a quarter turn anticlockwise
				dx, dy = y, w-1-x
			}
			si := m.PixOffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)
			di := dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], m.Pix[si:si+4])
		}
	}
	return dst
}
