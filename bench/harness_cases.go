package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/ingest"
)

// Seeds of the generated data sets.
const (
	benchSeedHIBP  = 1
	benchSeedDense = 2
	benchSeedProbe = 3
)

// Targets from the project's issues, for this 2-core machine.
const (
	benchTargetIngest        = 2_500_000 // hashes/s, sorted HIBP file end to end (issue 15: the peer builder's speed here)
	benchTargetAbsentLookup  = 2_000_000 // keys/s per core, filter only
	benchTargetPresentLookup = 150_000   // keys/s per core
	benchTargetRangeMicros   = 50        // µs, dense bucket, body included
	benchTargetFilterRatio   = 1.10      // filter bits over the classic optimum (a blocked filter needs ~8% more at p=1e-3)
	benchTargetServeRatio    = 0.8       // /range req/s over the minimal fasthttp baseline's
	benchTargetP99Millis     = 3         // ms at 32 connections
	benchTargetAuditLocal    = 500_000   // identifiers/s, local index, normalisation included
)

// Row names, shared by the case definitions and their run functions.
const (
	rowIngest        = "ingest HIBP SHA-1 file (sorted), end to end"
	rowIngestComp    = "ingest, with gzip+brotli ranges (--compress)"
	rowFilter        = "filter bits / theoretical n*-ln(p)/ln2^2"
	rowMayContain    = "lookup absent, MayContain (1 core)"
	rowLookupAbsent  = "lookup absent, Lookup (1 core)"
	rowLookupPresent = "lookup present, Lookup (1 core)"
	rowRange         = "range dense bucket, PasswordRange + copy"
	rowAppendRange   = "range dense bucket, AppendRange + render"
	rowBaseRPS       = "serve baseline fasthttp, same body size"
	rowRangeRPS      = "serve /range unpadded"
	rowPaddedRPS     = "serve /range Add-Padding: true"
	rowRangeRatio    = "serve /range unpadded / baseline"
	rowPaddedRatio   = "serve /range padded / baseline"
	rowGzipRPS       = "serve /range Accept-Encoding: gzip, br"
	rowGzipPadRPS    = "serve /range gzip, br + Add-Padding"
	rowGzipRatio     = "serve /range gzip-accepting / baseline"
	rowGzipPadRatio  = "serve /range gzip-accepting padded / baseline"
	rowBaseP99       = "serve baseline p99"
	rowRangeP99      = "serve /range unpadded p99"
	rowPaddedP99     = "serve /range padded p99"
)

