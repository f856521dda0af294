package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/pwndex/pwndex/bench"
	"github.com/pwndex/pwndex/index"
)

// cmdBench runs the benchmark suite and prints one table, or with a first
// argument `gen` writes generated test data. The hidden helpers
// serve-baseline, serve-api and load run one side of a server benchmark in
// a separate (pinned) process.
func cmdBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "gen":
			return benchGen(ctx, args[1:], stdout, stderr)
		case "serve-baseline", "serve-api":
			return benchServeChild(ctx, args[0], args[1:], stdin, stdout, stderr)
		case "load":
			return benchLoadChild(ctx, args[1:], stdout, stderr)
		}
	}
	fs := newFlagSet("bench", "usage: pwndex bench [flags]\n       pwndex bench gen --kind hibp|dense|dump|crm [--n N] [--seed S] --out PATH\n\nflags:\n", stderr)
	quick := fs.Bool("quick", false, "small sizes and short runs, in-process (a smoke test of the harness)")
	only := fs.String("only", "", "run only benchmarks whose name matches this regular expression")
	count := fs.Int("count", 0, "repetitions of each benchmark; the table shows medians (default 3, 1 with --quick)")
	keys := fs.Int("keys", 0, fmt.Sprintf("hashes in the generated Pwned Passwords file (default %d, 50000 with --quick)", bench.DefaultHIBPKeys))
	buckets := fs.Int("dense-buckets", 0, fmt.Sprintf("dense 5-hex buckets of %d rows (default %d, 64 with --quick)", bench.DensePerBucket, bench.DenseBuckets))
	dur := fs.Duration("load-duration", 0, "duration of each server load run (default 5s, 300ms with --quick)")
	conns := fs.Int("conns", 32, "connections of the server load runs")
	vetRows := fs.Int("vet-rows", 0, "rows of the generated contact file of the vet benchmark (default 1000000, 2000 with --quick)")
	crmRows := fs.Int("crm-rows", 0, "rows of the generated CRM base of the audit benchmark (default 100000, 1000 with --quick)")
	dir := fs.String("dir", "", "work directory for generated data and indexes (default a temporary directory, removed)")
	pin := fs.Bool("pin", true, "pin each server benchmark side to its own core (taskset, GOMAXPROCS=1; not with --quick)")
	list := fs.Bool("list", false, "list the benchmarks and exit")
	raw := fs.String("raw", "", "also write every sample in Go benchmark format to `FILE` (for go tool benchstat)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pwndex bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintf(stderr, "pwndex bench: --only: %v\n", err)
		return 2
	}
	e := &benchEnv{
		ctx: ctx, quick: *quick, log: stderr, conns: *conns,
		count: benchPick(*count, *quick, 3, 1), keys: benchPick(*keys, *quick, bench.DefaultHIBPKeys, 50_000),
		buckets:  benchPick(*buckets, *quick, bench.DenseBuckets, 64),
		loadDur:  time.Duration(benchPick(int(*dur), *quick, int(5*time.Second), int(300*time.Millisecond))),
		vetRows:  benchPick(*vetRows, *quick, 1_000_000, 2_000),
		crmRows:  benchPick(*crmRows, *quick, 100_000, 1_000),
		benchDur: time.Duration(benchPick(0, *quick, int(time.Second), int(50*time.Millisecond))),
	}
	if *count < 0 || e.keys <= 0 || e.buckets <= 0 || e.buckets > 1<<20 || *conns <= 0 || e.vetRows <= 0 || e.crmRows <= 0 {
		fmt.Fprintln(stderr, "pwndex bench: --count, --keys, --conns, --vet-rows, --crm-rows and --dense-buckets must be positive (buckets <= 2^20)")
		return 2
	}
	if !*quick {
		if exe, err := os.Executable(); err == nil {
			e.exe = exe
		}
		e.pin = *pin
	}
	var cases []*benchCase
	for _, c := range benchCases() {
		if re.MatchString(c.name) {
			cases = append(cases, c)
		}
	}
	if *list {
		for _, c := range cases {
			for _, r := range c.rows {
				fmt.Fprintf(stdout, "%s\t%s\n", c.name, r.Name)
			}
		}
		return 0
	}
	if len(cases) == 0 {
		fmt.Fprintf(stderr, "pwndex bench: no benchmark matches %q\n", *only)
		return 2
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "pwndex-bench-")
		if err != nil {
			fmt.Fprintf(stderr, "pwndex bench: %v\n", err)
			return 3
		}
		defer os.RemoveAll(d)
		e.dir = d
	} else {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fmt.Fprintf(stderr, "pwndex bench: %v\n", err)
			return 3
		}
		e.dir = *dir
	}
	defer e.close()
	setBenchtime(e.benchDur)

	rows := runBenchCases(e, cases)
	fmt.Fprintf(stdout, "pwndex bench: %d keys, %d dense buckets x %d, %d repetitions, %s\n",
		e.keys, e.buckets, bench.DensePerBucket, e.count, e.placement())
	failed, err := bench.WriteTable(stdout, rows)
	if err == nil && *raw != "" {
		err = benchWriteFile(*raw, func(w io.Writer) error { return bench.WriteRaw(w, rows) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "pwndex bench: %v\n", err)
		return 3
	}
	errored := 0
	for i := range rows {
		if rows[i].Err != nil {
			errored++
		}
	}
	switch {
	case errored > 0:
		fmt.Fprintf(stderr, "pwndex bench: %d benchmark(s) failed to run\n", errored)
		return 3
	case failed > 0 && !e.quick:
		fmt.Fprintf(stderr, "pwndex bench: %d row(s) missed their target\n", failed)
		return 1
	}
	return 0
}

