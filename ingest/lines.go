package ingest

import (
	"bufio"
	"errors"
	"io"
)

// MaxLineLen is the longest line accepted; longer lines are rejected as
// ReasonTooLong. It is also the read buffer's size, so memory stays bounded
// whatever the input.
const MaxLineLen = 1 << 20

// lineReader yields the lines of a stream without copying them.
type lineReader struct {
	br   *bufio.Reader
	line int64 // number of the line last returned, from 1
}

func newLineReader(r io.Reader, buf *bufio.Reader) *lineReader {
	if buf == nil {
		buf = bufio.NewReaderSize(r, MaxLineLen)
	} else {
		buf.Reset(r)
	}
	return &lineReader{br: buf}
}

// next returns the next line with its ending, valid until the following
// call. tooLong reports a line longer than MaxLineLen, which has been
// skipped. err is io.EOF after the last line.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	line, err = lr.br.ReadSlice('\n')
	if err == nil {
		lr.line++
		return line, false, nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.br.ReadSlice('\n')
		}
		lr.line++
		if err != nil && err != io.EOF {
			return nil, true, err
		}
		return nil, true, nil
	}
	if err == io.EOF && len(line) > 0 {
		lr.line++
		return line, false, nil
	}
	return nil, false, err
}
