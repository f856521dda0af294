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

// BenchmarkPrivateEvaluate measures the server's evaluation with proof of
// a batch of 8 blinded elements (ns/op is per batch).
func BenchmarkPrivateEvaluate(b *testing.B) {
	key, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pk, _ := key.Public().MarshalBinary()
	c, _ := NewPrivateClient(pk)
	inputs := make([][]byte, 8)
	for i := range inputs {
		inputs[i] = []byte{byte(i)}
	}
	_, blinded, err := c.Blind(inputs)
	if err != nil {
		b.Fatal(err)
	}
	fs, _ := newFastServer(key)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := fs.evaluate(blinded, nil); err != nil {
			b.Fatal(err)
		}
	}
}
