package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// preflightTables opens every table of the Badger store in dir the way
// badger.Open will (footer, index checksum, first and last block with
// their checksums) but in the calling goroutine, under recover.
//
// Why: badger.Open opens tables in its own goroutines, and a corrupt block
// trailer (checksum length, entry count) makes its block reader slice out
// of range before any checksum is compared: a panic there kills the whole
// process (`serve`, `check`) and cannot be recovered. After a successful
// preflight, badger.Open reads the same, now verified, bytes.
//
// Invariant: a store is handed to badger.Open only after its tables passed
// this preflight; a table that fails it is an error naming the file.
func preflightTables(dir string, opts badger.Options) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ".sst" || !e.Type().IsRegular() {
			continue
		}
		if err := preflightTable(filepath.Join(dir, e.Name()), opts); err != nil {
			return fmt.Errorf("%s: corrupt table: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	return nil
}

func preflightTable(path string, opts badger.Options) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil && err != z.NewFile {
		return err
	}
	var t *table.Table
	defer func() {
		if recover() != nil {
			err = errors.New("unreadable block or footer")
		}
		if t != nil {
			t.MmapFile.Close(-1) // not DecrRef: that deletes the file
		} else if err != nil && mf != nil {
			mf.Close(-1)
		}
	}()
	t, err = table.OpenTable(mf, table.Options{
		ReadOnly:    true,
		ChkMode:     options.OnBlockRead,
		BlockSize:   opts.BlockSize,
		Compression: opts.Compression,
	})
	if err != nil {
		mf = nil // OpenTable closed it
	}
	return err
}
