package index

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Directory layout of an index:
//
//	<dir>/meta/                  metadata Badger store, the commit point (meta.go)
//	<dir>/gens/<kind>-<version>/ one immutable generation per kind (gen.go)
//	<dir>/tmp/                   sort runs of builds in progress
//
// Anything under gens/ not named by the committed state, and anything under
// tmp/, is a leftover of an interrupted build and is removed by Open.

// ErrBusy is returned when a second Builder is started on an Index before
// the first one committed or aborted.
var ErrBusy = errors.New("index: another build is in progress")

// ErrReadOnly is returned by write operations on an index opened ReadOnly.
var ErrReadOnly = errors.New("index: opened read-only")

// Index is an open pwndex index. Read methods are safe for concurrent use
// and do not block one another. A Commit replaces the live view atomically;
// readers that still hold slices from PasswordRange must not run
// concurrently with a Commit in the same process (pwndex ingests and serves
// from separate processes).
type Index struct {
	dir      string
	opts     Options
	log      *slog.Logger
	meta     *badger.DB
	metaRO   bool
	metaCopy string     // readers after an unclean writer exit: private replayed copy of meta/
	snapID   string     // OpenSnapshot: the snapshot directory's name
	snapLock *os.File   // OpenLocalSnapshot: the shared lock that keeps the snapshot from GC
	exportMu sync.Mutex // serialises ExportLocal
	view     atomic.Pointer[view]
	building sync.Mutex // held by the open Builder
	keysMu   sync.Mutex // serialises API key writes

	// Private (OPRF) lookups, private.go: the loaded key and artefacts.
	privMu      sync.Mutex
	priv        *privState
	privOld     []*privState
	privChecked time.Time
	// privEvaluated counts the keyed values computed by derivations
	// (tests check that unchanged records are reused).
	privEvaluated atomic.Int64
}

// view is an immutable snapshot of the committed index.
type view struct {
	st       state
	gens     [6]*generation // by Kind
	breaches []Breach       // sorted by Name
	byID     map[BreachID]int
	byName   map[string]int // lower-cased name -> index in breaches
	keys     map[string]APIKey
	sources  map[string]bool
	broken   map[Kind]error // Lenient opens: generations that failed to open
}

