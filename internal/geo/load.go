package geo

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/yuncan/yuncan"
)

// Load replaces the whole content with pts, as at start-up from the
// database: much faster than a Set per point, and it packs chunks tightly.
// It returns an Invalid error, and changes nothing, if a point is out of
// range or a key appears twice.
func (x *Index) Load(pts []Point) error {
	for i, p := range pts {
		if err := ValidateLatLng(p.Lat, p.Lng); err != nil {
			return fmt.Errorf("geo: load point %d (key %d): %w", i, p.ID, err)
		}
	}
	var pos keyTable
	for _, p := range pts {
		if pos.get(p.ID).present() {
			return yuncan.Errorf(yuncan.Invalid, "key %d appears twice", p.ID).WithField("id", "duplicate")
		}
		pos.set(p.ID, latLng{p.Lat, p.Lng})
	}
	es := make([]entry, len(pts))
	parallel(len(pts), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			es[i] = entry{leafCell(pts[i].Lat, pts[i].Lng), pts[i].ID}
		}
	})
	sortEntries(es)
	nc := (len(es) + loadFill - 1) / loadFill
	chunks := make([]*chunk, nc)
	fences := make([]entry, nc)
	for i := range chunks {
		c := new(chunk)
		part := es[i*loadFill : min((i+1)*loadFill, len(es))]
		for j, e := range part {
			c.cells[j], c.keys[j] = e.cell, e.key
		}
		c.n = int32(len(part))
		chunks[i] = c
		if i > 0 {
			fences[i] = part[0]
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pos, x.chunks, x.fences, x.n = pos, chunks, fences, len(pts)
	return nil
}

// parallel runs fn over [0, n) split across the processors.
func parallel(n int, fn func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), max(n/65536, 1))
	var wg sync.WaitGroup
	for k := range w {
		wg.Go(func() { fn(n*k/w, n*(k+1)/w) })
	}
	wg.Wait()
}

// sortEntries sorts by (cell, key), in halves on two processors when it can.
func sortEntries(es []entry) {
	byOrder := func(a, b entry) int {
		if c := cmp.Compare(a.cell, b.cell); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	}
	if len(es) < 1<<16 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(es, byOrder)
		return
	}
	h := len(es) / 2
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(es[:h], byOrder) })
	slices.SortFunc(es[h:], byOrder)
	wg.Wait()
	merged := make([]entry, 0, len(es))
	a, b := es[:h], es[h:]
	for len(a) > 0 && len(b) > 0 {
		if b[0].less(a[0]) {
			merged = append(merged, b[0])
			b = b[1:]
		} else {
			merged = append(merged, a[0])
			a = a[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	copy(es, merged)
}
