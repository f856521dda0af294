package audit

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/pwndex/pwndex/index"
)

// recSize is the size of one spill record: hash (20 bytes), kind (1),
// padding (3), source line (8, big-endian).
const recSize = 32

// record is one hashed identifier of the input. It never holds plaintext.
type record struct {
	hash index.Hash
	kind index.Kind
	line uint64
}

func (r *record) encode(b []byte) {
	copy(b[:20], r.hash[:])
	b[20] = byte(r.kind)
	b[21], b[22], b[23] = 0, 0, 0
	binary.BigEndian.PutUint64(b[24:32], r.line)
}

func (r *record) decode(b []byte) {
	copy(r.hash[:], b[:20])
	r.kind = index.Kind(b[20])
	r.line = binary.BigEndian.Uint64(b[24:32])
}

// prefix returns the record's 6-hex range prefix.
func (r *record) prefix() uint32 { return r.hash.Prefix(6) }

// partitionOf returns the spill partition of a hash for 2^bits partitions:
// the first bits of the hash, so that all records of one range prefix land
// in the same partition.
func partitionOf(h *index.Hash, bits int) int {
	return int(h.Prefix(6) >> (24 - uint(bits)))
}

// spillWriter appends records to the partition files of a work directory.
type spillWriter struct {
	files []*os.File
	bufs  []*bufio.Writer
	sizes []int64
	// synced and dirty track the partitions written since the last sync:
	// the others need no fsync.
	synced []int64
	dirty  []bool
	bits   int
	buf    [recSize]byte
}

func spillName(dir string, p int) string { return filepath.Join(dir, fmt.Sprintf("spill-%04d.bin", p)) }

func hitsName(dir string, p int) string { return filepath.Join(dir, fmt.Sprintf("hits-%04d.bin", p)) }

// openSpill opens (creating) the partition files, truncated to sizes (a
// checkpoint's) or empty when sizes is nil.
func openSpill(dir string, bits int, sizes []int64) (*spillWriter, error) {
	n := 1 << uint(bits)
	w := &spillWriter{bits: bits, files: make([]*os.File, n), bufs: make([]*bufio.Writer, n), sizes: make([]int64, n),
		synced: make([]int64, n), dirty: make([]bool, n)}
	bufSize := 64 << 10
	if n > 64 {
		bufSize = 8 << 10
	}
	for p := 0; p < n; p++ {
		f, err := os.OpenFile(spillName(dir, p), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("audit: spill: %w", err)
		}
		w.files[p] = f
		var size int64
		if sizes != nil {
			size = sizes[p]
		}
		if err := f.Truncate(size); err != nil {
			w.close()
			return nil, fmt.Errorf("audit: spill: %w", err)
		}
		if _, err := f.Seek(size, 0); err != nil {
			w.close()
			return nil, fmt.Errorf("audit: spill: %w", err)
		}
		w.sizes[p] = size
		w.dirty[p] = true // truncated: its size must be made durable
		w.bufs[p] = bufio.NewWriterSize(f, bufSize)
	}
	return w, nil
}

func (w *spillWriter) add(r *record) error {
	p := partitionOf(&r.hash, w.bits)
	r.encode(w.buf[:])
	if _, err := w.bufs[p].Write(w.buf[:]); err != nil {
		return fmt.Errorf("audit: spill: %w", err)
	}
	w.sizes[p] += recSize
	return nil
}

// sync flushes and fsyncs every partition, so that the sizes can be
// recorded in a checkpoint.
// The fsyncs run concurrently (spillSyncers at a time) so that the file
// system can commit them together rather than one journal commit each.
func (w *spillWriter) sync() error {
	for p, b := range w.bufs {
		if err := b.Flush(); err != nil {
			return fmt.Errorf("audit: spill: %w", err)
		}
		w.dirty[p] = w.dirty[p] || w.sizes[p] != w.synced[p]
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	for range min(spillSyncers, len(w.files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p := int(next.Add(1) - 1)
				if p >= len(w.files) {
					return
				}
				if !w.dirty[p] {
					continue
				}
				if err := w.files[p].Sync(); err != nil {
					err = fmt.Errorf("audit: spill: %w", err)
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return *err
	}
	for p := range w.dirty {
		w.dirty[p] = false
		w.synced[p] = w.sizes[p]
	}
	return nil
}

// spillSyncers is the number of concurrent fsyncs of sync.
const spillSyncers = 16

func (w *spillWriter) close() error {
	var first error
	for _, f := range w.files {
		if f != nil {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// readPartition loads one spill partition.
func readPartition(dir string, p int, dst []record) ([]record, error) {
	data, err := os.ReadFile(spillName(dir, p))
	if err != nil {
		return dst, fmt.Errorf("audit: spill: %w", err)
	}
	if len(data)%recSize != 0 {
		return dst, fmt.Errorf("audit: spill partition %d is corrupt (size %d)", p, len(data))
	}
	for i := 0; i < len(data); i += recSize {
		var r record
		r.decode(data[i : i+recSize])
		if !r.kind.Valid() || r.kind.IsPassword() {
			return dst, fmt.Errorf("audit: spill partition %d is corrupt (kind %d)", p, r.kind)
		}
		dst = append(dst, r)
	}
	return dst, nil
}
