package index

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"math/big"

	"filippo.io/nistec"
	"github.com/cloudflare/circl/oprf"
)

// fullEvaluator computes RFC 9497 FullEvaluate for P256-SHA256 in
// verifiable mode, the keyed value of a stored record, several times
// faster than circl's generic path: hash-to-curve decompresses points with
// nistec's field square root instead of math/big exponentiations, and the
// scalar multiplication is nistec's. TestFastFullEvaluate checks it
// against circl and the RFC 9497 vectors.
//
//	FullEvaluate(input) = SHA-256(I2OSP(len(input), 2) || input ||
//	                              I2OSP(33, 2) || SerializeElement(k * HashToGroup(input)) || "Finalize")
//
// HashToGroup is hash_to_curve P256_XMD:SHA-256_SSWU_RO_ (RFC 9380) with
// DST "HashToGroup-OPRFV1-\x01-P256-SHA256".
type fullEvaluator struct {
	k []byte // the private scalar, 32 bytes big-endian
}

var (
	h2gDST = []byte("HashToGroup-OPRFV1-\x01-P256-SHA256")
	p256P  = mustHex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")
	p256B  = mustHex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b")
	sswuZ  = new(big.Int).Sub(p256P, big.NewInt(10)) // Z = -10
	// c1 = -B/A = B/3 mod p; c2 = B/(Z*A) = B/30 mod p.
	sswuC1 = new(big.Int).Mod(new(big.Int).Mul(p256B, new(big.Int).ModInverse(big.NewInt(3), p256P)), p256P)
	sswuC2 = new(big.Int).Mod(new(big.Int).Mul(p256B, new(big.Int).ModInverse(big.NewInt(30), p256P)), p256P)
)

func mustHex(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("bad constant")
	}
	return v
}

func newFullEvaluator(key *oprf.PrivateKey) (*fullEvaluator, error) {
	k, err := key.MarshalBinary()
	if err != nil || len(k) != 32 {
		return nil, errors.New("index: OPRF key is not a P-256 scalar")
	}
	return &fullEvaluator{k: k}, nil
}

var bigOne = big.NewInt(1)

// h2gDSTPrime is DST_prime of HashToGroup (RFC 9380 5.3.1): the DST and
// its length byte.
var h2gDSTPrime = append(append([]byte{}, h2gDST...), byte(len(h2gDST)))

// h2g holds the scratch space of hash-to-curve over batches, so that a
// worker hashing many inputs allocates nothing per input but the points.
// It is not safe for concurrent use.
type h2g struct {
	h       hash.Hash
	b0, bi  [32]byte
	q, r    big.Int // QuoRem scratch
	t       big.Int
	zu2, tv []big.Int // per map: Z·u², then Z²·u⁴ + Z·u² and its inverse
	prefix  []big.Int // running products of the batch inversion
	parity  []byte    // per map: sgn0(u)
}

func newH2G() *h2g { return &h2g{h: sha256.New()} }

// mulMod sets z = x·y mod p without allocating (z may alias x or y).
func (s *h2g) mulMod(z, x, y *big.Int) {
	s.t.Mul(x, y)
	s.q.QuoRem(&s.t, p256P, z)
}

// expandXMD writes expand_message_xmd with SHA-256 of msg under
// h2gDSTPrime into out (96 bytes, RFC 9380 5.3.1).
func (s *h2g) expandXMD(msg []byte, out *[96]byte) {
	var zpad [64]byte
	h := s.h
	h.Reset()
	h.Write(zpad[:])
	h.Write(msg)
	h.Write([]byte{0, 96, 0})
	h.Write(h2gDSTPrime)
	h.Sum(s.b0[:0])
	clear(s.bi[:])
	for i := 1; i <= 3; i++ {
		h.Reset()
		for j := range s.bi {
			s.bi[j] ^= s.b0[j] // b0 xor b(i-1); b0 itself for i = 1
		}
		h.Write(s.bi[:])
		h.Write([]byte{byte(i)})
		h.Write(h2gDSTPrime)
		h.Sum(s.bi[:0])
		copy(out[32*(i-1):], s.bi[:])
	}
}

// hashToGroup is hash_to_curve P256_XMD:SHA-256_SSWU_RO_ (RFC 9380) with
// the OPRF DST, for one input.
func hashToGroup(msg []byte) (*nistec.P256Point, error) {
	out := make([]*nistec.P256Point, 1)
	if err := newH2G().hashBatch([][]byte{msg}, out); err != nil {
		return nil, err
	}
	return out[0], nil
}

