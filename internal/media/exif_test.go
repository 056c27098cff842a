package media

import (
	"encoding/binary"
	"testing"
)

// order is what binary.LittleEndian and binary.BigEndian both are.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiff builds a TIFF block whose IFD0 has one entry.
func tiff(bo order, tag, typ uint16, count uint32, value uint16) []byte {
	var t []byte
	if bo.String() == "LittleEndian" {
		t = []byte("II*\x00")
	} else {
		t = []byte("MM\x00*")
	}
	t = bo.AppendUint32(t, 8)
	t = bo.AppendUint16(t, 1)
	t = bo.AppendUint16(t, tag)
	t = bo.AppendUint16(t, typ)
	t = bo.AppendUint32(t, count)
	t = bo.AppendUint16(t, value)
	t = bo.AppendUint16(t, 0)
	return bo.AppendUint32(t, 0)
}

// app1 wraps payload in a JPEG with one APP1 segment and no pixels.
func app1(payload []byte) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 'J', 'F'} // a short APP0 first
	b = append(b, 0xFF, 0xE1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
	b = append(b, payload...)
	return append(b, 0xFF, 0xD9)
}

func TestJPEGOrientation(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	exif := func(t []byte) []byte { return append([]byte("Exif\x00\x00"), t...) }
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"little endian", app1(exif(tiff(le, 0x0112, 3, 1, 6))), 6},
		{"big endian", app1(exif(tiff(be, 0x0112, 3, 1, 8))), 8},
		{"full test segment", withExif([]byte{0xFF, 0xD8, 0xFF, 0xD9}, 3, "m"), 3},
		{"fill bytes", append([]byte{0xFF, 0xD8, 0xFF}, app1(exif(tiff(be, 0x0112, 3, 1, 5)))[2:]...), 5},
		{"no exif", []byte{0xFF, 0xD8, 0xFF, 0xD9}, 1},
		{"not a jpeg", []byte("\x89PNG\r\n\x1a\n"), 1},
		{"empty", nil, 1},
		{"other tag", app1(exif(tiff(be, 0x0110, 3, 1, 6))), 1},
		{"wrong type", app1(exif(tiff(be, 0x0112, 4, 1, 6))), 1},
		{"wrong count", app1(exif(tiff(be, 0x0112, 3, 2, 6))), 1},
		{"zero", app1(exif(tiff(be, 0x0112, 3, 1, 0))), 1},
		{"nine", app1(exif(tiff(be, 0x0112, 3, 1, 9))), 1},
		{"bad byte order", app1(exif([]byte("XX\x00*\x00\x00\x00\x08"))), 1},
		{"ifd beyond end", app1(exif([]byte("MM\x00*\xff\xff\xff\xf0"))), 1},
		{"entries beyond end", app1(exif([]byte("MM\x00*\x00\x00\x00\x08\x00\x09"))), 1},
		{"xmp, not exif", app1([]byte("http://ns.adobe.com/xap/1.0/\x00<x/>")), 1},
		{"segment longer than file", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'}, 1},
		{"segment length too small", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 'E', 'x'}, 1},
		{"after start of scan", append([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}, app1(exif(tiff(be, 0x0112, 3, 1, 6)))[2:]...), 1},
	}
	for _, tt := range tests {
		if got := jpegOrientation(tt.data); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(app1(append([]byte("Exif\x00\x00"), tiff(binary.LittleEndian, 0x0112, 3, 1, 6)...)))
	f.Add(withExif([]byte{0xFF, 0xD8, 0xFF, 0xD9}, 8, "marker"))
	f.Add([]byte{0xFF, 0xD8})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
