package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality"
	"github.com/pwndex/pwndex/quality/audit"
)

const auditUsage = `usage: pwndex audit (--index DIR | --remote URL --api-key K) [flags] FILE

Reports how exposed the customers of FILE (CSV) are: exposed.csv, report.json,
report.html and bad_rows.csv in --out (default: FILE without its extension,
plus .audit: crm.csv writes to crm.audit/). Remote mode sends only hash prefixes: 6 hex
on the HIBP route, 1 to 6 on pwndex's compact route for keys with the audit scope,
paced to the key's rate (a 429 slows the audit down, it never fails it); with
--private it sends no hash prefix at all, only a short bucket number and
OPRF-blinded elements (POST /v1/private/..., see api/README.md).
--dry-run reads FILE and prints the requests and their time at the key's rate.
Exit codes: 0 done, 2 usage or unusable input, 3 internal or remote error, or
--max-duration reached (run the same command again to resume).

flags:
`

// cmdAudit implements `pwndex audit`: the breach exposure of a CRM base,
// against a local index or a remote pwndex through the range API.
func cmdAudit(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("audit", auditUsage, stderr)
	var (
		indexDir    = fs.String("index", "", "audit against the local index in `DIR`")
		remote      = fs.String("remote", "", "audit against the pwndex (or HIBP-compatible) range API at `URL`")
		apiKey      = fs.String("api-key", "", "API key for --remote (default $PWNDEX_API_KEY)")
		out         = fs.String("out", "", "output `DIR` (default: FILE without its extension, plus .audit)")
		emailCol    = fs.String("email-col", "", "e-mail column: header `NAME` or #N (default: recognised from the header)")
		phoneCol    = fs.String("phone-col", "", "phone column: header `NAME` or #N (default: recognised from the header)")
		region      = fs.String("region", "", "`REGION` national phone numbers are read in (default: country column, else FR)")
		concurrency = fs.Int("concurrency", 0, "lookups in flight (default: CPUs locally, 16 remotely)")
		resume      = fs.Bool("resume", true, "resume an interrupted audit of the same file")
		noResume    = fs.Bool("no-resume", false, "start afresh, discarding an interrupted audit")
		encoding    = fs.String("encoding", "", "force the input encoding (utf-8, utf-16le, utf-16be, windows-1252)")
		quiet       = fs.Bool("quiet", false, "no progress bar")
		ckEvery     = fs.Int("checkpoint-every", 0, "rows between checkpoints (default 200000)")
		maxDur      = fs.Duration("max-duration", 0, "stop after `D` (e.g. 2h), resumable; default: no limit")
		dryRun      = fs.Bool("dry-run", false, "read FILE and print the requests the audit needs and their time; send no prefix")
		prefixLen   = fs.Int("prefix-digits", 0, "force the prefix length `N` (1-6) of pwndex's compact route (default: chosen from the base and index sizes)")
		private     = fs.Bool("private", false, "with --remote: private (OPRF) lookups instead of range prefixes")
	)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "pwndex audit: want exactly one FILE")
		fs.Usage()
		return 2
	}
	if (*indexDir == "") == (*remote == "") {
		fmt.Fprintln(stderr, "pwndex audit: give either --index DIR or --remote URL")
		return 2
	}
	if *private && *remote == "" {
		fmt.Fprintln(stderr, "pwndex audit: --private needs --remote URL")
		return 2
	}
	file := files[0]
	if *out == "" {
		*out = strings.TrimSuffix(file, filepath.Ext(file)) + ".audit"
	}
	cfg := audit.Config{
		Path: file, Name: file, OutDir: *out,
		EmailColumn: *emailCol, PhoneColumn: *phoneCol, Region: *region,
		Concurrency: *concurrency, Resume: *resume && !*noResume, CheckpointEvery: *ckEvery,
		Table: quality.TableOptions{Encoding: *encoding}, DryRun: *dryRun,
	}
	if *indexDir != "" {
		// Only the identifier kinds: password filters can be gigabytes.
		if err := checkInputs(file); err != nil {
			fmt.Fprintf(stderr, "pwndex audit: %v\n", err)
			return 2
		}
		ix, err := index.Open(index.Options{Dir: *indexDir, ReadOnly: true, Kinds: []index.Kind{index.KindEmail, index.KindPhone}})
		if err != nil {
			return reportOpen(stderr, "audit", *indexDir, err, 2)
		}
		defer ix.Close()
		cfg.Lookup = audit.NewLocal(ix)
	} else {
		key := *apiKey
		if key == "" {
			key = os.Getenv("PWNDEX_API_KEY")
		}
		ropts := audit.RemoteOptions{BaseURL: *remote, APIKey: key, Concurrency: *concurrency, PrefixDigits: *prefixLen}
		if *private {
			p, err := audit.NewPrivate(ropts)
			if err != nil {
				fmt.Fprintf(stderr, "pwndex audit: %v\n", err)
				return 2
			}
			defer p.Close()
			cfg.Lookup = p
		} else {
			r, err := audit.NewRemote(ropts)
			if err != nil {
				fmt.Fprintf(stderr, "pwndex audit: %v\n", err)
				return 2
			}
			defer r.Close()
			cfg.Lookup = r
		}
	}
	var bar *progressBar
	if !*quiet && isTerminal(stderr) {
		bar = &progressBar{w: stderr}
		cfg.Progress = bar.update
	}
	if auditConfigHook != nil {
		auditConfigHook(&cfg)
	}
	runCtx := ctx
	if *maxDur > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, *maxDur)
		defer cancel()
	}
	cleanup := dirCreatedBy(*out)
	rep, err := audit.Run(runCtx, cfg)
	bar.finish()
	if err != nil {
		defer cleanup()
		var ie *quality.InputError
		switch {
		case errors.As(err, &ie):
			fmt.Fprintf(stderr, "pwndex audit: %v\n", err)
			return 2
		case ctx.Err() == nil && runCtx.Err() != nil:
			fmt.Fprintf(stderr, "pwndex audit: stopped after --max-duration %v; run the same command again to resume\n", *maxDur)
			return 3
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "pwndex audit: interrupted; run the same command again to resume")
			return 3
		}
		fmt.Fprintf(stderr, "pwndex audit: %v\n", err)
		return 3
	}
	if *dryRun {
		printPlan(stdout, file, &rep)
		return 0
	}
	printSummary(stdout, file, &rep)
	return 0
}

// auditConfigHook, set only by tests, adjusts the configuration of an
// audit before it runs (the kill-and-resume test slows the lookup stage
// down so that it can kill the child while it resolves).
var auditConfigHook func(*audit.Config)

// parseInterspersed parses flags placed before and after positional
// arguments (`pwndex audit crm.csv --index ./data`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