// Open opens (creating if needed) the index in opts.Dir, removing leftovers
// of interrupted builds.
func Open(opts Options) (*Index, error) {
	if opts.Dir == "" {
		return nil, errors.New("index: no directory given")
	}
	if opts.FalsePositiveRate <= 0 || opts.FalsePositiveRate >= 1 {
		opts.FalsePositiveRate = DefaultFalsePositiveRate
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ix := &Index{dir: opts.Dir, opts: opts, log: opts.Logger}
	metaDir := filepath.Join(opts.Dir, "meta")
	if opts.ReadOnly {
		if _, err := os.Stat(metaDir); err != nil {
			return nil, fmt.Errorf("index %s: not an index (no meta directory): %w", opts.Dir, err)
		}
	} else if err := os.MkdirAll(filepath.Join(opts.Dir, "gens"), 0o755); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	// Tables are checked in this goroutine before Badger opens them in its
	// own, where a corrupt one could panic (preflight.go).
	if err := preflightTables(metaDir, metaOptions(metaDir, true)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("index %s: metadata: %w", opts.Dir, err)
	}
	var err error
	if opts.ReadOnly {
		// Readers never write to the index (it may be on a read-only
		// mount, and several readers share it): a shared lock, read-only
		// files. A writer is refused while they run.
		ix.meta, err = badger.Open(metaOptions(metaDir, true))
		if err != nil && !isLockError(err) {
			// The last writer exited uncleanly and its log needs a replay,
			// which a read-only open refuses: replay a private copy.
			var rerr error
			if ix.meta, ix.metaCopy, rerr = openMetaCopy(metaDir); rerr == nil {
				err = nil
			} else {
				err = fmt.Errorf("%w (replaying a private copy: %v)", err, rerr)
			}
		}
		ix.metaRO = err == nil
	} else {
		ix.meta, err = openWritableStore(metaOptions(metaDir, false))
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: open metadata: %w", opts.Dir, err)
	}
	v, err := ix.loadView()
	if err != nil {
		ix.meta.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		ix.removeLeftovers(&v.st)
		if err := ix.ensureKey(); err != nil {
			ix.meta.Close()
			return nil, fmt.Errorf("index %s: OPRF key: %w", opts.Dir, err)
		}
	}
	if len(opts.Kinds) > 0 {
		if !opts.ReadOnly {
			ix.meta.Close()
			return nil, errors.New("index: Options.Kinds needs ReadOnly")
		}
		for k := range v.st.Gens {
			if !slices.Contains(opts.Kinds, k) {
				delete(v.st.Gens, k)
			}
		}
	}
	if err := v.openGens(ix.dir, opts.Lenient && opts.ReadOnly); err != nil {
		ix.meta.Close()
		return nil, err
	}
	ix.view.Store(v)
	return ix, nil
}

// loadView reads the committed state, catalog, keys and sources (not the
// generations, see openGens).
func (ix *Index) loadView() (*view, error) {
	st, err := loadState(ix.meta)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", ix.dir, err)
	}
	v := &view{st: st, keys: map[string]APIKey{}, sources: map[string]bool{}}
	err = loadPrefix(ix.meta, prefixBreach, func(key, val []byte) error {
		var b Breach
		if err := json.Unmarshal(val, &b); err != nil {
			return err
		}
		// Breach.ID is not part of the HIBP JSON shape: it is the key.
		b.ID = BreachID(binary.BigEndian.Uint32(key[len(prefixBreach):]))
		v.breaches = append(v.breaches, b)
		return nil
	})
	if err == nil {
		err = loadPrefix(ix.meta, prefixAPIKey, func(key, val []byte) error {
			var k APIKey
			if err := json.Unmarshal(val, &k); err != nil {
				return err
			}
			v.keys[string(key[len(prefixAPIKey):])] = k
			return nil
		})
	}
	if err == nil {
		err = loadPrefix(ix.meta, prefixSource, func(key, _ []byte) error {
			v.sources[string(key[len(prefixSource):])] = true
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: read metadata: %w", ix.dir, err)
	}
	v.indexBreaches()
	return v, nil
}

// indexBreaches sorts the catalog and builds its lookup maps.
func (v *view) indexBreaches() {
	sort.Slice(v.breaches, func(i, j int) bool { return v.breaches[i].Name < v.breaches[j].Name })
	v.byID = make(map[BreachID]int, len(v.breaches))
	v.byName = make(map[string]int, len(v.breaches))
	for i, b := range v.breaches {
		v.byID[b.ID] = i
		v.byName[strings.ToLower(b.Name)] = i
	}
}

// openGens opens the committed generations. With lenient, one that fails
// to open is recorded in v.broken instead of failing.
func (v *view) openGens(dir string, lenient bool) error {
	for k, name := range v.st.Gens {
		g, err := openGenerationSafe(filepath.Join(dir, "gens", name), k)
		if err != nil && lenient {
			if v.broken == nil {
				v.broken = map[Kind]error{}
			}
			v.broken[k] = err
			continue
		}
		if err != nil {
			v.closeGens()
			return fmt.Errorf("index %s: %w (run 'pwndex check' for a full report, then 'pwndex repair')", dir, err)
		}
		v.gens[k] = g
	}
	return nil
}

// openGenerationSafe is openGeneration with a panic on corrupt data (in a
// decoder that did not expect it) turned into an error.
func openGenerationSafe(dir string, k Kind) (g *generation, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, fmt.Errorf("open %s generation: corrupt (panic: %v)", k, p)
		}
	}()
	return openGeneration(dir, k)
}

func (v *view) closeGens() {
	for i, g := range v.gens {
		g.close()
		v.gens[i] = nil
	}
}

// removeLeftovers deletes generations the state does not name and tmp/.
func (ix *Index) removeLeftovers(st *state) {
	live := map[string]bool{}
	for _, n := range st.Gens {
		live[n] = true
	}
	entries, _ := os.ReadDir(filepath.Join(ix.dir, "gens"))
	for _, e := range entries {
		if !live[e.Name()] {
			ix.log.Info("removing leftover of an interrupted build", "dir", e.Name())
			os.RemoveAll(filepath.Join(ix.dir, "gens", e.Name()))
		}
	}
	os.RemoveAll(filepath.Join(ix.dir, "tmp"))
}

// Close releases the index.
func (ix *Index) Close() error {
	ix.autoExport() // a writer's last state (private lookups included) reaches serve
	ix.closePrivate()
	if v := ix.view.Swap(nil); v != nil {
		v.closeGens()
	}
	if ix.snapLock != nil {
		ix.snapLock.Close() // releases the reader's shared lock: the writer may now GC it
		ix.snapLock = nil
	}
	if ix.meta != nil {
		err := ix.meta.Close()
		ix.meta = nil
		if ix.metaCopy != "" {
			os.RemoveAll(ix.metaCopy)
		}
		return err
	}
	return nil
}

