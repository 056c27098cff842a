package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/yuncan/yuncan"
)

func TestSanitizeRefuses(t *testing.T) {
	small := encodePNG(t, halves(100, 100, red, blue))
	jpg := encodeJPEG(t, halves(64, 64, red, blue))
	tooWide := encodePNG(t, halves(101, 100, red, blue))
	limits := Options{MaxBytes: 1 << 20, MaxPixels: 10_000}

	tests := []struct {
		name   string
		input  []byte
		opt    Options
		code   yuncan.Code
		reason string
	}{
		{"empty", nil, AvatarOptions, yuncan.UnsupportedMedia, "unsupported_image_type"},
		{"text", []byte("hello, this is not a picture"), AvatarOptions, yuncan.UnsupportedMedia, "unsupported_image_type"},
		{"html", []byte("<html><body><img src=x></body></html>"), AvatarOptions, yuncan.UnsupportedMedia, "unsupported_image_type"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), AvatarOptions, yuncan.UnsupportedMedia, "unsupported_image_type"},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), AvatarOptions, yuncan.UnsupportedMedia, "unsupported_image_type"},
		{"truncated jpeg", jpg[:len(jpg)/2], AvatarOptions, yuncan.Invalid, "image_corrupt"},
		{"jpeg magic only", jpg[:3], AvatarOptions, yuncan.Invalid, "image_corrupt"},
		{"truncated png", small[:len(small)-30], AvatarOptions, yuncan.Invalid, "image_corrupt"},
		{"png header, no pixels", pngHeaderOnly(16, 16), AvatarOptions, yuncan.Invalid, "image_corrupt"},
		{"png zero width", pngHeaderOnly(0, 16), AvatarOptions, yuncan.Invalid, "image_corrupt"},
		// Decoding this would allocate 40 GB: passing at all shows the
		// header was checked first.
		{"png claims 100000x100000", pngHeaderOnly(100_000, 100_000), AvatarOptions, yuncan.TooLarge, "image_too_many_pixels"},
		{"one pixel over", tooWide, limits, yuncan.TooLarge, "image_too_many_pixels"},
		{"one byte over", small, Options{MaxBytes: int64(len(small)) - 1}, yuncan.TooLarge, "image_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sanitize(bytes.NewReader(tt.input), tt.opt)
			if yuncan.ErrorCode(err) != tt.code || yuncan.ErrorReason(err) != tt.reason {
				t.Fatalf("got %s/%s (%v), want %s/%s", yuncan.ErrorCode(err), yuncan.ErrorReason(err), err, tt.code, tt.reason)
			}
		})
	}
}

func TestSanitizeLimitsAreInclusive(t *testing.T) {
	data := encodePNG(t, halves(100, 100, red, blue))
	_, err := Sanitize(bytes.NewReader(data), Options{MaxBytes: int64(len(data)), MaxPixels: 100 * 100})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSanitizeReadErrors(t *testing.T) {
	data := encodePNG(t, halves(100, 100, red, blue))
	// What a handler sees when it wraps the body in http.MaxBytesReader.
	body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(data)), 10)
	_, err := Sanitize(body, AvatarOptions)
	if yuncan.ErrorCode(err) != yuncan.TooLarge || yuncan.ErrorReason(err) != "image_too_large" {
		t.Errorf("MaxBytesReader: got %v", err)
	}

	boom := errors.New("connection reset")
	_, err = Sanitize(iotest.ErrReader(boom), AvatarOptions)
	if !errors.Is(err, boom) || yuncan.ErrorCode(err) != yuncan.Internal {
		t.Errorf("read error: got %v", err)
	}
}

func TestSanitizeStripsExif(t *testing.T) {
	const marker = "GPS-SECRET-MARKER-52.5200N-13.4050E"
	in := withExif(encodeJPEG(t, halves(64, 48, red, blue)), 1, marker)
	if !bytes.Contains(in, []byte("Exif")) || !bytes.Contains(in, []byte(marker)) {
		t.Fatal("test input lacks its EXIF block")
	}
	if _, _, err := image.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("test input does not decode: %v", err)
	}

	img, err := Sanitize(bytes.NewReader(in), PhotoOptions)
	if err != nil {
		t.Fatal(err)
	}
	if img.ContentType != JPEG || img.Width != 64 || img.Height != 48 {
		t.Errorf("got %s %dx%d, want image/jpeg 64x48", img.ContentType, img.Width, img.Height)
	}
	for _, s := range []string{"Exif", marker} {
		if bytes.Contains(img.Data, []byte(s)) {
			t.Errorf("output still contains %q", s)
		}
	}
	if bytes.Contains(img.Data, []byte{0xFF, 0xE1}) {
		t.Error("output still contains an APP1 marker")
	}
	checkClean(t, img.Data, img.ContentType)
	decodeOutput(t, img)
}

