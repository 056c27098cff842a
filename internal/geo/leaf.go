package geo

import "math"

// The index stores each point as its S2 leaf cell id. An update computes two
// of them and a query decodes one per candidate near the ring's edge, so
// they are computed here, inlined, rather than through s2's general API:
// this is s2's own code (cellIDFromPoint and faceIJOrientation in
// github.com/golang/geo/s2: same tables, same projection), with one Sincos
// where s2 calls Sin and Cos. TestLeafCellMatchesS2 holds it to s2's answers
// bit for bit.

const (
	lookupBits = 4
	swapMask   = 1
	invertMask = 2
	maxSize    = 1 << 30 // leaf cells along a face edge
)

var (
	posToIJ = [4][4]int{
		{0, 1, 3, 2}, // canonical order:    (0,0), (0,1), (1,1), (1,0)
		{0, 2, 3, 1}, // axes swapped:       (0,0), (1,0), (1,1), (0,1)
		{3, 2, 0, 1}, // bits inverted:      (1,1), (1,0), (0,0), (0,1)
		{3, 1, 0, 2}, // swapped & inverted: (1,1), (0,1), (0,0), (1,0)
	}
	posToOrientation = [4]int{swapMask, 0, 0, invertMask | swapMask}
	lookupPos        [1 << (2*lookupBits + 2)]uint16
	lookupIJ         [1 << (2*lookupBits + 2)]uint16
)

func init() {
	for o := range 4 {
		initLookup(0, 0, 0, o, 0, o)
	}
}

func initLookup(level, i, j, origOrientation, pos, orientation int) {
	if level == lookupBits {
		ij := i<<lookupBits + j
		lookupPos[ij<<2+origOrientation] = uint16(pos<<2 + orientation)
		lookupIJ[pos<<2+origOrientation] = uint16(ij<<2 + orientation)
		return
	}
	level++
	i, j, pos = i<<1, j<<1, pos<<2
	r := posToIJ[orientation]
	for k := range 4 {
		initLookup(level, i+r[k]>>1, j+r[k]&1, origOrientation, pos+k, orientation^posToOrientation[k])
	}
}

// leafCell returns the S2 leaf cell id (about 1 cm across) of a point given
// in degrees.
func leafCell(lat, lng float64) uint64 {
	sinPhi, cosPhi := math.Sincos(lat * degToRad)
	sinTheta, cosTheta := math.Sincos(lng * degToRad)
	x, y, z := cosTheta*cosPhi, sinTheta*cosPhi, sinPhi
	face, u, v := xyzToFaceUV(x, y, z)
	return leafFromFaceIJ(face, stToIJ(uvToST(u)), stToIJ(uvToST(v)))
}

// xyzToFaceUV picks the face as s2 does: the axis of the largest component
// (r3.Vector.LargestComponent's tie-breaking), plus 3 when it is negative.
func xyzToFaceUV(x, y, z float64) (face int, u, v float64) {
	ax, ay, az := math.Abs(x), math.Abs(y), math.Abs(z)
	switch {
	case ax > ay && ax > az:
		face = 0
	case ax > ay, ay <= az:
		face = 2
	default:
		face = 1
	}
	switch {
	case face == 0 && x < 0, face == 1 && y < 0, face == 2 && z < 0:
		face += 3
	}
	return faceUV(face, x, y, z)
}

func faceUV(face int, x, y, z float64) (int, float64, float64) {
	switch face {
	case 0:
		return 0, y / x, z / x
	case 1:
		return 1, -x / y, z / y
	case 2:
		return 2, -x / z, -y / z
	case 3:
		return 3, z / x, y / x
	case 4:
		return 4, z / y, -x / y
	default:
		return 5, -y / z, -x / z
	}
}

func uvToST(u float64) float64 {
	if u >= 0 {
		return 0.5 * math.Sqrt(1+3*u)
	}
	return 1 - 0.5*math.Sqrt(1-3*u)
}

func stToUV(s float64) float64 {
	if s >= 0.5 {
		return (1 / 3.) * (4*s*s - 1)
	}
	return (1 / 3.) * (1 - 4*(1-s)*(1-s))
}

func stToIJ(s float64) int {
	return min(max(int(math.Floor(maxSize*s)), 0), maxSize-1)
}

func leafFromFaceIJ(face, i, j int) uint64 {
	n := uint64(face) << 60
	bits := face & swapMask
	const mask = 1<<lookupBits - 1
	for k := 7; k >= 0; k-- {
		bits += (i>>(k*lookupBits))&mask<<(lookupBits+2) + (j>>(k*lookupBits))&mask<<2
		bits = int(lookupPos[bits])
		n |= uint64(bits>>2) << (k * 2 * lookupBits)
		bits &= swapMask | invertMask
	}
	return n*2 + 1
}

// leafXYZ returns the centre of a leaf cell as an unnormalised vector.
func leafXYZ(id uint64) (x, y, z float64) {
	face := int(id >> 61)
	orientation := face & swapMask
	i, j := 0, 0
	nbits := 30 - 7*lookupBits
	for k := 7; k >= 0; k-- {
		orientation += int(id>>(k*2*lookupBits+1)) & (1<<(2*nbits) - 1) << 2
		orientation = int(lookupIJ[orientation])
		i += orientation >> (lookupBits + 2) << (k * lookupBits)
		j += (orientation >> 2) & (1<<lookupBits - 1) << (k * lookupBits)
		orientation &= swapMask | invertMask
		nbits = lookupBits
	}
	// A leaf's centre is at (2i+1, 2j+1) in units of half a leaf.
	u := stToUV(float64(2*i+1) * (0.5 / maxSize))
	v := stToUV(float64(2*j+1) * (0.5 / maxSize))
	switch face {
	case 0:
		return 1, u, v
	case 1:
		return -u, 1, v
	case 2:
		return -u, -v, 1
	case 3:
		return -1, -v, -u
	case 4:
		return v, -1, -u
	default:
		return v, u, -1
	}
}
