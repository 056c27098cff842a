package geo

import (
	"math"
	"unsafe"
)

// keyTable holds each key's exact coordinates, for the rare candidate too
// close to a ring's edge to decide from its cell, and to find a key's entry
// again when it moves. Keys are dense, so it is an array, kept in pages of
// pageSize keys allocated as keys appear: growing it never copies, so the
// ten-millionth sign-up does not stall the index while 160 MB move, and a
// stray large key costs one page, not every page below it.
type keyTable struct {
	pages     []*keyPage // nil where no key has been set
	allocated int
}

const (
	pageBits = 12
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

type keyPage [pageSize]latLng

type latLng struct{ lat, lng float64 }

// absent marks a key without a point: a NaN latitude.
var absent = latLng{lat: math.NaN()}

func (p latLng) present() bool { return !math.IsNaN(p.lat) }

func (t *keyTable) get(key uint32) latLng {
	if int(key>>pageBits) >= len(t.pages) || t.pages[key>>pageBits] == nil {
		return absent
	}
	return t.pages[key>>pageBits][key&pageMask]
}

// set stores v for key, allocating its page if need be.
func (t *keyTable) set(key uint32, v latLng) {
	p := int(key >> pageBits)
	if p >= len(t.pages) {
		t.pages = append(t.pages, make([]*keyPage, p+1-len(t.pages))...)
	}
	if t.pages[p] == nil {
		t.pages[p] = newKeyPage()
		t.allocated++
	}
	t.pages[p][key&pageMask] = v
}

// clear marks key absent.
func (t *keyTable) clear(key uint32) {
	if p := int(key >> pageBits); p < len(t.pages) && t.pages[p] != nil {
		t.pages[p][key&pageMask] = absent
	}
}

func (t *keyTable) bytes() int64 {
	return int64(t.allocated)*int64(unsafe.Sizeof(keyPage{})) + int64(cap(t.pages))*int64(unsafe.Sizeof((*keyPage)(nil)))
}

func newKeyPage() *keyPage {
	p := new(keyPage)
	for i := range p {
		p[i] = absent
	}
	return p
}