// benchCases returns the registered benchmarks in table order.
func benchCases() []*benchCase {
	return []*benchCase{
		{
			name: "ingest",
			rows: []Row{{Name: rowIngest, Unit: "hashes/s", Goal: AtLeast, Target: benchTargetIngest}},
			run:  func(e *benchEnv) (map[string]benchMeasure, error) { return runIngestBench(e, false) },
		},
		{
			name: "ingest/compress",
			once: true,
			rows: []Row{{Name: rowIngestComp, Unit: "hashes/s"}},
			run:  func(e *benchEnv) (map[string]benchMeasure, error) { return runIngestBench(e, true) },
		},
		{
			name: "index/filter",
			once: true,
			rows: []Row{{Name: rowFilter, Unit: "ratio", Goal: AtMost, Target: benchTargetFilterRatio}},
			run:  runFilterBench,
		},
		{
			name: "index/lookup",
			rows: []Row{
				{Name: rowMayContain, Unit: "keys/s", Goal: AtLeast, Target: benchTargetAbsentLookup},
				{Name: rowLookupAbsent, Unit: "keys/s", Goal: AtLeast, Target: benchTargetAbsentLookup},
				{Name: rowLookupPresent, Unit: "keys/s", Goal: AtLeast, Target: benchTargetPresentLookup},
			},
			run: runLookupBench,
		},
		{
			name: "index/range",
			rows: []Row{
				{Name: rowRange, Unit: "µs", Goal: AtMost, Target: benchTargetRangeMicros},
				{Name: rowAppendRange, Unit: "µs"},
			},
			run: runRangeBench,
		},
		{
			name: "serve/range",
			rows: []Row{
				{Name: rowBaseRPS, Unit: "req/s"},
				{Name: rowRangeRPS, Unit: "req/s"},
				{Name: rowPaddedRPS, Unit: "req/s"},
				{Name: rowRangeRatio, Unit: "ratio", Goal: AtLeast, Target: benchTargetServeRatio},
				{Name: rowPaddedRatio, Unit: "ratio", Goal: AtLeast, Target: benchTargetServeRatio},
				{Name: rowGzipRPS, Unit: "req/s"},
				{Name: rowGzipPadRPS, Unit: "req/s"},
				{Name: rowGzipRatio, Unit: "ratio", Goal: AtLeast, Target: benchTargetServeRatio},
				{Name: rowGzipPadRatio, Unit: "ratio", Goal: AtLeast, Target: benchTargetServeRatio},
				{Name: rowBaseP99, Unit: "ms"},
				{Name: rowRangeP99, Unit: "ms", Goal: AtMost, Target: benchTargetP99Millis},
				{Name: rowPaddedP99, Unit: "ms", Goal: AtMost, Target: benchTargetP99Millis},
			},
			run: runServeBench,
		},
		checksumCase(),
		{
			name: "vet",
			once: true, // one 1M-row run takes 13-17 s; keep make bench short
			rows: []Row{
				{Name: rowVetRate, Unit: "rows/s", Goal: AtLeast, Target: benchTargetVetRate},
				{Name: rowVetRSS, Unit: "MiB", Goal: AtMost, Target: benchTargetVetRSSMiB},
			},
			run: runVetBench,
		},
		{
			name: "audit",
			rows: []Row{
				{Name: rowAuditLocal, Unit: "ids/s", Goal: AtLeast, Target: benchTargetAuditLocal},
				{Name: rowAuditRemote, Unit: "ids/s"},
				{Name: rowAccountRPS, Unit: "req/s"},
			},
			run: runAuditBench,
		},
		{
			name: "audit-short",
			once: true, // two audits and a dry run of the same base
			rows: []Row{
				{Name: rowShortRemote, Unit: "ids/s"},
				{Name: rowShortRatio, Unit: "ratio", Goal: AtLeast, Target: benchTargetShortRatio},
				{Name: rowShortRequests, Unit: "requests", Goal: AtMost, Target: benchTargetShortReqMax},
				{Name: rowShortBytes, Unit: "MiB"},
				{Name: rowShort600, Unit: "minutes", Goal: AtMost, Target: benchTarget600Minutes},
				{Name: rowShortServe, Unit: "MiB/s"},
			},
			run: runAuditShortBench,
		},
		privateBenchCase(),
		footprintCase(),
		encodingsCase(),
		scaleCase(),
	}
}

// benchFixture is a generated index used by several cases.
type benchFixture struct {
	dir      string
	kind     index.Kind
	keys     int
	ix       *index.Index
	present  []index.Hash // sample of stored hashes
	probes   []index.Hash // absent hashes
	prefixes []uint32     // dense prefixes (dense fixture)
}

