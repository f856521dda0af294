package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// breachSink passes one breach's records to a breach builder.
type breachSink struct {
	b           *index.Builder
	identifiers int64
	passwords   int64
}

func (s *breachSink) identifier(k index.Kind, h *index.Hash) error {
	if err := s.b.AddIdentifier(k, h); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	s.identifiers++
	return nil
}

// credential records that the e-mail address (normalised) and the password
// appeared together: index.KindCredential, for private lookups only.
func (s *breachSink) credential(normEmail string, pw []byte) error {
	h := ident.Credential(normEmail, pw)
	if err := s.b.AddIdentifier(index.KindCredential, &h); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// password counts one occurrence of a plaintext password as SHA-1 and NTLM.
func (s *breachSink) password(pw []byte) error {
	h := ident.PasswordSHA1(pw)
	if err := s.b.AddPassword(index.KindSHA1, &h, 1); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	h = ident.PasswordNTLM(pw)
	if err := s.b.AddPassword(index.KindNTLM, &h, 1); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	s.passwords++
	return nil
}

// runBreach ingests the breach inputs of a run as one commit.
func (r *runner) runBreach(ctx context.Context, ins []*input, breach index.Breach) (js JobSummary, err error) {
	start := time.Now()
	js.Target = "breach " + breach.Name
	sts := make([]InputSummary, len(ins))
	for i, in := range ins {
		sts[i] = InputSummary{Path: in.path, Format: in.format, Kind: kindLabel(in), Bytes: in.size}
	}
	defer func() {
		js.Inputs = sts
		if err != nil {
			js.Status = StatusFailed
		}
	}()

	// The source ID covers every input's contents, format and kind, in order.
	var total int64
	for _, in := range ins {
		total += in.size
	}
	r.prog.setLabel(breach.Name)
	r.prog.setPhase("fingerprinting", total)
	id := sha256.New()
	for _, in := range ins {
		sum, _, mark, err := r.fingerprint(ctx, in.path)
		in.mark = mark
		if err != nil {
			return js, err
		}
		fmt.Fprintf(id, "%s\x00%s\x00%x\n", in.format, in.kind, sum)
	}
	js.SourceID = "breach:" + breach.Name + ":" + hex.EncodeToString(id.Sum(nil))
	if r.ix.HasSource(js.SourceID) {
		js.Status = StatusSkipped
		return js, nil
	}
	now := r.cfg.Now().UTC().Truncate(time.Second)
	if old, ok := r.ix.BreachByName(breach.Name); ok {
		if !r.cfg.Append {
			return js, fmt.Errorf("%w: %q was ingested from other data; pass --append to add these inputs to it (parts of one breach), or give the manifest another Name",
				ErrBreachExists, old.Name)
		}
		breach.Name = old.Name
		if breach.AddedDate.IsZero() {
			breach.AddedDate = old.AddedDate
		}
		if breach.ModifiedDate.IsZero() {
			breach.ModifiedDate = now
		}
	}
	if breach.AddedDate.IsZero() {
		breach.AddedDate = now
	}
	if breach.ModifiedDate.IsZero() {
		breach.ModifiedDate = breach.AddedDate
	}

	b, err := r.ix.NewBreachBuilder(breach, index.BuildOptions{
		SourceID:       js.SourceID,
		TempDir:        r.cfg.TempDir,
		MemoryBudget:   r.cfg.MemoryBudget,
		Compress:       r.cfg.Compress,
		KeepCompressed: r.cfg.KeepCompressed,
		Progress:       func(n int64) { r.prog.recs.Store(n); hook("write") },
	})
	if err != nil {
		return js, fmt.Errorf("index: start breach build: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			b.Abort()
		}
	}()
	hook("build")
	r.prog.setPhase("reading", total)
	sink := &breachSink{b: b}
	var lines int64
	for i, in := range ins {
		st := &sts[i]
		r.prog.setLabel(filepath.Base(in.path))
		f, err := os.Open(in.path)
		if err != nil {
			return js, inputErr(in.path, Location{}, err, "cannot read")
		}
		hr := newHashingReader(f, &r.prog.bytes)
		lr := newLineReader(hr, r.br)
		switch in.format {
		case FormatCombo:
			err = r.feedCombo(ctx, in, lr, sink, st, &lines)
		case FormatDump:
			err = r.feedDump(ctx, in, lr, sink, st, &lines)
		case FormatHashes:
			err = r.feedHashes(ctx, in, lr, sink, st, &lines)
		}
		if err == nil {
			err = checkMark(in.path, "", f, hr, in.mark)
		}
		f.Close()
		if err != nil {
			return js, err
		}
		if st.Accepted == 0 {
			return js, wrongFormat(in, st)
		}
		st.finish()
	}
	hook("read")
	// Last look before the commit: every input must still be what was read.
	for _, in := range ins {
		if err := checkStat(in.path, "", in.path, in.mark); err != nil {
			return js, err
		}
	}
	r.prog.setPhase("committing", 0)
	hook("commit")
	cs, err := b.Commit(ctx)
	committed = true
	if err != nil {
		return js, fmt.Errorf("index: commit breach %s: %w", breach.Name, err)
	}
	hook("committed")
	js.Status = StatusIngested
	js.Identifiers, js.Passwords = sink.identifiers, sink.passwords
	js.Records = recordsByName(cs.Records)
	js.Duration = time.Since(start)
	return js, nil
}

func kindLabel(in *input) string {
	switch in.format {
	case FormatHashes:
		return in.kind.String() + " hashes"
	case FormatCombo:
		return "email, password"
	case FormatDump:
		return "email/phone, password"
	}
	return in.kind.String()
}

// lineLoop is the shared loop of the breach formats: it reads lines,
// rejects over-long ones, removes line endings and a leading byte-order
// mark, converts lines that are not UTF-8 from Windows-1252, and calls fn
// with each line and its number. fn returns ReasonNone for an accepted
// line.
func (r *runner) lineLoop(ctx context.Context, in *input, lr *lineReader, st *InputSummary, lines *int64,
	fn func(line []byte, n int64) (Reason, error)) error {
	dec := charmap.Windows1252.NewDecoder()
	for {
		line, tooLong, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return inputErr(in.path, Location{Line: lr.line + 1}, err, "read error")
		}
		st.Lines++
		*lines++
		reason := ReasonTooLong
		if !tooLong {
			line = trimEOL(line)
			if lr.line == 1 {
				line = bytes.TrimPrefix(line, utf8BOM)
			}
			if !utf8.Valid(line) {
				line = toUTF8(dec, line)
			}
			if reason, err = fn(line, lr.line); err != nil {
				return err
			}
		}
		if reason != ReasonNone {
			st.reject(reason, "", lr.line)
		} else {
			st.Accepted++
		}
		if st.Lines%earlyCheckLines == 0 {
			if err := r.tick(ctx, in, st, *lines); err != nil {
				return err
			}
		}
	}
}

