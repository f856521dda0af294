package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// benchKeys sizes the fixture of the Benchmark functions below; `make
// bench` runs the full sizes through `pwndex bench` instead.
var benchKeys = flag.Int("keys", 1_000_000, "hashes in the index of the lookup benchmarks")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	fixtures.cleanup()
	os.Exit(code)
}

// fixtureSet builds the benchmark indexes once per test binary.
type fixtureSet struct {
	once          sync.Once
	root          string
	uniform       *index.Index
	dense         *index.Index
	present       []index.Hash
	probes        []index.Hash
	densePrefixes []uint32
	err           error
}

var fixtures fixtureSet

func (f *fixtureSet) get(b *testing.B) *fixtureSet {
	f.once.Do(func() {
		f.root, f.err = os.MkdirTemp("", "pwndex-bench-")
		if f.err != nil {
			return
		}
		ctx := context.Background()
		seq := HIBP(index.KindSHA1, *benchKeys, 1)
		f.uniform, f.err = BuildIndex(ctx, f.root+"/uniform", index.KindSHA1, seq, *benchKeys, false)
		if f.err != nil {
			return
		}
		f.present = Sample(seq, max(1, *benchKeys/100_000), 100_000)
		f.probes = Probes(index.KindSHA1, 100_000, 1)
		f.densePrefixes = DensePrefixes(256, 2)
		f.dense, f.err = BuildIndex(ctx, f.root+"/dense", index.KindSHA1,
			Dense(index.KindSHA1, 256, DensePerBucket, 2), 256*DensePerBucket, false)
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f
}

func (f *fixtureSet) cleanup() {
	for _, ix := range []*index.Index{f.uniform, f.dense} {
		if ix != nil {
			ix.Close()
		}
	}
	if f.root != "" {
		os.RemoveAll(f.root)
	}
}

func BenchmarkMayContainAbsent(b *testing.B) {
	f := fixtures.get(b)
	MayContainAbsent(b, f.uniform, index.KindSHA1, f.probes)
}

func BenchmarkLookupAbsent(b *testing.B) {
	f := fixtures.get(b)
	LookupAbsent(b, f.uniform, index.KindSHA1, f.probes)
}

func BenchmarkLookupPresent(b *testing.B) {
	f := fixtures.get(b)
	LookupPresent(b, f.uniform, index.KindSHA1, f.present)
}

func BenchmarkPasswordRangeDense(b *testing.B) {
	f := fixtures.get(b)
	PasswordRange(b, f.dense, index.KindSHA1, f.densePrefixes)
}

func BenchmarkAppendRangeDense(b *testing.B) {
	f := fixtures.get(b)
	AppendRange(b, f.dense, index.KindSHA1, f.densePrefixes)
}

// TestIndexFromGenerators builds real indexes from the generators and checks
// the index against the generated data: every dense range body equals the
// generated records rendered independently, stored keys are found with
// their counts, probes are absent, and the filter is within 5% of the
// theoretical size.
func TestIndexFromGenerators(t *testing.T) {
	ctx := context.Background()
	for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		t.Run(k.String(), func(t *testing.T) {
			const buckets = 6
			seq := Dense(k, buckets, DensePerBucket, 9)
			ix, err := BuildIndex(ctx, t.TempDir(), k, seq, buckets*DensePerBucket, false)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			// Expected bodies from the generated records, rendered with
			// fmt (independent of RenderRange and of the index).
			want := map[uint32][]string{}
			counts := map[index.Hash]uint64{}
			for h, c := range seq {
				p := h.Prefix(5)
				want[p] = append(want[p], fmt.Sprintf("%s:%d", h.Hex(k)[5:], c))
				counts[h] = c
			}
			var entries []index.Entry
			for _, p := range DensePrefixes(buckets, 9) {
				body, ok := ix.PasswordRange(k, p, index.Identity)
				exp := strings.Join(want[p], "\r\n")
				if !ok || string(body) != exp {
					t.Fatalf("range %05X: ok %v, %d bytes, want %d bytes", p, ok, len(body), len(exp))
				}
				entries, err = ix.AppendRange(entries[:0], k, index.Prefix{Value: p, Digits: 5})
				if err != nil || string(RenderRange(nil, k, entries)) != exp {
					t.Fatalf("AppendRange %05X rendered differs (err %v)", p, err)
				}
			}
			for h, c := range counts {
				e, ok, err := ix.Lookup(k, &h)
				if err != nil || !ok || e.Count != c {
					t.Fatalf("Lookup %s: %+v %v %v, want count %d", h.Hex(k), e, ok, err, c)
				}
			}
			for _, p := range Probes(k, 2000, 9) {
				if _, ok, err := ix.Lookup(k, &p); ok || err != nil {
					t.Fatalf("probe %s found (err %v)", p.Hex(k), err)
				}
			}
			ratio, kc, err := FilterOverhead(ctx, ix, k)
			if err != nil {
				t.Fatal(err)
			}
			if kc.FilterKeys != buckets*DensePerBucket || ratio < 1.0 || ratio > 1.10 {
				t.Errorf("filter: %d keys, %d bits, %.4f of theoretical", kc.FilterKeys, kc.FilterBits, ratio)
			}
		})
	}
}
