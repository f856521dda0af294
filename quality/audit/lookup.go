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

// Local looks identifiers up in an open index.
type Local struct {
	ix    *index.Index
	once  sync.Once
	names map[index.BreachID]string
}

// NewLocal returns a Lookup over ix, which must stay open while it is used.
func NewLocal(ix *index.Index) *Local { return &Local{ix: ix} }

func (l *Local) init() {
	l.once.Do(func() {
		bs := l.ix.Breaches()
		l.names = make(map[index.BreachID]string, len(bs))
		for _, b := range bs {
			l.names[b.ID] = b.Name
		}
	})
}

// Catalog implements Lookup.
func (l *Local) Catalog(context.Context) ([]index.Breach, error) {
	return l.ix.Breaches(), nil
}

// Range implements Lookup with the index's precomputed identifier ranges.
func (l *Local) Range(_ context.Context, k index.Kind, prefix uint32, dst []RangeEntry) ([]RangeEntry, error) {
	l.init()
	es, err := l.ix.AppendRange(nil, k, index.Prefix{Value: prefix, Digits: RangeDigits})
	if err != nil {
		return dst, fmt.Errorf("audit: index range: %w", err)
	}
	for i := range es {
		names := make([]string, 0, len(es[i].Breaches))
		for _, id := range es[i].Breaches {
			if n, ok := l.names[id]; ok {
				names = append(names, n)
			}
		}
		dst = append(dst, RangeEntry{Hash: es[i].Hash, Breaches: names})
	}
	return dst, nil
}

// Parallelism implements Lookup: one worker per CPU.
func (l *Local) Parallelism() int { return runtime.GOMAXPROCS(0) }

// Describe implements Lookup.
func (l *Local) Describe() string { return "index " + l.ix.Dir() }

// catalog maps breach names to dense indices. Names a range returns that
// the catalog lacks are added with only a Name, so nothing is dropped.
type catalog struct {
	mu       sync.Mutex
	breaches []index.Breach
	byName   map[string]uint32
	added    bool // an unknown name was added since the last save
}

func newCatalog(bs []index.Breach) *catalog {
	c := &catalog{breaches: append([]index.Breach(nil), bs...)}
	sort.SliceStable(c.breaches, func(i, j int) bool { return c.breaches[i].Name < c.breaches[j].Name })
	c.byName = make(map[string]uint32, len(c.breaches))
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
	key := strings.ToLower(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.byName[key]; ok {
		return i
	}
	i := uint32(len(c.breaches))
	c.breaches = append(c.breaches, index.Breach{Name: name, Title: name})
	c.byName[key] = i
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