// open (re)opens the fixture's index if it is closed.
func (f *benchFixture) open() error {
	if f.ix != nil {
		return nil
	}
	ix, err := index.Open(index.Options{Dir: f.dir, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("open bench index: %w", err)
	}
	f.ix = ix
	return nil
}

// close closes the fixture's index (a child process may then open it).
func (f *benchFixture) close() {
	if f.ix != nil {
		f.ix.Close()
		f.ix = nil
	}
}

// uniformFixture builds (once) an index of the generated HIBP keys.
func (e *benchEnv) uniformFixture() (*benchFixture, error) {
	if e.uniform != nil {
		return e.uniform, e.uniform.open()
	}
	seq := HIBP(index.KindSHA1, e.keys, benchSeedHIBP)
	f := &benchFixture{dir: filepath.Join(e.dir, "uniform"), kind: index.KindSHA1, keys: e.keys}
	fmt.Fprintf(e.log, "bench: building an index of %d SHA-1 hashes\n", e.keys)
	ix, err := BuildIndex(e.ctx, f.dir, f.kind, seq, e.keys, false)
	if err != nil {
		return nil, err
	}
	f.ix = ix
	f.present = Sample(seq, max(1, e.keys/100_000), 100_000)
	f.probes = Probes(f.kind, 100_000, benchSeedProbe)
	e.uniform = f
	return f, nil
}

// denseFixture builds (once) an index of real-density buckets.
func (e *benchEnv) denseFixture() (*benchFixture, error) {
	if e.dense != nil {
		return e.dense, e.dense.open()
	}
	n := e.buckets * DensePerBucket
	f := &benchFixture{dir: filepath.Join(e.dir, "dense"), kind: index.KindSHA1, keys: n,
		prefixes: DensePrefixes(e.buckets, benchSeedDense)}
	fmt.Fprintf(e.log, "bench: building an index of %d buckets x %d hashes\n", e.buckets, DensePerBucket)
	ix, err := BuildIndex(e.ctx, f.dir, f.kind, Dense(f.kind, e.buckets, DensePerBucket, benchSeedDense), n, false)
	if err != nil {
		return nil, err
	}
	f.ix = ix
	e.dense = f
	return f, nil
}

// hibpInput generates (once) the Pwned Passwords SHA-1 file.
func (e *benchEnv) hibpInput() (string, error) {
	if e.hibpFile != "" {
		return e.hibpFile, nil
	}
	path := filepath.Join(e.dir, "pwned-passwords-sha1.txt")
	fmt.Fprintf(e.log, "bench: generating %d hashes in %s\n", e.keys, path)
	out, err := os.Create(path)
	if err != nil {
		return "", err
	}
	_, err = WriteHIBP(out, index.KindSHA1, HIBP(index.KindSHA1, e.keys, benchSeedHIBP))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	e.hibpFile = path
	return path, nil
}

// runIngestBench ingests the generated file into a fresh index with the
// ingest package, as `pwndex ingest` does, and times it end to end,
// precomputing compressed range bodies too if compress is set.
func runIngestBench(e *benchEnv, compress bool) (map[string]benchMeasure, error) {
	file, err := e.hibpInput()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(e.dir, "ingest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	sum, err := ingest.Run(e.ctx, ix, ingest.Config{Inputs: []string{file}, Format: ingest.FormatHIBP, Kind: index.KindSHA1, Compress: compress}, nil)
	if cerr := ix.Close(); err == nil {
		err = cerr
	}
	elapsed := time.Since(start)
	if err != nil {
		return nil, err
	}
	if len(sum.Jobs) != 1 || sum.Jobs[0].Records["sha1"] != uint64(e.keys) {
		return nil, fmt.Errorf("ingest of %d hashes reported %+v", e.keys, sum.Jobs)
	}
	row := rowIngest
	if compress {
		row = rowIngestComp
	}
	return map[string]benchMeasure{row: {value: float64(e.keys) / elapsed.Seconds(),
		note: fmt.Sprintf("%d hashes in %.1fs", e.keys, elapsed.Seconds())}}, nil
}

// runFilterBench compares the filter's size with the theoretical optimum.
func runFilterBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.uniformFixture()
	if err != nil {
		return nil, err
	}
	ratio, kc, err := FilterOverhead(e.ctx, f.ix, f.kind)
	if err != nil {
		return nil, err
	}
	fp := 0
	for i := range f.probes {
		if f.ix.MayContain(f.kind, &f.probes[i]) {
			fp++
		}
	}
	return map[string]benchMeasure{rowFilter: {value: ratio, note: fmt.Sprintf("%d keys, %.2f bits/key at p=%g, measured %.2g on %d absent keys",
		kc.FilterKeys, float64(kc.FilterBits)/float64(kc.FilterKeys), kc.FilterFPR, float64(fp)/float64(len(f.probes)), len(f.probes))}}, nil
}

// runLookupBench measures point lookups on one goroutine.
func runLookupBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.uniformFixture()
	if err != nil {
		return nil, err
	}
	return runBenchRows([]benchRow{
		{rowMayContain, func(b *testing.B) { MayContainAbsent(b, f.ix, f.kind, f.probes) }},
		{rowLookupAbsent, func(b *testing.B) { LookupAbsent(b, f.ix, f.kind, f.probes) }},
		{rowLookupPresent, func(b *testing.B) { LookupPresent(b, f.ix, f.kind, f.present) }},
	}, func(r testing.BenchmarkResult) benchMeasure {
		return benchMeasure{value: 1e9 / benchNsPerOp(r), note: fmt.Sprintf("%d keys, %d allocs/op", f.keys, r.AllocsPerOp())}
	})
}

// benchRow is a Go benchmark function and the table row it measures.
type benchRow struct {
	row string
	fn  func(b *testing.B)
}

