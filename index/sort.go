package index

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// rec is a staged record: a hash and a number (a base count, a number of
// occurrences, or unused for identifiers).
type rec struct {
	h Hash
	n uint64
}

func cmpRec(a, b rec) int { return bytes.Compare(a.h[:], b.h[:]) }

// source yields records in strictly increasing hash order; records with
// equal hashes have been combined (counts summed).
type source interface {
	next() (rec, bool, error)
	close()
}

// sorter is an external sort with bounded memory: records are buffered up
// to max, sorted, combined and spilled to run files under dir; source()
// merges the runs. Memory use is max records (32 bytes each) plus one
// read buffer per run.
type sorter struct {
	kind  Kind
	dir   string
	max   int
	buf   []rec
	runs  []string
	added uint64
}

func newSorter(k Kind, dir string, budget int) *sorter {
	max := budget / 32
	if max < 1024 {
		max = 1024
	}
	return &sorter{kind: k, dir: dir, max: max}
}

func (s *sorter) add(h *Hash, n uint64) error {
	if len(s.buf) == cap(s.buf) {
		// Grow by hand: append's doubling would overshoot the budget.
		nb := make([]rec, len(s.buf), min(max(2*cap(s.buf), 1024), s.max))
		copy(nb, s.buf)
		s.buf = nb
	}
	s.buf = append(s.buf, rec{*h, n})
	s.added++
	if len(s.buf) >= s.max {
		return s.spill()
	}
	return nil
}

// sortCombine sorts buf and combines equal hashes, returning the result.
func sortCombine(buf []rec) []rec {
	slices.SortFunc(buf, cmpRec)
	out := buf[:0]
	for _, r := range buf {
		if len(out) > 0 && out[len(out)-1].h == r.h {
			out[len(out)-1].n = AddCounts(out[len(out)-1].n, r.n)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s *sorter) spill() error {
	if len(s.buf) == 0 {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("sort: %w", err)
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%s-run-%06d", s.kind, len(s.runs)))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sort: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hl := s.kind.HashLen()
	var vb [binary.MaxVarintLen64]byte
	for _, r := range sortCombine(s.buf) {
		w.Write(r.h[:hl])
		w.Write(vb[:binary.PutUvarint(vb[:], r.n)])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("sort: write run: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sort: write run: %w", err)
	}
	s.runs = append(s.runs, path)
	s.buf = s.buf[:0]
	return nil
}

// estimate is an upper bound of the distinct records the source will yield.
func (s *sorter) estimate() uint64 { return s.added }

// source returns the sorted, combined records.
func (s *sorter) source() (source, error) {
	if len(s.runs) == 0 {
		return &sliceSource{recs: sortCombine(s.buf)}, nil
	}
	if err := s.spill(); err != nil {
		return nil, err
	}
	s.buf = nil
	m := &mergeSource{kind: s.kind}
	for _, p := range s.runs {
		f, err := os.Open(p)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("sort: %w", err)
		}
		rr := &runReader{f: f, r: bufio.NewReaderSize(f, 256<<10), hl: s.kind.HashLen()}
		ok, err := rr.advance()
		if err != nil {
			f.Close()
			m.close()
			return nil, err
		}
		if ok {
			m.h = append(m.h, rr)
		} else {
			f.Close()
		}
	}
	heap.Init(&m.h)
	return m, nil
}

// sliceSource yields records from a sorted, combined slice.
type sliceSource struct {
	recs []rec
	i    int
}

func (s *sliceSource) next() (rec, bool, error) {
	if s.i >= len(s.recs) {
		return rec{}, false, nil
	}
	s.i++
	return s.recs[s.i-1], true, nil
}

func (s *sliceSource) close() {}

// runReader reads one run file.
type runReader struct {
	f   *os.File
	r   *bufio.Reader
	hl  int
	cur rec
}

func (rr *runReader) advance() (bool, error) {
	if _, err := io.ReadFull(rr.r, rr.cur.h[:rr.hl]); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("sort: read run: %w", err)
	}
	n, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, fmt.Errorf("sort: read run: %w", err)
	}
	rr.cur.n = n
	return true, nil
}

type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return cmpRec(h[i].cur, h[j].cur) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeSource is a k-way merge of run files, combining equal hashes.
type mergeSource struct {
	kind Kind
	h    runHeap
}

func (m *mergeSource) next() (rec, bool, error) {
	if len(m.h) == 0 {
		return rec{}, false, nil
	}
	out := m.h[0].cur
	out.n = 0
	for len(m.h) > 0 && m.h[0].cur.h == out.h {
		top := m.h[0]
		out.n = AddCounts(out.n, top.cur.n)
		ok, err := top.advance()
		if err != nil {
			return rec{}, false, err
		}
		if ok {
			heap.Fix(&m.h, 0)
		} else {
			top.f.Close()
			heap.Pop(&m.h)
		}
	}
	return out, true, nil
}

func (m *mergeSource) close() {
	for _, rr := range m.h {
		rr.f.Close()
	}
	m.h = nil
}

// chanSource yields batches sent by a base builder's SetBase calls, which
// check the order themselves.
type chanSource struct {
	ch    <-chan []rec
	batch []rec
	i     int
	free  chan []rec
}

func (c *chanSource) next() (rec, bool, error) {
	for c.i >= len(c.batch) {
		if c.batch != nil {
			select {
			case c.free <- c.batch[:0]:
			default:
			}
		}
		b, ok := <-c.ch
		if !ok {
			c.batch = nil
			return rec{}, false, nil
		}
		c.batch, c.i = b, 0
	}
	c.i++
	return c.batch[c.i-1], true, nil
}

func (c *chanSource) close() {
	for range c.ch {
	}
}
