package index

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestSearchTextBucket(t *testing.T) {
	// Suffixes of 4 hex digits keep the table readable; the search only
	// depends on the suffix length passed in.
	body := []byte("0001:5\r\n00A0:12\r\n0B00:1\r\nC000:3\r\nFFFF:1234567890123456789")
	tests := []struct {
		body  string
		want  string
		count uint64
		found bool
		err   bool
	}{
		{string(body), "0001", 5, true, false},
		{string(body), "00A0", 12, true, false},
		{string(body), "0B00", 1, true, false},
		{string(body), "C000", 3, true, false},
		{string(body), "FFFF", 1234567890123456789, true, false},
		{string(body), "0000", 0, false, false},
		{string(body), "00A1", 0, false, false},
		{string(body), "D000", 0, false, false},
		{"", "0001", 0, false, false},
		{"0001:7", "0001", 7, true, false},
		{"0001:7", "0002", 0, false, false},
		{"0001x7", "0001", 0, false, true},
		{"0001:", "0001", 0, false, true},
		{"0001:7a", "0001", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%s", tt.body, tt.want), func(t *testing.T) {
			n, ok, err := searchTextBucket([]byte(tt.body), []byte(tt.want))
			if (err != nil) != tt.err || ok != tt.found || n != tt.count {
				t.Fatalf("got %d %v %v, want %d %v err=%v", n, ok, err, tt.count, tt.found, tt.err)
			}
			if err != nil && !errors.Is(err, ErrRangeCorrupt) {
				t.Fatalf("error %v does not wrap ErrRangeCorrupt", err)
			}
		})
	}
}

// badgerKeys counts the keys of kind k's live Badger store.
func badgerKeys(t *testing.T, ix *Index, k Kind) int {
	t.Helper()
	n := 0
	err := ix.gen(k).db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkLookups wants every password found with its expected count and
// hashes of other strings absent.
func checkLookups(t *testing.T, ix *Index, ps []pw, counts map[Hash]uint64) {
	t.Helper()
	for i := range ps {
		want := ps[i].count + counts[ps[i].h]
		e, found, err := ix.Lookup(KindSHA1, &ps[i].h)
		if err != nil || !found || e.Count != want || e.Hash != ps[i].h {
			t.Fatalf("Lookup(password %d) = %d %v %v, want %d", i, e.Count, found, err, want)
		}
	}
	for i := range 2000 {
		h := sha1Of(fmt.Sprintf("absent-%d", i))
		if _, found, err := ix.Lookup(KindSHA1, &h); found || err != nil {
			t.Fatalf("Lookup(absent %d) = %v %v", i, found, err)
		}
	}
}

// addBreachPasswords adds one occurrence of each of the first n passwords.
func addBreachPasswords(t *testing.T, ix *Index, name string, ps []pw, n int) map[Hash]uint64 {
	t.Helper()
	b, err := ix.NewBreachBuilder(Breach{Name: name}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	extra := map[Hash]uint64{}
	for i := range n {
		if err := b.AddPassword(KindSHA1, &ps[i].h, 1); err != nil {
			t.Fatal(err)
		}
		extra[ps[i].h]++
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return extra
}

// TestPasswordStoreIsTheRangeFile: a Pwned Passwords ingest leaves the
// Badger store empty, lookups answer from the range file, breach counts
// live in Badger only for the records they touch, and a new base keeps
// them.
func TestPasswordStoreIsTheRangeFile(t *testing.T) {
	ix := openTest(t, t.TempDir())
	ps := passwords(3000)
	buildBase(t, ix, KindSHA1, ps, true)
	if n := badgerKeys(t, ix, KindSHA1); n != 0 {
		t.Fatalf("%d Badger records after a base ingest, want 0", n)
	}
	checkLookups(t, ix, ps, nil)
	mustCheck(t, ix)

	extra := addBreachPasswords(t, ix, "Extra", ps, 25)
	if n := badgerKeys(t, ix, KindSHA1); n != 25 {
		t.Fatalf("%d Badger records after a breach of 25 passwords, want 25", n)
	}
	checkLookups(t, ix, ps, extra)
	mustCheck(t, ix)

	// A new base download: counts change, extras stay.
	for i := range ps {
		ps[i].count += 1000
	}
	buildBase(t, ix, KindSHA1, ps, true)
	if n := badgerKeys(t, ix, KindSHA1); n != 25 {
		t.Fatalf("%d Badger records after a new base, want 25", n)
	}
	checkLookups(t, ix, ps, extra)
	mustCheck(t, ix)
}

// TestDenseGenerationStillRead: a generation written before the sparse
// layout (every password record in Badger) is looked up and checked as it
// is, and the next commit rewrites it sparse with the same counts.
func TestDenseGenerationStillRead(t *testing.T) {
	dir := t.TempDir()
	ps := passwords(2000)
	func() {
		writeDenseStore = true
		defer func() { writeDenseStore = false }()
		ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		buildBase(t, ix, KindSHA1, ps, true)
		if n := badgerKeys(t, ix, KindSHA1); n != len(ps) {
			t.Fatalf("dense layout: %d Badger records, want %d", n, len(ps))
		}
	}()
	ix := openTest(t, dir)
	checkLookups(t, ix, ps, nil)
	mustCheck(t, ix)
	extra := addBreachPasswords(t, ix, "After", ps, 10)
	if n := badgerKeys(t, ix, KindSHA1); n != 10 {
		t.Fatalf("rewritten generation: %d Badger records, want 10", n)
	}
	checkLookups(t, ix, ps, extra)
	mustCheck(t, ix)
}

// FuzzSearchTextBucket: on any body the search never panics, and on a
// well-formed sorted body it agrees with a linear scan.
func FuzzSearchTextBucket(f *testing.F) {
	f.Add([]byte("0001:5\r\n00A0:12\r\n0B00:1"), []byte("00A0"))
	f.Add([]byte("0001:"), []byte("0001"))
	f.Add([]byte("\r\n\r\n"), []byte("0001"))
	f.Fuzz(func(t *testing.T, body, want []byte) {
		n, ok, err := searchTextBucket(body, want)
		if err != nil || len(want) == 0 {
			return
		}
		// Linear reference: only meaningful if every line is well formed
		// and sorted with unique suffixes of len(want).
		lines := strings.Split(string(body), "\r\n")
		prev := ""
		var refN uint64
		refOK := false
		for _, l := range lines {
			suf, cnt, found := strings.Cut(l, ":")
			c, perr := strconv.ParseUint(cnt, 10, 64)
			if !found || strings.ContainsAny(l, "\r\n") || len(suf) != len(want) || perr != nil || len(cnt) > 19 || strings.ContainsAny(cnt, "+-") || suf <= prev && prev != "" {
				return
			}
			prev = suf
			if suf == string(want) {
				refN, refOK = c, true
			}
		}
		if ok != refOK || n != refN {
			t.Fatalf("search = %d %v, linear scan = %d %v", n, ok, refN, refOK)
		}
	})
}
