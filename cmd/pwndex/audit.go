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
	"time"

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

// printPlan prints a dry run: the requests the lookup stage needs.
func printPlan(w io.Writer, file string, r *audit.Report) {
	fmt.Fprintf(w, "pwndex audit: dry run of %s against %s (%s): nothing sent but the catalog and status\n", file, r.Source, r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "  records     %d read, %d e-mail addresses and %d phone numbers to check\n", r.Rows, r.Emails, r.Phones)
	if p := r.Plan; p != nil {
		for i, k := range []string{"e-mail", "phone"} {
			fmt.Fprintf(w, "  %-11s %d requests of %d-hex prefixes (%d at 6 hex)\n", k, p.Requests[i], p.Digits[i], p.Requests6[i])
		}
		fmt.Fprintf(w, "  requests    %d\n", p.Total())
		if p.RPM > 0 {
			fmt.Fprintf(w, "  time        %s at %.0f requests/minute (the key's rate)\n", p.Estimate.Round(time.Second), p.RPM)
		} else {
			fmt.Fprintln(w, "  time        no rate limit known: as fast as the server answers")
		}
		if !p.ShortRoute && p.Total() > audit.MaxPlanRequests {
			fmt.Fprintln(w, "  hint        on a pwndex server, a key with the audit scope lets the audit use shorter prefixes: far fewer requests")
		}
	}
	fmt.Fprintln(w, "  run the same command without --dry-run to audit (the file is not read again)")
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

func printSummary(w io.Writer, file string, r *audit.Report) {
	resumed := ""
	if r.Resumed {
		resumed = ", resumed"
	}
	fmt.Fprintf(w, "pwndex audit: %s against %s (%s%s)\n", file, r.Source, r.Duration.Round(time.Millisecond), resumed)
	fmt.Fprintf(w, "  records     %d read, %d with a usable e-mail or phone (%d malformed, %d without identifier)\n",
		r.Rows, r.Checked, r.MalformedRows, r.NoIdentifier)
	fmt.Fprintf(w, "  exposed     %d customers (%.2f%%), %d with passwords in a breach\n",
		r.ExposedCustomers, 100*r.ExposureRate, r.PasswordsExposed)
	if len(r.Breaches) > 0 {
		var top []string
		for _, b := range r.Breaches[:min(3, len(r.Breaches))] {
			top = append(top, fmt.Sprintf("%s %d", b.Name, b.Customers))
		}
		fmt.Fprintf(w, "  breaches    %d (%s)\n", len(r.Breaches), strings.Join(top, ", "))
	}
	fmt.Fprintf(w, "  bad rows    %d entries\n", r.BadRows)
	if secs := r.LookupTime.Seconds(); secs > 0 {
		fmt.Fprintf(w, "  lookups     %d range lookups in %s (%.0f/s)\n", r.Lookups, r.LookupTime.Round(time.Millisecond), float64(r.Lookups)/secs)
	}
	if st, p := r.Remote, r.Plan; st != nil && p != nil {
		fmt.Fprintf(w, "  remote      %d requests, %d bytes received, %d answered 429; prefixes of %d (e-mail) and %d (phone) hex\n",
			st.Requests, st.Bytes, st.RateLimited, p.Digits[0], p.Digits[1])
	}
	fmt.Fprintf(w, "  wrote       %s\n", strings.Join(r.Files, ", "))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws audit progress on a terminal, at most 10 times a
// second.
type progressBar struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (b *progressBar) update(p audit.Progress) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && (p.Total == 0 || p.Done < p.Total) {
		return
	}
	b.last = now
	const width = 30
	frac := 0.0
	if p.Total > 0 {
		frac = min(1, float64(p.Done)/float64(p.Total))
	}
	n := int(frac * width)
	extra := ""
	if p.RPM > 0 {
		extra += fmt.Sprintf("  %.0f req/min", p.RPM)
	}
	if p.ETA > 0 {
		extra += fmt.Sprintf("  ETA %s", p.ETA.Round(time.Second))
	}
	fmt.Fprintf(b.w, "\r%-14s [%s%s] %3.0f%%  %d rows  %s%s\x1b[K", p.Stage, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		100*frac, p.Rows, p.Elapsed.Round(time.Second), extra)
	b.drawn = true
}

func (b *progressBar) finish() {
	if b != nil && b.drawn {
		fmt.Fprintln(b.w)
	}
}