// pick returns v if set, else the full or quick default.
func benchPick(v int, quick bool, full, small int) int {
	switch {
	case v != 0:
		return v
	case quick:
		return small
	}
	return full
}

// setBenchtime sets the duration testing.Benchmark aims for.
func setBenchtime(d time.Duration) {
	testing.Init()
	if f := flag.Lookup("test.benchtime"); f != nil {
		f.Value.Set(d.String())
	}
}

// runBenchCases runs each case e.count times (once for one-shot cases) and
// collects one sample per row and repetition.
func runBenchCases(e *benchEnv, cases []*benchCase) []bench.Row {
	var rows []bench.Row
	for _, c := range cases {
		first := len(rows)
		rows = append(rows, c.rows...)
		reps := e.count
		if c.once {
			reps = 1
		}
		for rep := 0; rep < reps && e.ctx.Err() == nil; rep++ {
			fmt.Fprintf(e.log, "bench: %s (%d/%d)\n", c.name, rep+1, reps)
			res, err := c.run(e)
			for i := first; i < len(rows); i++ {
				r := &rows[i]
				if err != nil {
					r.Err = err
					continue
				}
				m, ok := res[r.Name]
				if !ok {
					continue
				}
				r.Samples = append(r.Samples, m.value)
				if m.note != "" {
					r.Note = m.note
				}
			}
			if err != nil {
				fmt.Fprintf(e.log, "bench: %s: %v\n", c.name, err)
				break
			}
		}
		if e.ctx.Err() != nil {
			for i := first; i < len(rows); i++ {
				if rows[i].Err == nil && len(rows[i].Samples) == 0 {
					rows[i].Err = e.ctx.Err()
				}
			}
		}
	}
	return rows
}