// hashBatch sets out[i] to hash_to_curve of msgs[i]. Each input needs two
// map_to_curve_simple_swu (RFC 9380 6.6.2) and each map one field
// inversion: the batch shares a single inversion between all of them
// (Montgomery's trick: three multiplications a map instead of an
// inversion). y is chosen through nistec's point decompression, whose
// compressed prefix selects the root whose parity is sgn0(u); when
// g(x1) is not a square the decompression of x1 fails and x2 = Z·u²·x1 is
// used, as the straight-line algorithm would.
func (s *h2g) hashBatch(msgs [][]byte, out []*nistec.P256Point) error {
	n := 2 * len(msgs)
	if cap(s.zu2) < n {
		s.zu2, s.tv, s.prefix, s.parity = make([]big.Int, n), make([]big.Int, n), make([]big.Int, n), make([]byte, n)
	}
	zu2, tv, prefix, parity := s.zu2[:n], s.tv[:n], s.prefix[:n], s.parity[:n]
	var b [96]byte
	// u, Z·u², and tv = Z²·u⁴ + Z·u², inverted below (zero stays zero).
	for i, msg := range msgs {
		s.expandXMD(msg, &b)
		for j := range 2 {
			k := 2*i + j
			u := &zu2[k]
			s.t.SetBytes(b[48*j : 48*j+48])
			s.q.QuoRem(&s.t, p256P, u)
			parity[k] = byte(u.Bit(0))
			s.mulMod(u, u, u)      // u²
			s.mulMod(u, sswuZ, u)  // Z·u²
			s.mulMod(&tv[k], u, u) // Z²·u⁴
			tv[k].Add(&tv[k], u)
			if tv[k].Cmp(p256P) >= 0 {
				tv[k].Sub(&tv[k], p256P)
			}
		}
	}
	s.invertNonZero(tv, prefix)
	var enc [33]byte
	var x1 big.Int
	for i := range msgs {
		var q [2]*nistec.P256Point
		for j := range 2 {
			k := 2*i + j
			if tv[k].Sign() == 0 {
				x1.Set(sswuC2)
			} else {
				x1.Add(&tv[k], bigOne) // 1 + 1/tv
				s.mulMod(&x1, sswuC1, &x1)
			}
			enc[0] = 2 | parity[k]
			x1.FillBytes(enc[1:])
			pt, err := nistec.NewP256Point().SetBytes(enc[:])
			if err != nil {
				s.mulMod(&x1, &zu2[k], &x1) // x2 = Z·u²·x1
				x1.FillBytes(enc[1:])
				if pt, err = nistec.NewP256Point().SetBytes(enc[:]); err != nil {
					return err
				}
			}
			q[j] = pt
		}
		out[i] = q[0].Add(q[0], q[1])
	}
	return nil
}

// invertNonZero replaces every non-zero v[k] (reduced mod p) by its
// inverse mod p with a single ModInverse (Montgomery's trick), using
// prefix (as long as v) for the running products; zeros stay zero.
func (s *h2g) invertNonZero(v, prefix []big.Int) {
	var acc *big.Int
	for k := range v {
		if v[k].Sign() == 0 {
			continue
		}
		if acc == nil {
			prefix[k].Set(&v[k])
		} else {
			s.mulMod(&prefix[k], acc, &v[k])
		}
		acc = &prefix[k]
	}
	if acc == nil {
		return
	}
	// Backwards: inv(v[k]) = inv(prefix[k]) · prefix[k'], k' the previous
	// non-zero entry, and inv(prefix[k']) = inv(prefix[k]) · v[k].
	var inv big.Int
	inv.ModInverse(acc, p256P)
	var prev int
	for k := len(v) - 1; k >= 0; k = prev {
		for prev = k - 1; prev >= 0 && v[prev].Sign() == 0; prev-- {
		}
		if v[k].Sign() == 0 {
			continue
		}
		if prev < 0 {
			v[k].Set(&inv)
			break
		}
		s.mulMod(&s.r, &inv, &prefix[prev])
		s.mulMod(&inv, &inv, &v[k])
		v[k].Set(&s.r)
	}
}

// evaluate returns FullEvaluate(input).
func (f *fullEvaluator) evaluate(input []byte) ([]byte, error) {
	out := make([][32]byte, 1)
	if err := f.evaluateBatch(newH2G(), [][]byte{input}, out); err != nil {
		return nil, err
	}
	return out[0][:], nil
}

