package geo

import "math/bits"

// The index keeps its points in a list of chunks ordered by (leaf cell id,
// key): a B+tree with one level of fences. A chunk is a small fixed block,
// so an update moves a few hundred bytes, never the whole index, and a ring
// query copies long runs of keys that sit next to each other in memory.
//
// On the virtual machines this runs on, a load that misses the cache and the
// TLB costs several hundred nanoseconds, so searches inside a chunk count
// rather than bisect: a bisection's dependent loads each wait in turn, a
// count's loads overlap.

// A chunk of chunkCap entries is 8+12*84 bytes, which the allocator rounds
// to its 1024-byte size class (chunkAllocBytes). Bytes counts the rounded
// size.
const (
	chunkCap        = 84
	chunkAllocBytes = 1024
	// loadFill is how full Load packs chunks: full enough for the memory
	// target, with room for people moving about before chunks spill.
	loadFill = 80
	// mergeBelow: a chunk this empty after a removal is merged into a
	// neighbour when the two fit in one chunk with room to spare.
	mergeBelow = chunkCap / 3
	mergeInto  = chunkCap * 5 / 6
)

// entry is one point's place in the order: its leaf cell, then its key, so
// that every entry is distinct even when many people share a cell.
type entry struct {
	cell uint64
	key  uint32
}

func (a entry) less(b entry) bool {
	return a.cell < b.cell || a.cell == b.cell && a.key < b.key
}

// chunk is a run of entries in order. n comes first so that the cache
// line an access misses on first also holds the first cells.
type chunk struct {
	n     int32
	cells [chunkCap]uint64
	keys  [chunkCap]uint32
}

// search returns the first slot in [lo, hi) whose entry is not less than e,
// or hi. It counts rather than bisects, since a bisection's loads depend on
// each other and each may wait on memory while a count's all overlap, and
// it counts without branching (the borrow of a subtraction is the
// comparison): first the blocks of searchBlock cells that start below e,
// then the cells of the one block e falls in.
func (c *chunk) search(e entry, lo, hi int) int {
	cells := c.cells[lo:hi]
	var nb uint64
	for i := searchBlock; i < len(cells); i += searchBlock {
		_, b := bits.Sub64(cells[i], e.cell, 0)
		nb += b
	}
	j := int(nb) * searchBlock
	var n uint64
	for _, cell := range cells[j:min(j+searchBlock, len(cells))] {
		_, b := bits.Sub64(cell, e.cell, 0)
		n += b
	}
	k := lo + j + int(n)
	for k < hi && c.cells[k] == e.cell && c.keys[k] < e.key {
		k++
	}
	return k
}

const searchBlock = 8

func (c *chunk) insertAt(j int, e entry) {
	n := int(c.n)
	copy(c.cells[j+1:n+1], c.cells[j:n])
	copy(c.keys[j+1:n+1], c.keys[j:n])
	c.cells[j], c.keys[j] = e.cell, e.key
	c.n++
}

// move takes out the entry at slot k and puts e where it belongs, j being
// e's slot while the old entry is still there: one shift of the slots
// between instead of two of the chunk's tails.
func (c *chunk) move(k, j int, e entry) {
	if k < j {
		copy(c.cells[k:j-1], c.cells[k+1:j])
		copy(c.keys[k:j-1], c.keys[k+1:j])
		j--
	} else {
		copy(c.cells[j+1:k+1], c.cells[j:k])
		copy(c.keys[j+1:k+1], c.keys[j:k])
	}
	c.cells[j], c.keys[j] = e.cell, e.key
}

func (c *chunk) removeAt(j int) {
	n := int(c.n)
	copy(c.cells[j:n-1], c.cells[j+1:n])
	copy(c.keys[j:n-1], c.keys[j+1:n])
	c.n--
}

func (c *chunk) entry(j int) entry { return entry{c.cells[j], c.keys[j]} }

// cursor is a position in the order: slot o of chunk c. The end of a chunk
// is normalised to the start of the next, so equal positions compare equal.
type cursor struct{ c, o int }

