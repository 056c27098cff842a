package media

import (
	"bytes"
	"image"
	"testing"

	"github.com/yuncan/yuncan"
)

func FuzzSanitize(f *testing.F) {
	f.Add(encodePNG(f, halves(9, 7, red, blue)))
	f.Add(encodePNG(f, halves(6, 4, image.Transparent, blue)))
	f.Add(encodeJPEG(f, halves(17, 9, red, blue)))
	f.Add(withExif(encodeJPEG(f, halves(8, 8, red, blue)), 6, "GPS marker"))
	f.Add(encodeGIF(f, 5, 3, true))
	f.Add(readTestdata(f, "gopher-doc.1bpp.lossless.webp"))
	f.Add(readTestdata(f, "blue-purple-pink.lossy.webp"))
	f.Add(pngHeaderOnly(100_000, 100_000))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X"))
	f.Add([]byte("GIF89a"))
	f.Add([]byte("not an image"))
	f.Add([]byte{})

	// Small limits keep each run fast; MaxSide exercises the scaler.
	opt := Options{MaxBytes: 64 << 10, MaxPixels: 1 << 18, MaxSide: 48, Square: false}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, square := range []bool{false, true} {
			opt.Square = square
			img, err := Sanitize(bytes.NewReader(data), opt)
			if err != nil {
				// Every refusal is a classified error, never a bug.
				if c := yuncan.ErrorCode(err); c == yuncan.Internal {
					t.Fatalf("unclassified error: %v", err)
				}
				return
			}
			if img.Width < 1 || img.Height < 1 || max(img.Width, img.Height) > opt.MaxSide {
				t.Fatalf("output is %dx%d", img.Width, img.Height)
			}
			if square && img.Width != img.Height {
				t.Fatalf("square output is %dx%d", img.Width, img.Height)
			}
			decodeOutput(t, img)
			// The output is made only of pixel-carrying segments or
			// chunks, so no Exif block can be in it. (A bare search for
			// "Exif" could match compressed pixel data by chance.)
			checkClean(t, img.Data, img.ContentType)
		}
	})
}
