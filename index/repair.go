package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
)

// RepairReport is the outcome of Repair.
type RepairReport struct {
	// Rebuilt lists the generations ("sha1-00000003") whose derived files
	// (filter, range files and their compressed copies) were rebuilt from
	// their Badger records.
	Rebuilt []string
	// Damaged maps a kind to the problems found in its records (the Badger
	// store or its checksum list; for password kinds also ranges.txt):
	// derived files cannot be rebuilt from them.
	Damaged map[Kind][]string
	// Sources lists the ingested sources (the source markers: "hibp-sha1:…",
	// "breach:NAME:…") to ingest again into a new index when Damaged is not
	// empty. The markers do not record the kinds they fed, so every source
	// is listed.
	Sources []string
	// Remaining holds the problems Check still finds after the repair.
	Remaining []string

	// PrivateRebuilt lists the private-lookup artefacts (private/NAME.opr,
	// with their .vals sidecars) rewritten under the index's OPRF key, each
	// as "NAME (what was wrong)": missing, damaged, of another key, or not
	// yet committed in oprf.key (a derivation interrupted after an ingest).
	// They are byte for byte what the derivation after an ingest writes.
	PrivateRebuilt []string
	// PrivateEvaluated is the number of keyed values the rebuild computed
	// (values held by an intact sidecar under the same key are reused).
	PrivateEvaluated int64
	// PrivateRemoved lists the leftovers removed, relative to the index
	// directory: temporary files of an interrupted write, artefacts and
	// sidecars of other generations or keys.
	PrivateRemoved []string
	// PrivateKeySummed reports that oprf.key had no checksum line (written
	// by an older pwndex) and was rewritten with one, the key unchanged.
	PrivateKeySummed bool
	// PrivateKey, when not empty, says why the OPRF key is lost (oprf.key
	// damaged, or missing while private/ holds artefacts) and how to fix it
	// ('pwndex keys oprf-rotate', then repair). Repair never makes a new
	// key: every client would have to fetch its public key again. Nothing
	// private is changed then; the generations are repaired as usual.
	PrivateKey string
}

// OK reports whether the index is consistent after the repair: no damaged
// records, no remaining problem and the OPRF key not lost.
func (r *RepairReport) OK() bool {
	return len(r.Damaged) == 0 && len(r.Remaining) == 0 && r.PrivateKey == ""
}

// derivedFiles are the files of a generation rewritten by a repair (for
// password kinds ranges.txt is also the records: it is rewritten from its
// verified self, or from a dense Badger store).
var derivedFiles = []string{fileFilter, fileText, fileGzip, fileBrotli, fileBinary}

// emptySource is a source with no records: a generation written from an old
// one and emptySource holds exactly the old one's records.
type emptySource struct{}

func (emptySource) next() (rec, bool, error) { return rec{}, false, nil }
func (emptySource) close()                   {}

