package index

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// The metadata store is a small Badger database in <index>/meta. It is the
// index's single commit point: a commit writes new generations first and
// then, in one durable Badger transaction, the state naming them, the
// breach catalog entry and the source marker. Keys:
//
//	"state"                      JSON state: format, version, built-at, live generation per kind, counts
//	"breach/" + uint32 BE ID     JSON Breach
//	"source/" + source ID        JSON sourceRecord: inputs already committed
//	"apikey/" + hex SHA-256      JSON APIKey (the secret itself is never stored)

const (
	keyState     = "state"
	prefixBreach = "breach/"
	prefixSource = "source/"
	prefixAPIKey = "apikey/"
)

// state is the committed state of the index.
type state struct {
	FormatVersion int               `json:"formatVersion"`
	Version       uint64            `json:"version"`
	BuiltAt       time.Time         `json:"builtAt"`
	Gens          map[Kind]string   `json:"gens"` // directory name under gens/
	Counts        map[Kind]uint64   `json:"counts"`
	NextBreach    BreachID          `json:"nextBreach"`
	Extra         map[string]string `json:"extra,omitempty"`
}

type sourceRecord struct {
	At      time.Time `json:"at"`
	Version uint64    `json:"version"`
}

func metaOptions(dir string, readOnly bool) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(nil).
		WithReadOnly(readOnly).
		WithSyncWrites(true).
		WithMetricsEnabled(false).
		WithNumVersionsToKeep(1).
		WithMemTableSize(1 << 20).
		WithNumMemtables(1).
		WithBlockCacheSize(4 << 20).
		WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(16 << 20).
		// Every value in the tables, never in a value log (space.go).
		WithValueThreshold(maxValueThreshold).
		WithBaseTableSize(256 << 10).
		WithNumCompactors(2).
		// Verify each block when it is read. Not OnTableRead: Badger
		// silently ignores a table whose checksum fails at open, which
		// would roll the state back without an error; Check verifies every
		// block (DB.VerifyChecksum) and Open preflights the tables.
		WithChecksumVerificationMode(options.OnBlockRead)
}

func breachKey(id BreachID) []byte {
	k := make([]byte, len(prefixBreach)+4)
	copy(k, prefixBreach)
	binary.BigEndian.PutUint32(k[len(prefixBreach):], uint32(id))
	return k
}

func loadState(db *badger.DB) (state, error) {
	st := state{FormatVersion: FormatVersion, Gens: map[Kind]string{}, Counts: map[Kind]uint64{}, NextBreach: 1}
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyState))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &st) })
	})
	if err != nil {
		return st, fmt.Errorf("read index state: %w", err)
	}
	if st.FormatVersion != FormatVersion {
		return st, fmt.Errorf("index format %d, this pwndex reads format %d: re-ingest into a new directory", st.FormatVersion, FormatVersion)
	}
	if st.Gens == nil {
		st.Gens = map[Kind]string{}
	}
	if st.Counts == nil {
		st.Counts = map[Kind]uint64{}
	}
	return st, nil
}

// loadPrefix decodes every JSON value under prefix into fn.
func loadPrefix(db *badger.DB, prefix string, fn func(key, val []byte) error) error {
	return db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
}