// toUTF8 decodes a Windows-1252 line (the usual encoding of French files
// that are not UTF-8). The result is a new, writable slice.
func toUTF8(dec *encoding.Decoder, line []byte) []byte {
	out, err := dec.Bytes(line)
	if err != nil {
		return bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	return out
}

// feedCombo ingests an email:password combo list.
func (r *runner) feedCombo(ctx context.Context, in *input, lr *lineReader, sink *breachSink, st *InputSummary, lines *int64) error {
	return r.lineLoop(ctx, in, lr, st, lines, func(line []byte, _ int64) (Reason, error) {
		email, pw, reason := SplitCombo(line)
		if reason != ReasonNone {
			return reason, nil
		}
		h, norm, err := ident.Email(string(email))
		if err != nil {
			return emailReason(err), nil
		}
		if err := sink.identifier(index.KindEmail, &h); err != nil {
			return 0, err
		}
		if len(pw) > 0 {
			if err := sink.credential(norm, pw); err != nil {
				return 0, err
			}
			return ReasonNone, sink.password(pw)
		}
		return ReasonNone, nil
	})
}

// feedHashes ingests a list of pre-hashed identifiers.
func (r *runner) feedHashes(ctx context.Context, in *input, lr *lineReader, sink *breachSink, st *InputSummary, lines *int64) error {
	return r.lineLoop(ctx, in, lr, st, lines, func(line []byte, _ int64) (Reason, error) {
		h, reason := ParseHashLine(line)
		if reason != ReasonNone {
			return reason, nil
		}
		return ReasonNone, sink.identifier(in.kind, &h)
	})
}

// feedDump ingests a CSV/TSV dump with a header.
func (r *runner) feedDump(ctx context.Context, in *input, lr *lineReader, sink *breachSink, st *InputSummary, lines *int64) error {
	var (
		haveHeader bool
		sep        byte
		cols       columns
		fields     [][]byte
		region     = r.cfg.Region
	)
	if region == "" {
		region = ident.DefaultRegion
	}
	tsv := strings.EqualFold(filepath.Ext(in.path), ".tsv")
	var headerErr error
	err := r.lineLoop(ctx, in, lr, st, lines, func(line []byte, n int64) (Reason, error) {
		if !haveHeader {
			if len(bytes.TrimSpace(line)) == 0 {
				return ReasonEmpty, nil
			}
			sep = detectSep(line)
			if tsv {
				sep = '\t'
			}
			hdr, ok := SplitFields(nil, bytes.Clone(line), sep)
			if !ok {
				headerErr = inputErr(in.path, Location{Line: n}, nil, "bad quoting in the CSV header")
				return 0, headerErr
			}
			cols = mapColumns(hdr)
			if cols.email < 0 && cols.phone < 0 {
				headerErr = inputErr(in.path, Location{Line: n}, nil,
					"no e-mail or phone column in the CSV header (want a column named like email, e-mail, courriel, mail, username, phone, téléphone, mobile); wrong format?")
				return 0, headerErr
			}
			haveHeader = true
			st.Accepted-- // the header is read, neither accepted nor rejected
			return ReasonNone, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return ReasonEmpty, nil
		}
		var ok bool
		fields, ok = SplitFields(fields[:0], line, sep)
		if !ok {
			return ReasonBadQuoting, nil
		}
		got := false
		var problem Reason
		var normEmail string
		if cols.email >= 0 {
			switch {
			case cols.email >= len(fields):
				problem = ReasonFieldCount
			case len(bytes.TrimSpace(fields[cols.email])) > 0:
				h, norm, err := ident.Email(string(fields[cols.email]))
				if err != nil {
					problem = emailReason(err)
					break
				}
				normEmail = norm
				if err := sink.identifier(index.KindEmail, &h); err != nil {
					return 0, err
				}
				got = true
			}
		}
		if cols.phone >= 0 {
			switch {
			case cols.phone >= len(fields):
				if problem == ReasonNone {
					problem = ReasonFieldCount
				}
			case len(bytes.TrimSpace(fields[cols.phone])) > 0:
				reg := region
				if cols.country >= 0 && cols.country < len(fields) {
					reg = regionOf(fields[cols.country], region)
				}
				h, _, err := ident.PhoneHash(string(fields[cols.phone]), reg)
				if err != nil {
					if problem == ReasonNone {
						problem = phoneReason(err)
					}
					if got {
						st.rej.add(phoneReason(err), "", n)
					}
					break
				}
				if err := sink.identifier(index.KindPhone, &h); err != nil {
					return 0, err
				}
				got = true
			}
		}
		if !got {
			if problem == ReasonNone {
				problem = ReasonEmpty
			}
			return problem, nil
		}
		if problem != ReasonNone && problem != ReasonBadPhone {
			st.rej.add(problem, "", n) // bad e-mail beside a good phone
		}
		if cols.password >= 0 && cols.password < len(fields) && len(fields[cols.password]) > 0 {
			if normEmail != "" {
				if err := sink.credential(normEmail, fields[cols.password]); err != nil {
					return 0, err
				}
			}
			return ReasonNone, sink.password(fields[cols.password])
		}
		return ReasonNone, nil
	})
	if err != nil {
		return err
	}
	if !haveHeader {
		return inputErr(in.path, Location{}, nil, "no CSV header")
	}
	return nil
}

func emailReason(err error) Reason {
	if errors.Is(err, ident.ErrEmpty) {
		return ReasonEmpty
	}
	return ReasonBadEmail
}

func phoneReason(err error) Reason {
	if errors.Is(err, ident.ErrEmpty) {
		return ReasonEmpty
	}
	return ReasonBadPhone
}
