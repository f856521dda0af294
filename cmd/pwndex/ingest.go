package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/ingest"
)

const ingestUsage = `usage: pwndex ingest [flags] FILE|DIR ...

Index breach data as hashes: Pwned Passwords downloads (one HASH:COUNT file
or the downloader's directory of XXXXX.txt prefix files, SHA-1 or NTLM),
breach dumps (CSV/TSV with a header, email:password combo lists) and lists
of pre-hashed identifiers, the last three with a --manifest describing the
breach. Running the same command again is a no-op; after an interruption it
completes the ingest.

Exit codes: 0 ok (or already ingested), 2 bad input or usage, an input that
changed while it was read, or a base that looks partial without
--allow-shrink (the index is unchanged), 3 internal error or out of space.

flags:
`

// cmdIngest implements "pwndex ingest".
func cmdIngest(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("ingest", ingestUsage, stderr)
	var (
		dir      = fs.String("index", "./data", "index `directory`")
		format   = fs.String("format", "auto", "input format: auto, hibp, hibp-dir, dump, combo or hashes")
		kind     = fs.String("kind", "", "kind: sha1 or ntlm for Pwned Passwords (default: from the hash length); email (default) or phone for hash lists")
		manifest = fs.String("manifest", "", "breach manifest `file` (JSON, Have I Been Pwned Breach fields), required for dumps, combo and hash lists")
		region   = fs.String("region", "FR", "phone region for national numbers without a country column")
		fpr      = fs.Float64("fpr", index.DefaultFalsePositiveRate, "false-positive rate of the membership filters")
		comp     = fs.Bool("compress", false, "also store gzip and brotli copies of the password ranges (about 44 more bytes per hash; default: keep them only if the index has them)")
		noComp   = fs.Bool("no-compress", false, "store no gzip and brotli copies, dropping those the index has")
		appendTo = fs.Bool("append", false, "add to a breach already in the index (parts of one breach)")
		shrink   = fs.Bool("allow-shrink", false, "accept a Pwned Passwords input that looks partial (missing prefix files, or under half the current records)")
		quiet    = fs.Bool("quiet", false, "no progress bar")
		asJSON   = fs.Bool("json", false, "print the summary as JSON")
		tmpDir   = fs.String("tmp", "", "`directory` for sort runs (default: inside the index)")
		memMiB   = fs.Int("mem", 256, "sort buffer budget in `MiB`")
		noPriv   = fs.Bool("no-private", false, "do not derive the private (OPRF) lookup values after the ingest")
	)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	cfg := ingest.Config{
		Inputs:         fs.Args(),
		Manifest:       *manifest,
		Region:         *region,
		Compress:       *comp,
		KeepCompressed: !*noComp,
		Append:         *appendTo,
		AllowShrink:    *shrink,
		TempDir:        *tmpDir,
		MemoryBudget:   *memMiB << 20,
	}
	if *comp && *noComp {
		fmt.Fprintln(stderr, "pwndex ingest: --compress and --no-compress exclude each other")
		return 2
	}
	if len(cfg.Inputs) == 0 {
		fmt.Fprintln(stderr, "pwndex ingest: no input given")
		fs.Usage()
		return 2
	}
	var err error
	if cfg.Format, err = ingest.ParseFormat(*format); err != nil {
		fmt.Fprintf(stderr, "pwndex ingest: --format: %v\n", err)
		return 2
	}
	if *kind != "" {
		if cfg.Kind, err = index.ParseKind(*kind); err != nil {
			fmt.Fprintf(stderr, "pwndex ingest: --kind: %v\n", err)
			return 2
		}
	}
	if !(*fpr > 0 && *fpr < 1) {
		fmt.Fprintln(stderr, "pwndex ingest: --fpr must be between 0 and 1")
		return 2
	}
	if *memMiB < 16 {
		fmt.Fprintln(stderr, "pwndex ingest: --mem must be at least 16")
		return 2
	}

	if err := checkInputs(append(slices.Clone(cfg.Inputs), nonEmpty(*manifest)...)...); err != nil {
		fmt.Fprintf(stderr, "pwndex ingest: %v\n", err)
		return 2
	}
	ix, err := index.Open(index.Options{Dir: *dir, FalsePositiveRate: *fpr})
	if err != nil {
		return reportOpen(stderr, "ingest", *dir, fmt.Errorf("open index: %w", err), 3)
	}
	defer ix.Close()
	// Whatever happens below, what was committed reaches a running serve
	// (local snapshots, serve.go).
	exported := false
	defer func() {
		if !exported {
			exportLocal(ix, "ingest", stderr)
		}
	}()

	var progress io.Writer
	if !*quiet && ingestIsTerminal(stderr) {
		progress = stderr
	}
	sum, err := ingest.Run(ctx, ix, cfg, progress)
	if len(sum.Jobs) > 0 {
		if *asJSON {
			sum.Version = ingest.SummaryVersion
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(sum)
		} else {
			sum.WriteText(stdout)
		}
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "pwndex ingest: interrupted; the unfinished job left the index unchanged: run the same command again to complete it")
		return 3
	}
	if index.IsNoSpace(err) {
		fmt.Fprintf(stderr, "pwndex ingest: %v; the index is unchanged: free some space and run the same command again\n", err)
		return 3
	}
	if err != nil {
		fmt.Fprintf(stderr, "pwndex ingest: %v\n", err)
		switch {
		case errors.Is(err, ingest.ErrBadInput), errors.Is(err, ingest.ErrUsage), errors.Is(err, ingest.ErrBreachExists),
			errors.Is(err, ingest.ErrShrink):
			return 2
		}
		return 3
	}
	if !*noPriv {
		start := time.Now()
		if err := ix.DerivePrivate(ctx); err != nil {
			if errors.Is(err, index.ErrPrivateKeyLost) {
				// Running again would not help: the message names the fix.
				fmt.Fprintf(stderr, "pwndex ingest: records committed, but not the private lookup values: %v\n", err)
				return 3
			}
			fmt.Fprintf(stderr, "pwndex ingest: private lookup values: %v (run the same command again to complete them)\n", err)
			return 3
		}
		if !*quiet {
			fmt.Fprintf(stderr, "private lookup values up to date (%s)\n", time.Since(start).Round(time.Millisecond))
		}
	}
	exported = true
	if exportLocal(ix, "ingest", stderr) != nil {
		return 3
	}
	return 0
}

// ingestIsTerminal reports whether w is a character device (a terminal).
func ingestIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// nonEmpty returns s as a one-element list, or none when s is "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