// evaluateBatch sets out[i] to FullEvaluate(inputs[i]), hashing the
// inputs to the curve as one batch (h2g.hashBatch).
func (f *fullEvaluator) evaluateBatch(s *h2g, inputs [][]byte, out [][32]byte) error {
	for _, in := range inputs {
		if len(in) > 0xffff {
			return errors.New("OPRF input too long")
		}
	}
	pts := make([]*nistec.P256Point, len(inputs))
	if err := s.hashBatch(inputs, pts); err != nil {
		return err
	}
	var l [2]byte
	for i, pt := range pts {
		if pt.IsInfinity() == 1 {
			return errors.New("OPRF input hashes to the identity")
		}
		if _, err := pt.ScalarMult(pt, f.k); err != nil {
			return err
		}
		el := pt.BytesCompressed()
		h := s.h
		h.Reset()
		binary.BigEndian.PutUint16(l[:], uint16(len(inputs[i])))
		h.Write(l[:])
		h.Write(inputs[i])
		binary.BigEndian.PutUint16(l[:], uint16(len(el)))
		h.Write(l[:])
		h.Write(el)
		h.Write([]byte("Finalize"))
		h.Sum(out[i][:0])
	}
	return nil
}

// The server side of a verifiable evaluation (RFC 9497 3.3.2 BlindEvaluate
// and 2.2.1 GenerateProof with ComputeCompositesFast), on nistec as well.
// TestFastEvaluate checks it against the RFC 9497 vectors (elements and
// proofs, given the vector's proof randomness) and against circl's client.

var (
	p256N        = mustHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
	contextStr   = "OPRFV1-\x01-P256-SHA256"
	seedDST      = []byte("Seed-" + contextStr)
	h2sDST       = []byte("HashToScalar-" + contextStr)
	errBadPoint  = errors.New("not a compressed P-256 point")
	errBadScalar = errors.New("scalar out of range")
)

// hashToScalar is HashToScalar for P256-SHA256: hash_to_field with
// expand_message_xmd (48 bytes) reduced modulo the group order.
func hashToScalar(msg []byte) [32]byte {
	b := expandXMD48(msg, h2sDST)
	v := new(big.Int).SetBytes(b[:])
	v.Mod(v, p256N)
	var out [32]byte
	v.FillBytes(out[:])
	return out
}

// expandXMD48 is expand_message_xmd with SHA-256 for 48 bytes.
func expandXMD48(msg, dst []byte) [48]byte {
	dstPrime := append(append([]byte{}, dst...), byte(len(dst)))
	h := sha256.New()
	var zpad [64]byte
	h.Write(zpad[:])
	h.Write(msg)
	h.Write([]byte{0, 48, 0})
	h.Write(dstPrime)
	b0 := h.Sum(nil)
	h.Reset()
	h.Write(b0)
	h.Write([]byte{1})
	h.Write(dstPrime)
	b1 := h.Sum(nil)
	var x [32]byte
	for j := range x {
		x[j] = b0[j] ^ b1[j]
	}
	h.Reset()
	h.Write(x[:])
	h.Write([]byte{2})
	h.Write(dstPrime)
	b2 := h.Sum(nil)
	var out [48]byte
	copy(out[:], b1)
	copy(out[32:], b2[:16])
	return out
}