// isLockError reports whether a Badger open failed because another process
// holds the store (Badger has no sentinel error for it).
func isLockError(err error) bool {
	return strings.Contains(err.Error(), "Cannot acquire directory lock")
}

// openMetaCopy copies the metadata store to a private temporary directory
// and opens the copy writable, which replays the log a crashed writer left.
// The index itself is not written: readers work on a read-only mount and
// never take the writer's exclusive lock.
func openMetaCopy(metaDir string) (*badger.DB, string, error) {
	var size uint64
	if err := filepath.WalkDir(metaDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += uint64(fi.Size())
			}
		}
		return err
	}); err != nil {
		return nil, "", err
	}
	if err := ensureSpace(os.TempDir(), size); err != nil {
		return nil, "", err
	}
	tmp, err := os.MkdirTemp("", "pwndex-meta-")
	if err != nil {
		return nil, "", err
	}
	ents, err := os.ReadDir(metaDir)
	if err == nil {
		for _, e := range ents {
			if !e.Type().IsRegular() || e.Name() == "LOCK" {
				continue
			}
			if err = copyFile(filepath.Join(metaDir, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
				break
			}
		}
	}
	var db *badger.DB
	if err == nil {
		db, err = openWritableStore(metaOptions(tmp, false))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, "", err
	}
	return db, tmp, nil
}

