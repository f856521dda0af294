package quality

import (
	"encoding/csv"
	"io"
	"unicode"
	"unicode/utf8"
)

// recordWriter writes CSV records: clean.csv and rejects.csv.
type recordWriter interface {
	Write(record []string) error
	Flush() error
}

// newRecordWriter returns a CSV writer with delimiter comma whose output
// is byte for byte encoding/csv.Writer's (UseCRLF false): the fast
// csvWriter for the usual ASCII delimiters, encoding/csv itself for any
// other.
func newRecordWriter(w io.Writer, comma rune) recordWriter {
	if comma < utf8.RuneSelf && comma != 0 && comma != '"' && comma != '\r' && comma != '\n' {
		cw := &csvWriter{w: w, comma: byte(comma), buf: make([]byte, 0, csvBufSize+4096)}
		for _, c := range []byte{'\n', '\r', '"', byte(comma)} {
			cw.special[c] = true
		}
		return cw
	}
	cw := csv.NewWriter(w)
	cw.Comma = comma
	return stdCSV{cw}
}

// stdCSV adapts encoding/csv.Writer to recordWriter.
type stdCSV struct{ *csv.Writer }

func (s stdCSV) Flush() error {
	s.Writer.Flush()
	return s.Error()
}

// csvBufSize is the size past which csvWriter hands its buffer to the
// underlying writer.
const csvBufSize = 64 << 10

// csvWriter is encoding/csv.Writer's format with an ASCII delimiter,
// written with appends to one buffer instead of a call per field: a field
// is quoted when it holds a quote, CR, LF or the delimiter, is `\.`, or
// starts with a Unicode space; quotes inside are doubled; records end
// with LF (TestCSVWriterMatchesEncodingCSV).
type csvWriter struct {
	w       io.Writer
	comma   byte
	special [256]bool // bytes that make a field quoted
	buf     []byte
	err     error
}

// Write appends one record; it hands the buffer on once it is full.
func (w *csvWriter) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	b := w.buf
	for n, f := range record {
		if n > 0 {
			b = append(b, w.comma)
		}
		if !w.needsQuotes(f) {
			b = append(b, f...)
			continue
		}
		b = append(b, '"')
		for i := 0; i < len(f); i++ {
			if f[i] == '"' {
				b = append(b, '"')
			}
			b = append(b, f[i])
		}
		b = append(b, '"')
	}
	w.buf = append(b, '\n')
	if len(w.buf) >= csvBufSize {
		return w.Flush()
	}
	return nil
}

func (w *csvWriter) needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		if w.special[f[i]] {
			return true
		}
	}
	if c := f[0]; c < utf8.RuneSelf {
		return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

// Flush writes the buffered records and returns the first write error.
func (w *csvWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 {
		_, w.err = w.w.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}
