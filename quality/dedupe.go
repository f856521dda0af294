package quality

import (
	"encoding/binary"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Duplicate detection keeps, for every readable row, a compact record in a
// chunked byte arena (no pointers, off the Go heap: see offheap.go) and
// three block keys: the e-mail local part, the E.164 phone and
// surname+postcode. A new row is compared with at most maxBlockScan
// earlier rows of each of its blocks, so time is linear and memory is
// about 100 bytes per row, whatever the file size.
//
// A record is a 20-byte header (the previous record of the e-mail and
// phone blocks, the record's index with the mobile flag, the lengths of its
// eight keys) followed by the keys, so following one of these chains
// touches one place in memory per candidate. Records are referenced by
// ref, their chunk<<20 | offset; ref 0 is never a record and ends a chain.
//
// Surname+postcode blocks are the long ones (a common surname in a large
// town): their members are kept apart, in nameLists, as the block's last
// maxBlockScan refs, each with a summary of the member's first name and
// civility (nameSummary). The scan reads a member's record only when the
// summaries allow it to be the same person, so most candidates of a long
// block cost no access to the arena at all.
//
// Invariants: records are appended in row order and never removed or
// changed; a block's chain or list runs from the newest record to older
// ones; parent is a union-find forest over record indexes whose roots are
// the first row of each duplicate group; lines maps record indexes to
// source lines.

const (
	maxBlockScan = 32
	numBlocks    = 3
	arenaChunk   = 1 << 20
	numChains    = 2  // blocks chained through the records (e-mail, phone)
	numParts     = 8  // strings of a dupKeys stored in a record
	hdrSize      = 20 // numChains chain refs, index|mobileBit, numParts lengths
	nameBlock    = 2  // the surname+postcode block, kept in nameLists
)

// mobileBit marks dupKeys.Mobile in a record's index word.
const mobileBit = 1 << 31

// dupKeys are one row's normalised identity fields.
type dupKeys struct {
	First, Last, Civ  string // upper case, accent-free, no punctuation
	Local, Domain     string // e-mail parts
	Phone             string // E.164
	Mobile            bool   // phone is a personal (mobile) line
	Postcode, Address string
}

// deduper's arrays live off the Go heap (see offheap.go): call free when
// done.
type deduper struct {
	parent chunked[int32]
	lines  chunked[uint32]
	chunks [][]byte // arena chunks of arenaChunk bytes
	// tab maps e-mail and phone blocks to their newest record's ref, and
	// surname+postcode blocks (keys with the top bit set, see blockKey)
	// to their nameLists offset.
	tab   blockTable
	lists nameLists
	exact int
	near  int
	// shared holds, after add, SharedEmail / SharedPhone when the row has
	// the same e-mail (mobile) as an earlier row of another person.
	shared reasonSet
}

// free releases the deduper's memory; d is empty afterwards.
func (d *deduper) free() {
	d.parent.free()
	d.lines.free()
	for _, c := range d.chunks {
		freeBytes(c[:cap(c)])
	}
	d.chunks = nil
	d.tab.free()
	d.lists.free()
}

// add compares k with earlier rows and stores it. It returns the kind of
// duplicate found (DupExact, DupNear, or 0 with dup false) and the source
// line of the earlier row.
func (d *deduper) add(k *dupKeys, line int) (reason Reason, dup bool, ofLine int) {
	var blocks [numBlocks]uint64
	if k.Local != "" {
		blocks[0] = blockKey('l', k.Local, "")
	}
	if k.Phone != "" {
		blocks[1] = blockKey('p', k.Phone, "")
	}
	if k.Last != "" && k.Postcode != "" {
		blocks[2] = blockKey('n', k.Last, k.Postcode)
	}
	idx := int32(d.parent.n)
	best := int32(-1)
	bestExact := false
	var heads [numChains]uint32
	var slots [numBlocks]*tableSlot // found once, set after store
	d.tab.reserve(numBlocks)
	for s := range heads {
		if blocks[s] != 0 {
			slots[s] = d.tab.find(blocks[s])
			heads[s] = slots[s].v
		}
	}
	var list uint32
	if blocks[nameBlock] != 0 {
		slots[nameBlock] = d.tab.find(blocks[nameBlock])
		list = slots[nameBlock].v
	}
	var other dupKeys
	d.shared = 0
	for s := range blocks {
		if s == nameBlock {
			if list == 0 {
				continue
			}
			sum := nameSummary(k.First, k.Civ)
			l := d.lists.list(list)
			n := l.len()
			for i := n - 1; i >= 0 && i >= n-maxBlockScan; i-- {
				ref, osum := l.at(i)
				if !summariesMayMatch(sum, osum) {
					continue // neither the same keys nor a near duplicate
				}
				j := loadRecord(d.record(ref), &other)
				if sameKeys(k, &other) {
					best, bestExact = j, true
					break
				}
				if best < 0 && nearDup(k, &other) {
					best = j
				}
			}
			break
		}
		for ref, n := heads[s], 0; ref != 0 && n < maxBlockScan; n++ {
			r := d.record(ref)
			j := loadRecord(r, &other)
			if sameKeys(k, &other) {
				best, bestExact = j, true
				break
			}
			if best < 0 && nearDup(k, &other) {
				best = j
			}
			switch {
			case s == 0 && k.Local == other.Local && k.Domain == other.Domain:
				d.shared.add(SharedEmail)
			case s == 1 && k.Mobile && other.Mobile && k.Phone == other.Phone:
				d.shared.add(SharedPhone)
			}
			ref = binary.LittleEndian.Uint32(r[4*s:])
		}
		if bestExact {
			break
		}
	}
	ref, stored := d.store(k, idx, &heads)
	for s, sl := range slots[:numChains] {
		if sl != nil {
			d.tab.put(sl, blocks[s], ref)
		}
	}
	if bk := blocks[nameBlock]; bk != 0 {
		if nl := d.lists.push(list, ref, nameSummary(stored, k.Civ)); nl != list {
			d.tab.put(slots[nameBlock], bk, nl)
		}
	}
	d.parent.push(idx)
	d.lines.push(uint32(line))
	if best < 0 {
		return 0, false, 0
	}
	d.shared = 0 // the same person: a duplicate, not a shared contact point
	d.union(best, idx)
	first := int(*d.lines.at(int(d.find(idx)))) // the group's first row
	if bestExact {
		d.exact++
		return DupExact, true, first
	}
	d.near++
	return DupNear, true, first
}

// groups returns the number of duplicate groups (rows with at least one
// duplicate, counted once per group).
func (d *deduper) groups() int {
	sizes := make(map[int32]int)
	for i := range d.parent.n {
		if r := d.find(int32(i)); r != int32(i) {
			sizes[r]++
		}
	}
	return len(sizes)
}

func (d *deduper) find(i int32) int32 {
	for {
		p := d.parent.at(int(i))
		if *p == i {
			return i
		}
		*p = *d.parent.at(int(*p))
		i = *p
	}
}

func (d *deduper) union(a, b int32) {
	ra, rb := d.find(a), d.find(b)
	if ra == rb {
		return
	}
	if ra < rb { // the earliest row stays the root
		*d.parent.at(int(rb)) = ra
	} else {
		*d.parent.at(int(ra)) = rb
	}
}

// blockKey hashes a block's tag and values into a non-zero table key.
// Surname+postcode keys ('n') have the top bit set and the others not, so
// a key of one kind never meets one of the other in the table, whose
// values mean a list offset for the first and a record ref for the
// second.
func blockKey(tag byte, a, b string) uint64 {
	var buf [96]byte
	p := append(buf[:0], tag)
	p = append(p, a...)
	p = append(p, 0)
	p = append(p, b...)
	h := xxhash.Sum64(p)
	if tag == 'n' {
		return h | 1<<63
	}
	h &^= 1 << 63
	if h == 0 {
		h = 1
	}
	return h
}

// record returns the arena bytes from record ref on.
func (d *deduper) record(ref uint32) []byte {
	return d.chunks[ref>>20][ref&(arenaChunk-1):]
}

// store appends record idx with keys k and chain heads, and returns its ref
// and its first name as stored (keys are cut at 255 bytes).
func (d *deduper) store(k *dupKeys, idx int32, heads *[numChains]uint32) (uint32, string) {
	parts := [numParts]string{k.First, k.Last, k.Civ, k.Local, k.Domain, k.Phone, k.Postcode, k.Address}
	total := hdrSize
	for i, p := range parts {
		if len(p) > 255 {
			parts[i] = p[:255]
		}
		total += len(parts[i])
	}
	if len(d.chunks) == 0 || len(d.chunks[len(d.chunks)-1])+total > arenaChunk {
		c := allocBytes(arenaChunk)[:0]
		if len(d.chunks) == 0 {
			c = append(c, make([]byte, 8)...) // ref 0 is no record
		}
		d.chunks = append(d.chunks, c)
	}
	c := len(d.chunks) - 1
	b := d.chunks[c]
	ref := uint32(c)<<20 | uint32(len(b))
	for _, h := range heads {
		b = binary.LittleEndian.AppendUint32(b, h)
	}
	w := uint32(idx)
	if k.Mobile {
		w |= mobileBit
	}
	b = binary.LittleEndian.AppendUint32(b, w)
	for _, p := range parts {
		b = append(b, byte(len(p)))
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	d.chunks[c] = b
	return ref, parts[0]
}

// loadRecord fills k with the keys of record r (the strings alias the
// arena) and returns the record's index.
func loadRecord(r []byte, k *dupKeys) int32 {
	w := binary.LittleEndian.Uint32(r[4*numChains:])
	lens := r[4*numChains+4 : hdrSize]
	pos := hdrSize
	var parts [numParts]string
	for i, l := range lens {
		parts[i] = unsafeString(r[pos : pos+int(l)])
		pos += int(l)
	}
	k.First, k.Last, k.Civ, k.Local, k.Domain, k.Phone = parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
	k.Postcode, k.Address = parts[6], parts[7]
	k.Mobile = w&mobileBit != 0
	return int32(w &^ mobileBit)
}

func sameKeys(a, b *dupKeys) bool {
	return a.First == b.First && a.Last == b.Last && a.Local == b.Local && a.Domain == b.Domain &&
		a.Phone == b.Phone && a.Postcode == b.Postcode && a.Address == b.Address &&
		(a.Civ == b.Civ || a.Civ == "" || b.Civ == "")
}

// nearDup decides whether two rows are the same person. Names must agree
// (equal, or one edit apart for names of four letters or more, but never a
// masculine/feminine pair such as JEAN/JEANNE or LOUIS/LOUISE), civilities
// must not conflict, and one personal channel must agree: the e-mail (one
// edit in the local part or in the domain), a mobile number (one edit), or
// the street address at the same postcode (same house number). A shared landline alone never
// links two people: households share it, and so do homonyms' relatives.
func nearDup(a, b *dupKeys) bool {
	if a.Civ != "" && b.Civ != "" && a.Civ != b.Civ {
		return false
	}
	if !nameClose(a.Last, b.Last) {
		return false
	}
	sameEmail := a.Local != "" && a.Local == b.Local && a.Domain == b.Domain
	if a.First == "" || b.First == "" {
		if a.First != b.First && !sameEmail {
			return false
		}
	} else if !nameClose(a.First, b.First) || genderPair(a.First, b.First) {
		return false
	}
	switch {
	case sameEmail:
		return true
	case a.Local != "" && b.Local != "" && a.Domain == b.Domain && osaAtMost1(a.Local, b.Local):
		return true
	case a.Local != "" && a.Local == b.Local && osaAtMost1(a.Domain, b.Domain):
		return true
	case a.Phone != "" && a.Mobile && b.Mobile && len(a.Phone) == len(b.Phone) && osaAtMost1(a.Phone, b.Phone):
		return true
	case a.Address != "" && a.Postcode == b.Postcode && sameAddress(a.Address, b.Address):
		return true
	}
	return false
}

// sameAddress compares two RNVP street lines: the house numbers (leading
// digits) must be equal and the rest equal or very close (Jaro-Winkler >=
// 0.95), so "12 RUE DE LA PAIX" matches "12 RUE DE LA PAXI" but not
// "14 RUE DE LA PAIX".
func sameAddress(a, b string) bool {
	if a == b {
		return true
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] >= '0' && a[i] <= '9' && a[i] == b[i] {
		i++
	}
	if i < len(a) && a[i] >= '0' && a[i] <= '9' || i < len(b) && b[i] >= '0' && b[i] <= '9' {
		return false // different house numbers
	}
	return JaroWinkler(a[i:], b[i:]) >= 0.95
}

func nameClose(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) < 4 || len(b) < 4 {
		return false
	}
	return osaAtMost1(a, b) && JaroWinkler(a, b) >= 0.9
}

// genderPair reports masculine/feminine first-name pairs: one name is the
// other plus E, NE, LE or TTE (JEAN/JEANNE, DANIEL/DANIELLE, LOUIS/LOUISE).
func genderPair(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if !strings.HasPrefix(b, a) {
		return false
	}
	switch b[len(a):] {
	case "E", "NE", "LE", "TTE":
		return true
	}
	return false
}

// blockTable is an open-addressing hash table from non-zero 64-bit block
// keys to the ref of the newest record of the block (0: none). A slot
// holds its key and value side by side, so a probe touches one place in
// memory.
type blockTable struct {
	slots []tableSlot
	n     int
}

// tableSlot is one entry: key (lo, hi; 0 when empty) and value.
type tableSlot struct{ lo, hi, v uint32 }

func (s *tableSlot) key() uint64 { return uint64(s.lo) | uint64(s.hi)<<32 }

// find returns k's slot, or the empty slot where k goes; the table must
// not be empty.
func (t *blockTable) find(k uint64) *tableSlot {
	mask := uint64(len(t.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if sk := s.key(); sk == k || sk == 0 {
			return s
		}
	}
}

func (t *blockTable) get(k uint64) uint32 {
	if len(t.slots) == 0 {
		return 0
	}
	return t.find(k).v // an empty slot's value is 0
}

// reserve grows the table so that extra more keys fit; slots found before
// a reserve are invalid after it.
func (t *blockTable) reserve(extra int) {
	if (t.n+extra)*4 > len(t.slots)*3 {
		t.grow()
	}
}

// put stores k -> v in s, k's slot from find. Two absent keys can be
// given the same empty slot by find; when the other one took it since,
// k is looked up again.
func (t *blockTable) put(s *tableSlot, k uint64, v uint32) {
	if sk := s.key(); sk != k {
		if sk != 0 {
			s = t.find(k)
		}
		if s.key() == 0 {
			s.lo, s.hi = uint32(k), uint32(k>>32)
			t.n++
		}
	}
	s.v = v
}

func (t *blockTable) grow() {
	size := 1 << 12
	if len(t.slots) > 0 {
		size = 2 * len(t.slots)
	}
	old := *t
	t.slots, t.n = allocSlice[tableSlot](size), 0
	for i := range old.slots {
		if k := old.slots[i].key(); k != 0 {
			t.put(t.find(k), k, old.slots[i].v)
		}
	}
	old.free()
}

// free releases the table's memory; t is empty afterwards.
func (t *blockTable) free() {
	freeSlice(t.slots)
	t.slots, t.n = nil, 0
}
