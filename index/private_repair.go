package index

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Repair of the private-lookup files (private.go).
//
// Storage invariants the repair relies on and keeps:
//
//   - An artefact and its sidecar are a function of the generation's
//     records (ranges.bin, rebuilt first by Repair) and of the OPRF key
//     alone: writePrivSet under the same key writes them byte for byte as
//     the derivation after an ingest did, so a rebuilt file is the one a
//     client's cached keyed values were computed against.
//   - The key is never replaced by a repair: a damaged or missing key (with
//     artefacts left) is reported (RepairReport.PrivateKey) and nothing
//     private is changed; only 'pwndex keys oprf-rotate' makes a new key.
//   - oprf.key stays the commit point: artefacts are written (temporary
//     file, fsync, rename) and their directory synced before oprf.key is
//     rewritten to name them, and leftovers (temporary files, artefacts of
//     other keys or generations) are removed only after that.

// repairPrivate checks the private-lookup files of the index against the
// live generations and the OPRF key, rebuilds every artefact or sidecar
// that is missing, damaged, of another generation (a derivation
// interrupted after an ingest committed) or of another key, commits them
// in oprf.key (adding its checksum when it has none) and removes
// leftovers. Kinds in damaged are left alone. It fills the Private fields
// of rep.
func (ix *Index) repairPrivate(ctx context.Context, damaged map[Kind][]string, rep *RepairReport) error {
	kp := ix.keyPath()
	pdir := filepath.Join(ix.dir, privDir)
	kf, key, err := readKeyFileAt(kp)
	if why := privKeyLost(ix.dir, err); why != "" {
		rep.PrivateKey = why + ": the OPRF key is lost; run 'pwndex keys oprf-rotate' (clients must fetch the new public key), then 'pwndex repair'"
		return nil
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Without artefacts: an index written before private lookups,
		// whose next ingest makes the key. Nothing to repair.
		return nil
	case err != nil:
		return fmt.Errorf("private lookups: %w", err)
	}
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return fmt.Errorf("private lookups: %w", err)
	}
	v := ix.view.Load()
	files := map[string]string{}
	before := ix.privEvaluated.Load()
	rebuilt := false
	for _, k := range PrivateKinds {
		if err := ctx.Err(); err != nil {
			return err
		}
		gname := v.st.Gens[k]
		if gname == "" {
			continue // no records: no artefact (PrivateEvaluate answers an empty bucket)
		}
		if len(damaged[k]) > 0 {
			// The records cannot be trusted: the artefact stays as it is.
			if old := kf.Files[k.String()]; old != "" {
				files[k.String()] = old
			}
			continue
		}
		name := kf.artefactName(gname)
		files[k.String()] = name
		path := filepath.Join(pdir, name)
		why := fmt.Sprintf("not committed in %s (an interrupted derivation)", privKeyFile)
		if kf.Files[k.String()] == name {
			why = privFilesProblem(path, k, kf.KeyID, v.st.Counts[k])
		}
		if why == "" {
			continue
		}
		// Values held by an intact sidecar under this key (this
		// artefact's, or the previous generation's after an interrupted
		// derivation) are reused, as a derivation does: they are the
		// values FullEvaluate gave, checksummed; the rest is evaluated.
		g := &generation{kind: k, dir: filepath.Join(ix.dir, "gens", gname)}
		if err := ix.writePrivSet(ctx, path, g, key, kf.prevSidecar(k, pdir)); err != nil {
			return fmt.Errorf("private lookups: rebuild %s: %w", path, err)
		}
		rep.PrivateRebuilt = append(rep.PrivateRebuilt, fmt.Sprintf("%s (%s)", name, why))
		rebuilt = true
	}
	rep.PrivateEvaluated = ix.privEvaluated.Load() - before
	if rebuilt {
		if err := syncDir(pdir); err != nil {
			return fmt.Errorf("private lookups: %w", err)
		}
	}
	if !maps.Equal(files, kf.Files) || !kf.summed {
		rep.PrivateKeySummed = !kf.summed
		kf.Files = files
		if err := ix.writeKeyFile(kf); err != nil {
			return fmt.Errorf("private lookups: %s: %w", kp, err)
		}
	}
	// Leftovers, now that oprf.key names the live files: temporary files
	// of an interrupted write, artefacts of other generations or keys.
	rep.PrivateRemoved, err = removePrivLeftovers(pdir, files)
	if err != nil {
		return fmt.Errorf("private lookups: %w", err)
	}
	if err := os.Remove(kp + ".tmp"); err == nil {
		rep.PrivateRemoved = append(rep.PrivateRemoved, privKeyFile+".tmp")
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("private lookups: remove leftover %s.tmp: %w", kp, err)
	}
	if len(rep.PrivateRemoved) > 0 {
		if err := syncDir(pdir); err != nil {
			return fmt.Errorf("private lookups: %w", err)
		}
	}
	slices.Sort(rep.PrivateRemoved)
	ix.privReload()
	return nil
}

// privFilesProblem returns what is wrong with the artefact at path and its
// sidecar for kind k under key keyID and a generation of count records,
// "" when both are intact (every checksum of the artefact, its key ID and
// record count; the sidecar's checksum and one pair per record).
func privFilesProblem(path string, k Kind, keyID string, count uint64) string {
	s, err := openPrivSet(path, k)
	if errors.Is(err, os.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		return err.Error()
	}
	id, records := fmt.Sprintf("%x", s.data[32:40]), s.records
	syscall.Munmap(s.data)
	switch {
	case id != keyID:
		return fmt.Sprintf("made with key %s", id)
	case count != 0 && records != count:
		return fmt.Sprintf("holds %d records, the generation %d", records, count)
	}
	vp := valsName(path)
	if _, err := os.Stat(vp); err != nil {
		return fmt.Sprintf("sidecar %s: %v", filepath.Base(vp), err)
	}
	if vals := readVals(vp); vals == nil || uint64(len(vals)) != records {
		return fmt.Sprintf("sidecar %s damaged", filepath.Base(vp))
	}
	return ""
}
