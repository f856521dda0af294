package quality

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// InputError is an error in the input file itself: it names the file, the
// line and, where known, the column (1-based, in characters). Vet returns it
// for unusable input (exit code 2).
type InputError struct {
	File   string
	Line   int // 0 when the error is not tied to a line
	Column int // 0 when unknown
	Err    error
}

// Error implements error: "file:line:column: reason".
func (e *InputError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// ErrNoColumns is returned (wrapped in an InputError) when no header cell
// maps to a known field.
var ErrNoColumns = errors.New("no recognised column in the header (map columns with --col FIELD=HEADER)")

// TableOptions configures OpenTable. The zero value detects everything.
type TableOptions struct {
	// Encoding forces the input encoding: "utf-8", "utf-16le",
	// "utf-16be" or "windows-1252". Empty means detect.
	Encoding string
	// Delimiter forces the field delimiter. Zero means sniff.
	Delimiter rune
	// Columns overrides header mapping: the value is a header cell (matched
	// accent- and case-insensitively) or "#N" for the N-th column (1-based).
	Columns map[Field]string
}

// Row is one record of a table.
type Row struct {
	// Line is the source line number where the record starts (1-based;
	// the header is line 1 in a file without leading blank lines).
	Line int
	// Fields are the record's cells, decoded to UTF-8. The slice belongs
	// to the caller.
	Fields []string
}

// Table streams the records of a delimited contact file. It holds only a
// read buffer, never the whole file.
type Table struct {
	name   string
	enc    string
	delim  rune
	header []string
	cols   [numFields]int // column index per field, -1 if absent
	r      *csv.Reader
	rows   int
	// lineOffset is added to the csv reader's line numbers (1 after an
	// Excel "sep=" line).
	lineOffset int
}

// excelSepLine recognises an Excel "sep=X" first line and returns X and
// the line's length including its end of line.
func excelSepLine(b []byte) (rune, int) {
	if len(b) < 5 || !(b[0] == 's' || b[0] == 'S') || !bytes.EqualFold(b[:4], []byte("sep=")) {
		return 0, 0
	}
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return 0, 0
	}
	line := bytes.TrimRight(b[4:end], "\r")
	r, size := utf8.DecodeRune(line)
	if size == 0 || size != len(line) {
		return 0, 0
	}
	return r, end + 1
}

// OpenTable detects the encoding and delimiter of r, reads the header line
// and maps it to fields. name is used in error messages. Errors about the
// content are *InputError.
func OpenTable(r io.Reader, name string, opts TableOptions) (*Table, error) {
	t := &Table{name: name}
	raw := bufio.NewReaderSize(r, sniffSize)
	enc, dec, err := detectEncoding(raw, opts.Encoding)
	if err != nil {
		return nil, &InputError{File: name, Err: err}
	}
	t.enc = enc
	br := bufio.NewReaderSize(dec, sniffSize)
	sample, perr := br.Peek(sniffSize)
	if perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
		return nil, &InputError{File: name, Err: fmt.Errorf("reading: %w", perr)}
	}
	if len(strings.TrimSpace(string(sample))) == 0 {
		return nil, &InputError{File: name, Err: errors.New("empty file")}
	}
	// Excel writes a "sep=;" line before the header of CSV exports.
	if d, n := excelSepLine(sample); n > 0 {
		if _, err := br.Discard(n); err != nil {
			return nil, &InputError{File: name, Err: fmt.Errorf("reading: %w", err)}
		}
		t.lineOffset = 1
		if opts.Delimiter == 0 {
			opts.Delimiter = d
		}
		if sample, perr = br.Peek(sniffSize); perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
			return nil, &InputError{File: name, Err: fmt.Errorf("reading: %w", perr)}
		}
	}
	t.delim = opts.Delimiter
	if t.delim == 0 {
		d, _ := SniffDelimiter(sample, perr == io.EOF)
		t.delim = rune(d)
	}
	t.r = csv.NewReader(br)
	t.r.Comma = t.delim
	t.r.FieldsPerRecord = -1
	t.r.LazyQuotes = false
	t.r.ReuseRecord = false
	hdr, err := t.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, &InputError{File: name, Err: errors.New("empty file")}
		}
		return nil, t.wrap(err)
	}
	t.header = hdr
	if err := t.mapColumns(opts.Columns); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Table) mapColumns(over map[Field]string) error {
	for i := range t.cols {
		t.cols[i] = -1
	}
	for i, h := range t.header {
		if f := MatchHeader(h); f != FieldNone && t.cols[f] < 0 {
			t.cols[f] = i
		}
	}
	for f, spec := range over {
		if f == FieldNone || f >= numFields {
			continue
		}
		idx := -1
		if strings.HasPrefix(spec, "#") {
			n, err := strconv.Atoi(spec[1:])
			if err != nil || n < 1 || n > len(t.header) {
				return &InputError{File: t.name, Line: 1, Err: fmt.Errorf("column %q for %s: no such column (the header has %d)", spec, f, len(t.header))}
			}
			idx = n - 1
		} else {
			want := NormalizeHeader(spec)
			for i, h := range t.header {
				if NormalizeHeader(h) == want {
					idx = i
					break
				}
			}
			if idx < 0 {
				return &InputError{File: t.name, Line: 1, Err: fmt.Errorf("column %q for %s not found in the header", spec, f)}
			}
		}
		// The override takes the column away from any other field.
		for g := range t.cols {
			if t.cols[g] == idx {
				t.cols[g] = -1
			}
		}
		t.cols[f] = idx
	}
	for f := FieldID; f < numFields; f++ {
		if t.cols[f] >= 0 {
			return nil
		}
	}
	return &InputError{File: t.name, Line: 1, Err: ErrNoColumns}
}

