package index

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/brotli"
	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/klauspost/compress/gzip"
)

// mergeMode says how staged records combine with the previous generation.
type mergeMode uint8

const (
	// modeBase: staged counts replace every base count of the kind; records
	// left with neither a base count nor breach occurrences are dropped.
	modeBase mergeMode = iota
	// modeAddCount: staged counts are added to the breach occurrences.
	modeAddCount
	// modeAddBreach: the build's breach ID joins each staged identifier.
	modeAddBreach
)

// outRec is one record of the new generation.
type outRec struct {
	h            Hash
	base, extra  uint64
	idOff, idLen uint32 // identifier kinds: ids[idOff:idOff+idLen] of the batch
}

// outBatch is a batch of output records shared read-only by the consumers
// (Badger, filter, range files); the last consumer to finish recycles it.
type outBatch struct {
	recs []outRec
	ids  []BreachID
	refs atomic.Int32
}

const batchSize = 4096

// genWriter writes one generation: the producer merges the previous
// generation with a source and fans batches out to three consumers running
// in parallel: the Badger StreamWriter, the Bloom filter, and the range
// file renderer (with a compression pool for password kinds).
type genWriter struct {
	kind     Kind
	dir      string
	mode     mergeMode
	breach   BreachID
	fpr      float64
	estimate uint64
	compress bool
	progress func(int64)

	count  uint64 // records written
	staged uint64 // distinct staged records consumed
	free   chan *outBatch
}

// write builds the generation in w.dir from old (may be nil) and src.
func (w *genWriter) write(ctx context.Context, old *generation, src source) (err error) {
	est := w.estimate
	if old != nil {
		est += old.filter.n
	}
	// Room for the whole generation first (space.go); the old generation
	// stays on disk until the commit.
	if err := ensureSpace(filepath.Dir(w.dir), generationBytes(w.kind, est, w.compress)); err != nil {
		return err
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	db, err := openWritableStore(badgerOptions(filepath.Join(w.dir, "db"), false))
	if err != nil {
		return fmt.Errorf("create %s store: %w", w.kind, err)
	}
	dbClosed := false
	defer func() {
		if !dbClosed {
			db.Close()
		}
	}()
	sw := db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return fmt.Errorf("%s store: %w", w.kind, err)
	}
	ranges, err := w.newRangeSink()
	if err != nil {
		sw.Cancel()
		return err
	}
	filterPath := filepath.Join(w.dir, fileFilter)
	filter, err := createFilterFile(filterPath, w.kind, est, w.fpr)
	if err != nil {
		sw.Cancel()
		ranges.abort()
		return err
	}

	w.free = make(chan *outBatch, 16)
	chans := [3]chan *outBatch{make(chan *outBatch, 8), make(chan *outBatch, 8), make(chan *outBatch, 8)}
	var wg sync.WaitGroup
	var errs [3]error
	consume := func(i int, fn func(*outBatch) error, end func() error) {
		defer wg.Done()
		for b := range chans[i] {
			if errs[i] == nil {
				errs[i] = fn(b)
			}
			w.release(b)
		}
		if errs[i] == nil {
			errs[i] = end()
		}
	}
	wg.Add(3)
	kvbuf := z.NewBuffer(8<<20, "pwndex.gen")
	defer kvbuf.Release()
	go consume(0, w.badgerSink(sw, kvbuf), sw.Flush)
	fa := newFilterAdder(filter, w.kind)
	go consume(1, fa.add, fa.close)
	go consume(2, ranges.add, ranges.finish)

	perr := w.produce(ctx, old, src, chans)
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	if perr == nil {
		for _, e := range errs {
			if e != nil {
				perr = e
				break
			}
		}
	}
	if perr != nil {
		// Stop Badger's table writers before the store is closed and the
		// directory removed (a disk-full stop must not let them run on).
		if errs[0] == nil {
			sw.Cancel()
		}
		ranges.abort()
		filter.abort()
		return perr
	}
	dbClosed = true
	if err := db.Close(); err != nil {
		filter.abort()
		return fmt.Errorf("close %s store: %w", w.kind, err)
	}
	// The store is final: record every file's checksum (sums.go).
	if err := writeSums(w.dir); err != nil {
		filter.abort()
		return err
	}
	// The filter was sized from an estimate; if it is off by more than 5%
	// (duplicates, records dropped by a replacement), rebuild it exactly.
	if w.count > est || float64(w.count) < 0.95*float64(est) {
		filter.abort()
		if err := w.rebuildFilter(filterPath); err != nil {
			return err
		}
	} else if err := filter.finish(); err != nil {
		return err
	}
	return syncTree(w.dir)
}

