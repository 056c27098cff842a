package geo

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"

	"github.com/yuncan/yuncan"
)

// checkInvariants walks the whole structure: chunks in order within their
// fences, every entry matching its key's stored position, counts agreeing.
func checkInvariants(t testing.TB, x *Index) {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(x.chunks) != len(x.fences) {
		t.Fatalf("%d chunks, %d fences", len(x.chunks), len(x.fences))
	}
	if len(x.fences) > 0 && x.fences[0] != (entry{}) {
		t.Fatalf("first fence is %v", x.fences[0])
	}
	total := 0
	var prev entry
	for i, c := range x.chunks {
		if c.n < 0 || c.n > chunkCap || c.n == 0 && len(x.chunks) > 1 {
			t.Fatalf("chunk %d of %d holds %d", i, len(x.chunks), c.n)
		}
		for j := range int(c.n) {
			e := c.entry(j)
			if total > 0 && !prev.less(e) {
				t.Fatalf("chunk %d slot %d: %v not after %v", i, j, e, prev)
			}
			if e.less(x.fences[i]) || i+1 < len(x.fences) && !e.less(x.fences[i+1]) {
				t.Fatalf("chunk %d slot %d: %v outside its fences", i, j, e)
			}
			p := x.pos.get(e.key)
			if !p.present() || leafCell(p.lat, p.lng) != e.cell {
				t.Fatalf("key %d is in cell %x but stored at %v", e.key, e.cell, p)
			}
			prev = e
			total++
		}
	}
	// Finding a chunk agrees with the fences at every fence and just
	// below it.
	for i, f := range x.fences {
		if got := x.chunkFor(f); got != i {
			t.Fatalf("chunkFor(fence %d) = %d of %d", i, got, len(x.fences))
		}
		if i > 0 {
			below := entry{f.cell, f.key - 1}
			if f.key == 0 {
				below = entry{f.cell - 1, math.MaxUint32}
			}
			if got := x.chunkFor(below); got != i-1 {
				t.Fatalf("chunkFor(below fence %d) = %d", i, got)
			}
		}
	}
	present := 0
	for _, pg := range x.pos.pages {
		if pg == nil {
			continue
		}
		for _, p := range pg {
			if p.present() {
				present++
			}
		}
	}
	if total != x.n || present != x.n {
		t.Fatalf("%d entries, %d positions, n = %d", total, present, x.n)
	}
}

func TestSetGetRemove(t *testing.T) {
	var x Index
	if err := x.Set(5, 34.7, 113.6); err != nil {
		t.Fatal(err)
	}
	if lat, lng, ok := x.Get(5); !ok || lat != 34.7 || lng != 113.6 || x.Len() != 1 {
		t.Fatalf("after Set: %v %v %v, len %d", lat, lng, ok, x.Len())
	}
	if _, _, ok := x.Get(4); ok {
		t.Fatal("key 4 was never set")
	}
	if _, _, ok := x.Get(1 << 30); ok {
		t.Fatal("key beyond the table was never set")
	}
	// Same place again, then a move within the leaf cell, then a real move.
	for _, p := range [][2]float64{{34.7, 113.6}, {34.7, 113.60000000001}, {39.9, 116.4}} {
		if err := x.Set(5, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
		if lat, lng, _ := x.Get(5); lat != p[0] || lng != p[1] || x.Len() != 1 {
			t.Fatalf("after moving to %v: %v %v, len %d", p, lat, lng, x.Len())
		}
		checkInvariants(t, &x)
	}
	if got, _ := x.AppendWithin(nil, 34.7, 113.6, 10); len(got) != 0 {
		t.Fatalf("the old place still finds %v", got)
	}
	if got, _ := x.AppendWithin(nil, 39.9, 116.4, 10); len(got) != 1 || got[0] != 5 {
		t.Fatalf("the new place finds %v", got)
	}
	x.Remove(5)
	x.Remove(5)
	x.Remove(1 << 31)
	if _, _, ok := x.Get(5); ok || x.Len() != 0 {
		t.Fatal("Remove left the key")
	}
	if got, _ := x.AppendWithin(nil, 39.9, 116.4, 10); len(got) != 0 {
		t.Fatalf("a removed key is found: %v", got)
	}
	if err := x.Set(5, 1, 1); err != nil || x.Len() != 1 {
		t.Fatalf("re-adding a removed key: %v, len %d", err, x.Len())
	}
	checkInvariants(t, &x)
	// A stray large key costs its own page, not every page below it.
	before := x.Bytes()
	if err := x.Set(math.MaxUint32, 2, 2); err != nil || x.Len() != 2 {
		t.Fatalf("the largest key: %v, len %d", err, x.Len())
	}
	if grew := x.Bytes() - before; grew > 16<<20 {
		t.Errorf("the largest key took %d bytes", grew)
	}
	if lat, _, ok := x.Get(math.MaxUint32); !ok || lat != 2 {
		t.Error("the largest key is lost")
	}
	if _, _, ok := x.Get(math.MaxUint32 - 5000); ok {
		t.Error("a key in an unallocated page is present")
	}
	x.Remove(math.MaxUint32 - 5000)
	x.Remove(math.MaxUint32)
	checkInvariants(t, &x)
}

func TestSetRefusesBadCoordinates(t *testing.T) {
	var x Index
	x.Set(1, 10, 10)
	for _, p := range [][2]float64{{math.NaN(), 0}, {0, math.NaN()}, {90.5, 0}, {0, 181}, {math.Inf(-1), 0}} {
		if err := x.Set(1, p[0], p[1]); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("Set(%v) = %v, want Invalid", p, err)
		}
		if err := x.SetMany([]Point{{ID: 2, Lat: 1, Lng: 1}, {ID: 1, Lat: p[0], Lng: p[1]}}); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("SetMany(%v) = %v, want Invalid", p, err)
		}
	}
	if lat, lng, ok := x.Get(1); !ok || lat != 10 || lng != 10 || x.Len() != 1 {
		t.Fatalf("a refused update changed the index: %v %v %v", lat, lng, ok)
	}
}

