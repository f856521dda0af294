package api

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// snapshot caches what depends only on the committed index version: HTTP
// validators, the catalog and its JSON. It is rebuilt when the version
// changes and swapped atomically, so handlers read it without locks.
type snapshot struct {
	version uint64
	meta    index.Meta
	// etag holds the strong validator per encoding (Identity, Gzip,
	// Brotli); etagPadded the weak one for padded responses.
	etag         [3][]byte
	etagPadded   []byte
	lastModified []byte

	breaches     []index.Breach
	breachesJSON []byte
	breachJSON   map[string][]byte // lower-cased Name -> JSON object
	// names holds each breach's JSON-quoted Name by ID; sensitive marks
	// IsSensitive; public lists the IDs of non-sensitive breaches (decoys).
	names     map[index.BreachID][]byte
	sensitive map[index.BreachID]bool
	public    []index.BreachID
	dirBytes  int64
	// byID indexes breaches by ID; dataClassesJSON is the sorted union of
	// the catalog's data classes; latestJSON the breach added last (nil
	// for an empty catalog).
	byID            map[index.BreachID]int
	dataClassesJSON []byte
	latestJSON      []byte
}

// refresh rebuilds the snapshot if the index version changed.
func (s *Server) refresh() error {
	m := s.ix.Meta()
	if old := s.cache.Load(); old != nil && old.version == m.Version {
		return nil
	}
	sn, err := buildSnapshot(s.ix, m)
	if err != nil {
		return err
	}
	s.cache.Store(sn)
	return nil
}

func buildSnapshot(ix *index.Index, m index.Meta) (*snapshot, error) {
	sn := &snapshot{version: m.Version, meta: m}
	tag := ix.ETag()
	if tag == "" {
		tag = fmt.Sprintf("%q", fmt.Sprintf("v%d", m.Version))
	}
	base := strings.TrimSuffix(tag, `"`)
	sn.etag[index.Identity] = []byte(tag)
	sn.etag[index.Gzip] = []byte(base + `-gzip"`)
	sn.etag[index.Brotli] = []byte(base + `-br"`)
	sn.etagPadded = []byte("W/" + tag)
	if !m.BuiltAt.IsZero() {
		sn.lastModified = fasthttp.AppendHTTPDate(nil, m.BuiltAt)
	}

	sn.breaches = ix.Breaches()
	if sn.breaches == nil {
		sn.breaches = []index.Breach{}
	}
	var err error
	if sn.breachesJSON, err = json.Marshal(sn.breaches); err != nil {
		return nil, fmt.Errorf("api: encoding catalog: %w", err)
	}
	sn.breachJSON = make(map[string][]byte, len(sn.breaches))
	sn.names = make(map[index.BreachID][]byte, len(sn.breaches))
	sn.sensitive = make(map[index.BreachID]bool, len(sn.breaches))
	sn.byID = make(map[index.BreachID]int, len(sn.breaches))
	classes := map[string]bool{}
	latest := -1
	for i := range sn.breaches {
		b := &sn.breaches[i]
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("api: encoding breach %q: %w", b.Name, err)
		}
		sn.breachJSON[strings.ToLower(b.Name)] = j
		q, _ := json.Marshal(b.Name)
		sn.names[b.ID] = q
		sn.sensitive[b.ID] = b.IsSensitive
		if !b.IsSensitive {
			sn.public = append(sn.public, b.ID)
		}
		sn.byID[b.ID] = i
		for _, c := range b.DataClasses {
			classes[c] = true
		}
		if latest < 0 || b.AddedDate.After(sn.breaches[latest].AddedDate) ||
			(b.AddedDate.Equal(sn.breaches[latest].AddedDate) && b.ID > sn.breaches[latest].ID) {
			latest = i
		}
	}
	if latest >= 0 {
		sn.latestJSON = sn.breachJSON[strings.ToLower(sn.breaches[latest].Name)]
	}
	dc := make([]string, 0, len(classes))
	for c := range classes {
		dc = append(dc, c)
	}
	slices.SortFunc(dc, func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if sn.dataClassesJSON, err = json.Marshal(dc); err != nil {
		return nil, fmt.Errorf("api: encoding data classes: %w", err)
	}
	if d := ix.Dir(); d != "" {
		_ = filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil {
					sn.dirBytes += fi.Size()
				}
			}
			return nil
		})
	}
	return sn, nil
}