func TestSanitizeFormats(t *testing.T) {
	alpha := halves(40, 30, color.NRGBA{}, blue)
	tests := []struct {
		name        string
		input       []byte
		contentType string
		w, h        int
	}{
		{"opaque png", encodePNG(t, halves(40, 30, red, blue)), JPEG, 40, 30},
		{"png with alpha", encodePNG(t, alpha), PNG, 40, 30},
		{"jpeg", encodeJPEG(t, halves(40, 30, red, blue)), JPEG, 40, 30},
		{"gif", encodeGIF(t, 40, 30, false), JPEG, 40, 30},
		{"gif with transparency", encodeGIF(t, 40, 30, true), PNG, 40, 30},
		{"webp lossy", readTestdata(t, "blue-purple-pink.lossy.webp"), JPEG, 1, 1},
		{"webp lossless", readTestdata(t, "gopher-doc.1bpp.lossless.webp"), JPEG, 1, 1},
		{"webp with alpha", readTestdata(t, "gopher-doc.with-alpha.lossless.webp"), PNG, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A lying extension or declared type must not matter: there
			// is none to pass.
			img, err := Sanitize(bytes.NewReader(tt.input), Options{MaxBytes: 1 << 20, MaxPixels: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if img.ContentType != tt.contentType {
				t.Errorf("content type %s, want %s", img.ContentType, tt.contentType)
			}
			if tt.w > 1 && (img.Width != tt.w || img.Height != tt.h) {
				t.Errorf("got %dx%d, want %dx%d", img.Width, img.Height, tt.w, tt.h)
			}
			checkClean(t, img.Data, img.ContentType)
			m := decodeOutput(t, img)
			if tt.contentType == PNG && !strings.HasPrefix(tt.name, "webp") {
				if _, _, _, a := m.At(0, 0).RGBA(); a != 0 {
					t.Errorf("transparent corner has alpha %d", a)
				}
				if !near(m.At(img.Width-1, 0), blue) {
					t.Errorf("opaque corner is %v", m.At(img.Width-1, 0))
				}
			}
		})
	}
}

func TestSanitizeGeometry(t *testing.T) {
	tests := []struct {
		name         string
		w, h         int
		opt          Options
		wantW, wantH int
	}{
		{"avatar from landscape", 300, 200, Options{MaxSide: 100, Square: true}, 100, 100},
		{"avatar from portrait", 90, 300, Options{MaxSide: 64, Square: true}, 64, 64},
		{"square, no resize", 50, 40, Options{Square: true}, 40, 40},
		{"small avatar not enlarged", 50, 40, AvatarOptions, 40, 40},
		{"photo keeps aspect", 400, 100, Options{MaxSide: 200}, 200, 50},
		{"photo rounds", 300, 200, Options{MaxSide: 100}, 100, 67},
		{"thin strip keeps a pixel", 1000, 3, Options{MaxSide: 100}, 100, 1},
		{"small photo not enlarged", 50, 40, PhotoOptions, 50, 40},
		{"no limits", 123, 45, Options{}, 123, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := encodePNG(t, halves(tt.w, tt.h, red, blue))
			img, err := Sanitize(bytes.NewReader(in), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != tt.wantW || img.Height != tt.wantH {
				t.Errorf("got %dx%d, want %dx%d", img.Width, img.Height, tt.wantW, tt.wantH)
			}
			decodeOutput(t, img)
		})
	}
}

func TestSanitizeSquareCropsCentre(t *testing.T) {
	// Red | blue | red in thirds: the centre square is all blue.
	m := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	for y := range 100 {
		for x := range 300 {
			c := red
			if x >= 100 && x < 200 {
				c = blue
			}
			m.Set(x, y, c)
		}
	}
	img, err := Sanitize(bytes.NewReader(encodePNG(t, m)), Options{MaxSide: 50, Square: true})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeOutput(t, img)
	for _, p := range []image.Point{{0, 0}, {49, 0}, {25, 25}, {0, 49}, {49, 49}} {
		if !near(out.At(p.X, p.Y), blue) {
			t.Errorf("pixel %v is %v, want blue", p, out.At(p.X, p.Y))
		}
	}
}

func TestSanitizeOrientation(t *testing.T) {
	// The stored image is red on the left, blue on the right.
	tests := []struct {
		orientation       uint16
		w, h              int
		topLeft, botRight color.NRGBA
	}{
		{1, 40, 20, red, blue},
		{2, 40, 20, blue, red},
		{3, 40, 20, blue, red},
		{6, 20, 40, red, blue}, // left column becomes the top row
		{8, 20, 40, blue, red},
		{9, 40, 20, red, blue}, // invalid: ignored
	}
	src := encodeJPEG(t, halves(40, 20, red, blue))
	for _, tt := range tests {
		img, err := Sanitize(bytes.NewReader(withExif(src, tt.orientation, "x")), PhotoOptions)
		if err != nil {
			t.Fatalf("orientation %d: %v", tt.orientation, err)
		}
		if img.Width != tt.w || img.Height != tt.h {
			t.Errorf("orientation %d: got %dx%d, want %dx%d", tt.orientation, img.Width, img.Height, tt.w, tt.h)
		}
		m := decodeOutput(t, img)
		if c := m.At(1, 1); !near(c, tt.topLeft) {
			t.Errorf("orientation %d: top left is %v, want %v", tt.orientation, c, tt.topLeft)
		}
		if c := m.At(img.Width-2, img.Height-2); !near(c, tt.botRight) {
			t.Errorf("orientation %d: bottom right is %v, want %v", tt.orientation, c, tt.botRight)
		}
	}
}
