package geo

import (
	"cmp"
	"fmt"
	"slices"
)

// SetMany is Set for many points at once, as when a batch of location
// writes is applied together; when a key appears more than once the last
// wins. It returns an Invalid error, and changes nothing, if any point is
// out of range. It holds the write lock while it applies the batch, so
// batches of thousands keep queries waiting at most a few milliseconds.
//
// On a large index it is faster than a Set per point: it computes cells on
// every processor, reads all the old positions in one pass so that their
// cache misses overlap, and applies the updates in index order, touching
// each update's chunk a few updates ahead.
func (x *Index) SetMany(pts []Point) error {
	for i, p := range pts {
		if err := ValidateLatLng(p.Lat, p.Lng); err != nil {
			return fmt.Errorf("geo: set point %d (key %d): %w", i, p.ID, err)
		}
	}
	// An update is its new entry and its index in pts, packed in the
	// entry's padding so that sorting moves 16 bytes.
	type update struct {
		cell uint64
		key  uint32
		at   uint32
	}
	us := make([]update, len(pts))
	parallel(len(pts), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			us[k] = update{leafCell(pts[k].Lat, pts[k].Lng), pts[k].ID, uint32(k)}
		}
	})
	us = lastPerKey(us, func(u update) uint32 { return u.key })
	slices.SortFunc(us, func(a, b update) int {
		if c := cmp.Compare(a.cell, b.cell); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})

	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.chunks) == 0 {
		x.locate(entry{})
	}
	// One pass of independent loads, whose cache misses overlap: the old
	// positions, the new ones, and the chunk each update will land in.
	olds := make([]latLng, len(us))
	news := make([]latLng, len(us))
	hints := make([]int32, len(us))
	h := 0
	for k, u := range us {
		olds[k] = x.pos.get(u.key)
		p := pts[u.at]
		news[k] = latLng{p.Lat, p.Lng}
		for h+1 < len(x.fences) && !(entry{u.cell, u.key}).less(x.fences[h+1]) {
			h++
		}
		hints[k] = int32(h)
	}
	oldCells := make([]uint64, len(us))
	parallel(len(us), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			if o := olds[k]; o.present() {
				oldCells[k] = leafCell(o.lat, o.lng)
			}
		}
	})
	var touch int32
	for k, u := range us {
		// Touch the chunk of an update a few ahead, so its cache miss
		// overlaps this one's work.
		if f := k + prefetchAhead; f < len(us) {
			touch += x.chunks[min(int(hints[f]), len(x.chunks)-1)].n
		}
		// The hint is right unless a split or merge has moved chunks
		// since it was taken; then search.
		e := entry{u.cell, u.key}
		i := int(hints[k])
		if i >= len(x.chunks) || !x.holds(i, e) {
			i = x.chunkFor(e)
		}
		c := x.chunks[i]
		x.place(i, c.search(e, 0, int(c.n)), e, news[k], olds[k], entry{oldCells[k], u.key})
	}
	x.touched = touch
	return nil
}

// prefetchAhead is how many updates ahead SetMany touches chunks.
const prefetchAhead = 6

// lastPerKey drops every element but the last of each key, keeping order.
// It uses a small open-addressing set sized to the batch rather than a map.
func lastPerKey[T any](us []T, key func(T) uint32) []T {
	size := 16
	for size < 2*len(us) {
		size *= 2
	}
	slots := make([]uint32, size)
	used := make([]bool, size)
	keep := make([]bool, len(us))
	dups := false
	for k := len(us) - 1; k >= 0; k-- {
		kk := key(us[k])
		h := (uint64(kk) * 0x9e3779b97f4a7c15) >> 32 & uint64(size-1)
		for used[h] && slots[h] != kk {
			h = (h + 1) & uint64(size-1)
		}
		if used[h] {
			dups = true
			continue
		}
		used[h], slots[h], keep[k] = true, kk, true
	}
	if !dups {
		return us
	}
	w := 0
	for k := range us {
		if keep[k] {
			us[w] = us[k]
			w++
		}
	}
	return us[:w]
}
