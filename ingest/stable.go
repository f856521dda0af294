package ingest

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Inputs that change while they are ingested (a download still being
// written, a file truncated or replaced meanwhile) must not be committed.
//
// Invariant: a commit's source ID describes exactly the bytes the build
// read. An input is read twice: once to fingerprint it (SHA-256 for the
// source ID, plus an xxhash64 and the byte count), and once to build. The
// build's read hashes every byte it consumes with xxhash64 (a few percent of
// the parse cost) and, at the end of the input and again just before the
// commit, the input must still be the file that was fingerprinted: same
// byte count, same xxhash64, same size and modification time. Otherwise the
// job fails with ErrChanged (an ErrBadInput: exit 2) and the index is
// unchanged.

// fileMark is what the fingerprinting read saw of one file.
type fileMark struct {
	size  int64     // bytes read, equal to the size at the start and end of the read
	mtime time.Time // modification time at the end of the read
	xx    uint64    // xxhash64 of the bytes read
}

// hashingReader counts and hashes the bytes read, and adds them to a
// progress counter.
type hashingReader struct {
	r    io.Reader
	n    int64
	d    *xxhash.Digest
	prog *atomic.Int64
}

func newHashingReader(r io.Reader, prog *atomic.Int64) *hashingReader {
	return &hashingReader{r: r, d: xxhash.New(), prog: prog}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.n += int64(n)
		h.d.Write(p[:n])
		if h.prog != nil {
			h.prog.Add(int64(n))
		}
	}
	return n, err
}

// changedErr is the error for an input that changed underneath.
func changedErr(path, file string, what string) error {
	return inputErr(path, Location{File: file}, ErrChanged,
		"%s while being ingested (still being written or modified?): nothing was committed; run again once the file is complete", what)
}

// checkMark verifies, after a build read reached EOF, that f (the open file
// the read consumed through hr) is the file that was fingerprinted as m.
func checkMark(path, file string, f *os.File, hr *hashingReader, m fileMark) error {
	fi, err := f.Stat()
	if err != nil {
		return inputErr(path, Location{File: file}, err, "cannot stat")
	}
	switch {
	case hr.n != m.size:
		return changedErr(path, file, fmt.Sprintf("size changed from %d to %d bytes", m.size, hr.n))
	case fi.Size() != m.size:
		return changedErr(path, file, fmt.Sprintf("size changed from %d to %d bytes", m.size, fi.Size()))
	case !fi.ModTime().Equal(m.mtime):
		return changedErr(path, file, "modification time changed")
	case hr.d.Sum64() != m.xx:
		return changedErr(path, file, "content changed")
	}
	return nil
}

// checkStat verifies, just before a commit, that the file at path still
// has the size and modification time it was fingerprinted with.
func checkStat(path, file string, full string, m fileMark) error {
	fi, err := os.Stat(full)
	if err != nil {
		return changedErr(path, file, "removed")
	}
	if fi.Size() != m.size {
		return changedErr(path, file, fmt.Sprintf("size changed from %d to %d bytes", m.size, fi.Size()))
	}
	if !fi.ModTime().Equal(m.mtime) {
		return changedErr(path, file, "modification time changed")
	}
	return nil
}
