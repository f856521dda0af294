package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
	"github.com/pwndex/pwndex/quality"
)

// Counts are the input-side totals of an audit.
type Counts struct {
	Rows          int64 `json:"rows"`             // records read (header excluded)
	MalformedRows int64 `json:"malformedRows"`    // records the CSV reader rejected
	Checked       int64 `json:"checkedCustomers"` // records with at least one valid identifier
	NoIdentifier  int64 `json:"noIdentifier"`     // well-formed records without any valid identifier
	Emails        int64 `json:"emails"`           // valid e-mail addresses checked
	InvalidEmails int64 `json:"invalidEmails"`
	Phones        int64 `json:"phones"` // valid phone numbers checked
	InvalidPhones int64 `json:"invalidPhones"`
	BadRows       int64 `json:"badRowEntries"` // lines of bad_rows.csv
}

func (c *Counts) add(d *Counts) {
	c.Rows += d.Rows
	c.MalformedRows += d.MalformedRows
	c.Checked += d.Checked
	c.NoIdentifier += d.NoIdentifier
	c.Emails += d.Emails
	c.InvalidEmails += d.InvalidEmails
	c.Phones += d.Phones
	c.InvalidPhones += d.InvalidPhones
	c.BadRows += d.BadRows
}

func (c *Counts) valid() bool {
	return c.Rows >= 0 && c.MalformedRows >= 0 && c.Checked >= 0 && c.NoIdentifier >= 0 &&
		c.Emails >= 0 && c.InvalidEmails >= 0 && c.Phones >= 0 && c.InvalidPhones >= 0 && c.BadRows >= 0
}

// badRowsHeader is the first line of bad_rows.csv.
const badRowsHeader = "line,field,reason\n"

// scanBatchSize is the number of rows a worker normalises at a time.
const scanBatchSize = 512

type scanBatch struct {
	rows  []quality.Row
	errs  []error // per row: the CSV reader's error, or nil
	recs  []record
	bad   []byte
	cnt   Counts
	bytes int64 // input bytes consumed when the batch was cut
	done  chan struct{}
	// probe holds the hash passed to the prefilter: passing a local's
	// address through an interface would move every hash to the heap.
	probe index.Hash
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// scanner normalises rows into records.
type scanner struct {
	t      *quality.Table
	region string
	filter prefilter // nil: spill every valid identifier
}

// keep reports whether a valid identifier must be spilled for lookup.
func (s *scanner) keep(b *scanBatch, k index.Kind, h index.Hash) bool {
	if s.filter == nil {
		return true
	}
	b.probe = h
	return s.filter.mayContain(k, &b.probe)
}

// process fills b.recs, b.bad and b.cnt from b.rows.
func (s *scanner) process(b *scanBatch) {
	for i, row := range b.rows {
		b.cnt.Rows++
		line := uint64(row.Line)
		if b.errs[i] != nil {
			b.cnt.MalformedRows++
			b.badRow(row.Line, "-", "malformed record: "+csvReason(b.errs[i]))
			continue
		}
		valid, present := 0, 0
		if v := s.t.Get(row, quality.FieldEmail); v != "" {
			present++
			h, _, err := ident.Email(v)
			if err != nil {
				b.cnt.InvalidEmails++
				b.badRow(row.Line, "email", identReason(err))
			} else {
				valid++
				b.cnt.Emails++
				if s.keep(b, index.KindEmail, h) {
					b.recs = append(b.recs, record{hash: h, kind: index.KindEmail, line: line})
				}
			}
		}
		region := s.region
		var first index.Hash
		nphones := 0
		for _, f := range [...]quality.Field{quality.FieldPhone, quality.FieldMobile} {
			v := s.t.Get(row, f)
			if v == "" {
				continue
			}
			present++
			if region == "" {
				region = quality.PhoneRegion(s.t.Get(row, quality.FieldCountry), s.t.Get(row, quality.FieldPostcode))
			}
			h, _, err := ident.PhoneHash(v, region)
			if err != nil {
				b.cnt.InvalidPhones++
				b.badRow(row.Line, f.String(), identReason(err))
				continue
			}
			valid++
			if nphones > 0 && h == first {
				continue // the same number in both columns
			}
			if nphones == 0 {
				first = h
			}
			nphones++
			b.cnt.Phones++
			if s.keep(b, index.KindPhone, h) {
				b.recs = append(b.recs, record{hash: h, kind: index.KindPhone, line: line})
			}
		}
		switch {
		case valid > 0:
			b.cnt.Checked++
		case present == 0:
			b.cnt.NoIdentifier++
			b.badRow(row.Line, "-", "no e-mail address or phone number")
		default:
			b.cnt.NoIdentifier++
		}
	}
}

func (b *scanBatch) badRow(line int, field, reason string) {
	b.cnt.BadRows++
	b.bad = strconv.AppendInt(b.bad, int64(line), 10)
	b.bad = append(b.bad, ',')
	b.bad = append(b.bad, field...)
	b.bad = append(b.bad, ',')
	b.bad = append(b.bad, reason...)
	b.bad = append(b.bad, '\n')
}

// identReason words a normaliser error without the value (an IDNA error
// quotes the domain).
func identReason(err error) string {
	switch {
	case errors.Is(err, ident.ErrEmailSyntax):
		return "invalid e-mail syntax"
	case errors.Is(err, ident.ErrEmailDomain):
		return "invalid e-mail domain"
	case errors.Is(err, ident.ErrPhoneParse):
		return "unparseable phone number"
	case errors.Is(err, ident.ErrPhoneValid):
		return "invalid phone number"
	}
	return "invalid"
}

// csvReason words a CSV reader error (no cell content: only the column).
func csvReason(err error) string {
	var ie *quality.InputError
	if errors.As(err, &ie) {
		s := ie.Err.Error()
		if ie.Column > 0 {
			s = "column " + strconv.Itoa(ie.Column) + ": " + s
		}
		return csvSafe(s)
	}
	return "unreadable record"
}

// csvSafe keeps a reason to one CSV cell without quoting.
func csvSafe(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			out[i] = ' '
		}
	}
	return string(out)
}

