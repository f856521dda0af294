package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// A generation is the complete, immutable record set of one kind, in its own
// directory under <index>/gens/<kind>-<version>/:
//
//	db/           Badger store: key = the hash's HashLen bytes, value = record value
//	              (password kinds: only records with an extra count, pwstore.go)
//	filter.bf     Bloom filter over the keys (filter.go)
//	ranges.txt    password kinds: identity range bodies (rangefile.go)
//	ranges.gz     password kinds, optional: gzip range bodies
//	ranges.br     password kinds, optional: brotli range bodies
//	ranges.bin    identifier kinds: binary-record range bodies
//
// Record values:
//
//	password kinds:   uvarint(base) uvarint(extra)
//	                  base: count from the latest Pwned Passwords download
//	                  extra: occurrences added by ingested breach dumps
//	                  Entry.Count = base + extra
//	identifier kinds: uvarint(n) uvarint(id)*n, breach IDs strictly increasing
//
// A generation is written whole by a commit and never modified afterwards;
// it becomes live only when the metadata commit names it (meta.go), and a
// later commit replaces it with a new generation. Directories not named by
// the metadata are leftovers of interrupted commits and are removed at Open.

const (
	fileFilter = "filter.bf"
	fileText   = "ranges.txt"
	fileGzip   = "ranges.gz"
	fileBrotli = "ranges.br"
	fileBinary = "ranges.bin"
)

type generation struct {
	kind   Kind
	dir    string
	db     *badger.DB
	filter *loadedFilter
	text   *rangeFile // password kinds
	gz, br *rangeFile // password kinds, optional
	bin    *rangeFile // identifier kinds
}

// badgerOptions returns options for a generation store: small caches, since
// the range files serve bulk reads and the filter answers most negatives.
func badgerOptions(dir string, readOnly bool) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(nil).
		WithReadOnly(readOnly).
		WithMetricsEnabled(false).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false).
		// StreamWriter bypasses the memtable and generations are read-only
		// afterwards: a small one saves creating a 16 MiB file per open.
		WithMemTableSize(1 << 20).
		WithNumMemtables(1).
		// Table indexes stay in memory (IndexCacheSize 0): for immutable
		// generations they are small (~30 bytes per 4 KiB block) and a
		// cache in front of them only adds work to every Get.
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		// Every value in the tables, never in a value log (space.go).
		WithValueThreshold(maxValueThreshold).
		// StreamWriter sizes its tables BaseTableSize x 2^(MaxLevels-2) and
		// allocates (and clears) twice that per table builder: 2 MiB
		// would mean 128 MiB per builder, which dominated small builds.
		// 512 KiB gives 16 MiB tables and 32 MiB builders.
		WithBaseTableSize(512 << 10).
		// Keys are hashes: block compression cannot shrink them.
		WithCompression(options.None).
		// Every table block read from disk is verified against its
		// checksum before use (a corrupt block is an error, never a wrong
		// answer); Check verifies every block (DB.VerifyChecksum).
		// OnTableRead would read whole tables at every open, and Badger
		// silently skips a table that fails it.
		WithChecksumVerificationMode(options.OnBlockRead)
}

func openGeneration(dir string, k Kind) (*generation, error) {
	g := &generation{kind: k, dir: dir}
	bopts := badgerOptions(filepath.Join(dir, "db"), true)
	if err := preflightTables(bopts.Dir, bopts); err != nil {
		return nil, fmt.Errorf("open %s store: %w", k, err)
	}
	var err error
	g.db, err = badger.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", k, err)
	}
	fail := func(err error) (*generation, error) {
		g.close()
		return nil, fmt.Errorf("open %s generation: %w", k, err)
	}
	if g.filter, err = readFilter(filepath.Join(dir, fileFilter), k); err != nil {
		return fail(err)
	}
	if k.IsPassword() {
		if g.text, err = openRangeFile(filepath.Join(dir, fileText), k, uint8(Identity)); err != nil {
			return fail(err)
		}
		for _, opt := range []struct {
			name string
			enc  Encoding
			dst  **rangeFile
		}{{fileGzip, Gzip, &g.gz}, {fileBrotli, Brotli, &g.br}} {
			p := filepath.Join(dir, opt.name)
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				continue
			}
			if *opt.dst, err = openRangeFile(p, k, uint8(opt.enc)); err != nil {
				return fail(err)
			}
		}
	} else if g.bin, err = openRangeFile(filepath.Join(dir, fileBinary), k, encBinary); err != nil {
		return fail(err)
	}
	return g, nil
}

// records returns the range file that holds every record: the identity
// text for password kinds, the binary records for identifier kinds.
func (g *generation) records() *rangeFile {
	if g.kind.IsPassword() {
		return g.text
	}
	return g.bin
}

func (g *generation) close() error {
	if g == nil {
		return nil
	}
	for _, r := range []*rangeFile{g.text, g.gz, g.br, g.bin} {
		r.close()
	}
	g.filter.close()
	if g.db != nil {
		return g.db.Close()
	}
	return nil
}

// encodePassword appends a password record value.
func encodePassword(dst []byte, base, extra uint64) []byte {
	dst = binary.AppendUvarint(dst, base)
	return binary.AppendUvarint(dst, extra)
}

// decodePassword parses a password record value.
func decodePassword(v []byte) (base, extra uint64, err error) {
	base, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, 0, errors.New("bad password record")
	}
	extra, m := binary.Uvarint(v[n:])
	if m <= 0 || n+m != len(v) {
		return 0, 0, errors.New("bad password record")
	}
	return base, extra, nil
}

// encodeIDs appends an identifier record value; ids must be increasing.
func encodeIDs(dst []byte, ids []BreachID) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = binary.AppendUvarint(dst, uint64(id))
	}
	return dst
}

// decodeIDs appends the breach IDs of an identifier record value to dst and
// returns the rest of v after the record value.
func decodeIDs(dst []BreachID, v []byte) ([]BreachID, []byte, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)) {
		return dst, nil, errors.New("bad identifier record")
	}
	v = v[k:]
	for i := uint64(0); i < n; i++ {
		id, k := binary.Uvarint(v)
		if k <= 0 || id > 0xffffffff {
			return dst, nil, errors.New("bad identifier record")
		}
		dst = append(dst, BreachID(id))
		v = v[k:]
	}
	return dst, v, nil
}
