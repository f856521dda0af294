package index

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/andybalholm/brotli"
	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/gzip"
)

// CheckReport is the result of Check.
type CheckReport struct {
	Kinds    map[Kind]KindCheck
	Problems []string
}

// OK reports whether Check found no problem.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

// KindCheck is Check's result for one kind.
type KindCheck struct {
	Records      uint64  `json:"records"`      // records of the generation (identifier kinds: in Badger; password kinds: in the range file, see pwstore.go)
	MetaCount    uint64  `json:"metaCount"`    // count recorded in the metadata
	RangeRecords uint64  `json:"rangeRecords"` // records found in the range files
	FilterMisses uint64  `json:"filterMisses"` // records the filter wrongly rejects (must be 0)
	FilterBits   uint64  `json:"filterBits"`   // bits in the filter
	FilterKeys   uint64  `json:"filterKeys"`   // keys the filter was built from
	FilterFPR    float64 `json:"filterFpr"`    // false-positive rate the filter was sized for
}

// Check validates the index: every kind's Badger records against the
// metadata count, the filter (no false negatives) and the range files
// (same records, same values, in order; checksums; compressed bodies equal
// to the identity bodies), and the checksum of every Badger table block of
// the generations and the metadata store; the private-lookup files
// (checkPrivate) and, for an index directory, every local snapshot
// (checkLocalSnapshots). Problems lists every inconsistency found.
//
// Invariants: Check never panics on corrupt data (a panic while checking a
// kind is recovered and reported as a problem of that kind); a corrupt
// bucket is one problem, not a cascade: records are matched by key (a merge
// of two sorted sequences), so one missing or extra record is reported once
// and the rest of the index stays aligned.
func (ix *Index) Check(ctx context.Context) (CheckReport, error) {
	v := ix.view.Load()
	rep := CheckReport{Kinds: map[Kind]KindCheck{}}
	problem := func(format string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, a...)) }
	if ix.meta != nil { // nil when opened from a snapshot, which has no metadata store
		if err := verifyStore(ix.meta); err != nil {
			problem("metadata store: %v", err)
		}
		for _, p := range ix.checkMetaFiles(filepath.Join(ix.dir, "meta")) {
			problem("%s", p)
		}
		for _, p := range checkLocalSnapshots(ix.dir) {
			problem("%s", p)
		}
	}
	for _, p := range checkPrivate(ix.dir) {
		problem("%s", p)
	}
	for _, k := range Kinds {
		if len(ix.opts.Kinds) > 0 && !slices.Contains(ix.opts.Kinds, k) {
			continue // not opened
		}
		g := v.gens[k]
		if err := v.broken[k]; err != nil {
			problem("%s: unusable generation: %v", k, err)
			continue
		}
		if g == nil {
			if v.st.Counts[k] != 0 {
				problem("%s: metadata counts %d records but there is no generation", k, v.st.Counts[k])
			}
			continue
		}
		kc := KindCheck{MetaCount: v.st.Counts[k], FilterBits: g.filter.bits, FilterKeys: g.filter.n, FilterFPR: g.filter.fpr}
		if err := verifyStore(g.db); err != nil {
			problem("%s: Badger store: %v", k, err)
		}
		for _, p := range verifySums(g.dir) {
			problem("%s: %s", k, p)
		}
		if err := checkGenSafe(ctx, g, &kc, problem); err != nil {
			return rep, err
		}
		if kc.Records != kc.MetaCount {
			problem("%s: %d records in Badger, metadata says %d", k, kc.Records, kc.MetaCount)
		}
		if kc.RangeRecords != kc.Records {
			problem("%s: %d records in range files, %d in Badger", k, kc.RangeRecords, kc.Records)
		}
		if kc.FilterKeys != kc.Records {
			problem("%s: filter built from %d keys, %d records", k, kc.FilterKeys, kc.Records)
		}
		if kc.FilterMisses != 0 {
			problem("%s: filter rejects %d present records", k, kc.FilterMisses)
		}
		rep.Kinds[k] = kc
	}
	return rep, nil
}

// verifyStore verifies the checksum of every block of every table of a
// Badger store, recovering a panic on corrupt data.
func verifyStore(db *badger.DB) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt (panic while verifying checksums: %v)", p)
		}
	}()
	return db.VerifyChecksum()
}

// checkGenSafe is checkGen with a panic (corrupt data that a decoder did
// not expect) reported as a problem of the kind.
func checkGenSafe(ctx context.Context, g *generation, kc *KindCheck, problem func(string, ...any)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			problem("%s: corrupt generation (panic while checking: %v)", g.kind, p)
			err = nil
		}
	}()
	return checkGen(ctx, g, kc, problem)
}

