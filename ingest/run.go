package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pwndex/pwndex/index"
)

// Config configures Run.
type Config struct {
	// Inputs are the files and directories to ingest. Pwned Passwords inputs
	// are one job (one commit) each; all breach inputs (dumps, combo lists,
	// hash lists) form one job for the breach of the manifest.
	Inputs []string
	// Format forces the format of every input; FormatAuto detects it per
	// input (DetectFormat).
	Format Format
	// Kind forces the kind of Pwned Passwords inputs (index.KindSHA1 or
	// index.KindNTLM, detected from the hash length when zero) or gives the
	// kind of pre-hashed identifier lists (index.KindEmail, the default, or
	// index.KindPhone).
	Kind index.Kind
	// Manifest is the path of the breach manifest (JSON, see LoadManifest),
	// required with breach inputs unless Breach is set.
	Manifest string
	// Breach, when set, is used instead of reading Manifest.
	Breach *index.Breach
	// Region is the phone region for numbers without an international
	// prefix or a country column (default ident.DefaultRegion).
	Region string
	// Compress precomputes gzip and brotli password range bodies.
	Compress bool
	// KeepCompressed precomputes them when Compress is false too, for
	// kinds whose current generation has them (index.BuildOptions).
	KeepCompressed bool
	// Append allows adding inputs to a breach already in the index from
	// other data (parts of one breach). Without it such a run is refused
	// with ErrBreachExists, so a breach is never counted twice by mistake.
	Append bool
	// AllowShrink accepts a Pwned Passwords input that looks partial: a
	// downloader directory with missing prefix files, or a download with
	// fewer than half as many hashes as the kind has records now. Without
	// it such an input is refused with ErrShrink and the index is
	// unchanged.
	AllowShrink bool
	// TempDir and MemoryBudget are passed to the index builders.
	TempDir      string
	MemoryBudget int
	// Now returns the time used for a new breach's AddedDate and
	// ModifiedDate when the manifest leaves them empty (default time.Now).
	Now func() time.Time
}

// testHook, set only by this package's tests, is called with an event name
// at points of an ingest ("build", "lines", "write", "read" (every input
// read), "commit", "committed") so that a test can kill the process or
// change an input there.
var testHook func(event string)

func hook(event string) {
	if testHook != nil {
		testHook(event)
	}
}

// input is one resolved input.
type input struct {
	path   string
	format Format
	kind   index.Kind
	size   int64
	mark   fileMark // files: what the fingerprinting read saw
}

// runner holds the state shared by the jobs of one Run.
type runner struct {
	ix   *index.Index
	cfg  Config
	prog *progress
	br   *bufio.Reader // read buffer of MaxLineLen bytes, reused
}

