package audit

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality"
)

// errNoIdentifierColumn is the reason of an input without e-mail or phone
// column.
var errNoIdentifierColumn = errors.New("no e-mail or phone column in the header (name them with --email-col / --phone-col)")

// auditor holds the state of one Run.
type auditor struct {
	ctx       context.Context
	cfg       Config
	work      string
	start     time.Time
	inputSize int64
	resumed   bool
	cat       *catalog
	lookups   int64 // range lookups made by resolve
	plan      *Plan // the lookup stage's prefix lengths and requests

	// Progress of the lookup stage.
	resolveStart       time.Time
	rows               int64
	reqDone, partsDone atomic.Int64
}

// Run audits the input of cfg and writes exposed.csv, report.json,
// report.html and bad_rows.csv into cfg.OutDir. Errors about the input
// itself are *quality.InputError (unusable file, exit code 2); bad rows
// are reported, never fatal. A cancelled or killed run leaves a
// checkpoint that a later Run with Resume continues.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	a := &auditor{ctx: ctx, cfg: cfg, start: time.Now()}
	in, fp, err := a.openInput()
	if err != nil {
		return Report{}, err
	}
	defer in.Close()
	cr := &countingReader{r: in}
	topts := a.tableOptions()
	t, err := quality.OpenTable(bufio.NewReaderSize(cr, 256<<10), cfg.Name, topts)
	if errors.Is(err, quality.ErrNoColumns) {
		return Report{}, &quality.InputError{File: cfg.Name, Line: 1, Err: errNoIdentifierColumn}
	}
	if err != nil {
		return Report{}, err
	}
	if !t.Has(quality.FieldEmail) && !t.Has(quality.FieldPhone) && !t.Has(quality.FieldMobile) {
		return Report{}, &quality.InputError{File: cfg.Name, Line: 1, Err: errNoIdentifierColumn}
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return Report{}, fmt.Errorf("audit: output directory: %w", err)
	}
	a.work = filepath.Join(cfg.OutDir, WorkDirName)
	ck, err := a.prepareWork(fp)
	if err != nil {
		return Report{}, err
	}
	if err := a.loadCatalog(); err != nil {
		return Report{}, err
	}

	if !ck.ScanDone {
		if err := a.runScan(t, cr, ck); err != nil {
			return Report{}, err
		}
	}
	if a.plan, err = a.makePlan(ck); err != nil {
		return Report{}, err
	}
	if cfg.DryRun {
		// The scan is checkpointed: the real run resumes after it.
		return Report{Source: cfg.Lookup.Describe(), Resumed: a.resumed, Counts: ck.Counters, Plan: a.plan,
			Duration: time.Since(a.start)}, nil
	}
	resolveStart := time.Now()
	if err := a.resolveAll(ck); err != nil {
		return Report{}, err
	}
	lookupTime := time.Since(resolveStart)
	rep, err := a.writeReport(ck, t)
	if err != nil {
		return Report{}, err
	}
	rep.Lookups, rep.LookupTime, rep.Plan = a.lookups, lookupTime, a.plan
	if rl, ok := cfg.Lookup.(remoteLookup); ok {
		st := rl.Stats()
		rep.Remote = &st
	}
	if err := os.RemoveAll(a.work); err != nil {
		return rep, fmt.Errorf("audit: removing work directory: %w", err)
	}
	rep.Duration = time.Since(a.start)
	return rep, nil
}

// tableOptions merges the column overrides into the table options.
func (a *auditor) tableOptions() quality.TableOptions {
	o := a.cfg.Table
	cols := make(map[quality.Field]string, len(o.Columns)+2)
	for f, v := range o.Columns {
		cols[f] = v
	}
	if a.cfg.EmailColumn != "" {
		cols[quality.FieldEmail] = a.cfg.EmailColumn
	}
	if a.cfg.PhoneColumn != "" {
		cols[quality.FieldPhone] = a.cfg.PhoneColumn
	}
	o.Columns = cols
	return o
}

// openInput opens the input and fingerprints it with the options, so a
// checkpoint is only resumed by the same command on the same file. The
// fingerprint is empty when the input cannot be re-read (no resume).
func (a *auditor) openInput() (io.ReadCloser, string, error) {
	if a.cfg.Path == "" {
		return io.NopCloser(a.cfg.Input), "", nil
	}
	f, err := os.Open(a.cfg.Path)
	if err != nil {
		return nil, "", &quality.InputError{File: a.cfg.Name, Err: fmt.Errorf("cannot open: %w", unwrapPath(err))}
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errors.New("not a regular file")
		}
		return nil, "", &quality.InputError{File: a.cfg.Name, Err: unwrapPath(err)}
	}
	a.inputSize = fi.Size()
	h := sha256.New()
	head := make([]byte, 1<<20)
	n, _ := io.ReadFull(f, head)
	h.Write(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, "", &quality.InputError{File: a.cfg.Name, Err: err}
	}
	abs, _ := filepath.Abs(a.cfg.Path)
	meta, _ := json.Marshal(struct {
		V                   int
		Path                string
		Size, Mtime         int64
		Table               quality.TableOptions
		Email, Phone, Regio string
		Lookup, Version     string
	}{checkpointVersion, abs, fi.Size(), fi.ModTime().UnixNano(), a.tableOptions(), a.cfg.EmailColumn, a.cfg.PhoneColumn, a.cfg.Region,
		a.cfg.Lookup.Describe(), lookupVersion(a.cfg.Lookup)})
	h.Write(meta)
	return f, hex.EncodeToString(h.Sum(nil)), nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// partitionBits chooses the number of spill partitions so that one
