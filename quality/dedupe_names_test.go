package quality

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestNameSummaryNeverHidesAMatch checks the surname+postcode scan's
// filter against the comparisons it stands in for: for random pairs of
// rows (names one or a few edits apart, civilities, shared channels),
// whenever sameKeys or nearDup holds, summariesMayMatch must too. It must
// also tell apart clearly different first names, or it filters nothing.
func TestNameSummaryNeverHidesAMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	names := []string{"JEAN", "JEANNE", "MARIE", "MARC", "LUC", "LEA", "ANNE", "ANNA", "LOUIS", "LOUISE", "", "JEAN PIERRE", "ÉLODIE", "X"}
	civs := []string{"", "M", "F", "MME"}
	edit := func(s string) string {
		if s == "" {
			return s
		}
		b := []byte(s)
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b[i] = byte('A' + r.IntN(26))
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i], append([]byte{byte('A' + r.IntN(26))}, b[i:]...)...)
		default:
			if i+1 < len(b) {
				b[i], b[i+1] = b[i+1], b[i]
			}
		}
		return string(b)
	}
	matches := 0
	for range 200_000 {
		a := dupKeys{First: names[r.IntN(len(names))], Last: "MARTIN", Civ: civs[r.IntN(len(civs))],
			Local: "jm", Domain: "gmail.com", Phone: "+33612345678", Mobile: true, Postcode: "75002", Address: "1 RUE X"}
		b := a
		for range r.IntN(3) {
			b.First = edit(b.First)
		}
		if r.IntN(3) == 0 {
			b.First = names[r.IntN(len(names))]
		}
		b.Civ = civs[r.IntN(len(civs))]
		if r.IntN(2) == 0 {
			b.Local = "other"
		}
		if sameKeys(&a, &b) || nearDup(&a, &b) {
			matches++
			if !summariesMayMatch(nameSummary(a.First, a.Civ), nameSummary(b.First, b.Civ)) {
				t.Fatalf("filter hides a match: %+v / %+v", a, b)
			}
		}
	}
	if matches < 1000 {
		t.Fatalf("only %d matching pairs drawn", matches)
	}
	for _, c := range []struct {
		a, b       string
		civA, civB string
		want       bool
	}{
		{"JEAN", "MARIE", "", "", false},
		{"JEAN", "JEANNE", "", "", false},
		{"MARIE", "MARC", "", "", false},
		{"JEAN", "JAEN", "", "", true},
		{"JEAN", "JEAN", "M", "F", false},
		{"JEAN", "JEAN", "M", "", true},
		{"", "MARIE", "", "", true},
		{"ÉLODIE", "MARC", "", "", true}, // not ASCII: not filtered on the name
	} {
		if got := summariesMayMatch(nameSummary(c.a, c.civA), nameSummary(c.b, c.civB)); got != c.want {
			t.Errorf("summariesMayMatch(%q %q, %q %q) = %v, want %v", c.a, c.civA, c.b, c.civB, got, c.want)
		}
	}
}

// TestDeduperLongNameBlock fills surname+postcode blocks past their
// maxBlockScan newest members (list growth, then ring reuse) with 40
// different people at 40 house numbers, no e-mail or phone: a mistyped
// copy of a recent member is found, one of a member older than the last
// maxBlockScan is not (the scan's bound), and exact copies are found. A
// block started late grows into the lists the others freed.
func TestDeduperLongNameBlock(t *testing.T) {
	var d deduper
	defer d.free()
	first := func(i int) string { return "P" + strconv.Itoa(1000+i*37) } // 5 bytes, pairwise > 1 edit
	row := func(i int, last string) dupKeys {
		return dupKeys{First: first(i), Last: last, Postcode: "75011", Address: strconv.Itoa(i+1) + " RUE OBERKAMPF"}
	}
	type member struct {
		i    int
		last string
	}
	lines := map[member]int{}
	line := 2
	add := func(k dupKeys) (Reason, bool, int) {
		r, dup, of := d.add(&k, line)
		line++
		return r, dup, of
	}
	for i := range 40 {
		for _, last := range []string{"MARTIN", "DURAND", "PETIT", "LATE"} {
			if last == "LATE" && i < 20 {
				continue
			}
			lines[member{i, last}] = line
			if _, dup, of := add(row(i, last)); dup {
				t.Fatalf("row %d %s flagged as a duplicate of line %d", i, last, of)
			}
		}
	}
	if d.lists.freed == [nameClasses]uint32{} {
		t.Error("no freed list left to reuse")
	}
	recent := row(20, "DURAND")
	recent.First = recent.First[:3] + recent.First[4:] + recent.First[3:4] // transposed last two digits
	if r, dup, of := add(recent); !dup || r != DupNear || of != lines[member{20, "DURAND"}] {
		t.Errorf("copy of a recent member: %v %v line %d, want near duplicate of line %d", r, dup, of, lines[member{20, "DURAND"}])
	}
	if _, dup, of := add(row(3, "PETIT")); dup {
		t.Errorf("copy of a member beyond the newest %d found (line %d)", maxBlockScan, of)
	}
	// PETIT now holds 41 rows: the newest 32 are the copy of row 3 and
	// rows 39 down to 9.
	for _, m := range []member{{39, "MARTIN"}, {20, "LATE"}, {39, "LATE"}, {9, "PETIT"}} {
		if r, dup, of := add(row(m.i, m.last)); !dup || r != DupExact || of != lines[m] {
			t.Errorf("exact copy of %v: %v %v line %d, want line %d", m, r, dup, of, lines[m])
		}
	}
	if _, dup, of := add(row(8, "PETIT")); dup {
		t.Errorf("copy of row 8, now beyond the newest %d, found (line %d)", maxBlockScan, of)
	}
}

// TestBlockTableSameEmptySlot: two absent keys with the same home slot
// are both found at that empty slot before either is stored (as a row's
// e-mail and phone keys are); storing both must keep both.
func TestBlockTableSameEmptySlot(t *testing.T) {
	var tab blockTable
	defer tab.free()
	tab.reserve(2)
	k1, k2 := uint64(5), uint64(5+len(tab.slots)) // same slot modulo the size
	s1, s2 := tab.find(k1), tab.find(k2)
	if s1 != s2 {
		t.Fatal("the two keys do not share their first slot: the test tests nothing")
	}
	tab.put(s1, k1, 10)
	tab.put(s2, k2, 20)
	if a, b := tab.get(k1), tab.get(k2); a != 10 || b != 20 || tab.n != 2 {
		t.Errorf("get = %d, %d (n %d), want 10, 20 (n 2)", a, b, tab.n)
	}
}