func (w *genWriter) getBatch() *outBatch {
	select {
	case b := <-w.free:
		b.recs, b.ids = b.recs[:0], b.ids[:0]
		return b
	default:
		return &outBatch{recs: make([]outRec, 0, batchSize)}
	}
}

func (w *genWriter) release(b *outBatch) {
	if b.refs.Add(-1) == 0 {
		select {
		case w.free <- b:
		default:
		}
	}
}

// produce merges old and src into batches sent to every consumer.
func (w *genWriter) produce(ctx context.Context, old *generation, src source, chans [3]chan *outBatch) error {
	hl := w.kind.HashLen()
	var it *oldReader
	if old != nil {
		txn := old.db.NewTransaction(false)
		defer txn.Discard()
		var err error
		if it, err = newOldReader(old, txn); err != nil {
			it.close()
			return err
		}
		defer it.close()
	}
	nr, haveNew, err := src.next()
	if err != nil {
		return err
	}
	b := w.getBatch()
	space := filepath.Dir(w.dir)
	send := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The estimate may be wrong or the disk shared: stop while Badger's
		// next table still fits (space.go).
		if free, err := freeSpace(space); err == nil && free < spaceReserve {
			return noSpaceError(space, spaceReserve, free)
		}
		b.refs.Store(3)
		for _, c := range chans {
			c <- b
		}
		w.count += uint64(len(b.recs))
		if w.progress != nil {
			w.progress(int64(w.count))
		}
		b = w.getBatch()
		return nil
	}
	var oldIDs []BreachID
	for {
		haveOld := it != nil && it.valid()
		if !haveOld && !haveNew {
			break
		}
		c := 0 // <0: old first, >0: new first, 0: same hash
		switch {
		case !haveOld:
			c = 1
		case !haveNew:
			c = -1
		default:
			c = bytes.Compare(it.key(), nr.h[:hl])
			if c > 0 {
				c = 1
			} else if c < 0 {
				c = -1
			}
		}
		var o outRec
		var oldBase, oldExtra uint64
		oldIDs = oldIDs[:0]
		if c <= 0 {
			var err error
			if oldIDs, err = it.read(&o, &oldBase, &oldExtra, oldIDs); err != nil {
				return fmt.Errorf("read previous %s generation: %w", w.kind, err)
			}
			if err := it.next(); err != nil {
				return err
			}
		} else {
			o.h = nr.h
		}
		keep := true
		switch w.mode {
		case modeBase:
			o.extra = oldExtra
			if c >= 0 {
				o.base = min(nr.n, MaxCount)
			}
			keep = o.base > 0 || o.extra > 0
		case modeAddCount:
			o.base, o.extra = oldBase, oldExtra
			if c >= 0 {
				// Saturating: a count never wraps (MaxCount invariant).
				o.extra = AddCounts(o.extra, nr.n)
			}
		case modeAddBreach:
			o.idOff = uint32(len(b.ids))
			b.ids = append(b.ids, oldIDs...)
			if c >= 0 {
				b.ids = insertID(b.ids, int(o.idOff), w.breach)
			}
			o.idLen = uint32(len(b.ids)) - o.idOff
		}
		if c >= 0 {
			w.staged++
			if nr, haveNew, err = src.next(); err != nil {
				return err
			}
		}
		if keep {
			b.recs = append(b.recs, o)
			if len(b.recs) == batchSize {
				if err := send(); err != nil {
					return err
				}
			}
		}
	}
	if len(b.recs) > 0 {
		return send()
	}
	return ctx.Err()
}

// insertID adds id to the sorted ids[from:], keeping it sorted and unique.
func insertID(ids []BreachID, from int, id BreachID) []BreachID {
	i := from
	for i < len(ids) && ids[i] < id {
		i++
	}
	if i < len(ids) && ids[i] == id {
		return ids
	}
	ids = append(ids, 0)
	copy(ids[i+1:], ids[i:])
	ids[i] = id
	return ids
}

// writeDenseStore makes password generations keep every record in Badger,
// the layout of generations written before pwstore.go: tests set it to
// prove such indexes are still read and rewritten correctly.
var writeDenseStore bool