// partition holds about 128k records.
func (a *auditor) partitionBits() int {
	if a.cfg.PartitionBits > 0 {
		return a.cfg.PartitionBits
	}
	if a.inputSize == 0 {
		return 8
	}
	est := uint64(a.inputSize/40) / (128 << 10)
	b := bits.Len64(est)
	if _, remote := a.cfg.Lookup.(remoteLookup); remote {
		// Remote lookups are slow: a partition is the unit of a resumed
		// run's progress, so a kill or a --max-duration loses little.
		b = max(b, 6)
	}
	return min(max(b, 4), 10)
}

// prepareWork resumes the work directory's checkpoint when it belongs to
// the same input and options, and starts afresh otherwise.
func (a *auditor) prepareWork(fp string) (*checkpoint, error) {
	if a.cfg.Resume && fp != "" {
		if ck, err := loadCheckpoint(a.work); err == nil && ck.Fingerprint == fp {
			a.resumed = true
			return ck, nil
		}
	}
	if err := os.RemoveAll(a.work); err != nil {
		return nil, fmt.Errorf("audit: clearing work directory: %w", err)
	}
	if err := os.MkdirAll(a.work, 0o700); err != nil {
		return nil, fmt.Errorf("audit: work directory: %w", err)
	}
	b := a.partitionBits()
	ck := &checkpoint{Version: checkpointVersion, Fingerprint: fp, Bits: b, SpillSizes: make([]int64, 1<<uint(b))}
	if err := os.WriteFile(filepath.Join(a.work, FileBadRows), []byte(badRowsHeader), 0o600); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	ck.BadSize = int64(len(badRowsHeader))
	if err := ck.save(a.work); err != nil {
		return nil, err
	}
	return ck, nil
}

const fileCatalog = "catalog.json"

// loadCatalog reads the catalog saved by an interrupted run, or fetches it
// and saves it, so that hit files written before and after a resume refer
// to the same catalog.
func (a *auditor) loadCatalog() error {
	path := filepath.Join(a.work, fileCatalog)
	if a.resumed {
		if data, err := os.ReadFile(path); err == nil {
			var bs []index.Breach
			if err := json.Unmarshal(data, &bs); err == nil {
				a.cat = newCatalog(bs)
				return nil
			}
		}
	}
	bs, err := a.cfg.Lookup.Catalog(a.ctx)
	if err != nil {
		return fmt.Errorf("audit: breach catalog: %w", err)
	}
	a.cat = newCatalog(bs)
	return a.saveCatalog()
}

func (a *auditor) saveCatalog() error {
	data, err := json.Marshal(a.cat.list())
	if err != nil {
		return fmt.Errorf("audit: catalog: %w", err)
	}
	return writeFileAtomic(filepath.Join(a.work, fileCatalog), data)
}

// runScan opens the work files at the checkpoint's sizes and scans.
func (a *auditor) runScan(t *quality.Table, cr *countingReader, ck *checkpoint) error {
	spill, err := openSpill(a.work, ck.Bits, ck.SpillSizes)
	if err != nil {
		return err
	}
	defer spill.close()
	bad, err := os.OpenFile(filepath.Join(a.work, FileBadRows), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: bad rows: %w", err)
	}
	defer bad.Close()
	if err := bad.Truncate(ck.BadSize); err != nil {
		return fmt.Errorf("audit: bad rows: %w", err)
	}
	if _, err := bad.Seek(ck.BadSize, io.SeekStart); err != nil {
		return fmt.Errorf("audit: bad rows: %w", err)
	}
	st := &scanState{ck: ck, spill: spill, bad: bad, badBuf: bufio.NewWriterSize(bad, 64<<10)}
	return a.scan(t, cr, st)
}

// inputError turns a read error of the input into an InputError.
func (a *auditor) inputError(err error) error {
	var ie *quality.InputError
	if errors.As(err, &ie) {
		return err
	}
	return &quality.InputError{File: a.cfg.Name, Err: fmt.Errorf("reading: %w", err)}
}

func (a *auditor) progress(stage string, done, total, rows int64) {
	if a.cfg.Progress == nil {
		return
	}
	now := time.Now()
	a.cfg.Progress(Progress{Stage: stage, Done: done, Total: total, Rows: rows, Resumed: a.resumed, Elapsed: now.Sub(a.start)})
}

// lookupVersion identifies the data behind a lookup when it can: a local
// index's ETag changes with every commit, so a re-ingested index is not
// resumed from hits of the old one.
func lookupVersion(l Lookup) string {
	if lo, ok := l.(*Local); ok {
		return lo.ix.ETag()
	}
	return ""
}
