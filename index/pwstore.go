package index

import (
	"bytes"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Password generations: the identity range file is the store.
//
// A password generation's ranges.txt already holds every record, sorted, in
// the exact bytes the range API serves; storing each record a second time
// in Badger (about 40 bytes per hash, and the slowest consumer of an ingest)
// bought nothing but the split of a count into its base and extra parts.
// Since generation layout "sparse" (written by this version), the Badger
// store of a password kind holds only the records whose extra part is not
// zero (occurrences added by breach dumps), value uvarint(base)
// uvarint(extra) as before; a Pwned Passwords ingest alone leaves it empty.
//
// Invariants of a password generation (Check verifies all of them):
//   - ranges.txt holds every record of the kind exactly once, in hash order;
//     its count is Entry.Count = base + extra (saturating, count.go).
//   - every Badger key is also a ranges.txt record, and its base + extra
//     equals that record's count. A ranges.txt record with no Badger record
//     has base = count and extra = 0.
//   - Generations written before this layout hold every record in Badger
//     (extra possibly 0): they satisfy the invariants above, so they are
//     read as they are, without migration; the next commit of the kind
//     rewrites them in the sparse layout.
//   - Lookup and the generation merge-join read ranges.txt buckets only
//     through checkedBucket (per-bucket checksum), never unverified bytes.
//
// Commit atomicity is unchanged: the Badger store, the filter and the range
// files are written in the generation directory, synced, listed in db.sums,
// and become live together by the metadata commit.

// lookupPassword finds h in the generation's identity range file: a binary
// search by byte offset over the bucket's lines (upper-case hex compares in
// the same order as the hash bytes). It does not allocate.
func (g *generation) lookupPassword(h *Hash) (Entry, bool, error) {
	k := g.kind
	b := h.Prefix(5)
	body, err := g.text.checkedBucket(b)
	if err != nil {
		return Entry{}, false, fmt.Errorf("lookup %s: %w", k, err)
	}
	var buf [40]byte
	want := h.AppendSuffixHex(buf[:0], k, 5)
	n, ok, err := searchTextBucket(body, want)
	if err != nil {
		return Entry{}, false, fmt.Errorf("lookup %s: %w", k, err)
	}
	if !ok {
		return Entry{}, false, nil
	}
	return Entry{Kind: k, Hash: *h, Count: n}, true, nil
}

// searchTextBucket returns the count of the line whose suffix is want in an
// identity bucket body ("SUFFIX:COUNT" lines joined by CRLF, sorted).
func searchTextBucket(body, want []byte) (uint64, bool, error) {
	sl := len(want)
	// Invariant: lo and hi are line starts (or len(body)); every line
	// starting before lo sorts before want, every line at or after hi
	// sorts after it.
	lo, hi := 0, len(body)
	for lo < hi {
		mid := lo + (hi-lo)/2
		s := mid
		for s > lo && body[s-1] != '\n' {
			s--
		}
		e := bytes.IndexByte(body[s:hi], '\r')
		if e < 0 {
			e = hi
		} else {
			e += s
		}
		line := body[s:e]
		if len(line) < sl+2 || line[sl] != ':' {
			return 0, false, errCorruptBody
		}
		switch c := bytes.Compare(line[:sl], want); {
		case c == 0:
			return parseCount(line[sl+1:])
		case c < 0:
			lo = e + 2
		default:
			hi = s
		}
	}
	return 0, false, nil
}

var errCorruptBody = fmt.Errorf("%w: bad line in a bucket", ErrRangeCorrupt)

func parseCount(d []byte) (uint64, bool, error) {
	if len(d) == 0 || len(d) > 19 {
		return 0, false, errCorruptBody
	}
	var n uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false, errCorruptBody
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true, nil
}

// oldReader reads the previous generation's records in hash order for the
// merge-join of a commit: for identifier kinds from Badger, for password
// kinds from ranges.txt joined with the Badger records of the extra parts.
type oldReader struct {
	kind Kind
	it   *badger.Iterator
	text *rangeFile // password kinds; nil for a dense store read by repair
	b    uint32     // next bucket to load (password kinds)
	es   []Entry
	i    int
	ok   bool
}

func newOldReader(old *generation, txn *badger.Txn) (*oldReader, error) {
	r := &oldReader{kind: old.kind}
	r.it = txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 1024})
	r.it.Rewind()
	if !old.kind.IsPassword() || old.text == nil {
		// Identifier kinds, or (repair only) a dense password generation
		// whose range file is damaged: every record is in Badger.
		r.ok = r.it.Valid()
		return r, nil
	}
	r.text = old.text
	return r, r.fill()
}

// fill loads the next non-empty bucket of ranges.txt (password kinds).
func (r *oldReader) fill() error {
	r.es, r.i, r.ok = r.es[:0], 0, false
	for r.b < RangeBuckets {
		b := r.b
		r.b++
		body, err := r.text.checkedBucket(b)
		if err != nil {
			return fmt.Errorf("read previous %s generation: %w", r.kind, err)
		}
		if len(body) == 0 {
			continue
		}
		if r.es, err = appendTextEntries(r.es[:0], r.kind, b, body, Prefix{Value: b, Digits: 5}); err != nil {
			return fmt.Errorf("read previous %s generation: %w", r.kind, err)
		}
		if r.ok = len(r.es) > 0; r.ok {
			return nil
		}
	}
	if r.it.Valid() {
		return fmt.Errorf("read previous %s generation: %w: a Badger record is missing from the range file", r.kind, ErrRangeCorrupt)
	}
	return nil
}

func (r *oldReader) close() { r.it.Close() }

// valid reports whether a record is current.
func (r *oldReader) valid() bool { return r.ok }

// key returns the current record's key (HashLen bytes).
func (r *oldReader) key() []byte {
	if r.text == nil {
		return r.it.Item().Key()
	}
	return r.es[r.i].Hash[:r.kind.HashLen()]
}

// read decodes the current record into o (hash) and base/extra or ids.
func (r *oldReader) read(o *outRec, base, extra *uint64, ids []BreachID) ([]BreachID, error) {
	if r.text == nil {
		item := r.it.Item()
		copy(o.h[:], item.Key())
		err := item.Value(func(v []byte) error {
			var err error
			if r.kind.IsPassword() {
				*base, *extra, err = decodePassword(v)
				return err
			}
			ids, _, err = decodeIDs(ids, v)
			return err
		})
		return ids, err
	}
	e := &r.es[r.i]
	o.h = e.Hash
	hl := r.kind.HashLen()
	*base, *extra = e.Count, 0
	if r.it.Valid() {
		c := bytes.Compare(r.it.Item().Key(), e.Hash[:hl])
		if c > 0 {
			return ids, nil // no extra count
		}
		if c < 0 {
			return ids, fmt.Errorf("%w: a Badger record is missing from the range file", ErrRangeCorrupt)
		}
		err := r.it.Item().Value(func(v []byte) error {
			var err error
			*base, *extra, err = decodePassword(v)
			return err
		})
		if err != nil {
			return ids, err
		}
		if AddCounts(*base, *extra) != e.Count {
			return ids, fmt.Errorf("%w: count differs between Badger and the range file", ErrRangeCorrupt)
		}
		r.it.Next()
	}
	return ids, nil
}

// next advances to the next record.
func (r *oldReader) next() error {
	if r.text == nil {
		r.it.Next()
		r.ok = r.it.Valid()
		return nil
	}
	r.i++
	if r.i < len(r.es) {
		return nil
	}
	return r.fill()
}
