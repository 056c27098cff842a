package geo

import (
	"sync"
	"testing"
)

var (
	benchOnce sync.Once
	benchPts  []Point
	benchIdx  *Index
)

// benchIndex is the 1,000,000-point population of the bench command's
// defaults (seed 1), loaded once for every benchmark.
func benchIndex(b *testing.B) (*Index, []Point) {
	benchOnce.Do(func() {
		benchPts = Generate(1_000_000, 1)
		benchIdx = new(Index)
		if err := benchIdx.Load(benchPts); err != nil {
			panic(err)
		}
	})
	return benchIdx, benchPts
}

const zzLat, zzLng = 34.7466, 113.6254 // Zhengzhou

func benchWithin(b *testing.B, radiusKm float64) {
	x, _ := benchIndex(b)
	dst, _ := x.AppendWithin(nil, zzLat, zzLng, radiusKm)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst, _ = x.AppendWithin(dst[:0], zzLat, zzLng, radiusKm)
	}
	b.ReportMetric(float64(len(dst)), "recipients")
}

func BenchmarkWithin100km1M(b *testing.B) { benchWithin(b, 100) }
func BenchmarkWithin500km1M(b *testing.B) { benchWithin(b, 500) }

// BenchmarkSet moves every point of the 1M population a little, in turn.
func BenchmarkSet(b *testing.B) {
	x, pts := benchIndex(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pts[i%len(pts)]
		d := float64(i/len(pts)%2) * 0.0005
		if err := x.Set(p.ID, p.Lat+d, p.Lng+d); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
