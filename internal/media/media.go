// Package media accepts images people upload (avatars now, case photos
// later) and keeps them. Sanitize turns untrusted bytes into freshly
// encoded pixels with no metadata; Store keeps the result under an opaque
// key.
package media

// Options bounds what Sanitize accepts and shapes what it returns.
type Options struct {
	// MaxBytes is the largest input accepted. Zero or less means
	// PhotoOptions.MaxBytes, so the zero Options is still bounded.
	MaxBytes int64
	// MaxPixels is the largest width*height the header may claim; it is
	// checked before any pixel is decoded. Zero or less means
	// PhotoOptions.MaxPixels.
	MaxPixels int
	// MaxSide is the longest side of the output. Larger images are
	// scaled down keeping their aspect ratio; smaller ones are never
	// scaled up. Zero keeps the size.
	MaxSide int
	// Square centre-crops the image to a square before resizing.
	Square bool
}

// Image is a sanitised image, ready to store and serve.
type Image struct {
	Data []byte
	// ContentType is "image/jpeg" for opaque images and "image/png" for
	// images with transparency, whatever the input was.
	ContentType   string
	Width, Height int
}

// AvatarOptions suits profile pictures: small, square.
var AvatarOptions = Options{MaxBytes: 5 << 20, MaxPixels: 40_000_000, MaxSide: 512, Square: true}

// PhotoOptions suits photos attached to a case: large enough to recognise
// a face, small enough to serve on a phone.
var PhotoOptions = Options{MaxBytes: 10 << 20, MaxPixels: 50_000_000, MaxSide: 2048}

// Content types Sanitize produces.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
)

// Reasons carried by the errors Sanitize returns.
const (
	reasonTooLarge    = "image_too_large"
	reasonUnsupported = "unsupported_image_type"
	reasonTooMany     = "image_too_many_pixels"
	reasonCorrupt     = "image_corrupt"
)