// badgerSink returns the consumer writing batches through the StreamWriter.
func (w *genWriter) badgerSink(sw *badger.StreamWriter, buf *z.Buffer) func(*outBatch) error {
	hl := w.kind.HashLen()
	var val []byte
	kv := &pb.KV{Version: 1}
	return func(b *outBatch) error {
		buf.Reset()
		n := 0
		for i := range b.recs {
			r := &b.recs[i]
			if w.kind.IsPassword() {
				if r.extra == 0 && !writeDenseStore {
					continue // the range file holds it (pwstore.go)
				}
				val = encodePassword(val[:0], r.base, r.extra)
			} else {
				val = encodeIDs(val[:0], b.ids[r.idOff:r.idOff+r.idLen])
			}
			kv.Key, kv.Value = r.h[:hl], val
			badger.KVToBuffer(kv, buf)
			n++
		}
		if n == 0 {
			return nil
		}
		if err := sw.Write(buf); err != nil {
			return fmt.Errorf("write %s store: %w", w.kind, err)
		}
		return nil
	}
}

// rangeSink renders bucket bodies into the range files.
type rangeSink struct {
	w       *genWriter
	text    *rangeWriter // identity text (passwords) or binary (identifiers)
	gz, br  *rangeWriter
	bucket  uint32
	body    []byte
	n       int
	jobs    chan *compressJob
	order   chan *compressJob
	done    chan error
	workers sync.WaitGroup
}

type compressJob struct {
	bucket uint32
	n      int
	body   []byte
	gz, br []byte
	ready  chan struct{}
}

func (w *genWriter) newRangeSink() (*rangeSink, error) {
	s := &rangeSink{w: w, bucket: ^uint32(0)}
	var err error
	if !w.kind.IsPassword() {
		s.text, err = createRangeFile(filepath.Join(w.dir, fileBinary), w.kind, encBinary)
		return s, err
	}
	if s.text, err = createRangeFile(filepath.Join(w.dir, fileText), w.kind, uint8(Identity)); err != nil {
		return nil, err
	}
	if !w.compress {
		return s, nil
	}
	if s.gz, err = createRangeFile(filepath.Join(w.dir, fileGzip), w.kind, uint8(Gzip)); err != nil {
		s.text.abort()
		return nil, err
	}
	if s.br, err = createRangeFile(filepath.Join(w.dir, fileBrotli), w.kind, uint8(Brotli)); err != nil {
		s.text.abort()
		s.gz.abort()
		return nil, err
	}
	s.jobs = make(chan *compressJob, 64)
	s.order = make(chan *compressJob, 256)
	s.done = make(chan error, 1)
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		s.workers.Add(1)
		go s.compressWorker()
	}
	go s.writeCompressed()
	return s, nil
}

// minCompressBody is the smallest identity body that gets precomputed
// compressed forms: below it, compression saves a few hundred bytes at
// most and would dominate ingest time on sparse indexes. PasswordRange
// reports such buckets as not built in that encoding.
const minCompressBody = 1024

// Compression levels for precomputed bodies: hex text compresses to about
// half whatever the level, so fast levels lose little and keep ingest fast.
const (
	gzipLevel   = 6
	brotliLevel = 5
)

func (s *rangeSink) compressWorker() {
	defer s.workers.Done()
	var gb, bb bytes.Buffer
	gzw, _ := gzip.NewWriterLevel(&gb, gzipLevel)
	brw := brotli.NewWriterLevel(&bb, brotliLevel)
	for j := range s.jobs {
		gb.Reset()
		gzw.Reset(&gb)
		gzw.Write(j.body)
		gzw.Close()
		j.gz = append([]byte(nil), gb.Bytes()...)
		bb.Reset()
		brw.Reset(&bb)
		brw.Write(j.body)
		brw.Close()
		j.br = append([]byte(nil), bb.Bytes()...)
		close(j.ready)
	}
}

func (s *rangeSink) writeCompressed() {
	var err error
	for j := range s.order {
		<-j.ready
		if err == nil {
			err = s.gz.writeBucket(j.bucket, j.gz, j.n)
		}
		if err == nil {
			err = s.br.writeBucket(j.bucket, j.br, j.n)
		}
	}
	s.done <- err
}

