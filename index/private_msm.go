package index

import (
	"encoding/binary"
	"math/bits"

	"filippo.io/nistec"
)

// Multi-scalar multiplication on P-256 for the DLEQ composites of RFC 9497
// (M = Σ d_i·C_i, and the client's Z = Σ d_i·D_i), where the scalars d_i
// are hashed from the public transcript and the points are public: it
// runs in variable time and must never be given a secret scalar (the key,
// a blind, the proof nonce), which go through nistec's constant-time
// ScalarMult instead.
//
// The method is Straus's (interleaved, "Shamir's trick"): the scalars are
// recoded in width-5 NAF (odd digits in -15..15, on average one non-zero
// digit in 6), each point gets a table of its odd multiples P, 3P, ...,
// 15P (1 doubling and 7 additions), and one accumulator is doubled 256
// times for all the points together, adding the table entry of each
// non-zero digit. For m points that is 256 doublings plus about 50·m
// additions, against 256·m doublings and ~64·m additions for m separate
// multiplications. TestMultiScalarMult checks it against the sum of
// separate ScalarMults.

// msmWindow is the NAF width: digits are odd, |d| < 2^(msmWindow-1).
const msmWindow = 5

// msmDigits is the longest NAF of a 256-bit scalar (one digit more than
// its bit length).
const msmDigits = 257

// wnaf writes the width-msmWindow NAF of the 256-bit big-endian scalar s
// into out, least significant digit first, and returns the number of
// digits up to the highest non-zero one (0 for a zero scalar).
func wnaf(s *[32]byte, out *[msmDigits]int8) int {
	var k [5]uint64 // little-endian limbs; the fifth takes the carries
	for i := range 4 {
		k[i] = binary.BigEndian.Uint64(s[24-8*i:])
	}
	*out = [msmDigits]int8{}
	n := 0
	for i := 0; k != [5]uint64{}; i++ {
		if k[0]&1 == 1 {
			d := int64(k[0] & (1<<msmWindow - 1))
			if d >= 1<<(msmWindow-1) {
				d -= 1 << msmWindow
			}
			out[i] = int8(d)
			n = i + 1
			// k -= d: clears the low msmWindow bits.
			if d > 0 {
				var b uint64
				k[0], b = bits.Sub64(k[0], uint64(d), 0)
				for j := 1; j < 5 && b != 0; j++ {
					k[j], b = bits.Sub64(k[j], 0, b)
				}
			} else {
				var c uint64
				k[0], c = bits.Add64(k[0], uint64(-d), 0)
				for j := 1; j < 5 && c != 0; j++ {
					k[j], c = bits.Add64(k[j], 0, c)
				}
			}
		}
		for j := range 4 {
			k[j] = k[j]>>1 | k[j+1]<<63
		}
		k[4] >>= 1
	}
	return n
}

// multiScalarMult returns Σ scalars[i]·points[i] (scalars big-endian, 32
// bytes, any value: the result is as if reduced modulo the group order).
// Variable time: public inputs only. The points are not modified. One
// point goes to nistec's ScalarMult, which is faster than Straus with a
// single point (its additions are internal, cheaper than the exported
// Add, which also computes a doubling).
func multiScalarMult(points []*nistec.P256Point, scalars [][32]byte) *nistec.P256Point {
	if len(points) == 1 {
		p, err := nistec.NewP256Point().ScalarMult(points[0], scalars[0][:])
		if err == nil { // it fails only for a scalar that is not 32 bytes
			return p
		}
	}
	return straus(points, scalars)
}

// straus is multiScalarMult by Straus's method, for any number of points.
func straus(points []*nistec.P256Point, scalars [][32]byte) *nistec.P256Point {
	tables := make([][1 << (msmWindow - 2)]nistec.P256Point, len(points))
	nafs := make([][msmDigits]int8, len(points))
	top := 0
	var twice nistec.P256Point
	for j, p := range points {
		l := wnaf(&scalars[j], &nafs[j])
		if l == 0 {
			continue
		}
		top = max(top, l)
		t := &tables[j]
		t[0].Set(p)
		twice.Double(p)
		for i := 1; i < len(t); i++ {
			t[i].Add(&t[i-1], &twice)
		}
	}
	acc := nistec.NewP256Point()
	var neg nistec.P256Point
	for i := top - 1; i >= 0; i-- {
		acc.Double(acc)
		for j := range nafs {
			switch d := nafs[j][i]; {
			case d > 0:
				acc.Add(acc, &tables[j][d>>1])
			case d < 0:
				acc.Add(acc, neg.Negate(&tables[j][(-d)>>1]))
			}
		}
	}
	return acc
}
