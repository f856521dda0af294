package index

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// rfcVector is the JSON shape of the RFC 9497 appendix A test vectors in
// testdata/rfc9497-p256.json (the P256-SHA256 OPRF and VOPRF sections).
type rfcVector struct {
	Identifier string `json:"identifier"`
	Mode       uint8  `json:"mode"`
	PkSm       string `json:"pkSm"`
	SkSm       string `json:"skSm"`
	Seed       string `json:"seed"`
	KeyInfo    string `json:"keyInfo"`
	Vectors    []struct {
		Batch             int    `json:"Batch"`
		Blind             string `json:"Blind"`
		BlindedElement    string `json:"BlindedElement"`
		EvaluationElement string `json:"EvaluationElement"`
		Input             string `json:"Input"`
		Output            string `json:"Output"`
		Proof             struct {
			Proof string `json:"proof"`
			R     string `json:"r"`
		} `json:"Proof"`
	} `json:"vectors"`
}

func unhexList(t *testing.T, s string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range strings.Split(s, ",") {
		b, err := hex.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrivateRFC9497Vectors checks the suite private lookups use against
// the RFC 9497 test vectors: key derivation, blinding, evaluation, the
// RFC's DLEQ proofs (verified by the client), and FullEvaluate, the
// server-side function that computes stored keyed values.
func TestPrivateRFC9497Vectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc9497-p256.json")
	if err != nil {
		t.Fatal(err)
	}
	var suites []rfcVector
	if err := json.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	if len(suites) != 2 {
		t.Fatalf("want the OPRF and VOPRF P256-SHA256 sections, got %d", len(suites))
	}
	for _, sv := range suites {
		if sv.Identifier != PrivateSuite.Identifier() {
			t.Fatalf("vectors for %s, suite is %s", sv.Identifier, PrivateSuite.Identifier())
		}
		key, err := oprf.DeriveKey(PrivateSuite, sv.Mode, unhex(t, sv.Seed), unhex(t, sv.KeyInfo))
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := key.MarshalBinary()
		if hex.EncodeToString(sk) != sv.SkSm {
			t.Fatalf("mode %d: derived skSm %x, want %s", sv.Mode, sk, sv.SkSm)
		}
		if sv.Mode == oprf.VerifiableMode {
			pk, _ := key.Public().MarshalBinary()
			if hex.EncodeToString(pk) != sv.PkSm {
				t.Fatalf("derived pkSm %x, want %s", pk, sv.PkSm)
			}
		}
		for i, v := range sv.Vectors {
			t.Run(fmt.Sprintf("mode%d/%d", sv.Mode, i), func(t *testing.T) {
				inputs := unhexList(t, v.Input)
				g := PrivateSuite.Group()
				var blinds []oprf.Blind
				for _, b := range unhexList(t, v.Blind) {
					s := g.NewScalar()
					if err := s.UnmarshalBinary(b); err != nil {
						t.Fatal(err)
					}
					blinds = append(blinds, s)
				}
				var srvEval func(*oprf.EvaluationRequest) (*oprf.Evaluation, error)
				var full func([]byte) ([]byte, error)
				var fin func(*oprf.FinalizeData, *oprf.Evaluation) ([][]byte, error)
				var blind func([][]byte, []oprf.Blind) (*oprf.FinalizeData, *oprf.EvaluationRequest, error)
				if sv.Mode == oprf.VerifiableMode {
					c := oprf.NewVerifiableClient(PrivateSuite, key.Public())
					s := oprf.NewVerifiableServer(PrivateSuite, key)
					blind, fin, srvEval, full = c.DeterministicBlind, c.Finalize, s.Evaluate, s.FullEvaluate
				} else {
					c := oprf.NewClient(PrivateSuite)
					s := oprf.NewServer(PrivateSuite, key)
					blind, fin, srvEval, full = c.DeterministicBlind, c.Finalize, s.Evaluate, s.FullEvaluate
				}
				fd, req, err := blind(inputs, blinds)
				if err != nil {
					t.Fatal(err)
				}
				wantBlinded := unhexList(t, v.BlindedElement)
				for j, e := range req.Elements {
					b, _ := e.MarshalBinaryCompress()
					if !bytes.Equal(b, wantBlinded[j]) {
						t.Fatalf("blinded element %d: %x, want %x", j, b, wantBlinded[j])
					}
				}
				ev, err := srvEval(req)
				if err != nil {
					t.Fatal(err)
				}
				wantEval := unhexList(t, v.EvaluationElement)
				for j, e := range ev.Elements {
					b, _ := e.MarshalBinaryCompress()
					if !bytes.Equal(b, wantEval[j]) {
						t.Fatalf("evaluation %d: %x, want %x", j, b, wantEval[j])
					}
				}
				wantOut := unhexList(t, v.Output)
				if sv.Mode == oprf.VerifiableMode {
					// The RFC's own proof, with the RFC's elements, must
					// verify; a proof with one bit flipped must not.
					rfcEval := &oprf.Evaluation{Proof: new(dleq.Proof)}
					for _, b := range wantEval {
						e := g.NewElement()
						if err := e.UnmarshalBinary(b); err != nil {
							t.Fatal(err)
						}
						rfcEval.Elements = append(rfcEval.Elements, e)
					}
					if err := rfcEval.Proof.UnmarshalBinary(g, unhex(t, v.Proof.Proof)); err != nil {
						t.Fatal(err)
					}
					if _, err := fin(fd, rfcEval); err != nil {
						t.Fatalf("the RFC proof does not verify: %v", err)
					}
					bad := unhex(t, v.Proof.Proof)
					bad[40] ^= 1
					badEval := &oprf.Evaluation{Elements: rfcEval.Elements, Proof: new(dleq.Proof)}
					if err := badEval.Proof.UnmarshalBinary(g, bad); err == nil {
						if _, err := fin(fd, badEval); err == nil {
							t.Fatal("a corrupted proof verified")
						}
					}
				}
				outs, err := fin(fd, ev)
				if err != nil {
					t.Fatal(err)
				}
				for j := range outs {
					if !bytes.Equal(outs[j], wantOut[j]) {
						t.Fatalf("output %d: %x, want %x", j, outs[j], wantOut[j])
					}
					o, err := full(inputs[j])
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(o, wantOut[j]) {
						t.Fatalf("FullEvaluate %d: %x, want %x", j, o, wantOut[j])
					}
				}
			})
		}
	}
}

func TestPrivateBits(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want int
	}{{0, 0}, {1, 0}, {500, 0}, {501, 1}, {1000, 1}, {1001, 2}, {10_000_000, 15}, {1 << 40, 24}} {
		if got := PrivateBits(tc.n); got != tc.want {
			t.Errorf("PrivateBits(%d) = %d, want %d", tc.n, got, tc.want)
		}
		if tc.n > 500 && tc.want < 24 {
			if mean := float64(tc.n) / float64(uint64(1)<<tc.want); mean < 250 || mean > 500 {
				t.Errorf("PrivateBits(%d): %.0f records a bucket", tc.n, mean)
			}
		}
	}
}

