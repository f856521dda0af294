package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pwndex/pwndex/bench"
)

// benchCommand runs a pwndex subcommand in-process for the vet and audit
// benchmarks of `bench --quick` (set in init: run refers to the command
// table, which refers to cmdBench).
var benchCommand bench.CommandFunc

func init() { benchCommand = run }

// benchChild implements the hidden `pwndex bench serve-baseline|serve-api`
// and `pwndex bench load`: one side of a server benchmark, run by the
// harness in a separate (pinned) process.
func benchChild(ctx context.Context, kind string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var err error
	switch kind {
	case "load":
		var o bench.LoadChildOptions
		fs.StringVar(&o.Addr, "addr", "", "server address (loopback)")
		fs.IntVar(&o.Conns, "conns", 32, "connections")
		fs.DurationVar(&o.Duration, "duration", 5*time.Second, "duration")
		fs.BoolVar(&o.Padding, "padding", false, "send Add-Padding: true")
		fs.StringVar(&o.AcceptEncoding, "accept-encoding", "", "Accept-Encoding header to send (none if empty)")
		fs.IntVar(&o.Buckets, "dense-buckets", bench.DenseBuckets, "dense buckets to request")
		fs.Uint64Var(&o.Seed, "seed", bench.DefaultDenseSeed, "dense prefix seed")
		if fs.Parse(args) != nil {
			return 2
		}
		err = bench.LoadChild(ctx, o, stdout)
	default:
		o := bench.ServeChildOptions{Kind: kind}
		fs.StringVar(&o.Index, "index", "", "index directory (serve-api)")
		fs.StringVar(&o.Body, "body", "", "response body file (serve-baseline)")
		fs.BoolVar(&o.Rotate, "rotate", false, "serve-baseline: answer /range/PREFIX with that bucket's SHA-1 body of --index, copied to memory at start")
		if fs.Parse(args) != nil {
			return 2
		}
		err = bench.ServeChild(ctx, o, stdin, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pwndex bench %s: %v\n", kind, err)
		return 3
	}
	return 0
}
