package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pwndex/pwndex/index"
)

// cmdCheck validates an index: counts, filters against records, range
// files against records. Exit 0 when consistent, 1 when not, 2 when the
// index cannot be opened.
func cmdCheck(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", "usage: pwndex check [--index DIR | --snapshot DIR] [--json]\n\nValidates an index. Exit status: 0 consistent, 1 problems found, 2 unusable index.\n\nflags:\n", stderr)
	dir := fs.String("index", "./data", "index directory")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	snapDir := fs.String("snapshot", "", "check the snapshot `directory` (every file's SHA-256, then the index) instead of --index")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pwndex check: unexpected argument %q (the index is given with --index DIR)\n", fs.Arg(0))
		return 2
	}
	ix, err := openChecked(*dir, *snapDir)
	if err != nil {
		return reportOpen(stderr, "check", *dir, err, 2)
	}
	defer ix.Close()
	rep, err := ix.Check(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pwndex check: %v\n", err)
		return 3
	}
	m := ix.Meta()
	if *asJSON {
		out := struct {
			Version  int                        `json:"version"` // checkJSONVersion
			Meta     index.Meta                 `json:"meta"`
			Kinds    map[string]index.KindCheck `json:"kinds"`
			Problems []string                   `json:"problems"`
		}{Version: checkJSONVersion, Meta: m, Kinds: map[string]index.KindCheck{}, Problems: rep.Problems}
		for k, kc := range rep.Kinds {
			out.Kinds[k.String()] = kc
		}
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(out)
	} else {
		fmt.Fprintf(stdout, "index %s: format %d, version %d, built %s, %d breaches\n",
			ix.Dir(), m.FormatVersion, m.Version, m.BuiltAt.Format("2006-01-02 15:04:05Z07:00"), m.Breaches)
		for _, k := range index.Kinds {
			kc, ok := rep.Kinds[k]
			if !ok {
				continue
			}
			theo := index.TheoreticalBits(kc.FilterKeys, kc.FilterFPR)
			fmt.Fprintf(stdout, "  %-5s %12d records  range files %12d  filter %.1f bits/key (%.1f%% of theoretical at %g), %d misses\n",
				k, kc.Records, kc.RangeRecords, float64(kc.FilterBits)/float64(max(kc.FilterKeys, 1)),
				100*float64(kc.FilterBits)/max(theo, 1), kc.FilterFPR, kc.FilterMisses)
		}
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "PROBLEM: %s\n", p)
		}
		if rep.OK() {
			fmt.Fprintln(stdout, "ok")
		}
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// openChecked opens the index to check: a snapshot directory (after
// verifying every file against its manifest) or an index directory.
func openChecked(dir, snapshot string) (*index.Index, error) {
	if snapshot == "" {
		return index.Open(index.Options{Dir: dir, ReadOnly: true, Lenient: true})
	}
	if _, err := index.VerifySnapshot(snapshot); err != nil {
		return nil, err
	}
	return index.OpenSnapshot(snapshot, index.Options{Lenient: true})
}

// checkJSONVersion is the format of `pwndex check --json` (camelCase keys,
// as in every pwndex report).
const checkJSONVersion = 1
