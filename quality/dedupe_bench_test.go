package quality

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkDeduper adds 100k rows drawn from small name pools, so block
// chains are long (many "jean.martin" local parts, as in French files) and
// the index is larger than the CPU caches, as in a 1M-row vet.
func BenchmarkDeduper(b *testing.B) {
	firsts := []string{"JEAN", "MARIE", "PIERRE", "NATHALIE", "MICHEL", "ISABELLE", "PHILIPPE", "SYLVIE", "ALAIN", "CATHERINE"}
	lasts := []string{"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT"}
	domains := []string{"gmail.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr", "hotmail.fr", "yahoo.fr", "wanadoo.fr"}
	const n = 100_000
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]dupKeys, n)
	for i := range keys {
		f, l := firsts[r.IntN(len(firsts))], lasts[r.IntN(len(lasts))]
		keys[i] = dupKeys{
			First: f, Last: l, Local: f + "." + l + strconv.Itoa(r.IntN(50)), Domain: domains[r.IntN(len(domains))],
			Phone: "+336" + strconv.Itoa(10000000+r.IntN(90000000)), Mobile: true,
			Postcode: strconv.Itoa(10000 + r.IntN(80000)), Address: strconv.Itoa(1+r.IntN(200)) + " RUE DE LA PAIX",
		}
	}
	runDeduperBench(b, keys)
}

// TestDeduperLarge crosses arena-chunk, chunked-array and table-growth
// boundaries: copies of early rows added after 70k distinct rows (over 1
// MiB of records) must still be found, and the last rows too.
func TestDeduperLarge(t *testing.T) {
	var d deduper
	defer d.free()
	const n = 70_000
	key := func(i int) dupKeys {
		s := strconv.Itoa(i)
		return dupKeys{First: "JEAN", Last: "NOM" + s, Local: "jean.nom" + s, Domain: "example.fr",
			Phone: "+3361" + strconv.Itoa(1000000+i), Mobile: true, Postcode: "75002", Address: s + " RUE DE LA PAIX"}
	}
	for i := range n {
		k := key(i)
		if _, dup, of := d.add(&k, i+2); dup {
			t.Fatalf("row %d flagged as a duplicate of line %d", i, of)
		}
	}
	if d.parent.n != n || len(d.chunks) < 2 {
		t.Fatalf("%d records in %d arena chunks; want %d in several", d.parent.n, len(d.chunks), n)
	}
	for _, i := range []int{0, 1, chunkLen - 1, chunkLen, n - 1} {
		k := key(i)
		if r, dup, of := d.add(&k, n+10+i); !dup || r != DupExact || of != i+2 {
			t.Errorf("copy of row %d: %v %v line %d, want exact of line %d", i, r, dup, of, i+2)
		}
		k.Phone, k.Local = "", k.Local+"z" // found through surname+postcode, e-mail one edit away
		if r, dup, of := d.add(&k, n+20+i); !dup || r != DupNear || of != i+2 {
			t.Errorf("near copy of row %d: %v %v line %d, want near of line %d", i, r, dup, of, i+2)
		}
	}
}

// BenchmarkDeduperTowns adds 200k rows of 150 surnames in 50 postcodes,
// as quality/testgen's files (and large towns in real ones) have them:
// each surname+postcode block holds hundreds of rows, so every new row
// meets maxBlockScan candidates there, nearly all of other first names.
func BenchmarkDeduperTowns(b *testing.B) {
	firsts := []string{"JEAN", "PIERRE", "MICHEL", "ANDRE", "PHILIPPE", "JEROME", "FRANCOIS", "RAPHAEL", "NOEL",
		"NICOLAS", "THOMAS", "JULIEN", "SEBASTIEN", "OLIVIER", "LAURENT", "STEPHANE", "MATHIEU", "HUGO", "LUCAS",
		"MARIE", "NATHALIE", "ISABELLE", "SYLVIE", "CATHERINE", "ELODIE", "HELENE", "CHLOE", "ZOE", "LEA",
		"CAMILLE", "MANON", "SARAH", "JULIE", "AURELIE", "CELINE", "EMILIE", "SANDRINE", "VALERIE"}
	const n = 200_000
	r := rand.New(rand.NewPCG(5, 6))
	keys := make([]dupKeys, n)
	for i := range keys {
		first := firsts[r.IntN(len(firsts))]
		last := "NOM" + strconv.Itoa(r.IntN(150))
		keys[i] = dupKeys{
			First: first, Last: last, Civ: []string{"M", "F", ""}[r.IntN(3)],
			Local: first + "." + last + strconv.Itoa(r.IntN(1000)), Domain: "gmail.com",
			Phone: "+336" + strconv.Itoa(10000000+r.IntN(90000000)), Mobile: true,
			Postcode: strconv.Itoa(10000 + 1000*r.IntN(50)), Address: strconv.Itoa(1+r.IntN(200)) + " RUE DE LA PAIX",
		}
	}
	runDeduperBench(b, keys)
}

// runDeduperBench adds keys to a fresh deduper per iteration, reporting
// rows per second.
func runDeduperBench(b *testing.B, keys []dupKeys) {
	b.ReportAllocs()
	for b.Loop() {
		var d deduper
		for i := range keys {
			d.add(&keys[i], i+2)
		}
		d.free()
	}
	b.ReportMetric(float64(len(keys))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