// chunkIn returns the chunk in [lo, hi] whose fence range holds e, given
// that one of them does. The index must have at least one chunk.
func (x *Index) chunkIn(e entry, lo, hi int) int {
	lo++
	hi++
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		f := x.fences[m]
		if f.cell < e.cell || f.cell == e.cell && f.key <= e.key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (x *Index) chunkFor(e entry) int { return x.chunkIn(e, 0, len(x.chunks)-1) }

// lowerBound returns the position of the first entry not less than e.
func (x *Index) lowerBound(e entry) cursor {
	if len(x.chunks) == 0 {
		return cursor{}
	}
	i := x.chunkFor(e)
	c := x.chunks[i]
	return x.normal(i, c.search(e, 0, int(c.n)))
}

// lowerBoundIn is lowerBound for an e known to fall in [a, b], a != b.
func (x *Index) lowerBoundIn(e entry, a, b cursor) cursor {
	i := x.chunkIn(e, a.c, min(b.c, len(x.chunks)-1))
	c := x.chunks[i]
	lo, hi := 0, int(c.n)
	if i == a.c {
		lo = a.o
	}
	if i == b.c {
		hi = b.o
	}
	return x.normal(i, c.search(e, lo, hi))
}

func (x *Index) normal(i, j int) cursor {
	if j == int(x.chunks[i].n) {
		return cursor{i + 1, 0}
	}
	return cursor{i, j}
}

// count returns the number of entries in [a, b), stopping early once it
// passes limit.
func (x *Index) count(a, b cursor, limit int) int {
	if a.c == b.c {
		return b.o - a.o
	}
	n := int(x.chunks[a.c].n) - a.o
	for i := a.c + 1; i < b.c && n <= limit; i++ {
		n += int(x.chunks[i].n)
	}
	return n + b.o
}

// locate returns the chunk i whose range holds e and the slot j where e is
// or would go, creating the first chunk of an empty index.
func (x *Index) locate(e entry) (i, j int) {
	if len(x.chunks) == 0 {
		x.chunks = append(x.chunks, new(chunk))
		x.fences = append(x.fences, entry{})
	}
	i = x.chunkFor(e)
	c := x.chunks[i]
	return i, c.search(e, 0, int(c.n))
}

// holds reports whether chunk i's fence range holds e.
func (x *Index) holds(i int, e entry) bool {
	return !e.less(x.fences[i]) && (i+1 == len(x.fences) || e.less(x.fences[i+1]))
}

// insert adds e, which must not be there, at slot j of chunk i as found by
// locate.
func (x *Index) insert(i, j int, e entry) {
	c := x.chunks[i]
	if c.n < chunkCap {
		c.insertAt(j, e)
		return
	}
	// Full: pass an entry to a neighbour with room, which keeps chunks
	// nearly full under churn; split only when both neighbours are full.
	switch {
	case i > 0 && x.chunks[i-1].n < chunkCap:
		p := x.chunks[i-1]
		if j == 0 {
			p.insertAt(int(p.n), e)
			x.fences[i] = c.entry(0)
			return
		}
		p.insertAt(int(p.n), c.entry(0))
		c.removeAt(0)
		c.insertAt(j-1, e)
		x.fences[i] = c.entry(0)
	case i+1 < len(x.chunks) && x.chunks[i+1].n < chunkCap:
		nx := x.chunks[i+1]
		if j == chunkCap {
			nx.insertAt(0, e)
			x.fences[i+1] = e
			return
		}
		last := c.entry(chunkCap - 1)
		c.n--
		nx.insertAt(0, last)
		x.fences[i+1] = last
		c.insertAt(j, e)
	default:
		x.split(i)
		if !e.less(x.fences[i+1]) {
			i++
			c = x.chunks[i]
		}
		c.insertAt(c.search(e, 0, int(c.n)), e)
	}
}

// split moves the upper half of chunk i into a new chunk after it.
func (x *Index) split(i int) {
	c := x.chunks[i]
	h := int(c.n) / 2
	d := new(chunk)
	d.n = int32(copy(d.cells[:], c.cells[h:c.n]))
	copy(d.keys[:], c.keys[h:c.n])
	c.n = int32(h)
	x.chunks = insertAt(x.chunks, i+1, d)
	x.fences = insertAt(x.fences, i+1, d.entry(0))
}

// remove deletes e, which must be present.
func (x *Index) remove(e entry) {
	i := x.chunkFor(e)
	c := x.chunks[i]
	j := c.search(e, 0, int(c.n))
	if j >= int(c.n) || c.cells[j] != e.cell || c.keys[j] != e.key {
		panic("geo: index order lost an entry") // a bug, never bad input
	}
	c.removeAt(j)
	if c.n >= mergeBelow {
		return
	}
	switch {
	case i+1 < len(x.chunks) && int(c.n+x.chunks[i+1].n) <= mergeInto:
		x.mergeNext(i)
	case i > 0 && int(x.chunks[i-1].n+c.n) <= mergeInto:
		x.mergeNext(i - 1)
	case c.n == 0 && len(x.chunks) > 1:
		x.drop(i)
	}
}

// mergeNext appends chunk i+1 to chunk i and drops it; chunk i's fence range
// grows to cover the dropped one.
func (x *Index) mergeNext(i int) {
	c, d := x.chunks[i], x.chunks[i+1]
	copy(c.cells[c.n:], d.cells[:d.n])
	copy(c.keys[c.n:], d.keys[:d.n])
	c.n += d.n
	x.drop(i + 1)
}

// drop removes chunk i, whose entries are gone or moved; its neighbour below
// takes over its fence range (or, for the first chunk, the one above does).
func (x *Index) drop(i int) {
	x.chunks = deleteAt(x.chunks, i)
	x.fences = deleteAt(x.fences, i)
	if len(x.fences) == 0 {
		x.chunks, x.fences = nil, nil
		return
	}
	x.fences[0] = entry{}
}

func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func deleteAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