// Run ingests cfg.Inputs into ix and reports what it did. Each job is one
// commit of ix; a job whose source the index already recorded is skipped.
// progress, when not nil, receives a progress bar redrawn in place (pass a
// terminal, never a file). On error the current job leaves the index
// unchanged; jobs committed before it stay. Input problems wrap ErrBadInput,
// configuration problems ErrUsage or ErrBreachExists.
func Run(ctx context.Context, ix *index.Index, cfg Config, progress io.Writer) (Summary, error) {
	start := time.Now()
	var sum Summary
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	inputs, err := resolveInputs(cfg)
	if err != nil {
		return sum, err
	}
	var base, breach []*input
	seen := map[index.Kind]string{}
	for _, in := range inputs {
		if in.format.IsBreach() {
			breach = append(breach, in)
			continue
		}
		if prev, ok := seen[in.kind]; ok {
			return sum, usageErr("%s and %s are both Pwned Passwords %s downloads: each replaces the other's counts; ingest one",
				prev, in.path, in.kind)
		}
		seen[in.kind] = in.path
		base = append(base, in)
	}
	var b index.Breach
	switch {
	case len(breach) > 0 && cfg.Breach != nil:
		b = *cfg.Breach
		if err := validateBreach(&b); err != nil {
			return sum, usageErr("breach: %v", err)
		}
	case len(breach) > 0 && cfg.Manifest == "":
		return sum, usageErr("%s is a breach input (%s): a manifest describing the breach is required", breach[0].path, breach[0].format)
	case len(breach) > 0:
		if b, err = LoadManifest(cfg.Manifest); err != nil {
			return sum, err
		}
	case cfg.Manifest != "" || cfg.Breach != nil:
		return sum, usageErr("a manifest was given but no input is a breach dump, combo list or hash list")
	}

	r := &runner{ix: ix, cfg: cfg, br: bufio.NewReaderSize(nil, MaxLineLen)}
	r.prog = startProgress(progress, "ingest")
	defer r.prog.close()
	for _, in := range base {
		js, err := r.runBase(ctx, in)
		sum.Jobs = append(sum.Jobs, js)
		if err != nil {
			sum.Duration = time.Since(start)
			return sum, err
		}
	}
	if len(breach) > 0 {
		js, err := r.runBreach(ctx, breach, b)
		sum.Jobs = append(sum.Jobs, js)
		if err != nil {
			sum.Duration = time.Since(start)
			return sum, err
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// resolveInputs checks the configuration and determines each input's format
// and kind.
func resolveInputs(cfg Config) ([]*input, error) {
	if len(cfg.Inputs) == 0 {
		return nil, usageErr("no input given")
	}
	if cfg.Kind != 0 && !cfg.Kind.Valid() {
		return nil, usageErr("invalid kind %d", cfg.Kind)
	}
	var out []*input
	for _, p := range cfg.Inputs {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, inputErr(p, Location{}, err, "cannot read")
		}
		in := &input{path: p, format: cfg.Format, size: fi.Size()}
		if fi.IsDir() {
			if in.format != FormatAuto && in.format != FormatHIBPDir {
				return nil, inputErr(p, Location{}, nil, "is a directory; format %s needs a file", in.format)
			}
			in.format = FormatHIBPDir
			if cfg.Kind == 0 {
				if in.kind, err = detectDirKind(p); err != nil {
					return nil, err
				}
			}
		} else {
			if in.format == FormatHIBPDir {
				return nil, inputErr(p, Location{}, nil, "format hibp-dir needs a directory")
			}
			if !fi.Mode().IsRegular() {
				return nil, inputErr(p, Location{}, nil, "not a regular file")
			}
			sample, err := readSample(p)
			if err != nil {
				return nil, err
			}
			f, k := detectSample(sample)
			if in.format == FormatAuto && f == FormatDump && !looksLikeDumpHeader(sample) {
				// Detection falls back to "dump" for anything: do not call
				// junk a breach input.
				return nil, inputErr(p, Location{Line: 1}, nil,
					"not a recognised input: the first line is not a Pwned Passwords HASH:COUNT line, a 40-hex-digit hash, an email:password line or a CSV header with an e-mail or phone column (--format forces one)")
			}
			if in.format == FormatAuto || in.format == f {
				in.format, in.kind = f, k
			}
		}
		switch {
		case !in.format.IsBreach() && cfg.Kind != 0:
			if !cfg.Kind.IsPassword() {
				return nil, usageErr("kind %s does not apply to the Pwned Passwords input %s (want sha1 or ntlm)", cfg.Kind, p)
			}
			in.kind = cfg.Kind
		case !in.format.IsBreach() && in.kind == 0:
			return nil, inputErr(p, Location{}, nil,
				"first line is not a Pwned Passwords HASH:COUNT line of SHA-1 (40 hex digits) or NTLM (32); wrong format? (--kind forces one)")
		case in.format == FormatHashes:
			in.kind = index.KindEmail
			if cfg.Kind != 0 {
				if cfg.Kind.IsPassword() {
					return nil, usageErr("kind %s does not apply to the hash list %s (want email or phone)", cfg.Kind, p)
				}
				in.kind = cfg.Kind
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// earlyCheckLines is how many lines an input may have without a single
// accepted one before it is declared to be in the wrong format.
const earlyCheckLines = 8192

// tick runs every earlyCheckLines lines: it publishes progress, honours
// cancellation and stops an input that has no valid line so far.
func (r *runner) tick(ctx context.Context, in *input, st *InputSummary, lines int64) error {
	r.prog.lines.Store(lines)
	hook("lines")
	if err := ctx.Err(); err != nil {
		return err
	}
	if st.Accepted == 0 {
		return wrongFormat(in, st)
	}
	return nil
}

// wrongFormat is the error for an input without any accepted line.
func wrongFormat(in *input, st *InputSummary) error {
	what := "no valid line"
	switch in.format {
	case FormatHIBP, FormatHIBPDir:
		what = fmt.Sprintf("no valid Pwned Passwords %s line", in.kind)
	case FormatDump:
		what = "no row with a valid identifier"
	case FormatCombo:
		what = "no valid email:password line"
	case FormatHashes:
		what = "no valid 40-hex-digit hash line"
	}
	st.finish()
	if len(st.Reasons) == 0 {
		return inputErr(in.path, Location{}, nil, "%s", what)
	}
	first := st.Reasons[0]
	for _, rs := range st.Reasons[1:] {
		if rs.First[0].File < first.First[0].File ||
			rs.First[0].File == first.First[0].File && rs.First[0].Line < first.First[0].Line {
			first = rs
		}
	}
	return inputErr(in.path, first.First[0], nil, "%s in %d lines read (%s); wrong format?", what, st.Lines, first.Reason)
}
