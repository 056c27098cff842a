package media

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// BenchmarkSanitize measures a phone-sized photo turned into an avatar
// and into a case photo.
func BenchmarkSanitize(b *testing.B) {
	m := image.NewNRGBA(image.Rect(0, 0, 4000, 3000))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range m.Pix {
		m.Pix[i] = byte(rng.UintN(8)) + byte(i/4%4000*128/4000)
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	data := encodeJPEG(b, m)
	for _, bc := range []struct {
		name string
		opt  Options
	}{{"avatar", AvatarOptions}, {"photo", PhotoOptions}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Sanitize(bytes.NewReader(data), bc.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