func (t *Table) wrap(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: t.name, Line: pe.Line + t.lineOffset, Column: pe.Column, Err: pe.Err}
	}
	return &InputError{File: t.name, Err: fmt.Errorf("reading: %w", err)}
}

// Name returns the name given to OpenTable.
func (t *Table) Name() string { return t.name }

// Encoding returns the detected (or forced) encoding, e.g. "windows-1252".
func (t *Table) Encoding() string { return t.enc }

// Delimiter returns the field delimiter in use.
func (t *Table) Delimiter() rune { return t.delim }

// Header returns the header cells as read.
func (t *Table) Header() []string { return t.header }

// Columns returns the mapped fields and their column indexes (0-based).
func (t *Table) Columns() map[Field]int {
	m := make(map[Field]int)
	for f := FieldID; f < numFields; f++ {
		if t.cols[f] >= 0 {
			m[f] = t.cols[f]
		}
	}
	return m
}

// Col returns the 0-based column index of f, or -1 if f is not mapped.
func (t *Table) Col(f Field) int {
	if f >= numFields {
		return -1
	}
	return t.cols[f]
}

// Has reports whether f is mapped to a column.
func (t *Table) Has(f Field) bool { return t.Col(f) >= 0 }

// Rows returns how many records Next has returned so far.
func (t *Table) Rows() int { return t.rows }

// Next returns the next record, or io.EOF after the last one. Blank lines
// are skipped. A malformed record (a bare or unbalanced double quote) gives
// an *InputError naming the line and column, together with the row's cells
// as far as they could be read; reading continues with the next record.
func (t *Table) Next() (Row, error) {
	rec, err := t.r.Read()
	if err != nil {
		if err == io.EOF {
			return Row{}, io.EOF
		}
		werr := t.wrap(err)
		var ie *InputError
		if errors.As(werr, &ie) && ie.Line > 0 {
			t.rows++
			return Row{Line: ie.Line, Fields: rec}, werr
		}
		return Row{}, werr
	}
	line, _ := t.r.FieldPos(0)
	t.rows++
	return Row{Line: line + t.lineOffset, Fields: rec}, nil
}

// Get returns row's cell for field f, trimmed of surrounding spaces, or ""
// when f is not mapped or the row is too short.
func (t *Table) Get(r Row, f Field) string {
	i := t.Col(f)
	if i < 0 || i >= len(r.Fields) {
		return ""
	}
	return strings.TrimSpace(r.Fields[i])
}