// A random walk of adds, short and long moves and removals, checked
// against a plain map: it drives chunks through spills, splits and merges.
func TestIndexMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var x Index
	model := map[uint32]Point{}
	// Enough keys for several hundred chunks.
	const keys = 60000
	snapshot := func() []Point {
		pts := make([]Point, 0, len(model))
		for _, p := range model {
			pts = append(pts, p)
		}
		return pts
	}
	most := 0
	for step := range 160000 {
		k := uint32(rng.IntN(keys))
		switch op := rng.IntN(10); {
		case op < 5: // add or jump anywhere in a few clusters
			c := cities[rng.IntN(8)]
			p := Point{ID: k, Lat: c.lat + rng.NormFloat64()*0.2, Lng: c.lng + rng.NormFloat64()*0.2}
			if err := x.Set(k, p.Lat, p.Lng); err != nil {
				t.Fatal(err)
			}
			model[k] = p
		case op < 8: // a short move
			if p, ok := model[k]; ok {
				p.Lat += rng.NormFloat64() * 1e-4
				p.Lng += rng.NormFloat64() * 1e-4
				x.Set(k, p.Lat, p.Lng)
				model[k] = p
			}
		default:
			x.Remove(k)
			delete(model, k)
		}
		if step%20000 == 19999 {
			checkInvariants(t, &x)
			most = max(most, len(x.chunks))
			pts := snapshot()
			for _, c := range cities[:8] {
				checkWithin(t, &x, pts, c.lat, c.lng, 15)
			}
			// Empty the index now and then, through removals.
			if step%80000 == 79999 {
				for k := range model {
					x.Remove(k)
				}
				clear(model)
				checkInvariants(t, &x)
			}
		}
	}
	if most < 200 {
		t.Errorf("the index grew to only %d chunks", most)
	}
}

func TestSetManyMatchesSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pts := Generate(20000, 3)
	var one, many Index
	if err := many.Load(pts[:10000]); err != nil {
		t.Fatal(err)
	}
	for _, p := range pts[:10000] {
		one.Set(p.ID, p.Lat, p.Lng)
	}
	// Moves, new keys, and a key updated twice in one batch (the last wins).
	var batch []Point
	for range 8000 {
		p := pts[rng.IntN(len(pts))]
		batch = append(batch, Point{ID: p.ID, Lat: p.Lat + rng.NormFloat64()*1e-3, Lng: p.Lng + rng.NormFloat64()*1e-3})
	}
	batch = append(batch, Point{ID: 3, Lat: 1, Lng: 1}, Point{ID: 3, Lat: 2, Lng: 2})
	for _, p := range batch {
		one.Set(p.ID, p.Lat, p.Lng)
	}
	if err := many.SetMany(batch); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, &many)
	if lat, _, _ := many.Get(3); lat != 2 {
		t.Fatalf("key 3 at latitude %v, want the last update's 2", lat)
	}
	if one.Len() != many.Len() {
		t.Fatalf("Set gives %d keys, SetMany %d", one.Len(), many.Len())
	}
	for k := range uint32(len(pts)) {
		a1, b1, ok1 := one.Get(k)
		a2, b2, ok2 := many.Get(k)
		if a1 != a2 || b1 != b2 || ok1 != ok2 {
			t.Fatalf("key %d: Set gives %v %v %v, SetMany %v %v %v", k, a1, b1, ok1, a2, b2, ok2)
		}
	}
}

func TestLoad(t *testing.T) {
	var x Index
	x.Set(5000, 1, 1)
	pts := Generate(1000, 1)
	if err := x.Load(pts); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := x.Get(5000); ok || x.Len() != 1000 {
		t.Fatal("Load did not replace the content")
	}
	checkInvariants(t, &x)
	dup := append(append([]Point(nil), pts[:10]...), Point{ID: 3, Lat: 5, Lng: 5})
	if err := x.Load(dup); yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Errorf("Load with a duplicate key = %v, want Invalid", err)
	}
	bad := append(append([]Point(nil), pts[:10]...), Point{ID: 50, Lat: 95})
	if err := x.Load(bad); yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Errorf("Load with a bad latitude = %v, want Invalid", err)
	}
	if x.Len() != 1000 {
		t.Error("a refused Load changed the index")
	}
	if err := x.Load(nil); err != nil || x.Len() != 0 {
		t.Errorf("Load(nil) = %v, len %d", err, x.Len())
	}
	checkInvariants(t, &x)
	x.Set(1, 1, 1)
	checkInvariants(t, &x)
}

func TestBytes(t *testing.T) {
	if s := unsafe.Sizeof(chunk{}); s > chunkAllocBytes || s <= 896 {
		t.Fatalf("a chunk is %d bytes: Bytes assumes the %d-byte size class", s, chunkAllocBytes)
	}
	var x Index
	empty := x.Bytes()
	pts := Generate(100000, 2)
	if err := x.Load(pts); err != nil {
		t.Fatal(err)
	}
	per := float64(x.Bytes()-empty) / float64(len(pts))
	// 16 bytes of exact coordinates per key, 12 per entry in chunks
	// packed loadFill/chunkCap full, and the fence and chunk tables.
	if per < 28 || per > 30 {
		t.Errorf("%.2f bytes per point after Load", per)
	}
}

// Readers query while writers move, add and remove keys; run with -race.
func TestConcurrentReadersAndWriters(t *testing.T) {
	pts := Generate(20000, 4)
	x := mustLoad(t, pts[:10000])
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 3000 {
				p := pts[rng.IntN(len(pts))]
				switch rng.IntN(4) {
				case 0:
					x.Remove(p.ID)
				case 1:
					x.SetMany([]Point{p, {ID: p.ID, Lat: p.Lat + 0.001, Lng: p.Lng}})
				default:
					x.Set(p.ID, p.Lat+rng.NormFloat64()*1e-3, p.Lng)
				}
			}
		})
	}
	for r := range 3 {
		wg.Go(func() {
			var dst []uint32
			for i := range 300 {
				c := cities[(r+i)%len(cities)]
				var err error
				if dst, err = x.AppendWithin(dst[:0], c.lat, c.lng, 80); err != nil {
					t.Error(err)
				}
				x.Within(c.lat, c.lng, 30, func(uint32, float64) bool { return true })
				x.Len()
				x.Bytes()
			}
		})
	}
	wg.Wait()
	checkInvariants(t, x)
	var now []Point
	for k := range uint32(len(pts)) {
		if lat, lng, ok := x.Get(k); ok {
			now = append(now, Point{ID: k, Lat: lat, Lng: lng})
		}
	}
	checkWithin(t, x, now, zzLat, zzLng, 100)
}
