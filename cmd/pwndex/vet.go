package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality"
)

// vetMemoryLimit is the soft heap limit set while vetting.
const vetMemoryLimit = 200 << 20

// vetOutBuffer is the write buffer of clean.csv and rejects.csv.
const vetOutBuffer = 1 << 20

// colFlags collects repeated --col FIELD=HEADER flags.
type colFlags map[quality.Field]string

func (c colFlags) String() string { return "" }

func (c colFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want FIELD=HEADER or FIELD=#N, got %q", s)
	}
	f, ok := quality.ParseField(k)
	if !ok {
		var names []string
		for _, f := range quality.AllFields() {
			names = append(names, f.String())
		}
		return fmt.Errorf("unknown field %q (fields: %s)", k, strings.Join(names, ", "))
	}
	c[f] = v
	return nil
}

// keepFlags collects repeated --keep-column flags.
type keepFlags []string

func (k *keepFlags) String() string { return strings.Join(*k, ",") }

func (k *keepFlags) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty column name")
	}
	*k = append(*k, s)
	return nil
}

// cmdVet implements `pwndex vet FILE`: exit 0 when the file passes the
// policy, 1 when it fails it, 2 on usage errors or unusable input, 3 on
// internal errors (e.g. the output directory cannot be written).
func cmdVet(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", "usage: pwndex vet [flags] FILE\n\nVets a contact file; writes clean.csv, rejects.csv, report.json and report.html.\nExit status: 0 pass, 1 fails the policy, 2 unusable input, 3 internal error.\n\nflags:\n", stderr)
	out := fs.String("out", "", "output directory (default FILE.vet/)")
	purpose := fs.String("purpose", "email", "intended use: email, sms or postal")
	retention := fs.Float64("retention-years", 3, "maximum consent age in calendar years, fractions in months (0: no limit)")
	indexDir := fs.String("index", "", "pwndex index directory for breach exposure (optional)")
	optout := fs.String("optout", "", "opt-out list: SHA-1 hex of normalised e-mails/phones, one a line (optional)")
	policyFile := fs.String("policy", "", "JSON policy file (default policy otherwise)")
	maxReject := fs.Float64("max-reject-rate", -1, "override the policy's max_reject_rate (0-1)")
	maxDup := fs.Float64("max-dup-rate", -1, "override the policy's max_duplicate_rate (0-1)")
	maxExposed := fs.Float64("max-exposed-rate", -1, "override the policy's max_exposed_rate (0-1)")
	provenance := fs.Float64("provenance-threshold", quality.DefaultProvenanceThreshold, "share of rows in one breach that marks the file as derived from it")
	encoding := fs.String("encoding", "", "force the input encoding: utf-8, utf-16le, utf-16be, windows-1252")
	delim := fs.String("delimiter", "", `force the delimiter: ";", ",", "tab" or "|"`)
	noSource := fs.Bool("source-optional", false, "accept rows without a consent source")
	noConsent := fs.Bool("skip-consent", false, "skip consent checks (not a prospect acquisition)")
	outFormat := fs.String("output-format", "excel", "clean.csv and rejects.csv: excel (the input's delimiter, UTF-8 with a BOM, as Excel opens it) or csv (comma, UTF-8 without BOM)")
	now := fs.String("now", "", "reference date for consent ages, YYYY-MM-DD (default today)")
	var keep keepFlags
	fs.Var(&keep, "keep-column", "copy a minimised column (comment, birth_date, or a header cell) to clean.csv and rejects.csv (repeatable)")
	cols := colFlags{}
	fs.Var(cols, "col", "map a field to a column: FIELD=HEADER or FIELD=#N (repeatable), e.g. email=Courriel_Pro")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	file := fs.Arg(0)
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "pwndex vet: "+format+"\n", a...)
		return 2
	}
	p, err := quality.ParsePurpose(*purpose)
	if err != nil {
		return usage("%v", err)
	}
	opts := quality.VetOptions{Purpose: p, SourceOptional: *noSource, SkipConsent: *noConsent, ProvenanceThreshold: *provenance, KeepColumns: keep}
	opts.Table.Encoding = *encoding
	opts.Table.Columns = cols
	switch *delim {
	case "":
	case "tab", `\t`:
		opts.Table.Delimiter = '\t'
	case ";", ",", "|":
		opts.Table.Delimiter = rune((*delim)[0])
	default:
		return usage("bad --delimiter %q", *delim)
	}
	switch {
	case *retention < 0:
		return usage("--retention-years must be >= 0")
	case *retention == 0:
		opts.Retention = -1
	default:
		opts.RetentionYears = *retention // calendar years
	}
	if *now != "" {
		t, err := time.ParseInLocation("2006-01-02", *now, time.Local)
		if err != nil {
			return usage("bad --now %q: want YYYY-MM-DD", *now)
		}
		opts.Now = t
	}
	pol := quality.DefaultPolicy()
	if *policyFile != "" {
		f, err := os.Open(*policyFile)
		if err != nil {
			return usage("%v", err)
		}
		pol, err = quality.LoadPolicy(f, *policyFile)
		f.Close()
		if err != nil {
			return usage("%v", err)
		}
	}
	for _, o := range []struct {
		v   float64
		dst *float64
	}{{*maxReject, &pol.MaxRejectRate}, {*maxDup, &pol.MaxDuplicateRate}, {*maxExposed, &pol.MaxExposedRate}} {
		if o.v >= 0 {
			*o.dst = o.v
		}
	}
	if err := pol.Validate(); err != nil {
		return usage("%v", err)
	}
	opts.Policy = &pol
	if *optout != "" {
		f, err := os.Open(*optout)
		if err != nil {
			return usage("%v", err)
		}
		opts.OptOut, err = quality.LoadOptOut(f, *optout)
		f.Close()
		if err != nil {
			return usage("%v", err)
		}
	}
	if err := checkInputs(file); err != nil {
		return usage("%v", err)
	}
	excel := false
	switch *outFormat {
	case "excel":
		excel = true
	case "csv":
	default:
		return usage("--output-format %q: want excel or csv", *outFormat)
	}
	if *indexDir != "" {
		// Only the identifier kinds: password filters can be gigabytes.
		ix, err := index.Open(index.Options{Dir: *indexDir, ReadOnly: true, Kinds: []index.Kind{index.KindEmail, index.KindPhone}})
		if err != nil {
			return reportOpen(stderr, "vet", *indexDir, fmt.Errorf("opening index: %w", err), 2)
		}
		defer ix.Close()
		opts.Index = ix
	}
	in, err := os.Open(file)
	if err != nil {
		return usage("%v", err)
	}
	defer in.Close()
	// Vet's heap stays small (its one growing structure, the duplicate
	// index, lives off the Go heap: see quality/offheap.go); the soft limit
	// is only a safety net against a pathological input. GOMEMLIMIT
	// overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(vetMemoryLimit))
	}
	dir := *out
	if dir == "" {
		dir = file + ".vet"
	}
	code, err := vetToDir(ctx, in, file, dir, opts, excel, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "pwndex vet: %v\n", err)
	}
	return code
}
