package index

import (
	"crypto/rand"
	"testing"

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
}
