package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/pwndex/pwndex/bench"
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
		case "serve-baseline", "serve-api", "load":
			return benchChild(ctx, args[0], args[1:], stdin, stdout, stderr)
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
	privPeople := fs.Int("private-people", 0, "people (1.3 identifiers each) of a separate index for the private benchmark's audit rows; 7700000 makes the issue's 10M identifiers (default: the audit benchmark's index)")
	dir := fs.String("dir", "", "work directory for generated data and indexes (default a temporary directory, removed)")
	pin := fs.Bool("pin", true, "pin each server benchmark side to its own core (taskset, GOMAXPROCS=1; not with --quick)")
	listOnly := fs.Bool("list", false, "list the benchmarks and exit")
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
	c := bench.Config{
		Quick: *quick, Only: re, Log: stderr, Dir: *dir, Count: *count, Keys: *keys, Buckets: *buckets,
		Conns: *conns, LoadDur: *dur, VetRows: *vetRows, CRMRows: *crmRows, PrivatePeople: *privPeople, Command: benchCommand,
	}
	c.Defaults()
	if err := c.Validate(); *count < 0 || err != nil {
		fmt.Fprintln(stderr, "pwndex bench: --count, --keys, --conns, --vet-rows, --crm-rows and --dense-buckets must be positive (buckets <= 2^20)")
		return 2
	}
	if !*quick {
		if exe, err := os.Executable(); err == nil {
			c.Exe = exe
		}
		c.Pin = *pin
	}
	list := bench.List(re)
	if *listOnly {
		for _, cr := range list {
			for _, r := range cr.Rows {
				fmt.Fprintf(stdout, "%s\t%s\n", cr.Case, r)
			}
		}
		return 0
	}
	if len(list) == 0 {
		fmt.Fprintf(stderr, "pwndex bench: no benchmark matches %q\n", *only)
		return 2
	}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "pwndex-bench-")
		if err != nil {
			fmt.Fprintf(stderr, "pwndex bench: %v\n", err)
			return 3
		}
		defer os.RemoveAll(d)
		c.Dir = d
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "pwndex bench: %v\n", err)
		return 3
	}
	rows, err := bench.Run(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "pwndex bench: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "pwndex bench: %d keys, %d dense buckets x %d, %d repetitions, %s\n",
		c.Keys, c.Buckets, bench.DensePerBucket, c.Count, c.Placement())
	failed, err := bench.WriteTable(stdout, rows)
	if err == nil && *raw != "" {
		err = bench.WriteFileAtomic(*raw, func(w io.Writer) error { return bench.WriteRaw(w, rows) })
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
	case failed > 0 && !c.Quick:
		fmt.Fprintf(stderr, "pwndex bench: %d row(s) missed their target\n", failed)
		return 1
	}
	return 0
}
