package index

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"filippo.io/nistec"
	"github.com/cloudflare/circl/oprf"
)

// BenchmarkFullEvaluate compares circl's FullEvaluate with the nistec path
// that derives keyed values (the ingest cost per identifier).
func BenchmarkFullEvaluate(b *testing.B) {
	key, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	in := make([]byte, 20)
	b.Run("circl", func(b *testing.B) {
		srv := oprf.NewVerifiableServer(PrivateSuite, key)
		for i := 0; i < b.N; i++ {
			in[0], in[1] = byte(i), byte(i>>8)
			if _, err := srv.FullEvaluate(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nistec", func(b *testing.B) {
		fe, _ := newFullEvaluator(key)
		for i := 0; i < b.N; i++ {
			in[0], in[1] = byte(i), byte(i>>8)
			if _, err := fe.evaluate(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	// batch256: what ingest runs (privateValues), one op a value.
	b.Run("batch256", func(b *testing.B) {
		fe, _ := newFullEvaluator(key)
		h := newH2G()
		ins := make([][]byte, 256)
		for i := range ins {
			ins[i] = []byte(fmt.Sprintf("user%06d@example.com", i))
		}
		out := make([][32]byte, len(ins))
		for i := 0; i < b.N; i += len(ins) {
			ins[0][0] = byte(i >> 8)
			if err := fe.evaluateBatch(h, ins, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFullEvaluateSteps splits FullEvaluate (nistec path) into its
// steps: hash-to-curve, the scalar multiplication by the key, and the
// finalisation (compression and SHA-256).
func BenchmarkFullEvaluateSteps(b *testing.B) {
	k := make([]byte, 32)
	rand.Read(k)
	k[0] &= 0x7f
	in := make([]byte, 20)
	b.Run("hashToGroup", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			in[0], in[1] = byte(i), byte(i>>8)
			if _, err := hashToGroup(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, _ := hashToGroup(in)
	b.Run("scalarMult", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.ScalarMult(p, k)
		}
	})
	// The same multiplication in variable time over nistec's exported
	// Add and Double (the MSM with one point, width-5 NAF): what a
	// precomputed recoding of the fixed key could at best give.
	b.Run("wnafExported", func(b *testing.B) {
		ks := [][32]byte{[32]byte(k)}
		pts := []*nistec.P256Point{p}
		for i := 0; i < b.N; i++ {
			straus(pts, ks)
		}
	})
	b.Run("compress", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.BytesCompressed()
		}
	})
}

// privateBenchBatch returns a server and m blinded elements.
func privateBenchBatch(b *testing.B, m int) (*fastServer, *PrivateClient, *PrivateBlinding, [][]byte) {
	key, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pk, _ := key.Public().MarshalBinary()
	c, _ := NewPrivateClient(pk)
	inputs := make([][]byte, m)
	for i := range inputs {
		inputs[i] = []byte{byte(i), byte(i >> 8)}
	}
	st, blinded, err := c.Blind(inputs)
	if err != nil {
		b.Fatal(err)
	}
	fs, _ := newFastServer(key)
	return fs, c, st, blinded
}

// BenchmarkPrivateEvaluate measures the server's evaluation with proof of
// a batch of m blinded elements; ns/op is per batch, evals/s per element.
func BenchmarkPrivateEvaluate(b *testing.B) {
	for _, m := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", m), func(b *testing.B) {
			fs, _, _, blinded := privateBenchBatch(b, m)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := fs.evaluate(blinded, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*m)/b.Elapsed().Seconds(), "evals/s")
		})
	}
}

// BenchmarkPrivateEvaluateCost measures the same evaluations in units of
// nistec's variable-base scalar multiplication, interleaved (4 after each
// batch) so that the load of a shared machine cancels out of the ratio:
// mults/eval is the evaluation's cost in multiplications per element.
// ns/op covers the batch and the 4 reference multiplications.
func BenchmarkPrivateEvaluateCost(b *testing.B) {
	for _, m := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", m), func(b *testing.B) {
			fs, _, _, blinded := privateBenchBatch(b, m)
			k := make([]byte, 32)
			rand.Read(k)
			k[0] &= 0x7f
			p := nistec.NewP256Point().SetGenerator()
			var evalT, multT time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, _, err := fs.evaluate(blinded, nil); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				for range 4 {
					p.ScalarMult(p, k)
				}
				evalT += t1.Sub(t0)
				multT += time.Since(t1)
			}
			b.ReportMetric(float64(b.N*m)/evalT.Seconds(), "evals/s")
			b.ReportMetric((evalT.Seconds()/float64(m))/(multT.Seconds()/4), "mults/eval")
		})
	}
}

// BenchmarkPrivateFinalize measures the client's proof verification and
// unblinding of a batch of m evaluations (ns/op is per batch).
func BenchmarkPrivateFinalize(b *testing.B) {
	for _, m := range []int{8, 64} {
		b.Run(fmt.Sprintf("batch=%d", m), func(b *testing.B) {
			fs, c, st, blinded := privateBenchBatch(b, m)
			evals, proof, err := fs.evaluate(blinded, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Finalize(st, evals, proof); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScalarMult is nistec's variable-base P-256 scalar
// multiplication, the unit the figures above are made of.
func BenchmarkScalarMult(b *testing.B) {
	k := make([]byte, 32)
	rand.Read(k)
	k[0] &= 0x7f
	p := nistec.NewP256Point().SetGenerator()
	for i := 0; i < b.N; i++ {
		p.ScalarMult(p, k)
	}
}