func appendLen(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// fastServer evaluates blinded elements with the key k (32 bytes) and
// proves it with a DLEQ proof against the public key pk (compressed).
type fastServer struct {
	k    []byte
	kInt *big.Int
	pk   []byte
}

func newFastServer(key *oprf.PrivateKey) (*fastServer, error) {
	k, err := key.MarshalBinary()
	if err != nil || len(k) != 32 {
		return nil, errors.New("index: OPRF key is not a P-256 scalar")
	}
	pk, err := nistec.NewP256Point().ScalarBaseMult(k)
	if err != nil {
		return nil, err
	}
	return &fastServer{k: k, kInt: new(big.Int).SetBytes(k), pk: pk.BytesCompressed()}, nil
}

// evaluate returns the evaluated elements (compressed) of the blinded
// elements (compressed, validated here) and the proof c || s. r is the
// proof randomness (32 bytes, < n); nil draws it at random.
func (f *fastServer) evaluate(blinded [][]byte, r []byte) (evals [][]byte, proof []byte, err error) {
	cs := make([]*nistec.P256Point, len(blinded))
	evals = make([][]byte, len(blinded))
	for i, b := range blinded {
		if len(b) != 33 {
			return nil, nil, errBadPoint
		}
		if cs[i], err = nistec.NewP256Point().SetBytes(b); err != nil {
			return nil, nil, errBadPoint
		}
		d, err := nistec.NewP256Point().ScalarMult(cs[i], f.k)
		if err != nil {
			return nil, nil, err
		}
		evals[i] = d.BytesCompressed()
	}
	// ComputeCompositesFast.
	seedT := appendLen(nil, f.pk)
	seedT = appendLen(seedT, seedDST)
	seed := sha256.Sum256(seedT)
	ds := make([][32]byte, len(cs))
	var t []byte
	for i := range cs {
		t = appendLen(t[:0], seed[:])
		t = binary.BigEndian.AppendUint16(t, uint16(i))
		t = appendLen(t, blinded[i])
		t = appendLen(t, evals[i])
		t = append(t, "Composite"...)
		ds[i] = hashToScalar(t)
	}
	// M = Σ d_i·C_i: public scalars and points, one multi-scalar
	// multiplication (private_msm.go) instead of m.
	m := multiScalarMult(cs, ds)
	z, err := nistec.NewP256Point().ScalarMult(m, f.k)
	if err != nil {
		return nil, nil, err
	}
	// GenerateProof.
	var rb [32]byte
	if r != nil {
		if len(r) != 32 || new(big.Int).SetBytes(r).Cmp(p256N) >= 0 {
			return nil, nil, errBadScalar
		}
		copy(rb[:], r)
	} else {
		var wide [48]byte
		if _, err := rand.Read(wide[:]); err != nil {
			return nil, nil, err
		}
		new(big.Int).Mod(new(big.Int).SetBytes(wide[:]), p256N).FillBytes(rb[:])
	}
	t2, err := nistec.NewP256Point().ScalarBaseMult(rb[:])
	if err != nil {
		return nil, nil, err
	}
	t3, err := nistec.NewP256Point().ScalarMult(m, rb[:])
	if err != nil {
		return nil, nil, err
	}
	t = appendLen(t[:0], f.pk)
	t = appendLen(t, m.BytesCompressed())
	t = appendLen(t, z.BytesCompressed())
	t = appendLen(t, t2.BytesCompressed())
	t = appendLen(t, t3.BytesCompressed())
	t = append(t, "Challenge"...)
	c := hashToScalar(t)
	s := new(big.Int).Mul(new(big.Int).SetBytes(c[:]), f.kInt)
	s.Sub(new(big.Int).SetBytes(rb[:]), s)
	s.Mod(s, p256N)
	proof = make([]byte, 64)
	copy(proof, c[:])
	s.FillBytes(proof[32:])
	return evals, proof, nil
}

// PrivateClient is the client side of a private lookup (RFC 9497 VOPRF,
// P256-SHA256) on nistec: Blind, then Finalize, which verifies the
// server's DLEQ proof against the published key before unblinding.
// TestPrivateClient checks it against the RFC 9497 vectors and circl's
// server. It is safe for concurrent use.
type PrivateClient struct {
	pk []byte // compressed public key
	pt *nistec.P256Point
}

// PrivateBlinding holds what Finalize needs from Blind. It holds the
// inputs: keep it in memory only.
type PrivateBlinding struct {
	inputs  [][]byte
	blinds  [][32]byte
	blinded [][]byte
}

// NewPrivateClient returns a client for the compressed public key pk
// (GET /v1/private/key).
func NewPrivateClient(pk []byte) (*PrivateClient, error) {
	if len(pk) != 33 {
		return nil, errBadPoint
	}
	pt, err := nistec.NewP256Point().SetBytes(pk)
	if err != nil {
		return nil, errBadPoint
	}
	return &PrivateClient{pk: append([]byte(nil), pk...), pt: pt}, nil
}

// Blind blinds inputs with fresh random scalars and returns the blinded
// elements (compressed points) to send.
func (c *PrivateClient) Blind(inputs [][]byte) (*PrivateBlinding, [][]byte, error) {
	return c.blind(inputs, nil)
}

// blind is Blind with given scalars (tests).
func (c *PrivateClient) blind(inputs [][]byte, blinds [][32]byte) (*PrivateBlinding, [][]byte, error) {
	b := &PrivateBlinding{inputs: inputs, blinds: make([][32]byte, len(inputs)), blinded: make([][]byte, len(inputs))}
	for i, in := range inputs {
		if blinds != nil {
			b.blinds[i] = blinds[i]
		} else {
			var wide [48]byte
			for {
				if _, err := rand.Read(wide[:]); err != nil {
					return nil, nil, err
				}
				v := new(big.Int).Mod(new(big.Int).SetBytes(wide[:]), p256N)
				if v.Sign() != 0 {
					v.FillBytes(b.blinds[i][:])
					break
				}
			}
		}
		p, err := hashToGroup(in)
		if err != nil {
			return nil, nil, err
		}
		if _, err := p.ScalarMult(p, b.blinds[i][:]); err != nil {
			return nil, nil, err
		}
		b.blinded[i] = p.BytesCompressed()
	}
	return b, b.blinded, nil
}

// ErrPrivateProof is returned by Finalize when the server's proof does not
// verify against the published key.
var ErrPrivateProof = errors.New("index: the evaluation's proof does not verify against the published key")

// Finalize verifies the proof of the evaluated elements (compressed
// points, one per blinded element) and returns the OPRF outputs.
func (c *PrivateClient) Finalize(b *PrivateBlinding, evals [][]byte, proof []byte) ([][]byte, error) {
	if len(evals) != len(b.blinded) || len(proof) != 64 {
		return nil, ErrPrivateProof
	}
	cScalar, sScalar := proof[:32], proof[32:]
	if new(big.Int).SetBytes(cScalar).Cmp(p256N) >= 0 || new(big.Int).SetBytes(sScalar).Cmp(p256N) >= 0 {
		return nil, ErrPrivateProof
	}
	ds := make([]*nistec.P256Point, len(evals))
	cs := make([]*nistec.P256Point, len(evals))
	dis := make([][32]byte, len(evals))
	seedT := appendLen(nil, c.pk)
	seedT = appendLen(seedT, seedDST)
	seed := sha256.Sum256(seedT)
	var t []byte
	for i := range evals {
		if len(evals[i]) != 33 {
			return nil, ErrPrivateProof
		}
		var err error
		if ds[i], err = nistec.NewP256Point().SetBytes(evals[i]); err != nil {
			return nil, ErrPrivateProof
		}
		if cs[i], err = nistec.NewP256Point().SetBytes(b.blinded[i]); err != nil {
			return nil, err
		}
		t = appendLen(t[:0], seed[:])
		t = binary.BigEndian.AppendUint16(t, uint16(i))
		t = appendLen(t, b.blinded[i])
		t = appendLen(t, evals[i])
		t = append(t, "Composite"...)
		dis[i] = hashToScalar(t)
	}
	// M = Σ d_i·C_i and Z = Σ d_i·D_i: public scalars and points, so
	// variable-time multi-scalar multiplications (private_msm.go).
	m := multiScalarMult(cs, dis)
	z := multiScalarMult(ds, dis)
	// t2 = s*G + c*pk, t3 = s*M + c*Z (public scalars too).
	t2, err := nistec.NewP256Point().ScalarBaseMult(sScalar)
	if err != nil {
		return nil, err
	}
	cpk, err := nistec.NewP256Point().ScalarMult(c.pt, cScalar)
	if err != nil {
		return nil, err
	}
	t2.Add(t2, cpk)
	t3 := multiScalarMult([]*nistec.P256Point{m, z}, [][32]byte{[32]byte(sScalar), [32]byte(cScalar)})
	t = appendLen(t[:0], c.pk)
	t = appendLen(t, m.BytesCompressed())
	t = appendLen(t, z.BytesCompressed())
	t = appendLen(t, t2.BytesCompressed())
	t = appendLen(t, t3.BytesCompressed())
	t = append(t, "Challenge"...)
	if want := hashToScalar(t); !bytes.Equal(want[:], cScalar) {
		return nil, ErrPrivateProof
	}
	outs := make([][]byte, len(evals))
	for i := range evals {
		inv := new(big.Int).ModInverse(new(big.Int).SetBytes(b.blinds[i][:]), p256N)
		var ib [32]byte
		inv.FillBytes(ib[:])
		n, err := ds[i].ScalarMult(ds[i], ib[:])
		if err != nil {
			return nil, err
		}
		el := n.BytesCompressed()
		h := sha256.New()
		var l [2]byte
		binary.BigEndian.PutUint16(l[:], uint16(len(b.inputs[i])))
		h.Write(l[:])
		h.Write(b.inputs[i])
		binary.BigEndian.PutUint16(l[:], uint16(len(el)))
		h.Write(l[:])
		h.Write(el)
		h.Write([]byte("Finalize"))
		outs[i] = h.Sum(nil)
	}
	return outs, nil
}
