package index

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// ErrUnsorted is returned by SetBase on a Sorted build when a hash is not
// greater than the previous one.
var ErrUnsorted = errors.New("input is not sorted by hash")

// Builder accumulates records for one commit. Records are staged outside
// the live index (sort runs under tmp/, new generations under gens/ that
// no committed state names); nothing is visible until Commit returns. At
// most one Builder is open per Index; it must end with Commit or Abort.
type Builder struct {
	ix      *Index
	opts    BuildOptions
	mode    mergeMode // modeBase for base builders
	kind    Kind      // base builders
	breach  Breach    // breach builders (ID assigned)
	isNew   bool      // breach is new to the catalog
	tmp     string
	version uint64 // the version this build commits as
	sorters map[Kind]*sorter
	idents  map[Kind]bool // identifier kinds that received records

	// Sorted base builds stream to a writer goroutine.
	stream     chan []rec
	free       chan []rec
	pending    []rec
	last       Hash
	started    bool
	result     chan error
	cancel     context.CancelFunc
	finished   bool
	genWriters map[Kind]*genWriter
	committed  bool
}

func (ix *Index) newBuilder(opts BuildOptions) (*Builder, error) {
	if ix.opts.ReadOnly || ix.metaRO {
		return nil, ErrReadOnly
	}
	if !ix.building.TryLock() {
		return nil, ErrBusy
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = 256 << 20
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	tmp := opts.TempDir
	if tmp == "" {
		tmp = filepath.Join(ix.dir, "tmp")
	}
	tmp = filepath.Join(tmp, "build-"+hex.EncodeToString(rnd[:]))
	v := ix.view.Load()
	return &Builder{ix: ix, opts: opts, tmp: tmp, version: v.st.Version + 1,
		sorters: map[Kind]*sorter{}, idents: map[Kind]bool{}}, nil
}

// NewBaseBuilder starts a build that replaces every base count of password
// kind k (a Pwned Passwords download) with the counts given to SetBase.
// Counts added from breach dumps are kept.
func (ix *Index) NewBaseBuilder(k Kind, opts BuildOptions) (*Builder, error) {
	if !k.IsPassword() {
		return nil, fmt.Errorf("index: base counts are for password kinds, not %s", k)
	}
	b, err := ix.newBuilder(opts)
	if err != nil {
		return nil, err
	}
	b.mode, b.kind = modeBase, k
	if opts.Sorted {
		b.stream = make(chan []rec, 8)
		b.free = make(chan []rec, 10)
		b.result = make(chan error, 1)
		b.pending = make([]rec, 0, batchSize)
	} else {
		b.sorters[k] = newSorter(k, b.tmp, opts.MemoryBudget)
	}
	return b, nil
}

// NewBreachBuilder starts a build that adds one breach's records: the
// breach is upserted in the catalog by Name (keeping its ID and AddedDate),
// identifiers gain its ID and password occurrences are added to the counts.
func (ix *Index) NewBreachBuilder(br Breach, opts BuildOptions) (*Builder, error) {
	br.Name = strings.TrimSpace(br.Name)
	if br.Name == "" {
		return nil, errors.New("index: breach has no Name")
	}
	b, err := ix.newBuilder(opts)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	if old, ok := ix.BreachByName(br.Name); ok {
		br.ID = old.ID
		if br.AddedDate.IsZero() {
			br.AddedDate = old.AddedDate
		}
	} else {
		br.ID = ix.view.Load().st.NextBreach
		b.isNew = true
		if br.AddedDate.IsZero() {
			br.AddedDate = now
		}
	}
	if br.ModifiedDate.IsZero() {
		br.ModifiedDate = now
	}
	if br.Title == "" {
		br.Title = br.Name
	}
	b.mode = modeAddBreach // marks a breach builder; genWriter picks the mode per kind
	b.breach = br
	return b, nil
}

func (b *Builder) usable() error {
	if b.finished {
		return errors.New("index: builder already committed or aborted")
	}
	return nil
}

// SetBase sets the base count of h (base builders only). In a Sorted build
// hashes must be strictly increasing, else ErrUnsorted.
func (b *Builder) SetBase(h *Hash, count uint64) error {
	if err := b.usable(); err != nil {
		return err
	}
	if b.mode != modeBase {
		return errors.New("index: SetBase on a breach builder")
	}
	if b.stream == nil {
		return b.sorters[b.kind].add(h, count)
	}
	if b.started || len(b.pending) > 0 {
		if cmpRec(rec{h: *h}, rec{h: b.last}) <= 0 {
			return ErrUnsorted
		}
	}
	b.last = *h
	b.pending = append(b.pending, rec{*h, count})
	if len(b.pending) == batchSize {
		return b.flushPending()
	}
	return nil
}

func (b *Builder) flushPending() error {
	if !b.started {
		b.start()
	}
	select {
	case b.stream <- b.pending:
	case err := <-b.result:
		// The writer failed early: report it now and on Commit.
		b.result <- err
		return err
	}
	select {
	case p := <-b.free:
		b.pending = p[:0]
	default:
		b.pending = make([]rec, 0, batchSize)
	}
	return nil
}

// start launches the generation writer of a Sorted base build.
func (b *Builder) start() {
	b.started = true
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	w := b.genWriter(b.kind, uint64(b.opts.ExpectedKeys))
	old := b.ix.gen(b.kind)
	src := &chanSource{ch: b.stream, free: b.free}
	go func() {
		err := w.write(ctx, old, src)
		src.close()
		b.result <- err
	}()
	b.genWriters = map[Kind]*genWriter{b.kind: w}
}

// AddPassword adds n occurrences of password hash h of kind k (breach
// builders only).
func (b *Builder) AddPassword(k Kind, h *Hash, n uint64) error {
	if err := b.usable(); err != nil {
		return err
	}
	if b.mode == modeBase || !k.IsPassword() {
		return fmt.Errorf("index: AddPassword of kind %s on this builder", k)
	}
	return b.sorter(k).add(h, n)
}

// AddIdentifier records that identifier hash h of kind k is in the breach
// (breach builders only). Adding the same hash twice is harmless.
func (b *Builder) AddIdentifier(k Kind, h *Hash) error {
	if err := b.usable(); err != nil {
		return err
	}
	if b.mode == modeBase || k.IsPassword() || !k.Valid() {
		return fmt.Errorf("index: AddIdentifier of kind %s on this builder", k)
	}
	b.idents[k] = true
	return b.sorter(k).add(h, 1)
}

func (b *Builder) sorter(k Kind) *sorter {
	s := b.sorters[k]
	if s == nil {
		// A breach build may stage all four kinds: each gets a quarter of
		// the budget, so the build as a whole stays within it.
		s = newSorter(k, b.tmp, b.opts.MemoryBudget/len(Kinds))
		b.sorters[k] = s
	}
	return s
}

func (b *Builder) genDir(k Kind) string {
	return filepath.Join(b.ix.dir, "gens", b.genName(k))
}

func (b *Builder) genName(k Kind) string { return fmt.Sprintf("%s-%08d", k, b.version) }

func (b *Builder) genWriter(k Kind, estimate uint64) *genWriter {
	dir := b.genDir(k)
	os.RemoveAll(dir) // a leftover of an interrupted build of the same version
	mode := modeAddCount
	switch {
	case b.mode == modeBase:
		mode = modeBase
	case !k.IsPassword():
		mode = modeAddBreach
	}
	return &genWriter{kind: k, dir: dir, mode: mode, breach: b.breach.ID, fpr: b.ix.opts.FalsePositiveRate,
		estimate: estimate, compress: b.opts.Compress || b.opts.KeepCompressed && b.ix.hasCompressed(k), progress: b.opts.Progress}
}

// Commit merges the staged records into the index atomically: the new
// generations are written and synced first, then one durable metadata
// transaction makes them live. After a crash at any point the index is
// either as before or as after, and Open removes the leftovers.
func (b *Builder) Commit(ctx context.Context) (CommitStats, error) {
	if err := b.usable(); err != nil {
		return CommitStats{}, err
	}
	start := time.Now()
	defer b.end()
	stats := CommitStats{Records: map[Kind]uint64{}}
	written := map[Kind]*genWriter{}
	if b.stream != nil {
		if len(b.pending) > 0 || !b.started {
			if err := b.flushPending(); err != nil {
				return stats, err
			}
		}
		close(b.stream)
		if err := <-b.result; err != nil {
			return stats, fmt.Errorf("index: build %s: %w", b.kind, err)
		}
		written[b.kind] = b.genWriters[b.kind]
	}
	var offset int64
	for _, k := range Kinds {
		s := b.sorters[k]
		if s == nil {
			continue
		}
		src, err := s.source()
		if err != nil {
			return stats, err
		}
		w := b.genWriter(k, s.estimate())
		if p := b.opts.Progress; p != nil {
			base := offset
			w.progress = func(n int64) { p(base + n) }
		}
		err = w.write(ctx, b.ix.gen(k), src)
		src.close()
		if err != nil {
			return stats, fmt.Errorf("index: build %s: %w", k, err)
		}
		offset += int64(w.count)
		written[k] = w
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	if err := b.commitMeta(written); err != nil {
		return stats, err
	}
	for k, w := range written {
		stats.Records[k] = w.count
	}
	stats.Duration = time.Since(start)
	b.ix.autoExport() // local snapshots (local.go)
	return stats, nil
}

// commitMeta makes the written generations live in one transaction, then
// swaps the in-memory view and removes the replaced generations.
func (b *Builder) commitMeta(written map[Kind]*genWriter) error {
	ix := b.ix
	old := ix.view.Load()
	st := old.st
	st.Version = b.version
	st.BuiltAt = time.Now().UTC()
	st.Gens = map[Kind]string{}
	st.Counts = map[Kind]uint64{}
	for k, n := range old.st.Gens {
		st.Gens[k] = n
	}
	for k, n := range old.st.Counts {
		st.Counts[k] = n
	}
	for k, w := range written {
		st.Gens[k] = b.genName(k)
		st.Counts[k] = w.count
	}
	var breachVal []byte
	if b.mode != modeBase {
		if b.isNew {
			st.NextBreach = b.breach.ID + 1
		}
		if b.breach.PwnCount == 0 {
			for k := range b.idents {
				b.breach.PwnCount += int64(written[k].staged)
			}
		}
		breachVal, _ = json.Marshal(b.breach)
	}
	stVal, _ := json.Marshal(st)
	srcVal, _ := json.Marshal(sourceRecord{At: st.BuiltAt, Version: st.Version})
	err := ix.metaUpdate(func(txn *badger.Txn) error {
		if err := txn.Set([]byte(keyState), stVal); err != nil {
			return err
		}
		if breachVal != nil {
			if err := txn.Set(breachKey(b.breach.ID), breachVal); err != nil {
				return err
			}
		}
		if b.opts.SourceID != "" {
			return txn.Set([]byte(prefixSource+b.opts.SourceID), srcVal)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index: commit: %w", err)
	}
	b.committed = true
	// Committed. Build the new view; failing to open a just-written
	// generation is reported, and the next Open retries.
	nv, err := ix.loadView()
	if err != nil {
		return err
	}
	for k := range old.gens {
		if _, ok := written[Kind(k)]; !ok {
			nv.gens[k] = old.gens[k]
		}
	}
	for k := range written {
		g, err := openGeneration(b.genDir(k), k)
		if err != nil {
			return fmt.Errorf("index: open committed generation: %w", err)
		}
		nv.gens[k] = g
	}
	ix.view.Store(nv)
	for k := range written {
		if g := old.gens[k]; g != nil {
			g.close()
			os.RemoveAll(g.dir)
		}
	}
	return nil
}

// Abort discards the staged records.
func (b *Builder) Abort() error {
	if b.finished {
		return nil
	}
	if b.stream != nil && b.started {
		b.cancel()
		close(b.stream)
		<-b.result
	}
	b.end()
	return nil
}

func (b *Builder) end() {
	if b.finished {
		return
	}
	b.finished = true
	if b.cancel != nil {
		b.cancel()
	}
	if !b.committed {
		// Generations of this version are named by no committed state.
		for _, k := range Kinds {
			os.RemoveAll(b.genDir(k))
		}
	}
	os.RemoveAll(b.tmp)
	b.ix.building.Unlock()
}

// hasCompressed reports whether the live generation of password kind k has
// precomputed gzip or brotli bodies.
func (ix *Index) hasCompressed(k Kind) bool {
	g := ix.view.Load().gens[k]
	return g != nil && (g.gz != nil || g.br != nil)
}