func (s *rangeSink) add(b *outBatch) error {
	hl := s.w.kind.HashLen()
	for i := range b.recs {
		r := &b.recs[i]
		bk := r.h.Prefix(5)
		if bk != s.bucket {
			if err := s.flush(); err != nil {
				return err
			}
			s.bucket = bk
		}
		if s.w.kind.IsPassword() {
			if s.n > 0 {
				s.body = append(s.body, '\r', '\n')
			}
			s.body = r.h.AppendSuffixHex(s.body, s.w.kind, 5)
			s.body = append(s.body, ':')
			s.body = strconv.AppendUint(s.body, AddCounts(r.base, r.extra), 10)
		} else {
			s.body = append(s.body, r.h[:hl]...)
			s.body = encodeIDs(s.body, b.ids[r.idOff:r.idOff+r.idLen])
		}
		s.n++
	}
	return nil
}

func (s *rangeSink) flush() error {
	if s.n == 0 {
		return nil
	}
	if err := s.text.writeBucket(s.bucket, s.body, s.n); err != nil {
		return err
	}
	if s.jobs != nil && len(s.body) >= minCompressBody {
		j := &compressJob{bucket: s.bucket, n: s.n, body: append([]byte(nil), s.body...), ready: make(chan struct{})}
		s.order <- j
		s.jobs <- j
	}
	s.body, s.n = s.body[:0], 0
	return nil
}

// stopCompression ends the pool and returns the compressed writer's error.
func (s *rangeSink) stopCompression() error {
	if s.jobs == nil {
		return nil
	}
	close(s.jobs)
	close(s.order)
	s.workers.Wait()
	err := <-s.done
	s.jobs = nil
	return err
}

func (s *rangeSink) finish() error {
	err := s.flush()
	if cerr := s.stopCompression(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, rw := range []*rangeWriter{s.text, s.gz, s.br} {
		if rw != nil {
			if err := rw.finish(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *rangeSink) abort() {
	s.stopCompression()
	for _, rw := range []*rangeWriter{s.text, s.gz, s.br} {
		if rw != nil {
			rw.abort()
		}
	}
}

// rebuildFilter writes an exactly sized filter from the written range file.
func (w *genWriter) rebuildFilter(path string) error {
	f, err := createFilterFile(path, w.kind, w.count, w.fpr)
	if err != nil {
		return err
	}
	var aerr error
	err = forEachRecord(w.dir, w.kind, func(e *Entry) {
		if aerr == nil {
			aerr = f.add(filterKey(w.kind, &e.Hash))
		}
	})
	if err == nil {
		err = aerr
	}
	if err != nil {
		f.abort()
		return fmt.Errorf("rebuild %s filter: %w", w.kind, err)
	}
	return f.finish()
}

// forEachRecord calls fn for every record of a generation directory's range
// file, in hash order.
func forEachRecord(dir string, k Kind, fn func(e *Entry)) error {
	name, enc := fileBinary, uint8(encBinary)
	if k.IsPassword() {
		name, enc = fileText, uint8(Identity)
	}
	r, err := openRangeFile(filepath.Join(dir, name), k, enc)
	if err != nil {
		return err
	}
	defer r.close()
	var es []Entry
	for b := uint32(0); b < RangeBuckets; b++ {
		body := r.bucket(b)
		if len(body) == 0 {
			continue
		}
		es, err = appendBucket(es[:0], k, b, body, Prefix{Value: b, Digits: 5})
		if err != nil {
			return fmt.Errorf("bucket %05X: %w", b, err)
		}
		for i := range es {
			fn(&es[i])
		}
	}
	return nil
}

// syncTree fsyncs every file and directory under dir.
func syncTree(dir string) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", p, err)
		}
		return nil
	})
}

// filterAdder adds batches of keys to the generation's blocked filter
// file. The records come in hash order, so the blocks are filled front to
// back and stream to the file (blockfilter.go): one goroutine keeps up
// with the other consumers, in a fixed amount of memory.
type filterAdder struct {
	f    *filterWriter
	kind Kind
}

func newFilterAdder(f *filterWriter, k Kind) *filterAdder { return &filterAdder{f: f, kind: k} }

func (a *filterAdder) add(b *outBatch) error {
	for i := range b.recs {
		if err := a.f.add(filterKey(a.kind, &b.recs[i].h)); err != nil {
			return fmt.Errorf("%s filter: %w", a.kind, err)
		}
	}
	return nil
}

// close does nothing: the file is finished once the count is known.
func (a *filterAdder) close() error { return nil }
