package quality

import (
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Duplicate detection keeps, for every row that passed the other checks, a
// compact record (a few normalised keys packed in a chunked byte arena, no
// pointers) and three block keys in an open-addressing table: the e-mail
// local part, the E.164 phone and surname+postcode. A new row is compared
// with at most maxBlockScan earlier rows of each of its blocks, so time is
// linear and memory is about 120 bytes per row, whatever the file size.
//
// Invariants: records are appended in row order and never removed; a
// block's chain (next) runs from the newest record to older ones; parent is
// a union-find forest over record indexes whose roots are the first row of
// each duplicate group.

const (
	maxBlockScan = 32
	numBlocks    = 3
	arenaChunk   = 1 << 20
)

// dupKeys are one row's normalised identity fields.
type dupKeys struct {
	First, Last, Civ  string // upper case, accent-free, no punctuation
	Local, Domain     string // e-mail parts
	Phone             string // E.164
	Mobile            bool   // phone is a personal (mobile) line
	Postcode, Address string
}

// dupRec locates a stored dupKeys in the arena.
type dupRec struct {
	line int32
	off  uint32 // chunk<<20 | offset
	lens [7]uint8
	mob  bool
}

type deduper struct {
	recs   []dupRec
	next   []int32 // numBlocks per record: previous record in the same block
	parent []int32
	chunks [][]byte
	tab    blockTable
	exact  int
	near   int
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
	idx := int32(len(d.recs))
	best := int32(-1)
	bestExact := false
	var other dupKeys
	for s, bk := range blocks {
		if bk == 0 {
			continue
		}
		for j, n := d.tab.get(bk), 0; j >= 0 && n < maxBlockScan; j, n = d.next[int(j)*numBlocks+s], n+1 {
			d.load(j, &other)
			if sameKeys(k, &other) {
				best, bestExact = j, true
				break
			}
			if best < 0 && nearDup(k, &other) {
				best = j
			}
		}
		if bestExact {
			break
		}
	}
	d.store(k, line)
	d.parent = append(d.parent, idx)
	for s, bk := range blocks {
		head := int32(-1)
		if bk != 0 {
			head = d.tab.get(bk)
			d.tab.set(bk, idx)
		}
		d.next = append(d.next, head)
		_ = s
	}
	if best < 0 {
		return 0, false, 0
	}
	d.union(best, idx)
	first := int(d.recs[d.find(idx)].line) // the group's first row
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
	for i := range d.parent {
		if r := d.find(int32(i)); r != int32(i) {
			sizes[r]++
		}
	}
	return len(sizes)
}

func (d *deduper) find(i int32) int32 {
	for d.parent[i] != i {
		d.parent[i] = d.parent[d.parent[i]]
		i = d.parent[i]
	}
	return i
}

func (d *deduper) union(a, b int32) {
	ra, rb := d.find(a), d.find(b)
	if ra == rb {
		return
	}
	if ra < rb { // the earliest row stays the root
		d.parent[rb] = ra
	} else {
		d.parent[ra] = rb
	}
}

func blockKey(tag byte, a, b string) uint64 {
	var buf [96]byte
	p := append(buf[:0], tag)
	p = append(p, a...)
	p = append(p, 0)
	p = append(p, b...)
	h := xxhash.Sum64(p)
	if h == 0 {
		h = 1
	}
	return h
}

func (d *deduper) store(k *dupKeys, line int) {
	parts := [7]string{k.First, k.Last, k.Civ, k.Local, k.Domain, k.Phone, k.Postcode + "\x00" + k.Address}
	var rec dupRec
	rec.line, rec.mob = int32(line), k.Mobile
	total := 0
	for i, p := range parts {
		if len(p) > 255 {
			p = p[:255]
			parts[i] = p
		}
		rec.lens[i] = uint8(len(p))
		total += len(p)
	}
	if len(d.chunks) == 0 || len(d.chunks[len(d.chunks)-1])+total > arenaChunk {
		d.chunks = append(d.chunks, make([]byte, 0, arenaChunk))
	}
	c := len(d.chunks) - 1
	rec.off = uint32(c)<<20 | uint32(len(d.chunks[c]))
	for _, p := range parts {
		d.chunks[c] = append(d.chunks[c], p...)
	}
	d.recs = append(d.recs, rec)
}

// load fills k with record j's fields; the strings alias the arena.
func (d *deduper) load(j int32, k *dupKeys) {
	r := &d.recs[j]
	buf := d.chunks[r.off>>20]
	pos := int(r.off & (arenaChunk - 1))
	var parts [7]string
	for i, l := range r.lens {
		parts[i] = unsafeString(buf[pos : pos+int(l)])
		pos += int(l)
	}
	k.First, k.Last, k.Civ, k.Local, k.Domain, k.Phone = parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
	k.Postcode, k.Address, _ = strings.Cut(parts[6], "\x00")
	k.Mobile = r.mob
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
	case a.Local != "" && b.Local != "" && a.Domain == b.Domain && OSADistance(a.Local, b.Local) <= 1:
		return true
	case a.Local != "" && a.Local == b.Local && OSADistance(a.Domain, b.Domain) <= 1:
		return true
	case a.Phone != "" && a.Mobile && b.Mobile && len(a.Phone) == len(b.Phone) && OSADistance(a.Phone, b.Phone) <= 1:
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
	return OSADistance(a, b) <= 1 && JaroWinkler(a, b) >= 0.9
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
// keys to the newest record index of the block.
type blockTable struct {
	keys []uint64
	vals []int32
	n    int
}

func (t *blockTable) get(k uint64) int32 {
	if len(t.keys) == 0 {
		return -1
	}
	mask := uint64(len(t.keys) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.vals[i]
		case 0:
			return -1
		}
	}
}

func (t *blockTable) set(k uint64, v int32) {
	if (t.n+1)*4 > len(t.keys)*3 {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			t.vals[i] = v
			return
		case 0:
			t.keys[i], t.vals[i] = k, v
			t.n++
			return
		}
	}
}

func (t *blockTable) grow() {
	size := 1 << 12
	if len(t.keys) > 0 {
		size = 2 * len(t.keys)
	}
	old := *t
	t.keys, t.vals, t.n = make([]uint64, size), make([]int32, size), 0
	for i, k := range old.keys {
		if k != 0 {
			t.set(k, old.vals[i])
		}
	}
}
