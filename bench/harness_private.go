package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"time"

	"filippo.io/edwards25519"
	"filippo.io/nistec"
	"github.com/cloudflare/circl/oprf"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality/audit"
)

// Targets and rows of the private (OPRF) lookup benchmark.
const (
	benchTargetPrivEval   = 10_000 // evaluations/s on one core, proof included
	benchTargetPrivDerive = 20_000 // keyed values/s per core at ingest

	rowPrivMul      = "private: P-256 scalar multiplications (1 core, reference)"
	rowPrivMulEd    = "private: edwards25519 scalar multiplications (1 core, reference)"
	rowPrivR255     = "private: ristretto255-SHA512 FullEvaluate, circl (1 core, reference)"
	rowPrivEval     = "private: server OPRF evaluations, batches of 8 (1 core)"
	rowPrivEval64   = "private: server OPRF evaluations, batches of 64 (1 core)"
	rowPrivDerive   = "private: keyed values at ingest (per core)"
	rowPrivDeriveT  = "private: keyed values at ingest (all cores)"
	rowPrivBytes    = "private: bytes per single-identifier lookup, JSON"
	rowPrivBytesBin = "private: bytes per single-identifier lookup, binary"
	rowPrivBytesR   = "private: lookup bytes binary / JSON"
	rowAuditPriv    = "audit CRM, remote private (OPRF) API"
	rowAuditPrivRm  = "audit CRM, remote range API (same run)"
	rowAuditPrivR   = "audit private / range remote"
)

// privateBenchCase is registered in benchCases.
func privateBenchCase() *benchCase {
	return &benchCase{
		name: "private",
		once: true, // the derivation over the audit index dominates
		rows: []Row{
			{Name: rowPrivMul, Unit: "mults/s"},
			{Name: rowPrivMulEd, Unit: "mults/s"},
			{Name: rowPrivR255, Unit: "values/s"},
			{Name: rowPrivEval, Unit: "evals/s", Goal: AtLeast, Target: benchTargetPrivEval},
			{Name: rowPrivEval64, Unit: "evals/s", Goal: AtLeast, Target: benchTargetPrivEval},
			{Name: rowPrivDerive, Unit: "ids/s", Goal: AtLeast, Target: benchTargetPrivDerive},
			{Name: rowPrivDeriveT, Unit: "ids/s"},
			{Name: rowPrivBytes, Unit: "bytes"},
			{Name: rowPrivBytesBin, Unit: "bytes"},
			{Name: rowPrivBytesR, Unit: "ratio"},
			{Name: rowAuditPriv, Unit: "ids/s"},
			{Name: rowAuditPrivRm, Unit: "ids/s"},
			{Name: rowAuditPrivR, Unit: "ratio"},
		},
		run: runPrivateBench,
	}
}