func checkGen(ctx context.Context, g *generation, kc *KindCheck, problem func(string, ...any)) error {
	k := g.kind
	hl := k.HashLen()
	main := g.records()
	for _, r := range []*rangeFile{main, g.gz, g.br} {
		if r != nil && xxhash.Sum64(r.body) != r.bodySum {
			problem("%s: range file body checksum mismatch", k)
		}
	}
	txn := g.db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 1024})
	defer it.Close()
	it.Rewind()
	var es []Entry
	var ids []BreachID
	var err error
	reported := 0
	mismatch := func(format string, a ...any) {
		if reported < 10 {
			problem(format, a...)
		}
		reported++
	}
	// checkValue compares the iterator's current record with range entry e.
	checkValue := func(b uint32, e *Entry) {
		err := it.Item().Value(func(val []byte) error {
			if k.IsPassword() {
				base, extra, err := decodePassword(val)
				if err == nil && AddCounts(base, extra) != e.Count {
					mismatch("%s: count differs between Badger and range file in bucket %05X", k, b)
				}
				return err
			}
			ids, _, err = decodeIDs(ids[:0], val)
			if err == nil && !slices.Equal(ids, e.Breaches) {
				mismatch("%s: breaches differ between Badger and range file in bucket %05X", k, b)
			}
			return err
		})
		if err != nil {
			mismatch("%s: bad Badger record in bucket %05X: %v", k, b, err)
		}
	}
	for b := uint32(0); b < RangeBuckets; b++ {
		if b&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		body := main.bucket(b)
		es, err = appendBucket(es[:0], k, b, body, Prefix{Value: b, Digits: 5})
		if err != nil {
			// One problem for the bucket; its Badger records are skipped
			// (counted, not matched) so the next buckets stay aligned.
			mismatch("%s: bucket %05X: %v", k, b, err)
			for it.Valid() && bucketOfKey(it.Item().Key()) <= b {
				kc.Records++
				it.Next()
			}
			continue
		}
		if g.gz != nil {
			checkCompressed(g.gz, b, body, "gzip", mismatch, k)
			checkCompressed(g.br, b, body, "brotli", mismatch, k)
		}
		kc.RangeRecords += uint64(len(es))
		// Merge the bucket's range entries with the Badger records of the
		// bucket (and any stray ones before it), both in key order.
		for i := range es {
			e := &es[i]
			if i > 0 && bytes.Compare(es[i-1].Hash[:hl], e.Hash[:hl]) >= 0 {
				mismatch("%s: range entries out of order in bucket %05X", k, b)
			}
			for it.Valid() && bytes.Compare(it.Item().Key(), e.Hash[:hl]) < 0 {
				mismatch("%s: Badger record in bucket %05X missing from the range file", k, bucketOfKey(it.Item().Key()))
				kc.Records++
				it.Next()
			}
			if !it.Valid() || !bytes.Equal(it.Item().Key(), e.Hash[:hl]) {
				if k.IsPassword() {
					// The range file is the store; Badger holds only the
					// records with an extra count (pwstore.go).
					if !g.filter.test(filterKey(k, &e.Hash)) {
						kc.FilterMisses++
					}
					kc.Records++
					continue
				}
				mismatch("%s: range entry in bucket %05X has no matching Badger record", k, b)
				continue
			}
			checkValue(b, e)
			if !g.filter.test(filterKey(k, &e.Hash)) {
				kc.FilterMisses++
			}
			kc.Records++
			it.Next()
		}
		for it.Valid() && bucketOfKey(it.Item().Key()) <= b {
			mismatch("%s: Badger record in bucket %05X missing from the range file", k, bucketOfKey(it.Item().Key()))
			kc.Records++
			it.Next()
		}
	}
	for ; it.Valid(); it.Next() {
		mismatch("%s: Badger record beyond the range file", k)
		kc.Records++
	}
	if reported > 10 {
		problem("%s: %d more mismatches not shown", k, reported-10)
	}
	return nil
}

// bucketOfKey returns the 5-hex bucket of a raw Badger key.
func bucketOfKey(key []byte) uint32 {
	var h Hash
	copy(h[:], key)
	return h.Prefix(5)
}

func checkCompressed(r *rangeFile, b uint32, want []byte, name string, mismatch func(string, ...any), k Kind) {
	if r == nil {
		mismatch("%s: %s range file missing", k, name)
		return
	}
	c := r.bucket(b)
	if len(want) < minCompressBody {
		if len(c) != 0 {
			mismatch("%s: %s bucket %05X should be empty", k, name, b)
		}
		return
	}
	var rd io.Reader
	if name == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(c))
		if err != nil {
			mismatch("%s: %s bucket %05X: %v", k, name, b, err)
			return
		}
		rd = zr
	} else {
		rd = brotli.NewReader(bytes.NewReader(c))
	}
	got, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(got, want) {
		mismatch("%s: %s bucket %05X does not decode to the identity body", k, name, b)
	}
}