// runBenchRows runs each benchmark function and turns its result into its
// row's measure.
func runBenchRows(rows []benchRow, measure func(testing.BenchmarkResult) benchMeasure) (map[string]benchMeasure, error) {
	res := map[string]benchMeasure{}
	for _, c := range rows {
		r, err := benchRunTB(c.row, c.fn)
		if err != nil {
			return nil, err
		}
		res[c.row] = measure(r)
	}
	return res, nil
}

// runRangeBench measures reading one dense bucket.
func runRangeBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.denseFixture()
	if err != nil {
		return nil, err
	}
	return runBenchRows([]benchRow{
		{rowRange, func(b *testing.B) { PasswordRange(b, f.ix, f.kind, f.prefixes) }},
		{rowAppendRange, func(b *testing.B) { AppendRange(b, f.ix, f.kind, f.prefixes) }},
	}, func(r testing.BenchmarkResult) benchMeasure {
		return benchMeasure{value: benchNsPerOp(r) / 1e3, note: fmt.Sprintf("%d rows, %.1f KB body", DensePerBucket, float64(r.Bytes)/1e3)}
	})
}

// benchRangeURI returns a load URI function cycling over the dense prefixes.
func benchRangeURI(prefixes []uint32) func(dst []byte, i int64) []byte {
	return func(dst []byte, i int64) []byte {
		p := index.Prefix{Value: prefixes[int(i%int64(len(prefixes)))], Digits: 5}
		return p.AppendHex(append(dst, "/range/"...))
	}
}

// ms converts a duration to milliseconds.
func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runServeBench loads the minimal baseline server and the range API, each
// in turn, with the same URIs, connections and duration.
func runServeBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.denseFixture()
	if err != nil {
		return nil, err
	}
	body, _ := f.ix.PasswordRange(f.kind, f.prefixes[0], index.Identity)
	if len(body) == 0 {
		return nil, fmt.Errorf("dense bucket %05X is empty", f.prefixes[0])
	}
	bodyFile := filepath.Join(e.dir, "baseline-body.txt")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, err
	}
	type run struct {
		server  string
		padding bool
		rps     string
		p99     string
		accept  string
	}
	res := map[string]benchMeasure{}
	var base LoadResult
	for _, r := range []run{
		{"serve-baseline", false, rowBaseRPS, rowBaseP99, ""},
		{"serve-api", false, rowRangeRPS, rowRangeP99, ""},
		{"serve-api", true, rowPaddedRPS, rowPaddedP99, ""},
		// A browser's header; the dense fixture is built as the CLI's
		// default (no compressed copies), so these get identity bodies.
		{"serve-api", false, rowGzipRPS, "", "gzip, deflate, br"},
		{"serve-api", true, rowGzipPadRPS, "", "gzip, deflate, br"},
	} {
		srv, err := e.startServer(r.server, f, bodyFile)
		if err != nil {
			return nil, err
		}
		lr, err := e.load(srv.addr, r.padding, r.accept, f.prefixes)
		if serr := srv.stop(); err == nil {
			err = serr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.rps, err)
		}
		if lr.Errors > 0 {
			return nil, fmt.Errorf("%s: %d failed requests of %d", r.rps, lr.Errors, lr.Requests+lr.Errors)
		}
		note := fmt.Sprintf("%d conns, %s, %.1f KB/resp", e.conns, e.loadDur, float64(lr.BodyBytes)/float64(max(1, lr.Requests))/1e3)
		res[r.rps] = benchMeasure{value: lr.ReqPerSec, note: note}
		if r.p99 != "" {
			res[r.p99] = benchMeasure{value: benchMS(lr.P99), note: "p50 " + strconv.FormatFloat(benchMS(lr.P50), 'f', 2, 64) + " ms"}
		}
		switch r.rps {
		case rowBaseRPS:
			base = lr
		case rowRangeRPS:
			res[rowRangeRatio] = benchMeasure{value: lr.ReqPerSec / base.ReqPerSec}
		case rowPaddedRPS:
			res[rowPaddedRatio] = benchMeasure{value: lr.ReqPerSec / base.ReqPerSec}
		case rowGzipRPS:
			res[rowGzipRatio] = benchMeasure{value: lr.ReqPerSec / base.ReqPerSec}
		case rowGzipPadRPS:
			res[rowGzipPadRatio] = benchMeasure{value: lr.ReqPerSec / base.ReqPerSec}
		}
	}
	return res, nil
}