// runPrivateBench derives the keyed values of the audit index (a fresh key:
// every record is evaluated), measures server evaluations on one core,
// then audits the CRM through the private API and through the range API
// of the same server, and measures the bytes of single lookups.
func runPrivateBench(e *benchEnv) (map[string]benchMeasure, error) {
	var f *benchAuditData
	var err error
	if e.privPeople > 0 {
		// --private-people: an index of its own, e.g. the 10M
		// identifiers (7.7M people), built once.
		if f = e.privAudit; f == nil {
			if f, err = e.buildAuditData("-private", e.privPeople); err == nil {
				e.privAudit = f
			}
		} else {
			err = f.open()
		}
	} else {
		f, err = e.auditData()
	}
	if err != nil {
		return nil, err
	}
	res := map[string]benchMeasure{}
	f.close()
	ix, err := index.Open(index.Options{Dir: f.dir})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = ix.RotatePrivateKey(e.ctx)
	d := time.Since(start)
	if err != nil {
		ix.Close()
		return nil, fmt.Errorf("derive: %w", err)
	}
	info, err := ix.PrivateKeyInfo()
	if err != nil {
		ix.Close()
		return nil, err
	}
	n := info.Records[index.KindEmail] + info.Records[index.KindPhone] + info.Records[index.KindCredential]
	workers := runtime.GOMAXPROCS(0)
	res[rowPrivDerive] = benchMeasure{value: float64(n) / d.Seconds() / float64(workers),
		note: fmt.Sprintf("%d values (e-mail %d, phone %d, credential %d) in %.1fs on %d cores; e-mail buckets of %d bits",
			n, info.Records[index.KindEmail], info.Records[index.KindPhone], info.Records[index.KindCredential], d.Seconds(), workers, info.Bits[index.KindEmail])}
	res[rowPrivDeriveT] = benchMeasure{value: float64(n) / d.Seconds(),
		note: fmt.Sprintf("%d parallel workers (GOMAXPROCS); a value is a hash-to-curve, a constant-time scalar multiplication and a compression", workers)}

	// Evaluations on one goroutine: batches of 8 and of 64 blinded
	// elements (one proof a batch), interleaved with the reference.
	evals, mults, err := benchPrivateEvals(e, ix, info, 8)
	if err == nil {
		res[rowPrivEval], res[rowPrivMul] = evals, mults
		evals, _, err = benchPrivateEvals(e, ix, info, 64)
		res[rowPrivEval64] = evals
	}
	ix.Close()
	if err != nil {
		return nil, err
	}
	if res[rowPrivMulEd], res[rowPrivR255], err = benchDeriveFloor(e); err != nil {
		return nil, err
	}

	srv, err := e.startServer("serve-api", &f.benchFixture, "")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	base := "http://" + srv.addr
	priv, dp, _, err := e.runAudit(f, f.key, "--remote", base, "--private")
	if err != nil {
		return nil, fmt.Errorf("private audit: %w", err)
	}
	if err := checkAudit(f, priv); err != nil {
		return nil, fmt.Errorf("private audit: %w", err)
	}
	rng, dr, _, err := e.runAudit(f, f.key, "--remote", base)
	if err != nil {
		return nil, fmt.Errorf("range audit: %w", err)
	}
	ids := float64(priv.Emails + priv.Phones)
	res[rowAuditPriv] = benchMeasure{value: ids / dp.Seconds(), note: fmt.Sprintf("%d rows, %.0f identifiers in %.1fs", priv.Rows, ids, dp.Seconds())}
	res[rowAuditPrivRm] = benchMeasure{value: float64(rng.Emails+rng.Phones) / dr.Seconds(), note: fmt.Sprintf("%.1fs", dr.Seconds())}
	res[rowAuditPrivR] = benchMeasure{value: dr.Seconds() / dp.Seconds(), note: "private ids/s over range ids/s, same server, same CRM"}

	// Bytes of single-identifier lookups (request and response bodies),
	// the same identifiers in JSON and in the binary format.
	const probes = 50
	hs := make([]index.Hash, probes)
	for i := range hs {
		rand.Read(hs[i][:])
	}
	var perLookup [2]float64
	for j, asJSON := range []bool{true, false} {
		p, err := audit.NewPrivate(audit.RemoteOptions{BaseURL: base, APIKey: f.key, Concurrency: 1})
		if err != nil {
			return nil, err
		}
		p.JSON = asJSON
		for i := range hs {
			if _, err := p.Lookup(e.ctx, index.KindEmail, hs[i:i+1]); err != nil {
				p.Close()
				return nil, fmt.Errorf("lookup %d: %w", i, err)
			}
		}
		perLookup[j] = float64(p.Bytes.Load()) / float64(p.Requests.Load())
		p.Close()
	}
	bucket := float64(info.Records[index.KindEmail]) / float64(uint64(1)<<info.Bits[index.KindEmail])
	res[rowPrivBytes] = benchMeasure{value: perLookup[0], note: fmt.Sprintf("mean of %d e-mail lookups, buckets of %.0f values on average", probes, bucket)}
	res[rowPrivBytesBin] = benchMeasure{value: perLookup[1], note: "the same lookups, Content-Type application/octet-stream"}
	res[rowPrivBytesR] = benchMeasure{value: perLookup[1] / perLookup[0]}
	return res, nil
}

