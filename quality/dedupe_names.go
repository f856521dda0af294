package quality

import "math/bits"

// nameSummary condenses a row's first name and civility into 32 bits for
// the surname+postcode block scan: bits 0-21 are a set of the name's
// bytes (bit b%22 for each byte b), bits 22-29 its length (capped at
// 255; 0 when the name is empty or not ASCII, which disables the name
// test) and bits 30-31 the civility (0 none, 1 M, 2 F, 3 other).
func nameSummary(first, civ string) uint32 {
	var set uint32
	n := len(first)
	for i := 0; i < len(first); i++ {
		b := first[i]
		if b >= 0x80 {
			n = 0
			break
		}
		set |= 1 << (b % 22)
	}
	n = min(n, 255)
	var c uint32
	switch civ {
	case "":
	case "M":
		c = 1
	case "F":
		c = 2
	default:
		c = 3
	}
	return set | uint32(n)<<22 | c<<30
}

// summariesMayMatch is false only when two rows whose first names and
// civilities have summaries a and b can be neither the same keys
// (sameKeys) nor near duplicates (nearDup): their civilities conflict, or
// both first names are non-empty ASCII and more than one edit apart, which
// shows in their lengths (one edit changes the length by at most one) or
// their byte sets (one edit adds at most one byte value and removes at
// most one). Capping the lengths at 255 only weakens the test.
func summariesMayMatch(a, b uint32) bool {
	ca, cb := a>>30, b>>30
	if ca != 0 && cb != 0 && ca != 3 && cb != 3 && ca != cb {
		return false
	}
	la, lb := int(a>>22&0xff), int(b>>22&0xff)
	if la == 0 || lb == 0 {
		return true
	}
	if d := la - lb; d > 1 || d < -1 {
		return false
	}
	return bits.OnesCount32((a^b)&(1<<22-1)) <= 2
}

// nameLists keeps, per surname+postcode block, the refs and name
// summaries of its newest maxBlockScan records, in lists of 2^c slots
// (c = 0..5, grown by doubling up to a ring of maxBlockScan) inside
// off-heap chunks of 64-bit words. A list at offset o (chunk<<16 | word)
// is a header word (count of records ever added in its low 32 bits, c in
// the next 8) followed by its slots, ref<<32 | summary. Lists never cross
// a chunk; freed lists are reused per size (freed[c], linked through
// their header word). Offset 0 is never a list.
type nameLists struct {
	chunks [][]uint64
	used   int // words used in the last chunk
	freed  [nameClasses]uint32
}

const (
	nameClasses    = 6 // list sizes 1, 2, 4, 8, 16, 32 = maxBlockScan
	listChunkShift = 16
	listChunkWords = 1 << listChunkShift
)

// nameList is one list's words.
type nameList []uint64

func (l nameList) len() int { return int(uint32(l[0])) }

// at returns the ref and summary of the list's i-th record ever added
// (i >= len-cap).
func (l nameList) at(i int) (ref, sum uint32) {
	w := l[1+i&(len(l)-2)]
	return uint32(w >> 32), uint32(w)
}

// list returns the list at offset o.
func (nl *nameLists) list(o uint32) nameList {
	c := nl.chunks[o>>listChunkShift]
	p := int(o & (listChunkWords - 1))
	cls := int(c[p] >> 32 & 0xff)
	return nameList(c[p : p+1+1<<cls])
}

// alloc returns the offset of a new list of 2^cls slots, count 0.
func (nl *nameLists) alloc(cls int) uint32 {
	if o := nl.freed[cls]; o != 0 {
		c := nl.chunks[o>>listChunkShift]
		p := o & (listChunkWords - 1)
		nl.freed[cls] = uint32(c[p])
		c[p] = uint64(cls) << 32
		return o
	}
	size := 1 + 1<<cls
	if len(nl.chunks) == 0 || nl.used+size > listChunkWords {
		nl.chunks = append(nl.chunks, allocSlice[uint64](listChunkWords))
		nl.used = 0
		if len(nl.chunks) == 1 {
			nl.used = 1 // offset 0 is no list
		}
	}
	o := uint32(len(nl.chunks)-1)<<listChunkShift | uint32(nl.used)
	nl.chunks[len(nl.chunks)-1][nl.used] = uint64(cls) << 32
	nl.used += size
	return o
}

// push adds a record to the list at o (0: a new list) and returns the
// list's offset, which changes when the list grows.
func (nl *nameLists) push(o uint32, ref, sum uint32) uint32 {
	if o == 0 {
		o = nl.alloc(0)
	}
	l := nl.list(o)
	n, slots := l.len(), len(l)-1
	if n == slots && slots < maxBlockScan {
		cls := int(l[0] >> 32 & 0xff)
		no := nl.alloc(cls + 1)
		nw := nl.list(no)
		copy(nw[1:], l[1:])
		nw[0] = uint64(cls+1)<<32 | uint64(uint32(n))
		l[0] = uint64(nl.freed[cls]) // l goes to the free list
		nl.freed[cls] = o
		o, l, slots = no, nw, len(nw)-1
	}
	l[1+n&(slots-1)] = uint64(ref)<<32 | uint64(sum)
	l[0] = l[0]&^0xffffffff | uint64(uint32(n+1))
	return o
}

// free releases the lists' memory; nl is empty afterwards.
func (nl *nameLists) free() {
	for _, c := range nl.chunks {
		freeSlice(c)
	}
	*nl = nameLists{}
}