// openWritableStore opens a Badger store for writing once there is room
// for the writes Badger makes through memory maps, and allocates its logs
// (space.go).
func openWritableStore(opts badger.Options) (*badger.DB, error) {
	if err := ensureSpace(opts.Dir, 0); err != nil {
		return nil, err
	}
	db, err := badger.Open(opts)
	if err != nil {
		return nil, err
	}
	if err := allocateLogs(opts.Dir); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// metaUpdate runs one metadata transaction, checking free space first
// and allocating any log Badger created for it (space.go).
func (ix *Index) metaUpdate(fn func(txn *badger.Txn) error) error {
	dir := filepath.Join(ix.dir, "meta")
	if err := ensureSpace(dir, 0); err != nil {
		return err
	}
	err := ix.meta.Update(func(txn *badger.Txn) error {
		if err := fn(txn); err != nil {
			return err
		}
		return setFileSums(txn, dir)
	})
	if err != nil {
		return err
	}
	return allocateLogs(dir)
}

// IsNoSpace reports whether err means the disk (or quota) is full: an
// ErrNoSpace estimate or an ENOSPC/EDQUOT from a write.
func IsNoSpace(err error) bool { return isNoSpace(err) }

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Dir returns the index directory.
func (ix *Index) Dir() string { return ix.dir }

// Meta returns the committed state.
func (ix *Index) Meta() Meta {
	v := ix.view.Load()
	m := Meta{FormatVersion: v.st.FormatVersion, Version: v.st.Version, BuiltAt: v.st.BuiltAt,
		Counts: make(map[Kind]uint64, len(v.st.Counts)), Breaches: len(v.breaches)}
	for k, n := range v.st.Counts {
		m.Counts[k] = n
	}
	return m
}

// Version returns the committed version, which every commit increments.
// It does not allocate, so a handler may compare it on every request.
func (ix *Index) Version() uint64 { return ix.view.Load().st.Version }

// ETag returns a strong validator for responses derived from the index
// (quoted, changes with every commit).
func (ix *Index) ETag() string {
	v := ix.view.Load()
	return fmt.Sprintf(`"pwndex-%d-%x"`, v.st.Version, v.st.BuiltAt.UnixNano())
}

func (ix *Index) gen(k Kind) *generation {
	if !k.Valid() {
		return nil
	}
	return ix.view.Load().gens[k]
}

// MayContain tests kind k's membership filter only: false means h is
// certainly absent. It does not touch Badger and does not allocate.
func (ix *Index) MayContain(k Kind, h *Hash) bool {
	g := ix.gen(k)
	return g != nil && g.filter.test(filterKey(k, h))
}

// Lookup returns the record for h: the filter first (a negative answer does
// not touch the store), then the range file (password kinds) or Badger.
func (ix *Index) Lookup(k Kind, h *Hash) (Entry, bool, error) {
	g := ix.gen(k)
	if g == nil || !g.filter.test(filterKey(k, h)) {
		return Entry{}, false, nil
	}
	if k.IsPassword() {
		return g.lookupPassword(h) // the range file is the store (pwstore.go)
	}
	e := Entry{Kind: k, Hash: *h}
	err := g.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(filterKey(k, h))
		if err != nil {
			return err
		}
		return item.Value(func(val []byte) error {
			var err error
			if k.IsPassword() {
				var base, extra uint64
				base, extra, err = decodePassword(val)
				e.Count = AddCounts(base, extra)
			} else {
				e.Breaches, _, err = decodeIDs(nil, val)
			}
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("lookup %s: %w", k, err)
	}
	return e, true, nil
}

// PasswordRange returns the precomputed body of the password range for a
// 5-hex prefix (SUFFIX:COUNT lines, CRLF-separated, no trailing newline) in
// the given encoding. The slice aliases read-only memory: do not modify it.
// The Identity body is empty for an empty range or a kind with no data. ok
// is false if the encoding was not built for this bucket (compression is
// precomputed only for bodies of at least 1 KiB): callers then serve the
// Identity body. A body failing its checksum is never returned: ok is then
// false too; servers use PasswordRangeChecked to tell the two apart.
func (ix *Index) PasswordRange(k Kind, prefix uint32, enc Encoding) (body []byte, ok bool) {
	body, ok, err := ix.PasswordRangeChecked(k, prefix, enc)
	if err != nil {
		return nil, false
	}
	return body, ok
}

// PasswordRangeChecked is PasswordRange with the bucket's checksum failure
// reported: err wraps ErrRangeCorrupt and body is nil when the bucket's
// bytes do not match the checksum written at ingest. A bucket is verified
// the first time this process reads it, then remembered.
func (ix *Index) PasswordRangeChecked(k Kind, prefix uint32, enc Encoding) (body []byte, ok bool, err error) {
	if !k.IsPassword() || prefix >= RangeBuckets {
		return nil, false, nil
	}
	g := ix.gen(k)
	if g == nil {
		return nil, enc == Identity, nil
	}
	var r *rangeFile
	switch enc {
	case Identity:
		r = g.text
	case Gzip:
		r = g.gz
	case Brotli:
		r = g.br
	}
	if r == nil {
		return nil, false, nil
	}
	body, err = r.checkedBucket(prefix)
	if err != nil {
		return nil, false, fmt.Errorf("%s %s range: %w", k, encName(enc), err)
	}
	if enc != Identity && len(body) == 0 {
		return nil, false, nil // small or empty bucket: no compressed form
	}
	return body, true, nil
}

// AppendRange appends all entries of kind k whose hash starts with p, in
// hash order, and returns the extended slice. p may have 1 to 8 digits;
// ranges longer than 5 digits are cut from their 5-digit bucket.
func (ix *Index) AppendRange(dst []Entry, k Kind, p Prefix) ([]Entry, error) {
	if p.Digits < 5 || p.Digits > 8 {
		return dst, fmt.Errorf("index: range prefix of %d digits, want 5 to 8", p.Digits)
	}
	g := ix.gen(k)
	if g == nil {
		return dst, nil
	}
	b := p.Value >> (4 * uint(p.Digits-5))
	body, err := g.records().checkedBucket(b)
	if err != nil {
		return dst, fmt.Errorf("%s range: %w", k, err)
	}
	return appendBucket(dst, k, b, body, p)
}

// appendBucket parses bucket b of kind k's record range file (identity text
// for passwords, binary records for identifiers), keeping entries matching p.
func appendBucket(dst []Entry, k Kind, b uint32, body []byte, p Prefix) ([]Entry, error) {
	if k.IsPassword() {
		return appendTextEntries(dst, k, b, body, p)
	}
	return appendBinaryEntries(dst, k, body, p)
}

// appendTextEntries parses an identity password bucket.
func appendTextEntries(dst []Entry, k Kind, bucket uint32, body []byte, p Prefix) ([]Entry, error) {
	var hexbuf [40]byte
	pre := Prefix{Value: bucket, Digits: 5}.AppendHex(hexbuf[:0])
	errCorrupt := errors.New("index: corrupt range body")
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\r'); i >= 0 {
			if i+1 >= len(body) || body[i+1] != '\n' || i+2 == len(body) {
				return dst, errCorrupt // CR without LF, or a trailing line break
			}
			line, body = body[:i], body[i+2:]
		} else {
			body = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return dst, errCorrupt
		}
		h, err := ParseHash(k, append(pre, line[:colon]...))
		if err != nil {
			return dst, fmt.Errorf("index: corrupt range body: %w", err)
		}
		digits := line[colon+1:]
		if len(digits) == 0 || len(digits) > 19 {
			return dst, errCorrupt
		}
		var n uint64
		for _, c := range digits {
			if c < '0' || c > '9' {
				return dst, errCorrupt
			}
			n = n*10 + uint64(c-'0')
		}
		if p.Matches(&h) {
			dst = append(dst, Entry{Kind: k, Hash: h, Count: n})
		}
	}
	return dst, nil
}