// benchPrivateEvals runs PrivateEvaluate on one goroutine for the bench
// duration (at least 20 batches) with batches of batch blinded elements,
// interleaved with nistec's variable-base P-256 scalar multiplication, the
// unit every OPRF operation is made of: measured under the same conditions,
// it tells the machine's speed at that moment apart from the protocol's
// cost.
func benchPrivateEvals(e *benchEnv, ix *index.Index, info index.PrivateKey, batch int) (evals, mults benchMeasure, err error) {
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(index.PrivateSuite, info.PublicKey); err != nil {
		return evals, mults, err
	}
	c := oprf.NewVerifiableClient(index.PrivateSuite, pub)
	inputs := make([][]byte, batch)
	for i := range inputs {
		inputs[i] = []byte(fmt.Sprintf("bench-%d", i))
	}
	_, req, err := c.Blind(inputs)
	if err != nil {
		return evals, mults, err
	}
	blinded := make([][]byte, len(req.Elements))
	for i, el := range req.Elements {
		if blinded[i], err = el.MarshalBinaryCompress(); err != nil {
			return evals, mults, err
		}
	}
	bits := info.Bits[index.KindEmail]
	p := nistec.NewP256Point().SetGenerator()
	k := make([]byte, 32)
	rand.Read(k)
	k[0] &= 0x7f // below the group order
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	ctx, cancel := context.WithTimeout(e.ctx, e.benchDur*5)
	defer cancel()
	var evalTime, multTime time.Duration
	batches := 0
	for batches < 20 || ctx.Err() == nil {
		t0 := time.Now()
		if _, err := ix.PrivateEvaluate(index.KindEmail, 0, bits, blinded); err != nil {
			return evals, mults, err
		}
		t1 := time.Now()
		for range len(inputs) {
			p.ScalarMult(p, k)
		}
		evalTime += t1.Sub(t0)
		multTime += time.Since(t1)
		batches++
	}
	n := batches * len(inputs)
	evals = benchMeasure{value: float64(n) / evalTime.Seconds(),
		note: fmt.Sprintf("%d batches in %.2fs, DLEQ proof and bucket read included, GOMAXPROCS=1; %.2f scalar multiplications' time an evaluation",
			batches, evalTime.Seconds(), evalTime.Seconds()/multTime.Seconds())}
	mults = benchMeasure{value: float64(n) / multTime.Seconds(),
		note: fmt.Sprintf("filippo.io/nistec, %.1f µs each, interleaved with the evaluations: the machine's speed at that moment; the derivation target allows %.0f µs a keyed value",
			multTime.Seconds()*1e6/float64(n), 1e6/float64(benchTargetPrivDerive))}
	return evals, mults, nil
}

// benchDeriveFloor measures, on one goroutine, what bounds the keyed-value
// derivation whatever the code around it: a keyed value of an RFC 9497
// suite costs at least one constant-time variable-base scalar
// multiplication in the suite's group. It times edwards25519's (the group
// under ristretto255-SHA512, filippo.io/edwards25519: the fastest
// constant-time one in Go) and circl's whole ristretto255-SHA512
// FullEvaluate, interleaved, so that the rows compare with the P-256 row
// and with the per-core derivation target (benchTargetPrivDerive, i.e.
// 1e6/benchTargetPrivDerive µs per value).
func benchDeriveFloor(e *benchEnv) (ed, r255 benchMeasure, err error) {
	key, err := oprf.GenerateKey(oprf.SuiteRistretto255, rand.Reader)
	if err != nil {
		return ed, r255, err
	}
	srv := oprf.NewVerifiableServer(oprf.SuiteRistretto255, key)
	var wide [64]byte
	rand.Read(wide[:])
	k, err := edwards25519.NewScalar().SetUniformBytes(wide[:])
	if err != nil {
		return ed, r255, err
	}
	p := edwards25519.NewGeneratorPoint()
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	ctx, cancel := context.WithTimeout(e.ctx, e.benchDur*2)
	defer cancel()
	const round = 64
	var edTime, evTime time.Duration
	rounds := 0
	input := []byte("bench-00000000@example.org")
	for rounds < 5 || ctx.Err() == nil {
		t0 := time.Now()
		for range round {
			p.ScalarMult(k, p)
		}
		t1 := time.Now()
		for i := range round {
			input[6] = byte('0' + i%10)
			if _, err := srv.FullEvaluate(input); err != nil {
				return ed, r255, err
			}
		}
		edTime += t1.Sub(t0)
		evTime += time.Since(t1)
		rounds++
	}
	n := float64(rounds * round)
	budget := 1e6 / float64(benchTargetPrivDerive)
	ed = benchMeasure{value: n / edTime.Seconds(),
		note: fmt.Sprintf("%.1f µs each; the derivation target allows %.0f µs a value, hash-to-group and encoding included", edTime.Seconds()*1e6/n, budget)}
	r255 = benchMeasure{value: n / evTime.Seconds(),
		note: fmt.Sprintf("%.1f µs a value: hash-to-group, scalar multiplication, encoding, finalize", evTime.Seconds()*1e6/n)}
	return ed, r255, nil
}