// privLookup is an independent client: SHA-256 bucket computed here, the
// circl verifiable client against the index's published key.
func privLookup(t *testing.T, ix *Index, k Kind, inputs [][]byte) (found [][]BreachID) {
	t.Helper()
	info, err := ix.PrivateKeyInfo()
	if err != nil {
		t.Fatal(err)
	}
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(PrivateSuite, info.PublicKey); err != nil {
		t.Fatal(err)
	}
	c := oprf.NewVerifiableClient(PrivateSuite, pub)
	bits := info.Bits[k]
	for _, in := range inputs {
		fd, req, err := c.Blind([][]byte{in})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(in)
		prefix := uint32(0)
		if bits > 0 {
			prefix = binary.BigEndian.Uint32(sum[:4]) >> (32 - bits)
		}
		el, _ := req.Elements[0].MarshalBinaryCompress()
		ans, err := ix.PrivateEvaluate(k, prefix, bits, [][]byte{el})
		if err != nil {
			t.Fatal(err)
		}
		g := PrivateSuite.Group()
		ev := &oprf.Evaluation{Proof: new(dleq.Proof)}
		for _, b := range ans.Evaluated {
			e := g.NewElement()
			if err := e.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			ev.Elements = append(ev.Elements, e)
		}
		if err := ev.Proof.UnmarshalBinary(g, ans.Proof); err != nil {
			t.Fatal(err)
		}
		outs, err := c.Finalize(fd, ev)
		if err != nil {
			t.Fatal(err)
		}
		var ids []BreachID
		for _, e := range ans.Bucket {
			if bytes.Equal(e.Value[:], outs[0][:PrivateValueLen]) {
				ids = e.Breaches
			}
		}
		found = append(found, ids)
	}
	return found
}

