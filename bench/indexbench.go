package bench

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"strconv"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// BuildIndex opens (creating) an index in dir and commits seq, which must be
// sorted, as the base counts of password kind k. n is the expected number
// of records (filter sizing). The caller closes the returned index.
func BuildIndex(ctx context.Context, dir string, k index.Kind, seq iter.Seq2[index.Hash, uint64], n int, compress bool) (*index.Index, error) {
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("bench: build index: %w", err)
	}
	if err := fillBase(ctx, ix, k, seq, n, compress); err != nil {
		ix.Close()
		return nil, fmt.Errorf("bench: build index %s: %w", dir, err)
	}
	return ix, nil
}

func fillBase(ctx context.Context, ix *index.Index, k index.Kind, seq iter.Seq2[index.Hash, uint64], n int, compress bool) error {
	b, err := ix.NewBaseBuilder(k, index.BuildOptions{
		SourceID:     "bench:" + k.String() + ":" + strconv.Itoa(n),
		Sorted:       true,
		ExpectedKeys: n,
		Compress:     compress,
	})
	if err != nil {
		return err
	}
	for h, c := range seq {
		if err := b.SetBase(&h, c); err != nil {
			b.Abort()
			return err
		}
	}
	_, err = b.Commit(ctx)
	return err
}

// Sample returns every step-th hash of seq (at most limit of them): present
// keys for lookup benchmarks.
func Sample(seq iter.Seq2[index.Hash, uint64], step, limit int) []index.Hash {
	var out []index.Hash
	i := 0
	for h := range seq {
		if i%step == 0 {
			out = append(out, h)
			if len(out) == limit {
				break
			}
		}
		i++
	}
	return out
}

// MayContainAbsent benchmarks the membership filter alone on absent keys
// (one op = one key). It fails if more than 1% of the probes pass the
// filter, which no sane filter rate allows.
func MayContainAbsent(b *testing.B, ix *index.Index, k index.Kind, probes []index.Hash) {
	b.ReportAllocs()
	hits := 0
	for i := 0; b.Loop(); i++ {
		if ix.MayContain(k, &probes[i%len(probes)]) {
			hits++
		}
	}
	if hits > b.N/100+1 {
		b.Fatalf("%d of %d absent keys passed the %s filter", hits, b.N, k)
	}
	runtime.KeepAlive(hits)
	reportRate(b, "keys/s")
}

// LookupAbsent benchmarks Index.Lookup on absent keys (filter, then Badger
// for the rare false positive).
func LookupAbsent(b *testing.B, ix *index.Index, k index.Kind, probes []index.Hash) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, ok, err := ix.Lookup(k, &probes[i%len(probes)])
		if err != nil || ok {
			b.Fatalf("lookup of an absent key: found %v, err %v", ok, err)
		}
	}
	reportRate(b, "keys/s")
}

// LookupPresent benchmarks Index.Lookup on stored keys (filter + Badger).
func LookupPresent(b *testing.B, ix *index.Index, k index.Kind, present []index.Hash) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e, ok, err := ix.Lookup(k, &present[i%len(present)])
		if err != nil || !ok || e.Count == 0 {
			b.Fatalf("lookup of a stored key: found %v, count %d, err %v", ok, e.Count, err)
		}
	}
	reportRate(b, "keys/s")
}

// PasswordRange benchmarks serving one 5-hex password range from the
// precomputed layout, the body copied into a response buffer as a server
// writes it (one op = one range).
func PasswordRange(b *testing.B, ix *index.Index, k index.Kind, prefixes []uint32) {
	var buf []byte
	for i := 0; b.Loop(); i++ {
		body, ok := ix.PasswordRange(k, prefixes[i%len(prefixes)], index.Identity)
		if !ok || len(body) == 0 {
			b.Fatalf("range %05X: ok %v, %d bytes", prefixes[i%len(prefixes)], ok, len(body))
		}
		buf = append(buf[:0], body...)
	}
	runtime.KeepAlive(buf)
	b.SetBytes(int64(len(buf)))
}

// AppendRange benchmarks reading one 5-hex password range as entries with
// Index.AppendRange and rendering SUFFIX:COUNT lines from them, for
// comparison with the precomputed PasswordRange.
func AppendRange(b *testing.B, ix *index.Index, k index.Kind, prefixes []uint32) {
	var (
		entries []index.Entry
		buf     []byte
		err     error
	)
	for i := 0; b.Loop(); i++ {
		p := index.Prefix{Value: prefixes[i%len(prefixes)], Digits: 5}
		entries, err = ix.AppendRange(entries[:0], k, p)
		if err != nil || len(entries) == 0 {
			b.Fatalf("range %s: %d entries, err %v", p, len(entries), err)
		}
		buf = RenderRange(buf[:0], k, entries)
	}
	runtime.KeepAlive(buf)
	b.SetBytes(int64(len(buf)))
}

// RenderRange appends entries as a password range body: upper-case
// SUFFIX:COUNT lines (suffix after the 5-digit prefix), CRLF between lines.
func RenderRange(dst []byte, k index.Kind, entries []index.Entry) []byte {
	for i := range entries {
		if i > 0 {
			dst = append(dst, '\r', '\n')
		}
		dst = entries[i].Hash.AppendSuffixHex(dst, k, 5)
		dst = append(dst, ':')
		dst = strconv.AppendUint(dst, entries[i].Count, 10)
	}
	return dst
}

// FilterOverhead returns kind k's filter size over the theoretical optimum
// n * -ln(p) / ln(2)^2 for its keys and rate, from Index.Check.
func FilterOverhead(ctx context.Context, ix *index.Index, k index.Kind) (ratio float64, kc index.KindCheck, err error) {
	rep, err := ix.Check(ctx)
	if err != nil {
		return 0, kc, fmt.Errorf("bench: filter overhead: %w", err)
	}
	if len(rep.Problems) > 0 {
		return 0, kc, fmt.Errorf("bench: filter overhead: index check: %v", rep.Problems)
	}
	kc, ok := rep.Kinds[k]
	if !ok || kc.FilterKeys == 0 {
		return 0, kc, fmt.Errorf("bench: filter overhead: no %s filter", k)
	}
	p := kc.FilterFPR
	if p == 0 {
		p = index.DefaultFalsePositiveRate
	}
	return float64(kc.FilterBits) / index.TheoreticalBits(kc.FilterKeys, p), kc, nil
}

// reportRate reports the operations per second of the benchmark.
func reportRate(b *testing.B, unit string) {
	if e := b.Elapsed(); e > 0 {
		b.ReportMetric(float64(b.N)/e.Seconds(), unit)
	}
}
