package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	badger "github.com/dgraph-io/badger/v4"
)

// The metadata store changes with every commit, so it cannot have a fixed
// checksum list like a generation's db.sums. Badger checksums its tables,
// manifest and log entries itself; what it never verifies are bytes an
// unencrypted store does not read: the key registry (IV and sanity text),
// value log headers (key ID and IV) and the discard statistics. So:
//
//   - every metadata write also stores, under keyFileSums, the xxhash64 of
//     the key registry and of each value log's 20-byte header as they are
//     then (both are written once, when the file is created); Check
//     compares the files that still exist with it;
//   - pwndex never stores a value in a value log (space.go), so Badger
//     never records a discard: Check requires DISCARD to be all zero.
const keyFileSums = "filesums"

const vlogHeaderLen = 20

// metaFileSums returns the sums of the metadata store's key registry and
// value log headers in dir.
func metaFileSums(dir string) (map[string]string, error) {
	sums := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if name != "KEYREGISTRY" && filepath.Ext(name) != ".vlog" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if filepath.Ext(name) == ".vlog" {
			b = b[:min(len(b), vlogHeaderLen)]
		}
		sums[name] = fmt.Sprintf("%016x", xxhash.Sum64(b))
	}
	return sums, nil
}

// setFileSums adds the current file sums to a metadata transaction.
func setFileSums(txn *badger.Txn, dir string) error {
	sums, err := metaFileSums(dir)
	if err != nil {
		return fmt.Errorf("metadata file sums: %w", err)
	}
	val, _ := json.Marshal(sums)
	return txn.Set([]byte(keyFileSums), val)
}

// checkMetaFiles returns the problems of the metadata files Badger does not
// verify (see above) in dir, the index's own meta/ directory.
func (ix *Index) checkMetaFiles(dir string) []string {
	var problems []string
	if d, err := os.ReadFile(filepath.Join(dir, "DISCARD")); err == nil {
		if i := slices.IndexFunc(d, func(b byte) bool { return b != 0 }); i >= 0 {
			problems = append(problems, fmt.Sprintf("metadata DISCARD: unexpected byte at %d (corrupt)", i))
		}
	}
	var want map[string]string
	err := ix.meta.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyFileSums))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &want) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return problems // written by an older pwndex: nothing to compare
	}
	if err != nil {
		return append(problems, fmt.Sprintf("metadata file sums: %v", err))
	}
	got, err := metaFileSums(dir)
	if err != nil {
		return append(problems, fmt.Sprintf("metadata file sums: %v", err))
	}
	var names []string
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if g, ok := got[name]; ok && g != want[name] {
			what := "header"
			if !strings.HasSuffix(name, ".vlog") {
				what = "content"
			}
			problems = append(problems, fmt.Sprintf("metadata %s: %s differs from when it was written (corrupt)", name, what))
		}
	}
	return problems
}