func bucketValues(t *testing.T, ix *Index, k Kind, in []byte) [][PrivateValueLen]byte {
	t.Helper()
	info, err := ix.PrivateKeyInfo()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(in)
	prefix := uint32(0)
	if b := info.Bits[k]; b > 0 {
		prefix = binary.BigEndian.Uint32(sum[:4]) >> (32 - b)
	}
	ans, err := ix.PrivateEvaluate(k, prefix, info.Bits[k], nil)
	if err != nil {
		t.Fatal(err)
	}
	var out [][PrivateValueLen]byte
	for _, e := range ans.Bucket {
		out = append(out, e.Value)
	}
	return out
}

func TestPrivateDeriveAndRotate(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	st, err := os.Stat(filepath.Join(dir, "oprf.key"))
	if err != nil {
		t.Fatalf("no key at index creation: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("oprf.key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := ix.PrivateEvaluate(KindEmail, 0, 0, nil); err != nil {
		t.Fatalf("empty index: %v", err)
	}
	// 1,200 e-mail addresses in two breaches, 40 credential pairs in one.
	var emails, creds []Hash
	for i := range 1200 {
		emails = append(emails, Hash(sha1.Sum(fmt.Appendf(nil, "user%d@example.fr", i))))
	}
	for i := range 40 {
		creds = append(creds, Hash(sha1.Sum(fmt.Appendf(nil, "user%d@example.fr\x00hunter%d", i, i))))
	}
	for bi, name := range []string{"A", "B"} {
		b, err := ix.NewBreachBuilder(Breach{Name: name}, BuildOptions{SourceID: name})
		if err != nil {
			t.Fatal(err)
		}
		for i := range emails {
			if i%2 == bi || i < 10 {
				if err := b.AddIdentifier(KindEmail, &emails[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if bi == 0 {
			for i := range creds {
				if err := b.AddIdentifier(KindCredential, &creds[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := b.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.PrivateEvaluate(KindEmail, 0, 0, nil); !errors.Is(err, ErrNoPrivate) {
		t.Fatalf("before DerivePrivate: err %v, want ErrNoPrivate", err)
	}
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	info, err := ix.PrivateKeyInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Bits[KindEmail] != 2 || info.Records[KindEmail] != 1200 || info.Bits[KindCredential] != 0 || info.Records[KindCredential] != 40 {
		t.Fatalf("key info %+v", info)
	}
	a, _ := ix.BreachByName("A")
	bb, _ := ix.BreachByName("B")
	absent := sha1.Sum([]byte("absent@example.fr"))
	probe := [][]byte{emails[0][:], emails[11][:], emails[12][:], absent[:]}
	want := [][]BreachID{{a.ID, bb.ID}, {bb.ID}, {a.ID}, nil}
	if got := privLookup(t, ix, KindEmail, probe); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("e-mail lookups %v, want %v", got, want)
	}
	c0 := sha1.Sum([]byte("user3@example.fr\x00hunter3"))
	cWrong := sha1.Sum([]byte("user3@example.fr\x00hunter4"))
	if got := privLookup(t, ix, KindCredential, [][]byte{c0[:], cWrong[:]}); !slices.EqualFunc(got, [][]BreachID{{a.ID}, nil}, slices.Equal) {
		t.Fatalf("credential lookups %v", got)
	}
	if n := ix.privEvaluated.Load(); n != 1240 {
		t.Fatalf("first derivation evaluated %d values, want 1240", n)
	}
	// A new breach with 10 new addresses and 5 known ones: only the 10
	// new records are evaluated, the others' values are reused.
	bc, err := ix.NewBreachBuilder(Breach{Name: "C"}, BuildOptions{SourceID: "C"})
	if err != nil {
		t.Fatal(err)
	}
	var fresh []Hash
	for i := range 10 {
		fresh = append(fresh, Hash(sha1.Sum(fmt.Appendf(nil, "new%d@example.fr", i))))
		if err := bc.AddIdentifier(KindEmail, &fresh[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 100; i < 105; i++ {
		if err := bc.AddIdentifier(KindEmail, &emails[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bc.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ix.privEvaluated.Load() - 1240; n != 10 {
		t.Fatalf("incremental derivation evaluated %d values, want 10", n)
	}
	c, _ := ix.BreachByName("C")
	if got := privLookup(t, ix, KindEmail, [][]byte{fresh[3][:], emails[100][:], emails[101][:]}); !slices.EqualFunc(got, [][]BreachID{{c.ID}, {a.ID, c.ID}, {bb.ID, c.ID}}, slices.Equal) {
		t.Fatalf("after the incremental derivation: %v", got)
	}
	// A second derivation changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "oprf.key"))
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "oprf.key")); !bytes.Equal(before, after) {
		t.Fatal("a no-op derivation rewrote oprf.key")
	}
	oldVals := bucketValues(t, ix, KindEmail, emails[0][:])
	evaluated := ix.privEvaluated.Load()
	if err := ix.RotatePrivateKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ix.privEvaluated.Load() - evaluated; n != 1250 {
		t.Fatalf("rotation evaluated %d values, want all 1250", n)
	}
	info2, err := ix.PrivateKeyInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info2.KeyID == info.KeyID || bytes.Equal(info2.PublicKey, info.PublicKey) {
		t.Fatal("rotation kept the key")
	}
	newVals := bucketValues(t, ix, KindEmail, emails[0][:])
	if len(newVals) != len(oldVals) {
		t.Fatalf("bucket sizes %d and %d", len(oldVals), len(newVals))
	}
	for _, v := range newVals {
		if slices.Contains(oldVals, v) {
			t.Fatal("a keyed value survived the rotation")
		}
	}
	if got := privLookup(t, ix, KindEmail, probe); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("after rotation: e-mail lookups %v, want %v", got, want)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "private"))
	if len(ents) != 4 {
		t.Fatalf("private/ holds %d files after rotation, want 4 (e-mail and credential artefacts and sidecars)", len(ents))
	}
	// A reopened index serves the rotated key.
	ix.Close()
	ro, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := privLookup(t, ro, KindEmail, probe); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("reopened: e-mail lookups %v, want %v", got, want)
	}
}

// TestFastFullEvaluate checks the nistec-based FullEvaluate that derives
// stored keyed values against circl's and against the RFC 9497 outputs.
func TestFastFullEvaluate(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc9497-p256.json")
	if err != nil {
		t.Fatal(err)
	}
	var suites []rfcVector
	if err := json.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	for _, sv := range suites {
		if sv.Mode != oprf.VerifiableMode {
			continue
		}
		key, err := oprf.DeriveKey(PrivateSuite, sv.Mode, unhex(t, sv.Seed), unhex(t, sv.KeyInfo))
		if err != nil {
			t.Fatal(err)
		}
		fe, err := newFullEvaluator(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range sv.Vectors {
			ins, outs := unhexList(t, v.Input), unhexList(t, v.Output)
			for i := range ins {
				got, err := fe.evaluate(ins[i])
				if err != nil || !bytes.Equal(got, outs[i]) {
					t.Fatalf("input %x: %x (%v), want %x", ins[i], got, err, outs[i])
				}
			}
		}
	}
	for range 3 {
		key, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		fe, _ := newFullEvaluator(key)
		srv := oprf.NewVerifiableServer(PrivateSuite, key)
		for i := range 40 {
			in := make([]byte, i%25)
			rand.Read(in)
			want, err := srv.FullEvaluate(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fe.evaluate(in)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("input %x: %x (%v), circl says %x", in, got, err, want)
			}
		}
	}
}

// TestFastEvaluate checks the nistec-based BlindEvaluate and proof: the
// RFC 9497 VOPRF vectors reproduce exactly (with the vector's proof
// randomness), circl's verifiable client accepts its answers and gets the
// FullEvaluate outputs, and bad points are refused.
func TestFastEvaluate(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc9497-p256.json")
	if err != nil {
		t.Fatal(err)
	}
	var suites []rfcVector
	if err := json.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sv := range suites {
		if sv.Mode != oprf.VerifiableMode {
			continue
		}
		key, err := oprf.DeriveKey(PrivateSuite, sv.Mode, unhex(t, sv.Seed), unhex(t, sv.KeyInfo))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := newFastServer(key)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(fs.pk) != sv.PkSm {
			t.Fatalf("public key %x, want %s", fs.pk, sv.PkSm)
		}
		for i, v := range sv.Vectors {
			evals, proof, err := fs.evaluate(unhexList(t, v.BlindedElement), unhex(t, v.Proof.R))
			if err != nil {
				t.Fatal(err)
			}
			want := unhexList(t, v.EvaluationElement)
			for j := range evals {
				if !bytes.Equal(evals[j], want[j]) {
					t.Fatalf("vector %d element %d: %x, want %x", i, j, evals[j], want[j])
				}
			}
			if hex.EncodeToString(proof) != v.Proof.Proof {
				t.Fatalf("vector %d proof %x, want %s", i, proof, v.Proof.Proof)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no VOPRF vector")
	}
	key, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newFastServer(key)
	fe, _ := newFullEvaluator(key)
	c := oprf.NewVerifiableClient(PrivateSuite, key.Public())
	g := PrivateSuite.Group()
	for _, batch := range []int{1, 2, 7, 64} {
		inputs := make([][]byte, batch)
		for i := range inputs {
			inputs[i] = make([]byte, 20)
			rand.Read(inputs[i])
		}
		if batch > 2 {
			inputs[2] = inputs[1] // a repeated input (blinded differently)
		}
		fd, req, err := c.Blind(inputs)
		if err != nil {
			t.Fatal(err)
		}
		var blinded [][]byte
		for _, e := range req.Elements {
			b, _ := e.MarshalBinaryCompress()
			blinded = append(blinded, b)
		}
		evals, proof, err := fs.evaluate(blinded, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev := &oprf.Evaluation{Proof: new(dleq.Proof)}
		for _, b := range evals {
			e := g.NewElement()
			if err := e.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			ev.Elements = append(ev.Elements, e)
		}
		if err := ev.Proof.UnmarshalBinary(g, proof); err != nil {
			t.Fatal(err)
		}
		outs, err := c.Finalize(fd, ev)
		if err != nil {
			t.Fatalf("batch %d: circl rejects the proof: %v", batch, err)
		}
		for i := range outs {
			want, _ := fe.evaluate(inputs[i])
			if !bytes.Equal(outs[i], want) {
				t.Fatalf("batch %d output %d differs from FullEvaluate", batch, i)
			}
		}
		// Another key's proof must not verify.
		other, _ := oprf.GenerateKey(PrivateSuite, rand.Reader)
		ofs, _ := newFastServer(other)
		oevals, oproof, _ := ofs.evaluate(blinded, nil)
		oev := &oprf.Evaluation{Proof: new(dleq.Proof)}
		for _, b := range oevals {
			e := g.NewElement()
			e.UnmarshalBinary(b)
			oev.Elements = append(oev.Elements, e)
		}
		oev.Proof.UnmarshalBinary(g, oproof)
		if _, err := c.Finalize(fd, oev); err == nil {
			t.Fatal("an evaluation under another key verified")
		}
	}
	xIsP := append([]byte{2}, unhex(t, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")...)
	for _, bad := range [][]byte{nil, {0}, xIsP, append([]byte{4}, make([]byte, 32)...)} {
		if _, _, err := fs.evaluate([][]byte{bad}, nil); err == nil {
			t.Errorf("accepted %x", bad)
		}
	}
}

// TestPrivateClient checks the nistec client: the RFC 9497 VOPRF vectors
// (blinded elements from the vector's blinds, outputs from the vector's
// evaluations and proofs), circl's server as the other side, and the
// refusal of proofs made with another key or altered.
func TestPrivateClient(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc9497-p256.json")
	if err != nil {
		t.Fatal(err)
	}
	var suites []rfcVector
	if err := json.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	for _, sv := range suites {
		if sv.Mode != oprf.VerifiableMode {
			continue
		}
		c, err := NewPrivateClient(unhex(t, sv.PkSm))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range sv.Vectors {
			var blinds [][32]byte
			for _, b := range unhexList(t, v.Blind) {
				blinds = append(blinds, [32]byte(b))
			}
			st, blinded, err := c.blind(unhexList(t, v.Input), blinds)
			if err != nil {
				t.Fatal(err)
			}
			for j, b := range unhexList(t, v.BlindedElement) {
				if !bytes.Equal(blinded[j], b) {
					t.Fatalf("vector %d: blinded %x, want %x", i, blinded[j], b)
				}
			}
			outs, err := c.Finalize(st, unhexList(t, v.EvaluationElement), unhex(t, v.Proof.Proof))
			if err != nil {
				t.Fatalf("vector %d: %v", i, err)
			}
			for j, o := range unhexList(t, v.Output) {
				if !bytes.Equal(outs[j], o) {
					t.Fatalf("vector %d: output %x, want %x", i, outs[j], o)
				}
			}
			bad := unhex(t, v.Proof.Proof)
			bad[63] ^= 1
			if _, err := c.Finalize(st, unhexList(t, v.EvaluationElement), bad); err == nil {
				t.Fatalf("vector %d: an altered proof verified", i)
			}
		}
	}
	key, _ := oprf.GenerateKey(PrivateSuite, rand.Reader)
	pk, _ := key.Public().MarshalBinary()
	c, err := NewPrivateClient(pk)
	if err != nil {
		t.Fatal(err)
	}
	srv := oprf.NewVerifiableServer(PrivateSuite, key)
	g := PrivateSuite.Group()
	inputs := [][]byte{[]byte("a"), make([]byte, 20), []byte("user@example.fr")}
	for i := range 40 { // a batch the size the audit client sends
		inputs = append(inputs, []byte(fmt.Sprintf("user%d@example.fr", i)))
	}
	st, blinded, err := c.Blind(inputs)
	if err != nil {
		t.Fatal(err)
	}
	req := &oprf.EvaluationRequest{}
	for _, b := range blinded {
		e := g.NewElement()
		if err := e.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		req.Elements = append(req.Elements, e)
	}
	ev, err := srv.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	var evals [][]byte
	for _, e := range ev.Elements {
		b, _ := e.MarshalBinaryCompress()
		evals = append(evals, b)
	}
	proof, _ := ev.Proof.MarshalBinary()
	outs, err := c.Finalize(st, evals, proof)
	if err != nil {
		t.Fatalf("circl's proof: %v", err)
	}
	for i := range inputs {
		want, _ := srv.FullEvaluate(inputs[i])
		if !bytes.Equal(outs[i], want) {
			t.Fatalf("output %d differs from circl's FullEvaluate", i)
		}
	}
	other, _ := oprf.GenerateKey(PrivateSuite, rand.Reader)
	ofs, _ := newFastServer(other)
	oevals, oproof, _ := ofs.evaluate(blinded, nil)
	if _, err := c.Finalize(st, oevals, oproof); !errors.Is(err, ErrPrivateProof) {
		t.Fatalf("another key's evaluation: %v, want ErrPrivateProof", err)
	}
}

// TestPrivateInterruptedDerivation simulates what a crash leaves: a
// half-written artefact, a stray key temp file, an artefact of another
// key, and a live artefact deleted. The next derivation completes the
// state: leftovers removed, the missing artefact rebuilt, lookups right.
func TestPrivateInterruptedDerivation(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	var emails []Hash
	b, err := ix.NewBreachBuilder(Breach{Name: "A"}, BuildOptions{SourceID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		emails = append(emails, Hash(sha1.Sum(fmt.Appendf(nil, "u%d@example.fr", i))))
		if err := b.AddIdentifier(KindEmail, &emails[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	pdir := filepath.Join(dir, "private")
	ents, _ := os.ReadDir(pdir)
	var live string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".opr") {
			live = e.Name()
		}
	}
	if live == "" {
		t.Fatal("no artefact")
	}
	for _, junk := range []string{live + ".tmp", "email-99999999-0123456789abcdef.opr", "email-99999999-0123456789abcdef.vals"} {
		os.WriteFile(filepath.Join(pdir, junk), []byte("half"), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "oprf.key.tmp"), []byte("{"), 0o600)
	if err := os.Remove(filepath.Join(pdir, live)); err != nil {
		t.Fatal(err)
	}
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ents, _ = os.ReadDir(pdir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	if want := []string{live, strings.TrimSuffix(live, ".opr") + ".vals"}; !slices.Equal(names, want) {
		t.Fatalf("private/ holds %v, want %v", names, want)
	}
	a, _ := ix.BreachByName("A")
	absent := sha1.Sum([]byte("absent@example.fr"))
	if got := privLookup(t, ix, KindEmail, [][]byte{emails[7][:], absent[:]}); !slices.EqualFunc(got, [][]BreachID{{a.ID}, nil}, slices.Equal) {
		t.Fatalf("lookups after recovery: %v", got)
	}
	// The stray oprf.key.tmp does not matter: the next write replaces it.
	if err := ix.RotatePrivateKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oprf.key.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("oprf.key.tmp after a rotation: %v", err)
	}
}

// TestFastFullEvaluateBatches checks the batched derivation (one shared
// inversion a batch) against circl's FullEvaluate for batches of several
// sizes, each value in its place.
func TestFastFullEvaluateBatches(t *testing.T) {
	key, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fe, err := newFullEvaluator(key)
	if err != nil {
		t.Fatal(err)
	}
	srv := oprf.NewVerifiableServer(PrivateSuite, key)
	h := newH2G()
	for _, n := range []int{1, 2, 7, 64, 65, 256, 3} { // 3 after 256: scratch reused, shorter
		ins := make([][]byte, n)
		for i := range ins {
			ins[i] = make([]byte, i%41)
			rand.Read(ins[i])
		}
		out := make([][32]byte, n)
		if err := fe.evaluateBatch(h, ins, out); err != nil {
			t.Fatal(err)
		}
		for i, in := range ins {
			want, err := srv.FullEvaluate(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out[i][:], want) {
				t.Fatalf("batch of %d, input %d (%x): %x, circl says %x", n, i, in, out[i], want)
			}
		}
	}
}

// TestInvertNonZero checks the batch inversion against ModInverse, with
// zeros (left as they are) at the ends, in the middle and alone.
func TestInvertNonZero(t *testing.T) {
	h := newH2G()
	for _, zeros := range [][]int{nil, {0}, {9}, {4, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 9, 3}} {
		v := make([]big.Int, 10)
		want := make([]big.Int, 10)
		for k := range v {
			if slices.Contains(zeros, k) {
				continue
			}
			x, err := rand.Int(rand.Reader, p256P)
			if err != nil {
				t.Fatal(err)
			}
			if x.Sign() == 0 {
				x.SetInt64(1)
			}
			v[k].Set(x)
			want[k].ModInverse(x, p256P)
		}
		h.invertNonZero(v, make([]big.Int, len(v)))
		for k := range v {
			if v[k].Cmp(&want[k]) != 0 {
				t.Errorf("zeros at %v, entry %d: %x, want %x", zeros, k, &v[k], &want[k])
			}
		}
	}
}
