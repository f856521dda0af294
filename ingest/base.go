package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"time"

	"github.com/pwndex/pwndex/index"
)

// errUnsorted stops a Sorted base build that met a hash out of order; the
// job is redone unsorted.
var errUnsorted = errors.New("input not in hash order")

// baseSink passes records to a base builder. In a Sorted build it holds
// back one record so that repeated hashes are combined (counts summed) as
// an unsorted build combines them, and it stops with errUnsorted at a hash
// lower than the previous one.
type baseSink struct {
	b      *index.Builder
	sorted bool
	have   bool
	prev   index.Hash
	count  uint64
}

// add sets the base count of h; dup reports a hash equal to the previous
// one, whose counts are summed.
func (s *baseSink) add(h *index.Hash, count uint64) (dup bool, err error) {
	if !s.sorted {
		if err := s.b.SetBase(h, count); err != nil {
			return false, fmt.Errorf("index: %w", err)
		}
		return false, nil
	}
	if s.have {
		c := bytes.Compare(h[:], s.prev[:])
		if c == 0 {
			s.count = index.AddCounts(s.count, count)
			return true, nil
		}
		if c < 0 {
			return false, errUnsorted
		}
		if err := s.b.SetBase(&s.prev, s.count); err != nil {
			return false, fmt.Errorf("index: %w", err)
		}
	}
	s.prev, s.count, s.have = *h, count, true
	return false, nil
}

