package geo

import (
	"sync"
	"unsafe"
)

// Index holds one location per key and answers ring queries. It is safe for
// concurrent use: queries share a read lock, updates take the write lock for
// about a microsecond each.
//
// Keys are dense: the key table has a slot for every key up to the largest
// one set (16 bytes each, in 64 KiB pages), so memory follows the largest
// key, not the number of points.
//
// The zero Index is empty and ready to use.
type Index struct {
	mu sync.RWMutex
	// fences[i] <= every entry of chunks[i] < fences[i+1]; fences[0] is the
	// zero entry.
	fences []entry
	chunks []*chunk
	pos    keyTable
	n      int
	// touched keeps SetMany's prefetching loads from being optimised away.
	touched int32
}

// Set puts key at (lat, lng), moving it if it was elsewhere. It returns an
// Invalid error, and changes nothing, for coordinates out of range or NaN.
func (x *Index) Set(key uint32, lat, lng float64) error {
	if err := ValidateLatLng(lat, lng); err != nil {
		return err
	}
	e := entry{leafCell(lat, lng), key}
	x.mu.Lock()
	x.set(e, latLng{lat, lng})
	x.mu.Unlock()
	return nil
}

// set is Set under the lock. The old position is read before the new
// entry's chunk is searched but used only after, so the two cache misses,
// which dominate an update, overlap.
func (x *Index) set(e entry, p latLng) {
	old := x.pos.get(e.key)
	i, j := x.locate(e)
	var oe entry
	if old.present() {
		oe = entry{leafCell(old.lat, old.lng), e.key}
	}
	x.place(i, j, e, p, old, oe)
}

// place finishes an update whose new entry e belongs at slot j of chunk i
// and whose old position (absent for a new key) has entry oe. A short move
// usually finds oe in the same, already cached, chunk and shifts only the
// slots between the two.
func (x *Index) place(i, j int, e entry, p latLng, old latLng, oe entry) {
	switch {
	case !old.present():
		x.insert(i, j, e)
		x.n++
	case oe == e:
		// Same leaf cell: only the coordinates change.
	case x.holds(i, oe):
		c := x.chunks[i]
		c.move(c.search(oe, 0, int(c.n)), j, e)
	default:
		x.insert(i, j, e)
		x.remove(oe)
	}
	x.pos.set(e.key, p)
}

// Remove deletes key's point; removing an absent key does nothing.
func (x *Index) Remove(key uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := x.pos.get(key)
	if !p.present() {
		return
	}
	x.remove(entry{leafCell(p.lat, p.lng), key})
	x.pos.clear(key)
	x.n--
}

// Get returns key's coordinates and whether it has a point.
func (x *Index) Get(key uint32) (lat, lng float64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p := x.pos.get(key)
	if !p.present() {
		return 0, 0, false
	}
	return p.lat, p.lng, true
}

// Len returns the number of keys with a point.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.n
}

// Bytes estimates the memory the index holds: the key table's pages, the
// chunks at their allocated size, the fence and chunk tables at their
// capacity, and the Index itself. Slack is included, not just live entries.
func (x *Index) Bytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int64(unsafe.Sizeof(*x)) +
		x.pos.bytes() +
		int64(cap(x.fences))*int64(unsafe.Sizeof(entry{})) +
		int64(cap(x.chunks))*int64(unsafe.Sizeof((*chunk)(nil))) +
		int64(len(x.chunks))*chunkAllocBytes
}
