package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// CommandFunc runs one pwndex subcommand in-process: args[0] is the
// subcommand's name; it returns the exit code.
type CommandFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Config is one run of the benchmark harness. Zero sizes take the full or
// quick defaults (see Defaults).
type Config struct {
	Quick    bool           // small sizes and short runs, in-process
	Only     *regexp.Regexp // run only cases whose name matches; nil runs all
	Log      io.Writer      // progress lines
	Dir      string         // work directory (must exist)
	Count    int            // repetitions of each case
	Keys     int            // hashes of the generated Pwned Passwords file
	Buckets  int            // dense buckets
	Conns    int            // connections of the server load runs
	LoadDur  time.Duration  // duration of each server load run
	BenchDur time.Duration  // duration testing.Benchmark aims for
	VetRows  int            // rows of the vet benchmark's contact file
	CRMRows  int            // rows of the audit benchmark's CRM base
	Exe      string         // pwndex binary for child processes; "" runs in-process
	Pin      bool           // pin server and load children to their own cores
	Command  CommandFunc    // runs vet and audit in-process when Exe is ""

	// PrivatePeople, if set, gives the private benchmark its own index of
	// a dump of that many people (1.3 identifiers each) for its audit
	// rows, instead of the audit benchmark's index.
	PrivatePeople int
}

// Defaults fills the zero sizes of c with the full or (c.Quick) quick defaults.
func (c *Config) Defaults() {
	pick := func(v *int, full, small int) {
		switch {
		case *v != 0:
		case c.Quick:
			*v = small
		default:
			*v = full
		}
	}
	pick(&c.Count, 3, 1)
	pick(&c.Keys, DefaultHIBPKeys, 50_000)
	pick(&c.Buckets, DenseBuckets, 64)
	pick(&c.VetRows, 1_000_000, 2_000)
	pick(&c.CRMRows, 100_000, 1_000)
	pick(&c.Conns, 32, 32)
	d, b := int(c.LoadDur), int(c.BenchDur)
	pick(&d, int(5*time.Second), int(300*time.Millisecond))
	pick(&b, int(time.Second), int(50*time.Millisecond))
	c.LoadDur, c.BenchDur = time.Duration(d), time.Duration(b)
}

// Validate reports a size of c out of range.
func (c *Config) Validate() error {
	if c.Count <= 0 || c.Keys <= 0 || c.Buckets <= 0 || c.Buckets > 1<<20 || c.Conns <= 0 || c.VetRows <= 0 || c.CRMRows <= 0 {
		return fmt.Errorf("count, keys, conns, vet rows, CRM rows and dense buckets must be positive (buckets <= 2^20)")
	}
	return nil
}

// CaseRows is a registered benchmark case and the names of its rows.
type CaseRows struct {
	Case string
	Rows []string
}

// List returns the registered cases matching only (nil: all) in table order.
func List(only *regexp.Regexp) []CaseRows {
	var out []CaseRows
	for _, c := range selectCases(only) {
		cr := CaseRows{Case: c.name}
		for _, r := range c.rows {
			cr.Rows = append(cr.Rows, r.Name)
		}
		out = append(out, cr)
	}
	return out
}

func selectCases(only *regexp.Regexp) []*benchCase {
	var cases []*benchCase
	for _, c := range benchCases() {
		if c.optIn && (only == nil || !strings.Contains(only.String(), path.Base(c.name))) {
			continue // long: only when --only names it
		}
		if only == nil || only.MatchString(c.name) {
			cases = append(cases, c)
		}
	}
	return cases
}

// Placement describes where the servers and load clients of c run.
func (c *Config) Placement() string {
	switch {
	case c.Exe == "":
		return "servers in-process, unpinned"
	case c.Pin && benchCanPin():
		return "server and load client in separate processes pinned to cores 0 and 1 (GOMAXPROCS=1)"
	}
	return "server and load client in separate processes, unpinned"
}

// Run runs the selected cases, each c.Count times (once for one-shot
// cases), and returns one row per registered row with its samples; a case
// that failed marks its rows with Err. It fails only when no case matches.
func Run(ctx context.Context, c Config) ([]Row, error) {
	cases := selectCases(c.Only)
	if len(cases) == 0 {
		return nil, fmt.Errorf("no benchmark matches %q", c.Only)
	}
	e := &benchEnv{
		ctx: ctx, quick: c.Quick, log: c.Log, dir: c.Dir, count: c.Count, keys: c.Keys,
		buckets: c.Buckets, conns: c.Conns, loadDur: c.LoadDur, benchDur: c.BenchDur,
		vetRows: c.VetRows, crmRows: c.CRMRows, exe: c.Exe, pin: c.Pin, command: c.Command,
		privPeople: c.PrivatePeople,
	}
	if e.log == nil {
		e.log = io.Discard
	}
	defer e.close()
	setBenchtime(e.benchDur)
	return runBenchCases(e, cases), nil
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
func runBenchCases(e *benchEnv, cases []*benchCase) []Row {
	var rows []Row
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

// WriteFileAtomic writes path through a temporary file renamed on success,
// so an interrupted run leaves no truncated file behind. Missing parent
// folders are created.
func WriteFileAtomic(path string, fill func(w io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
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
	command  CommandFunc

	hibpFile string        // generated Pwned Passwords SHA-1 file
	uniform  *benchFixture // index of the HIBP keys
	dense    *benchFixture // index of the dense buckets
	audit    *benchAuditData

	// privPeople sizes the private benchmark's own index, privAudit
	// (0: none; it uses audit).
	privPeople int
	privAudit  *benchAuditData
}

// runCommand runs a pwndex subcommand in-process.
func (e *benchEnv) runCommand(args []string, stdout, stderr io.Writer) int {
	if e.command == nil {
		fmt.Fprintf(stderr, "no in-process runner for pwndex %s (bench.Config.Command)\n", args[0])
		return 3
	}
	return e.command(e.ctx, args, nil, stdout, stderr)
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
	if e.privAudit != nil {
		e.privAudit.close()
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
	rows []Row // Name, Unit, Goal and Target
	once bool  // deterministic or long measure: run once, not e.count times
	// optIn cases (too long for make bench) run only when the --only
	// pattern names them (contains the last element of their name).
	optIn bool
	run   func(e *benchEnv) (map[string]benchMeasure, error)
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