// Repair rebuilds the derived files of every generation of the index in dir
// (bloom filter, range files including the gzip and brotli copies and
// their per-bucket checksums) from the generation's records, after
// verifying those records (every table block's checksum and the db.sums
// list). The records of an identifier kind are its Badger store; those of
// a password kind are its identity range file ranges.txt (pwstore.go),
// verified bucket by bucket and whole, joined with the breach-added counts
// in Badger. A damaged ranges.txt is damaged records, unless the Badger
// store holds every record (generations written before pwstore.go), which
// it is then rebuilt from. Range files of an older format (format 1) are
// rewritten in the current one (their generations are of that dense kind).
// A generation whose records are damaged is left alone and reported in
// Damaged, with the sources to ingest again into a new index.
//
// Then the private-lookup files (repairPrivate): every artefact and
// sidecar that is missing, damaged or not committed is rebuilt under the
// same OPRF key, byte-identical to what ingest writes, oprf.key gets a
// checksum if it has none, and leftovers of interrupted writes are
// removed. A lost key (oprf.key damaged, or missing with artefacts left)
// is reported in PrivateKey and nothing private is changed: only 'pwndex
// keys oprf-rotate' makes a new key.
//
// Repair holds the index's shared lock: ingest and keys are refused while
// it runs. Each rebuilt file replaces the old one by a rename, so a repair
// interrupted at any point is completed by running it again. A running
// serve keeps the files it opened until it restarts. Local snapshots are
// removed once a generation is rebuilt (their hard links keep the damaged
// bytes); the next serve exports a fresh one.
func Repair(ctx context.Context, dir string) (RepairReport, error) {
	rep := RepairReport{Damaged: map[Kind][]string{}}
	ix, err := Open(Options{Dir: dir, ReadOnly: true, Lenient: true})
	if err != nil {
		return rep, fmt.Errorf("repair %s: %w", dir, err)
	}
	v := ix.view.Load()
	for id := range v.sources {
		rep.Sources = append(rep.Sources, id)
	}
	slices.Sort(rep.Sources)
	kinds := make([]Kind, 0, len(v.st.Gens))
	for k := range v.st.Gens {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		if err := ctx.Err(); err != nil {
			ix.Close()
			return rep, err
		}
		name := v.st.Gens[k]
		gdir := filepath.Join(dir, "gens", name)
		problems, err := repairGen(ctx, gdir, k, v.gens[k], v.st.Counts[k], ix.opts.FalsePositiveRate)
		if err != nil {
			ix.Close()
			return rep, fmt.Errorf("repair %s generation %s: %w", k, name, err)
		}
		if len(problems) > 0 {
			rep.Damaged[k] = problems
			continue
		}
		rep.Rebuilt = append(rep.Rebuilt, name)
	}
	// Private artefacts are derived from the identifier kinds' range files
	// (forEachRecord), rebuilt above.
	if err := ix.repairPrivate(ctx, rep.Damaged, &rep); err != nil {
		ix.Close()
		return rep, fmt.Errorf("repair %s: %w", dir, err)
	}
	if err := ix.Close(); err != nil {
		return rep, fmt.Errorf("repair %s: close: %w", dir, err)
	}
	// Local snapshots hard-link the generation and private-lookup files as
	// they were, damaged bytes included: they are dropped, and the next
	// serve exports a fresh one (local.go). One that a running serve holds
	// is left and reported.
	if len(rep.Rebuilt) > 0 || len(rep.PrivateRebuilt) > 0 || rep.PrivateKeySummed {
		if _, held, err := removeLocalSnapshots(dir, ""); err != nil {
			return rep, fmt.Errorf("repair %s: %w", dir, err)
		} else if held > 0 {
			return rep, fmt.Errorf("repair %s: %d local snapshot(s) are held by a running serve: stop it and run repair again", dir, held)
		}
		if err := os.Remove(filepath.Join(dir, LocalSnapshotsDir, currentFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("repair %s: %w", dir, err)
		}
	}
	// What Check finds now, on a fresh open of the repaired files.
	ix, err = Open(Options{Dir: dir, ReadOnly: true, Lenient: true})
	if err != nil {
		rep.Remaining = []string{err.Error()}
		return rep, nil
	}
	defer ix.Close()
	cr, err := ix.Check(ctx)
	if err != nil {
		return rep, fmt.Errorf("repair %s: check: %w", dir, err)
	}
	rep.Remaining = cr.Problems
	return rep, nil
}

// repairGen verifies the records of the generation in gdir and, when they
// are sound, rewrites its derived files. open is the generation as the
// index opened it, nil when it failed to open. It returns the problems of
// the records, if any (nothing was changed then).
func repairGen(ctx context.Context, gdir string, k Kind, open *generation, count uint64, defFPR float64) ([]string, error) {
	problems := verifySums(gdir)
	db := (*badger.DB)(nil)
	if open != nil {
		db = open.db
	} else {
		bopts := badgerOptions(filepath.Join(gdir, "db"), true)
		if err := preflightTables(bopts.Dir, bopts); err != nil {
			return append(problems, fmt.Sprintf("store: %v", err)), nil
		}
		d, err := openStoreSafe(bopts)
		if err != nil {
			return append(problems, fmt.Sprintf("store: %v", err)), nil
		}
		defer d.Close()
		db = d
	}
	if err := verifyStore(db); err != nil {
		problems = append(problems, fmt.Sprintf("store: %v", err))
	}
	if len(problems) > 0 {
		return problems, nil
	}
	// Password kinds: ranges.txt is the store of the records (pwstore.go),
	// Badger holds only the breach-added counts. It is verified whole
	// before it is read; when it is damaged (or of format 1) the generation
	// can be rebuilt only if its Badger store holds every record (the dense
	// layout of generations written before pwstore.go).
	var text *rangeFile
	if k.IsPassword() {
		t, owned, terr := verifiedRecordsText(gdir, k, open)
		switch {
		case terr == nil:
			text = t
			if owned {
				defer t.close()
			}
		default:
			n, err := countStoreKeys(ctx, db)
			if err != nil {
				return append(problems, fmt.Sprintf("store: %v", err)), nil
			}
			if n == 0 || n != count {
				return []string{fmt.Sprintf("%s holds the %s records and is damaged (%v); the Badger store holds %d of %d records", fileText, k, terr, n, count)}, nil
			}
			// Dense: every record is in Badger; text stays nil.
		}
	}
	fpr := defFPR
	if open != nil && open.filter != nil {
		fpr = open.filter.fpr
	} else if f, err := readFilter(filepath.Join(gdir, fileFilter), k); err == nil {
		fpr = f.fpr
		f.close()
	}
	if !(fpr > 0 && fpr < 1) {
		fpr = DefaultFalsePositiveRate
	}
	compress := false
	if k.IsPassword() {
		for _, n := range []string{fileGzip, fileBrotli} {
			if _, err := os.Stat(filepath.Join(gdir, n)); err == nil {
				compress = true
			}
		}
	}
	tmp := gdir + ".repair"
	os.RemoveAll(tmp) // a leftover of an interrupted repair
	defer os.RemoveAll(tmp)
	mode := modeAddCount
	if !k.IsPassword() {
		mode = modeAddBreach
	}
	w := &genWriter{kind: k, dir: tmp, mode: mode, fpr: fpr, estimate: count, compress: compress}
	old := &generation{kind: k, dir: gdir, db: db, filter: &loadedFilter{}, text: text}
	if err := w.write(ctx, old, emptySource{}); err != nil {
		if errors.Is(err, ErrRangeCorrupt) {
			// The Badger extras and the verified range file disagree.
			return []string{fmt.Sprintf("records: %v", err)}, nil
		}
		return nil, err
	}
	if w.count != count && count != 0 {
		return []string{fmt.Sprintf("store holds %d records, the metadata says %d", w.count, count)}, nil
	}
	for _, n := range derivedFiles {
		src := filepath.Join(tmp, n)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.Rename(src, filepath.Join(gdir, n)); err != nil {
			return nil, fmt.Errorf("replace %s: %w", n, err)
		}
	}
	return nil, syncDir(gdir)
}

// openStoreSafe opens a Badger store, turning a panic on corrupt data into
// an error.
func openStoreSafe(opts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("corrupt (panic: %v)", strings.TrimSpace(fmt.Sprint(p)))
		}
	}()
	return badger.Open(opts)
}

