package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/pwndex/pwndex/bench"
	"github.com/pwndex/pwndex/index"
)

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
		err = bench.WriteFileAtomic(*out, func(w io.Writer) error {
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
		err = bench.WriteFileAtomic(*out, func(w io.Writer) error {
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
