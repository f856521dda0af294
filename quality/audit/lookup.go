package audit

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/pwndex/pwndex/index"
)

// RangeDigits is the number of hex digits of an identifier range prefix.
const RangeDigits = 6

// RangeEntry is one row of an identifier range: a full hash and the names
// of the breaches it appears in.
type RangeEntry struct {
	Hash     index.Hash
	Breaches []string
}

// Lookup answers identifier range queries. Local reads an index; Remote
// asks a pwndex (or HIBP-compatible) server. Both are safe for concurrent
// use.
type Lookup interface {
	// Catalog returns the breach catalog the names of Range refer to.
	Catalog(ctx context.Context) ([]index.Breach, error)
	// Range appends to dst every entry of kind k (KindEmail or KindPhone)
	// whose hash starts with the 6-hex prefix (0 <= prefix < 1<<24). It may
	// include entries that match nothing the caller holds (decoys).
	Range(ctx context.Context, k index.Kind, prefix uint32, dst []RangeEntry) ([]RangeEntry, error)
	// Parallelism is the number of Range calls worth having in flight.
	Parallelism() int
	// Describe names the source for messages, e.g. "index ./data". It
	// never includes a secret.
	Describe() string
}

// prefilter is implemented by lookups that can rule a hash out without a
// range query. mayContain false means the hash is certainly not in any
// range of kind k, so the scan does not spill it: its range could only
// have answered "absent". It must be cheap and safe for concurrent use.
type prefilter interface {
	mayContain(k index.Kind, h *index.Hash) bool
}

// Local looks identifiers up in an open index.
type Local struct {
	ix   *index.Index
	once sync.Once
	// names maps a breach ID to a one-element slice holding its name,
	// shared read-only by the entries of that breach alone.
	names map[index.BreachID][]string
	pool  sync.Pool // *[]index.Entry reused by Range
}

// NewLocal returns a Lookup over ix, which must stay open while it is used.
func NewLocal(ix *index.Index) *Local { return &Local{ix: ix} }

func (l *Local) init() {
	l.once.Do(func() {
		bs := l.ix.Breaches()
		l.names = make(map[index.BreachID][]string, len(bs))
		for _, b := range bs {
			l.names[b.ID] = []string{b.Name}
		}
	})
}

// Catalog implements Lookup.
func (l *Local) Catalog(context.Context) ([]index.Breach, error) {
	return l.ix.Breaches(), nil
}

// Range implements Lookup with the index's precomputed identifier ranges.
// The Breaches slices it returns may be shared: callers must not modify
// them.
func (l *Local) Range(_ context.Context, k index.Kind, prefix uint32, dst []RangeEntry) ([]RangeEntry, error) {
	l.init()
	bp, _ := l.pool.Get().(*[]index.Entry)
	if bp == nil {
		bp = new([]index.Entry)
	}
	es, err := l.ix.AppendRange((*bp)[:0], k, index.Prefix{Value: prefix, Digits: RangeDigits})
	if err != nil {
		return dst, fmt.Errorf("audit: index range: %w", err)
	}
	for i := range es {
		dst = append(dst, RangeEntry{Hash: es[i].Hash, Breaches: l.namesOf(es[i].Breaches)})
	}
	clear(es) // drop the references to the breach ID slices
	*bp = es[:0]
	l.pool.Put(bp)
	return dst, nil
}

// namesOf returns the names of the breaches ids that the catalog knows.
func (l *Local) namesOf(ids []index.BreachID) []string {
	if len(ids) == 1 {
		if n, ok := l.names[ids[0]]; ok {
			return n[:1:1]
		}
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		if n, ok := l.names[id]; ok {
			names = append(names, n[0])
		}
	}
	return names
}

// mayContain implements prefilter with the index's membership filter.
func (l *Local) mayContain(k index.Kind, h *index.Hash) bool { return l.ix.MayContain(k, h) }

// Parallelism implements Lookup: one worker per CPU.
func (l *Local) Parallelism() int { return runtime.GOMAXPROCS(0) }

// Describe implements Lookup.
func (l *Local) Describe() string { return "index " + l.ix.Dir() }

// catalog maps breach names to dense indices. Names a range returns that
// the catalog lacks are added with only a Name, so nothing is dropped.
type catalog struct {
	mu       sync.RWMutex
	breaches []index.Breach
	byName   map[string]uint32 // lower-cased name
	byExact  map[string]uint32 // names as ranges spelt them, a cache of byName
	added    bool              // an unknown name was added since the last save
}

func newCatalog(bs []index.Breach) *catalog {
	c := &catalog{breaches: append([]index.Breach(nil), bs...)}
	sort.SliceStable(c.breaches, func(i, j int) bool { return c.breaches[i].Name < c.breaches[j].Name })
	c.byName = make(map[string]uint32, len(c.breaches))
	c.byExact = make(map[string]uint32, len(c.breaches))
	for i := range c.breaches {
		c.breaches[i].ID = 0
		key := strings.ToLower(c.breaches[i].Name)
		if _, dup := c.byName[key]; !dup {
			c.byName[key] = uint32(i)
		}
	}
	return c
}

// index returns the dense index of the breach called name.
func (c *catalog) index(name string) uint32 {
	c.mu.RLock()
	i, ok := c.byExact[name]
	c.mu.RUnlock()
	if ok {
		return i
	}
	key := strings.ToLower(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.byName[key]; ok {
		c.byExact[name] = i
		return i
	}
	i = uint32(len(c.breaches))
	c.breaches = append(c.breaches, index.Breach{Name: name, Title: name})
	c.byName[key] = i
	c.byExact[name] = i
	c.added = true
	return i
}

// snapshot returns the catalog's breaches (safe to read once resolving is
// over).
func (c *catalog) list() []index.Breach {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.breaches
}