// verifiedRecordsText returns the identity range file of the password
// generation in gdir after verifying every byte of it: the header and
// tables (openRangeFile), every bucket against its checksum, and the whole
// body against the header's. It reuses the generation's mapping when open
// is not nil; owned reports whether the caller must close the file.
func verifiedRecordsText(gdir string, k Kind, open *generation) (r *rangeFile, owned bool, err error) {
	if open != nil && open.text != nil {
		r = open.text
	} else {
		if r, err = openRangeFile(filepath.Join(gdir, fileText), k, uint8(Identity)); err != nil {
			return nil, false, err
		}
		owned = true
	}
	bad := 0
	d := xxhash.New()
	for b := uint32(0); b < RangeBuckets; b++ {
		body := r.bucket(b)
		if !r.bucketOK(b, body) {
			bad++
		}
		d.Write(body)
	}
	switch {
	case bad > 0:
		err = fmt.Errorf("%w: %d bucket(s) fail their checksums", ErrRangeCorrupt, bad)
	case d.Sum64() != r.bodySum:
		err = fmt.Errorf("%w: body checksum mismatch", ErrRangeCorrupt)
	}
	if err != nil {
		if owned {
			r.close()
		}
		return nil, false, err
	}
	return r, owned, nil
}

// countStoreKeys counts the keys of a generation's Badger store.
func countStoreKeys(ctx context.Context, db *badger.DB) (uint64, error) {
	var n uint64
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
			if n%(1<<16) == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}