// appendBinaryEntries parses a binary-record identifier bucket.
func appendBinaryEntries(dst []Entry, k Kind, body []byte, p Prefix) ([]Entry, error) {
	hl := k.HashLen()
	for len(body) > 0 {
		if len(body) < hl {
			return dst, errors.New("index: corrupt range body")
		}
		var e Entry
		e.Kind = k
		copy(e.Hash[:], body[:hl])
		var err error
		e.Breaches, body, err = decodeIDs(nil, body[hl:])
		if err != nil {
			return dst, fmt.Errorf("index: corrupt range body: %w", err)
		}
		if p.Matches(&e.Hash) {
			dst = append(dst, e)
		}
	}
	return dst, nil
}

// Breaches returns the catalog sorted by Name. The caller may not modify
// the returned slice's elements' DataClasses.
func (ix *Index) Breaches() []Breach {
	v := ix.view.Load()
	return append([]Breach(nil), v.breaches...)
}

// BreachByName finds a breach by Name, case-insensitively.
func (ix *Index) BreachByName(name string) (Breach, bool) {
	v := ix.view.Load()
	i, ok := v.byName[strings.ToLower(name)]
	if !ok {
		return Breach{}, false
	}
	return v.breaches[i], true
}

// BreachByID finds a breach by ID.
func (ix *Index) BreachByID(id BreachID) (Breach, bool) {
	v := ix.view.Load()
	i, ok := v.byID[id]
	if !ok {
		return Breach{}, false
	}
	return v.breaches[i], true
}

// HasSource reports whether a commit recorded the source ID.
func (ix *Index) HasSource(id string) bool { return ix.view.Load().sources[id] }

func keyDigest(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

// CreateAPIKey stores a new key and returns its secret (shown once). Key
// names are unique.
func (ix *Index) CreateAPIKey(k APIKey) (secret string, err error) {
	if ix.opts.ReadOnly || ix.metaRO {
		return "", ErrReadOnly
	}
	if k.Name == "" {
		return "", errors.New("index: API key needs a name")
	}
	ix.keysMu.Lock()
	defer ix.keysMu.Unlock()
	for _, x := range ix.view.Load().keys {
		if x.Name == k.Name {
			return "", fmt.Errorf("index: API key %q exists", k.Name)
		}
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	secret = "pwx_" + hex.EncodeToString(raw[:])
	if k.Created.IsZero() {
		k.Created = time.Now().UTC().Truncate(time.Second)
	}
	val, _ := json.Marshal(k)
	d := keyDigest(secret)
	if err := ix.metaUpdate(func(txn *badger.Txn) error { return txn.Set([]byte(prefixAPIKey+d), val) }); err != nil {
		return "", fmt.Errorf("index: store API key: %w", err)
	}
	ix.updateView(func(v *view) { v.keys[d] = k })
	ix.autoExport()
	return secret, nil
}

// updateView installs a copy of the current view changed by fn (the
// generations are shared, not reopened).
func (ix *Index) updateView(fn func(v *view)) {
	old := ix.view.Load()
	nv := *old
	nv.keys = make(map[string]APIKey, len(old.keys)+1)
	for d, k := range old.keys {
		nv.keys[d] = k
	}
	fn(&nv)
	ix.view.Store(&nv)
}

// AuthAPIKey returns the key whose secret is given.
func (ix *Index) AuthAPIKey(secret string) (APIKey, bool) {
	if secret == "" {
		return APIKey{}, false
	}
	k, ok := ix.view.Load().keys[keyDigest(secret)]
	return k, ok
}

// APIKeys lists the stored keys, sorted by name.
func (ix *Index) APIKeys() []APIKey {
	var out []APIKey
	for _, k := range ix.view.Load().keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteAPIKey removes the key with the given name.
func (ix *Index) DeleteAPIKey(name string) error {
	if ix.opts.ReadOnly || ix.metaRO {
		return ErrReadOnly
	}
	ix.keysMu.Lock()
	defer ix.keysMu.Unlock()
	for d, k := range ix.view.Load().keys {
		if k.Name == name {
			if err := ix.metaUpdate(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixAPIKey + d)) }); err != nil {
				return fmt.Errorf("index: delete API key: %w", err)
			}
			ix.updateView(func(v *view) { delete(v.keys, d) })
			ix.autoExport()
			return nil
		}
	}
	return fmt.Errorf("index: no API key named %q", name)
}
