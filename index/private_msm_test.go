package index

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"filippo.io/nistec"
)

// TestMultiScalarMult checks the variable-time multi-scalar multiplication
// (Straus's method itself, for every size, and multiScalarMult)
// against the sum of nistec's separate constant-time ScalarMults, on random
// inputs and on the edge cases: zero scalars, the identity point, repeated
// points, a point and its negation, scalars 1, n-1, n, 2^256-1 and
// scalars whose NAF carries into a 257th digit.
func TestMultiScalarMult(t *testing.T) {
	randScalar := func() [32]byte {
		var s [32]byte
		rand.Read(s[:])
		return s
	}
	randPoint := func() *nistec.P256Point {
		s := randScalar()
		p, err := nistec.NewP256Point().ScalarBaseMult(s[:])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	fromBig := func(v *big.Int) [32]byte {
		var s [32]byte
		v.FillBytes(s[:])
		return s
	}
	fromHex := func(h string) [32]byte {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			t.Fatalf("bad scalar %q", h)
		}
		return [32]byte(b)
	}
	small := func(v int64) [32]byte { return fromBig(big.NewInt(v)) }
	n := new(big.Int).Set(p256N)
	nMinus1 := fromBig(new(big.Int).Sub(n, big.NewInt(1)))
	all1 := fromHex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	// Alternating 1 and 0 runs long enough that NAF recoding carries up.
	carry := fromHex("f7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")

	p, q := randPoint(), randPoint()
	negP, err := nistec.NewP256Point().ScalarMult(p, nMinus1[:])
	if err != nil {
		t.Fatal(err)
	}
	inf := nistec.NewP256Point()
	type tc struct {
		name    string
		points  []*nistec.P256Point
		scalars [][32]byte
	}
	cases := []tc{
		{"empty", nil, nil},
		{"one point, scalar 1", []*nistec.P256Point{p}, [][32]byte{small(1)}},
		{"zero scalar", []*nistec.P256Point{p, q}, [][32]byte{small(0), randScalar()}},
		{"all scalars zero", []*nistec.P256Point{p, q}, [][32]byte{small(0), small(0)}},
		{"identity point", []*nistec.P256Point{inf, q}, [][32]byte{randScalar(), randScalar()}},
		{"only the identity", []*nistec.P256Point{inf}, [][32]byte{randScalar()}},
		{"repeated point", []*nistec.P256Point{p, p, p}, [][32]byte{randScalar(), randScalar(), randScalar()}},
		{"repeated point and scalar", []*nistec.P256Point{q, q}, [][32]byte{small(7), small(7)}},
		{"point and its negation, same scalar", []*nistec.P256Point{p, negP}, [][32]byte{small(12345), small(12345)}},
		{"n-1 and n", []*nistec.P256Point{p, q}, [][32]byte{nMinus1, fromBig(n)}},
		{"2^256-1 and carries", []*nistec.P256Point{p, q}, [][32]byte{all1, carry}},
		{"small digits", []*nistec.P256Point{p, q, p}, [][32]byte{small(15), small(16), small(17)}},
	}
	for _, m := range []int{1, 2, 3, 8, 65} {
		c := tc{name: fmt.Sprintf("random %d", m)}
		for range m {
			c.points = append(c.points, randPoint())
			c.scalars = append(c.scalars, randScalar())
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := make([][]byte, len(c.points))
			for i, pt := range c.points {
				before[i] = pt.Bytes()
			}
			want := nistec.NewP256Point()
			for i, pt := range c.points {
				sp, err := nistec.NewP256Point().ScalarMult(pt, c.scalars[i][:])
				if err != nil {
					t.Fatal(err)
				}
				want.Add(want, sp)
			}
			got := straus(c.points, c.scalars)
			if got.Equal(want) != 1 {
				t.Fatalf("Straus %x, want %x", got.Bytes(), want.Bytes())
			}
			if got := multiScalarMult(c.points, c.scalars); got.Equal(want) != 1 {
				t.Fatalf("MSM %x, want %x", got.Bytes(), want.Bytes())
			}
			for i, pt := range c.points {
				if string(pt.Bytes()) != string(before[i]) {
					t.Fatalf("point %d modified", i)
				}
			}
		})
	}
}

// TestWNAF checks the recoding: digits odd or zero, within ±15, at least
// 5 apart, and summing back to the scalar.
func TestWNAF(t *testing.T) {
	for range 200 {
		var s [32]byte
		rand.Read(s[:])
		var naf [msmDigits]int8
		l := wnaf(&s, &naf)
		sum := new(big.Int)
		last := -msmWindow
		for i := msmDigits - 1; i >= 0; i-- {
			sum.Lsh(sum, 1)
			d := naf[i]
			if d == 0 {
				continue
			}
			if d%2 == 0 || d > 15 || d < -15 || i >= l {
				t.Fatalf("digit %d at %d (len %d)", d, i, l)
			}
			if last >= 0 && last-i < msmWindow {
				t.Fatalf("digits at %d and %d too close", last, i)
			}
			last = i
			sum.Add(sum, big.NewInt(int64(d)))
		}
		if sum.Cmp(new(big.Int).SetBytes(s[:])) != 0 {
			t.Fatalf("NAF of %x sums to %x", s, sum)
		}
	}
}