// benchGen implements `pwndex bench gen`.
func benchGen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "data to generate: hibp (sorted HASH:COUNT file), dense (real-density buckets), dump (breach dump directory), crm (French CRM CSV)")
	n := fs.Int("n", 0, "records: hashes (hibp), people (dump), rows (crm); default 10000000, -, 100000, 100000")
	seed := fs.Uint64("seed", 1, "generator seed")
	out := fs.String("out", "", "output file (hibp, dense, crm) or directory (dump)")
	hash := fs.String("hash", "sha1", "hash kind of hibp and dense data: sha1 or ntlm")
	buckets := fs.Int("buckets", bench.DenseBuckets, "dense: number of 5-hex buckets")
	per := fs.Int("per-bucket", bench.DensePerBucket, "dense: rows per bucket")
	name := fs.String("name", "SyntheticBreach", "dump: breach name")
	badEvery := fs.Int("bad-every", 0, "dump: make every Nth data line malformed (0: none)")
	dumpN := fs.Int("dump-n", 0, "crm: size of the dump population (dump --n with the same --seed) to overlap")
	exposed := fs.Int("exposed", 30, "crm: percentage of rows drawn from the dump population")
	cp1252 := fs.Bool("cp1252", false, "crm: encode in Windows-1252 instead of UTF-8")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 || *n < 0 {
		fmt.Fprintln(stderr, "pwndex bench gen: --out is required, --n must not be negative, and no arguments are taken")
		return 2
	}
	k, err := index.ParseKind(*hash)
	if err != nil || !k.IsPassword() {
		fmt.Fprintf(stderr, "pwndex bench gen: --hash %q: want sha1 or ntlm\n", *hash)
		return 2
	}
	def := func(v int) int {
		if *n > 0 {
			return *n
		}
		return v
	}
	switch *kind {
	case "hibp", "dense":
		if *kind == "dense" && (*buckets < 1 || *buckets > 1<<20 || *per < 1) {
			fmt.Fprintln(stderr, "pwndex bench gen: --buckets must be in 1..1048576 and --per-bucket positive")
			return 2
		}
		err = benchWriteFile(*out, func(w io.Writer) error {
			seq := bench.HIBP(k, def(bench.DefaultHIBPKeys), *seed)
			if *kind == "dense" {
				seq = bench.Dense(k, *buckets, *per, *seed)
			}
			lines, err := bench.WriteHIBP(w, k, seq)
			if err == nil {
				fmt.Fprintf(stdout, "wrote %d %s lines to %s\n", lines, k, *out)
			}
			return err
		})
	case "dump":
		var f bench.DumpFiles
		f, err = bench.WriteDump(*out, bench.DumpOptions{Name: *name, N: def(100_000), Seed: *seed, BadEvery: *badEvery})
		if err == nil {
			fmt.Fprintf(stdout, "wrote %s (%d rows), %s (%d lines), %s; %d malformed lines\n", f.CSV, f.Rows, f.Combo, f.Combos, f.Manifest, f.Bad)
		}
	case "crm":
		err = benchWriteFile(*out, func(w io.Writer) error {
			o := bench.CRMOptions{N: def(100_000), Seed: *seed, DumpN: *dumpN, ExposedPercent: *exposed, Windows1252: *cp1252}
			exp, err := bench.WriteCRM(w, o)
			if err == nil {
				fmt.Fprintf(stdout, "wrote %d rows to %s (%d from the dump population)\n", o.N, *out, exp)
			}
			return err
		})
	default:
		fmt.Fprintf(stderr, "pwndex bench gen: --kind %q: want hibp, dense, dump or crm\n", *kind)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "pwndex bench gen: %v\n", err)
		return 3
	}
	return 0
}

// benchWriteFile writes path through a temporary file renamed on success,
// so an interrupted run leaves no truncated file behind.
func benchWriteFile(path string, fill func(w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// benchEnv is the state shared by the benchmark cases of one run.
type benchEnv struct {
	ctx      context.Context
	quick    bool
	log      io.Writer
	dir      string
	count    int
	keys     int
	buckets  int
	conns    int
	loadDur  time.Duration
	benchDur time.Duration
	vetRows  int
	crmRows  int
	exe      string // pwndex binary for pinned child processes; "" runs in-process
	pin      bool

	hibpFile string        // generated Pwned Passwords SHA-1 file
	uniform  *benchFixture // index of the HIBP keys
	dense    *benchFixture // index of the dense buckets
	audit    *benchAuditData
}

// placement describes where servers and load clients ran.
func (e *benchEnv) placement() string {
	switch {
	case e.exe == "":
		return "servers in-process, unpinned"
	case e.pin && benchCanPin():
		return "server and load client in separate processes pinned to cores 0 and 1 (GOMAXPROCS=1)"
	}
	return "server and load client in separate processes, unpinned"
}

func (e *benchEnv) close() {
	for _, f := range []*benchFixture{e.uniform, e.dense} {
		if f != nil {
			f.close()
		}
	}
	if e.audit != nil {
		e.audit.close()
	}
}

// benchMeasure is one sample of one table row.
type benchMeasure struct {
	value float64
	note  string
}

// benchCase is one registered benchmark: it fills its rows, one sample per
// row and run.
type benchCase struct {
	name string
	rows []bench.Row // Name, Unit, Goal and Target
	once bool        // deterministic or long measure: run once, not e.count times
	run  func(e *benchEnv) (map[string]benchMeasure, error)
}

// benchNsPerOp returns the mean time of one operation of a benchmark result.
func benchNsPerOp(r testing.BenchmarkResult) float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

// benchRunTB runs f with testing.Benchmark and turns a failed benchmark (which
// testing.Benchmark reports as a zero result) into an error.
func benchRunTB(name string, f func(b *testing.B)) (testing.BenchmarkResult, error) {
	var failure string
	r := testing.Benchmark(func(b *testing.B) {
		defer func() {
			if b.Failed() {
				failure = "benchmark failed"
			}
		}()
		f(b)
	})
	if r.N == 0 && failure == "" {
		failure = "benchmark did not run"
	}
	if failure != "" {
		return r, fmt.Errorf("%s: %s", name, failure)
	}
	return r, nil
}