// flush passes the record held back.
func (s *baseSink) flush() error {
	if !s.sorted || !s.have {
		return nil
	}
	s.have = false
	if err := s.b.SetBase(&s.prev, s.count); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// dirScan is what a scan of a Pwned Passwords directory found.
type dirScan struct {
	present [1 << 20 / 64]uint64 // bit p set: prefix p has a file
	lower   [1 << 20 / 64]uint64 // bit p set: its name is in lower case
	files   int
	ignored int
	bytes   int64
	sum     [sha256.Size]byte // over (name, size, mtime) in prefix order
	metas   map[uint32]prefixMeta
}

// prefixMeta is a prefix file's size and modification time (ns) at the scan.
type prefixMeta struct{ size, mtime int64 }

func (d *dirScan) name(p uint32) string {
	if d.lower[p/64]&(1<<(p%64)) != 0 {
		return fmt.Sprintf("%05x.txt", p)
	}
	return fmt.Sprintf("%05X.txt", p)
}

// shrinkRatio: a new base with fewer hashes than this fraction of the
// kind's current records is refused unless Config.AllowShrink.
const shrinkRatio = 0.5

// checkShrink refuses a base that looks partial: a directory with missing
// prefix files (scan not nil), or hashes (an upper bound before the read,
// the distinct hashes read after it) fewer than shrinkRatio of the kind's
// current records. The comparison is against all records of the kind,
// breach-only passwords included.
func (r *runner) checkShrink(in *input, scan *dirScan, hashes int64) error {
	if r.cfg.AllowShrink {
		return nil
	}
	if scan != nil && scan.files < 1<<20 {
		return fmt.Errorf("%w: %s has %d of the 1048576 prefix files (an incomplete download?); pass --allow-shrink to ingest it anyway",
			ErrShrink, in.path, scan.files)
	}
	cur := r.ix.Meta().Counts[in.kind]
	if cur > 0 && float64(hashes) < shrinkRatio*float64(cur) {
		return fmt.Errorf("%w: %s has %d %s hashes, the index has %d records (a partial download?); pass --allow-shrink to replace the base anyway",
			ErrShrink, in.path, hashes, in.kind, cur)
	}
	return nil
}

// runBase ingests one Pwned Passwords input, replacing the base counts of
// its kind.
func (r *runner) runBase(ctx context.Context, in *input) (JobSummary, error) {
	start := time.Now()
	js := JobSummary{Target: "pwned-passwords " + in.kind.String()}
	st := InputSummary{Path: in.path, Format: in.format, Kind: in.kind.String(), Bytes: in.size}
	var (
		scan     *dirScan
		expected int
		err      error
	)
	r.prog.setLabel(filepath.Base(in.path))
	if in.format == FormatHIBPDir {
		r.prog.setPhase("scanning", 0)
		if scan, err = scanDir(ctx, in.path); err != nil {
			js.Inputs, js.Status = append(js.Inputs, st), StatusFailed
			return js, err
		}
		st.Bytes, st.Files, st.IgnoredFiles = scan.bytes, scan.files, scan.ignored
		st.MissingFiles = 1<<20 - scan.files
		js.SourceID = "hibp-" + in.kind.String() + "-dir:" + hex.EncodeToString(scan.sum[:])
		// Lines are at least suffix + ":1\n" long: an upper bound that is
		// within ~10% of the truth for real downloads.
		expected = int(scan.bytes / int64(in.kind.HexLen()-5+3))
	} else {
		r.prog.setPhase("fingerprinting", in.size)
		sum, lines, mark, err := r.fingerprint(ctx, in.path)
		in.mark = mark
		if err != nil {
			js.Inputs, js.Status = append(js.Inputs, st), StatusFailed
			return js, err
		}
		js.SourceID = "hibp-" + in.kind.String() + ":" + hex.EncodeToString(sum[:])
		expected = int(lines)
	}
	if r.ix.HasSource(js.SourceID) {
		js.Status = StatusSkipped
		js.Inputs = append(js.Inputs, st)
		return js, nil
	}
	// A partial download must not replace a whole base: refuse it before
	// reading when the line count already shows it, else before the commit.
	if err := r.checkShrink(in, scan, int64(expected)); err != nil {
		js.Inputs, js.Status = append(js.Inputs, st), StatusFailed
		return js, err
	}
	js.Sorted = true
	for {
		st.Lines, st.Accepted, st.Rejected, st.rej = 0, 0, 0, rejects{}
		err = r.buildBase(ctx, in, scan, js.Sorted, expected, &st, &js)
		if errors.Is(err, errUnsorted) && js.Sorted {
			js.Sorted = false
			continue
		}
		break
	}
	st.finish()
	js.Inputs = append(js.Inputs, st)
	js.Duration = time.Since(start)
	js.Status = StatusIngested
	if err != nil {
		js.Status = StatusFailed
	}
	return js, err
}

// buildBase runs one attempt of a base build and commits it.
func (r *runner) buildBase(ctx context.Context, in *input, scan *dirScan, sorted bool, expected int,
	st *InputSummary, js *JobSummary) error {
	b, err := r.ix.NewBaseBuilder(in.kind, index.BuildOptions{
		SourceID:       js.SourceID,
		TempDir:        r.cfg.TempDir,
		MemoryBudget:   r.cfg.MemoryBudget,
		Sorted:         sorted,
		ExpectedKeys:   expected,
		Compress:       r.cfg.Compress,
		KeepCompressed: r.cfg.KeepCompressed,
		Progress:       func(n int64) { r.prog.recs.Store(n); hook("write") },
	})
	if err != nil {
		return fmt.Errorf("index: start %s build: %w", in.kind, err)
	}
	committed := false
	defer func() {
		if !committed {
			b.Abort()
		}
	}()
	hook("build")
	r.prog.setPhase("reading", st.Bytes)
	sink := &baseSink{b: b, sorted: sorted}
	if scan != nil {
		err = r.feedHIBPDir(ctx, in, scan, sink, st)
	} else {
		err = r.feedHIBPFile(ctx, in, sink, st)
	}
	if err == nil {
		err = sink.flush()
	}
	if err != nil {
		return err
	}
	if st.Accepted == 0 {
		return wrongFormat(in, st)
	}
	if err := r.checkShrink(in, nil, st.Accepted-st.rej[ReasonDuplicate].Count); err != nil {
		return err
	}
	hook("read")
	// Last look before the commit: the input must still be what was read.
	if scan != nil {
		again, err := scanDir(ctx, in.path)
		if err != nil {
			return err
		}
		if again.sum != scan.sum {
			return changedErr(in.path, "", "directory changed (prefix files added, removed or rewritten)")
		}
	} else if err := checkStat(in.path, "", in.path, in.mark); err != nil {
		return err
	}
	r.prog.setPhase("committing", 0)
	hook("commit")
	cs, err := b.Commit(ctx)
	committed = true
	if err != nil {
		return fmt.Errorf("index: commit %s: %w", in.kind, err)
	}
	hook("committed")
	js.Records = recordsByName(cs.Records)
	return nil
}

func recordsByName(m map[index.Kind]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, n := range m {
		out[k.String()] = n
	}
	return out
}

// feedHIBPFile streams a HASH:COUNT file into sink. This is the hot loop of
// a Pwned Passwords ingest: it does not allocate per line.
func (r *runner) feedHIBPFile(ctx context.Context, in *input, sink *baseSink, st *InputSummary) error {
	f, err := os.Open(in.path)
	if err != nil {
		return inputErr(in.path, Location{}, err, "cannot read")
	}
	defer f.Close()
	hr := newHashingReader(f, &r.prog.bytes)
	lr := newLineReader(hr, r.br)
	k := in.kind
	for {
		line, tooLong, err := lr.next()
		if err == io.EOF {
			if err := checkMark(in.path, "", f, hr, in.mark); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return inputErr(in.path, Location{Line: lr.line + 1}, err, "read error")
		}
		st.Lines++
		reason := ReasonTooLong
		if !tooLong {
			if lr.line == 1 {
				line = bytes.TrimPrefix(line, utf8BOM)
			}
			var h index.Hash
			var c uint64
			if h, c, reason = ParseHashCount(k, line); reason == ReasonNone {
				dup, err := sink.add(&h, c)
				if err != nil {
					return err
				}
				st.Accepted++
				if dup {
					st.rej.add(ReasonDuplicate, "", lr.line)
				}
			}
		}
		if reason != ReasonNone {
			st.reject(reason, "", lr.line)
		}
		if st.Lines%earlyCheckLines == 0 {
			if err := r.tick(ctx, in, st, st.Lines); err != nil {
				return err
			}
		}
	}
	r.prog.lines.Store(st.Lines)
	return nil
}

// feedHIBPDir streams the prefix files of a downloader directory, in prefix
// order, into sink.
func (r *runner) feedHIBPDir(ctx context.Context, in *input, scan *dirScan, sink *baseSink, st *InputSummary) error {
	k := in.kind
	for w, b := range scan.present {
		for b != 0 {
			p := uint32(w*64) + uint32(bits.TrailingZeros64(b))
			b &= b - 1
			name := scan.name(p)
			if err := r.feedPrefixFile(ctx, in, k, p, name, scan, sink, st); err != nil {
				return err
			}
		}
	}
	r.prog.lines.Store(st.Lines)
	return nil
}

func (r *runner) feedPrefixFile(ctx context.Context, in *input, k index.Kind, p uint32, name string,
	scan *dirScan, sink *baseSink, st *InputSummary) error {
	f, err := os.Open(filepath.Join(in.path, name))
	if err != nil {
		return inputErr(in.path, Location{File: name}, err, "cannot read")
	}
	defer f.Close()
	hr := newHashingReader(f, &r.prog.bytes)
	lr := newLineReader(hr, r.br)
	for {
		line, tooLong, err := lr.next()
		if err == io.EOF {
			// The directory's fingerprint covers each file's size and
			// modification time: the file read must still have them.
			m := scan.metas[p]
			if fi, err := f.Stat(); err != nil || hr.n != m.size || fi.Size() != m.size || fi.ModTime().UnixNano() != m.mtime {
				return changedErr(in.path, name, "prefix file changed")
			}
			return nil
		}
		if err != nil {
			return inputErr(in.path, Location{File: name, Line: lr.line + 1}, err, "read error")
		}
		st.Lines++
		reason := ReasonTooLong
		if !tooLong {
			if lr.line == 1 {
				line = bytes.TrimPrefix(line, utf8BOM)
			}
			var h index.Hash
			var c uint64
			if h, c, reason = ParseSuffixCount(k, p, line); reason == ReasonNone {
				dup, err := sink.add(&h, c)
				if err != nil {
					return err
				}
				st.Accepted++
				if dup {
					st.rej.add(ReasonDuplicate, name, lr.line)
				}
			}
		}
		if reason != ReasonNone {
			st.reject(reason, name, lr.line)
		}
		if st.Lines%earlyCheckLines == 0 {
			if err := r.tick(ctx, in, st, st.Lines); err != nil {
				return err
			}
		}
	}
}

// fingerprint returns the SHA-256 of a file's contents, an upper bound of
// its line count and the file's mark (byte count, modification time and
// xxhash64 of the bytes), in one sequential read. A file whose size or
// modification time changes during the read is refused with ErrChanged.
func (r *runner) fingerprint(ctx context.Context, path string) (sum [sha256.Size]byte, lines int64, m fileMark, err error) {
	f, err := os.Open(path)
	if err != nil {
		return sum, 0, m, inputErr(path, Location{}, err, "cannot read")
	}
	defer f.Close()
	fi0, err := f.Stat()
	if err != nil {
		return sum, 0, m, inputErr(path, Location{}, err, "cannot stat")
	}
	h := sha256.New()
	hr := newHashingReader(f, &r.prog.bytes)
	buf := make([]byte, 1<<20)
	var last byte = '\n'
	for {
		n, err := hr.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
			last = buf[n-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, 0, m, inputErr(path, Location{}, err, "read error")
		}
		if cerr := ctx.Err(); cerr != nil {
			return sum, 0, m, cerr
		}
	}
	if last != '\n' {
		lines++
	}
	m = fileMark{size: fi0.Size(), mtime: fi0.ModTime(), xx: hr.d.Sum64()}
	if err := checkMark(path, "", f, hr, m); err != nil {
		return sum, 0, m, err
	}
	h.Sum(sum[:0])
	return sum, lines, m, nil
}

// scanDir lists a Pwned Passwords directory in bounded memory and
// fingerprints it from the names, sizes and modification times of its prefix
// files, in prefix order. Reading 1,048,576 files' metadata takes seconds;
// hashing their contents would read the whole download once more. The
// downloader rewrites every file it fetches, so a new download always has a
// new fingerprint; an unchanged directory keeps its fingerprint.
func scanDir(ctx context.Context, dir string) (*dirScan, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, inputErr(dir, Location{}, err, "cannot read directory")
	}
	defer d.Close()
	s := &dirScan{metas: map[uint32]prefixMeta{}}
	metas := s.metas
	for {
		ents, rerr := d.ReadDir(4096)
		for _, e := range ents {
			p, ok := prefixFileName(e.Name())
			if !ok || !e.Type().IsRegular() {
				s.ignored++
				continue
			}
			if s.present[p/64]&(1<<(p%64)) != 0 {
				return nil, inputErr(dir, Location{File: e.Name()}, nil, "two files for prefix %05X (upper and lower case)", p)
			}
			fi, err := e.Info()
			if err != nil {
				return nil, inputErr(dir, Location{File: e.Name()}, err, "cannot read")
			}
			s.present[p/64] |= 1 << (p % 64)
			if e.Name() != fmt.Sprintf("%05X.txt", p) {
				s.lower[p/64] |= 1 << (p % 64)
			}
			s.files++
			s.bytes += fi.Size()
			metas[p] = prefixMeta{fi.Size(), fi.ModTime().UnixNano()}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, inputErr(dir, Location{}, rerr, "cannot read directory")
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if s.files == 0 {
		return nil, inputErr(dir, Location{}, nil, "no Pwned Passwords prefix files (XXXXX.txt) in directory")
	}
	h := sha256.New()
	var rec [20]byte
	for w, b := range s.present {
		for b != 0 {
			p := uint32(w*64) + uint32(bits.TrailingZeros64(b))
			b &= b - 1
			m := metas[p]
			binary.BigEndian.PutUint32(rec[0:], p)
			binary.BigEndian.PutUint64(rec[4:], uint64(m.size))
			binary.BigEndian.PutUint64(rec[12:], uint64(m.mtime))
			h.Write(rec[:])
		}
	}
	h.Sum(s.sum[:0])
	return s, nil
}
