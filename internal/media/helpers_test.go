package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

var (
	red  = color.NRGBA{0xff, 0, 0, 0xff}
	blue = color.NRGBA{0, 0, 0xff, 0xff}
)

// halves returns a w×h image, left half left, right half right.
func halves(w, h int, left, right color.Color) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			m.Set(x, y, c)
		}
	}
	return m
}

func encodePNG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// encodeGIF encodes a w×h GIF; with transparent set, its left half uses
// a transparent palette entry.
func encodeGIF(tb testing.TB, w, h int, transparent bool) []byte {
	tb.Helper()
	pal := append(color.Palette{}, palette.Plan9[:16]...)
	pal[5] = blue
	if transparent {
		pal[0] = color.NRGBA{}
	}
	m := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := range h {
		for x := range w {
			if x >= w/2 {
				m.SetColorIndex(x, y, 5)
			}
		}
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// withExif splices an APP1 Exif segment right after the SOI of a JPEG.
// Its IFD0 holds the orientation and a GPSInfo pointer to a GPS IFD with
// a latitude reference; marker is appended to the segment, the way
// makers put free text in EXIF.
func withExif(jpg []byte, orientation uint16, marker string) []byte {
	be := binary.BigEndian
	t := []byte("MM\x00*")
	t = be.AppendUint32(t, 8) // IFD0 right after the header
	t = be.AppendUint16(t, 2) // two entries
	t = be.AppendUint16(t, 0x0112)
	t = be.AppendUint16(t, 3) // SHORT
	t = be.AppendUint32(t, 1)
	t = be.AppendUint16(t, orientation)
	t = be.AppendUint16(t, 0)
	t = be.AppendUint16(t, 0x8825) // GPSInfo
	t = be.AppendUint16(t, 4)      // LONG
	t = be.AppendUint32(t, 1)
	t = be.AppendUint32(t, 8+2+2*12+4) // GPS IFD after IFD0
	t = be.AppendUint32(t, 0)          // no IFD1
	t = be.AppendUint16(t, 1)
	t = be.AppendUint16(t, 0x0001) // GPSLatitudeRef
	t = be.AppendUint16(t, 2)      // ASCII
	t = be.AppendUint32(t, 2)
	t = append(t, 'N', 0, 0, 0)
	t = be.AppendUint32(t, 0)
	t = append(t, marker...)

	payload := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xFF, 0xE1}
	seg = be.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngChunk returns one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngHeaderOnly returns a PNG signature, an 8-bit RGBA IHDR claiming
// w×h, a token IDAT and IEND: valid up to the pixels.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	b = append(b, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(b, pngChunk("IEND", nil)...)
}

// checkClean fails unless data is a JPEG or PNG of the given type made
// only of the segments or chunks that carry pixels: no APPn or comment
// segment, no text, eXIf, iCCP or other ancillary chunk.
func checkClean(tb testing.TB, data []byte, contentType string) {
	tb.Helper()
	switch contentType {
	case JPEG:
		if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
			tb.Fatalf("not a JPEG: % x", data[:min(len(data), 4)])
		}
		for i := 2; ; {
			if i+4 > len(data) || data[i] != 0xFF {
				tb.Fatalf("JPEG structure broken at %d", i)
			}
			m := data[i+1]
			switch m {
			case 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD: // DQT, SOFn, DHT, DRI
			case 0xDA: // SOS: entropy-coded data follows
				return
			default:
				tb.Fatalf("JPEG output holds segment FF%02X", m)
			}
			i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
		}
	case PNG:
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
			tb.Fatal("not a PNG")
		}
		for i := 8; i < len(data); {
			if i+12 > len(data) {
				tb.Fatalf("PNG structure broken at %d", i)
			}
			n := int(binary.BigEndian.Uint32(data[i:]))
			switch typ := string(data[i+4 : i+8]); typ {
			case "IHDR", "PLTE", "tRNS", "IDAT", "IEND":
			default:
				tb.Fatalf("PNG output holds chunk %q", typ)
			}
			i += 12 + n
		}
	default:
		tb.Fatalf("content type %q", contentType)
	}
}

// decodeOutput decodes a Sanitize result and checks it matches what
// Image says about itself.
func decodeOutput(tb testing.TB, img Image) image.Image {
	tb.Helper()
	m, format, err := image.Decode(bytes.NewReader(img.Data))
	if err != nil {
		tb.Fatalf("output does not decode: %v", err)
	}
	if "image/"+format != img.ContentType {
		tb.Errorf("output is %s, Image says %s", format, img.ContentType)
	}
	if b := m.Bounds(); b.Dx() != img.Width || b.Dy() != img.Height {
		tb.Errorf("output is %dx%d, Image says %dx%d", b.Dx(), b.Dy(), img.Width, img.Height)
	}
	return m
}

// near reports whether c is within a JPEG's error of want.
func near(c color.Color, want color.NRGBA) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) bool { return int(a)-int(b) < 40 && int(b)-int(a) < 40 }
	return d(n.R, want.R) && d(n.G, want.G) && d(n.B, want.B) && d(n.A, want.A)
}
