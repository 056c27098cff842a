package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"

	"golang.org/x/image/webp"

	"github.com/yuncan/yuncan"
)

// format is one accepted input type: how to read its header and pixels.
type format struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// formats maps the sniffed content type to its decoder. Each type is
// decoded only by its own decoder, so a file cannot be sniffed as one
// format and parsed as another. gif.Decode returns the first frame only.
var formats = map[string]format{
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"image/png":  {png.DecodeConfig, png.Decode},
	"image/gif":  {gif.DecodeConfig, gif.Decode},
	"image/webp": {webp.DecodeConfig, webp.Decode},
}

// Sanitize reads an untrusted image from r and returns it re-encoded from
// its pixels alone, so no EXIF, GPS, XMP, ICC or comment survives. The
// type is sniffed from the content; JPEG, PNG, GIF (first frame) and WebP
// are accepted. A JPEG's EXIF orientation is applied before the EXIF is
// dropped. Opaque images come out as JPEG, others as PNG.
//
// Errors carry a code and reason: TooLarge/"image_too_large" when r holds
// more than opt.MaxBytes; UnsupportedMedia/"unsupported_image_type" for
// anything else than the four types (empty input included);
// TooLarge/"image_too_many_pixels" when the header claims more than
// opt.MaxPixels, checked before decoding; Invalid/"image_corrupt" when
// the data does not decode. An error reading r is returned wrapped: a
// *yuncan.Error or *http.MaxBytesError from r keeps its meaning.
//
// Decoding holds the whole image in memory (about 4 bytes a pixel, 8 for
// 16-bit PNGs), so callers should bound how many run at once.
func Sanitize(r io.Reader, opt Options) (Image, error) {
	maxBytes, maxPixels := opt.MaxBytes, opt.MaxPixels
	if maxBytes <= 0 {
		maxBytes = PhotoOptions.MaxBytes
	}
	if maxPixels <= 0 {
		maxPixels = PhotoOptions.MaxPixels
	}

	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Image{}, tooLarge(err)
		}
		return Image{}, fmt.Errorf("media: read image: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return Image{}, tooLarge(nil)
	}

	ct := http.DetectContentType(data)
	f, ok := formats[ct]
	if !ok {
		e := yuncan.Errorf(yuncan.UnsupportedMedia, "Upload a JPEG, PNG, GIF or WebP image.")
		e.Err = fmt.Errorf("media: sniffed %q", ct)
		return Image{}, e.WithReason(reasonUnsupported)
	}

	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return Image{}, decodeError(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Image{}, corrupt(fmt.Errorf("media: header says %dx%d", cfg.Width, cfg.Height))
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		e := yuncan.Errorf(yuncan.TooLarge, "The image has too many pixels.")
		e.Err = fmt.Errorf("media: header says %dx%d, limit %d pixels", cfg.Width, cfg.Height, maxPixels)
		return Image{}, e.WithReason(reasonTooMany)
	}

	src, err := f.decode(bytes.NewReader(data))
	if err != nil {
		return Image{}, decodeError(err)
	}
	// The header was the bomb check; the pixels must not exceed it.
	b := src.Bounds()
	if b.Empty() || b.Dx() > cfg.Width || b.Dy() > cfg.Height {
		return Image{}, corrupt(fmt.Errorf("media: decoded %v, header says %dx%d", b, cfg.Width, cfg.Height))
	}

	orientation := 1
	if ct == "image/jpeg" {
		orientation = jpegOrientation(data)
	}
	out := orient(resize(src, opt.Square, opt.MaxSide), orientation)
	return encode(out, opaque(src))
}

// encode writes m as JPEG when opaque, else as PNG. Neither encoder
// writes any metadata.
func encode(m *image.RGBA, opaque bool) (Image, error) {
	var buf bytes.Buffer
	img := Image{Width: m.Rect.Dx(), Height: m.Rect.Dy()}
	var err error
	if opaque {
		img.ContentType = JPEG
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: 85})
	} else {
		img.ContentType = PNG
		err = png.Encode(&buf, m)
	}
	if err != nil {
		return Image{}, fmt.Errorf("media: encode %s: %w", img.ContentType, err)
	}
	img.Data = buf.Bytes()
	return img, nil
}

// opaque reports whether every pixel of m is fully opaque. The decoders'
// image types all say so themselves; anything else is treated as
// transparent, which costs only a larger PNG.
func opaque(m image.Image) bool {
	o, ok := m.(interface{ Opaque() bool })
	return ok && o.Opaque()
}

func tooLarge(cause error) error {
	e := yuncan.Errorf(yuncan.TooLarge, "The image is too large.")
	e.Err = cause
	return e.WithReason(reasonTooLarge)
}

func corrupt(cause error) error {
	e := yuncan.Errorf(yuncan.Invalid, "The image is damaged or incomplete.")
	e.Err = cause
	return e.WithReason(reasonCorrupt)
}

// decodeError classifies a decoder error: features the decoders do not
// support (arithmetic-coded JPEG, for example) are an unsupported type,
// everything else is corrupt data.
func decodeError(err error) error {
	var je jpeg.UnsupportedError
	var pe png.UnsupportedError
	if errors.As(err, &je) || errors.As(err, &pe) {
		e := yuncan.Errorf(yuncan.UnsupportedMedia, "This kind of image is not supported.")
		e.Err = err
		return e.WithReason(reasonUnsupported)
	}
	return corrupt(err)
}