// scanState is what scan updates: the checkpoint and open files.
type scanState struct {
	ck     *checkpoint
	spill  *spillWriter
	bad    *os.File
	badBuf *bufio.Writer
}

// scan reads the table from the checkpoint's RowsDone and fills the spill.
func (a *auditor) scan(t *quality.Table, cr *countingReader, st *scanState) error {
	ck := st.ck
	// Skip what an interrupted run already scanned.
	for i := int64(0); i < ck.RowsDone; i++ {
		if _, err := t.Next(); err != nil {
			var ie *quality.InputError
			if err == io.EOF || !errors.As(err, &ie) || ie.Line == 0 {
				return fmt.Errorf("audit: %s changed since the interrupted run (re-run with --no-resume): %v", a.cfg.Name, err)
			}
		}
	}
	ctx := a.ctx
	s := &scanner{t: t, region: a.cfg.Region}
	if f, ok := a.cfg.Lookup.(prefilter); ok {
		s.filter = f
	}
	work := make(chan *scanBatch, a.cfg.Workers*2)
	order := make(chan *scanBatch, a.cfg.Workers*4)
	var wg sync.WaitGroup
	for range a.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				s.process(b)
				close(b.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(order)
		defer close(work)
		newBatch := func() *scanBatch {
			return &scanBatch{rows: make([]quality.Row, 0, scanBatchSize), errs: make([]error, 0, scanBatchSize), done: make(chan struct{})}
		}
		b := newBatch()
		send := func() bool {
			b.bytes = cr.n.Load()
			select {
			case order <- b:
			case <-stop:
				return false
			}
			work <- b
			b = newBatch()
			return true
		}
		for {
			row, err := t.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var ie *quality.InputError
				if !errors.As(err, &ie) || ie.Line == 0 {
					readErr <- err
					return
				}
			}
			b.rows = append(b.rows, row)
			b.errs = append(b.errs, err)
			if len(b.rows) == scanBatchSize && !send() {
				return
			}
		}
		if len(b.rows) > 0 {
			send()
		}
		readErr <- nil
	}()
	defer func() {
		close(stop)
		for b := range order { // let the reader finish
			<-b.done
		}
		wg.Wait()
	}()

	lastCk := ck.RowsDone
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := range b.recs {
			if err := st.spill.add(&b.recs[i]); err != nil {
				return err
			}
		}
		if len(b.bad) > 0 {
			if _, err := st.badBuf.Write(b.bad); err != nil {
				return fmt.Errorf("audit: bad rows: %w", err)
			}
		}
		ck.Counters.add(&b.cnt)
		ck.RowsDone += int64(len(b.rows))
		ck.BytesDone = b.bytes
		if ck.RowsDone-lastCk >= int64(a.cfg.CheckpointEvery) {
			if err := a.saveScan(st); err != nil {
				return err
			}
			lastCk = ck.RowsDone
		}
		a.progress(StageScan, ck.BytesDone, a.inputSize, ck.RowsDone)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := <-readErr; err != nil {
		return a.inputError(err)
	}
	ck.ScanDone = true
	return a.saveScan(st)
}

// saveScan makes the spill and bad rows durable, then records their sizes.
func (a *auditor) saveScan(st *scanState) error {
	if err := st.spill.sync(); err != nil {
		return err
	}
	if err := st.badBuf.Flush(); err != nil {
		return fmt.Errorf("audit: bad rows: %w", err)
	}
	if err := st.bad.Sync(); err != nil {
		return fmt.Errorf("audit: bad rows: %w", err)
	}
	off, err := st.bad.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("audit: bad rows: %w", err)
	}
	st.ck.BadSize = off
	st.ck.SpillSizes = append(st.ck.SpillSizes[:0], st.spill.sizes...)
	return st.ck.save(a.work)
}
