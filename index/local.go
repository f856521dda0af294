package index

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Local snapshots let a writer (ingest, keys) commit while serve runs on the
// same machine. Every commit of a writer exports the committed state as an
// immutable snapshot (snapshot.go) under the index directory, its
// generation files hard-linked, and then moves a pointer to it:
//
//	<dir>/snapshots/<id>/          a snapshot: manifest.json (written last), its files,
//	                               oprf.key and private/ (hard links, not in the manifest),
//	                               and the empty file "lock"
//	<dir>/snapshots/CURRENT        the name of the newest snapshot, replaced by atomic rename
//	<dir>/snapshots/.tmp-<id>-<n>  a snapshot being written (a crashed writer's leftover)
//
// The metadata store stays the index's commit point; CURRENT is the commit
// point of the snapshot. A crash between the two leaves serve on the
// previous snapshot until the next writer exports again (every writer
// exports at its end). Readers (serve) open the snapshot CURRENT names and
// hold a shared flock on its lock file while they serve it; a writer
// removes a snapshot other than the current one only when it can take that
// lock exclusively without waiting, so a snapshot is deleted only once no
// reader holds it.

// LocalSnapshotsDir is the directory of local snapshots inside an index.
const LocalSnapshotsDir = "snapshots"

const (
	currentFile  = "CURRENT"
	snapLockFile = "lock"
	snapTmp      = ".tmp-"
)

// ErrSnapshotGone is returned by OpenLocalSnapshot for a snapshot that a
// writer is removing (or removed): read CURRENT again.
var ErrSnapshotGone = errors.New("index: local snapshot was garbage-collected")

// CurrentLocalSnapshot returns the name of the newest local snapshot of the
// index in dir. The error wraps os.ErrNotExist if the index has none yet.
func CurrentLocalSnapshot(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, LocalSnapshotsDir, currentFile))
	if err != nil {
		return "", fmt.Errorf("index %s: local snapshot pointer: %w", dir, err)
	}
	name := strings.TrimSpace(string(b))
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("index %s: local snapshot pointer: bad name %q", dir, name)
	}
	return name, nil
}

// OpenLocalSnapshot opens the local snapshot name of the index in dir
// read-only (see OpenSnapshot) and holds a shared lock on it until Close,
// so that no writer removes it meanwhile. It never opens the metadata
// store and never blocks a writer.
func OpenLocalSnapshot(dir, name string, opts Options) (*Index, error) {
	sd := filepath.Join(dir, LocalSnapshotsDir, name)
	lp := filepath.Join(sd, snapLockFile)
	lf, err := os.Open(lp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrSnapshotGone, name)
		}
		return nil, fmt.Errorf("index: local snapshot %s: %w", name, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrSnapshotGone, name)
		}
		return nil, fmt.Errorf("index: local snapshot %s: lock: %w", name, err)
	}
	// The writer may have removed the directory between our open and our
	// lock: then the lock file we hold is no longer the one at lp.
	var a, b syscall.Stat_t
	if syscall.Fstat(int(lf.Fd()), &a) != nil || syscall.Stat(lp, &b) != nil || a.Ino != b.Ino || a.Dev != b.Dev {
		lf.Close()
		return nil, fmt.Errorf("%w: %s", ErrSnapshotGone, name)
	}
	ix, err := OpenSnapshot(sd, opts)
	if err != nil {
		lf.Close()
		return nil, err
	}
	ix.snapLock = lf
	return ix, nil
}

// SnapshotID returns the name of the snapshot directory the index was
// opened from (OpenSnapshot, OpenLocalSnapshot), or "" for an index opened
// with Open.
func (ix *Index) SnapshotID() string { return ix.snapID }

// autoExport exports a local snapshot after a commit of a writer whose
// index has local snapshots (a serve --index made the first, or a writer
// command did). A failure is logged: the commit stands, and serve keeps the
// previous snapshot until the next export.
func (ix *Index) autoExport() {
	if ix.opts.ReadOnly || ix.metaRO || ix.meta == nil || ix.view.Load() == nil {
		return
	}
	if _, err := os.Stat(filepath.Join(ix.dir, LocalSnapshotsDir)); err != nil {
		return
	}
	if _, err := ix.ExportLocal(); err != nil {
		ix.log.Warn("local snapshot export failed; serve keeps the previous one", "err", err)
	}
}

// ExportLocal exports the committed state as a local snapshot, makes it the
// current one and garbage-collects the snapshots no reader holds. It
// returns the snapshot's name. Writers call it after every commit; an
// export of an unchanged state names the existing snapshot again.
func (ix *Index) ExportLocal() (string, error) {
	if ix.opts.ReadOnly || ix.metaRO || ix.meta == nil {
		return "", ErrReadOnly
	}
	ix.exportMu.Lock()
	defer ix.exportMu.Unlock()
	root := filepath.Join(ix.dir, LocalSnapshotsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("index: local snapshot: %w", err)
	}
	// Generation files already hashed by the current snapshot keep their sums.
	var reuse map[string]SnapshotFile
	if cur, err := CurrentLocalSnapshot(ix.dir); err == nil {
		if m, err := ReadManifest(filepath.Join(root, cur)); err == nil {
			reuse = make(map[string]SnapshotFile, len(m.Files))
			for _, f := range m.Files {
				reuse[f.Path] = f
			}
		}
	}
	s, err := ix.snapshot(reuse)
	if err != nil {
		return "", err
	}
	mb, err := MarshalManifest(&s.Manifest)
	if err != nil {
		return "", err
	}
	// The name covers the manifest and oprf.key (which names the private
	// artefacts linked beside it): a derivation makes a new snapshot.
	h := sha256.New()
	h.Write(mb)
	if kb, err := os.ReadFile(filepath.Join(ix.dir, privKeyFile)); err == nil {
		h.Write(kb)
	}
	name := fmt.Sprintf("v%08d-%s", s.Manifest.Version, hex.EncodeToString(h.Sum(nil)[:8]))
	final := filepath.Join(root, name)
	if _, err := ReadManifest(final); err != nil { // absent, incomplete or unreadable: (re)write it
		tmp := filepath.Join(root, fmt.Sprintf("%s%s-%d", snapTmp, name, os.Getpid()))
		os.RemoveAll(tmp)
		if err := ix.writeLocal(s, tmp, mb); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		os.RemoveAll(final) // an incomplete or unreadable one
		if err := os.Rename(tmp, final); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("index: local snapshot: %w", err)
		}
		if err := syncDir(root); err != nil {
			return "", fmt.Errorf("index: local snapshot: %w", err)
		}
	}
	ptmp := filepath.Join(root, currentFile+".tmp")
	if err := WriteFileSync(ptmp, []byte(name+"\n")); err != nil {
		return "", err
	}
	if err := os.Rename(ptmp, filepath.Join(root, currentFile)); err != nil {
		return "", fmt.Errorf("index: local snapshot pointer: %w", err)
	}
	if err := syncDir(root); err != nil {
		return "", fmt.Errorf("index: local snapshot pointer: %w", err)
	}
	if _, err := ix.GCLocalSnapshots(); err != nil {
		ix.log.Warn("local snapshots: garbage collection", "err", err)
	}
	return name, nil
}

// writeLocal writes the snapshot s into the new directory tmp: generation
// files hard-linked (copied across file systems), metadata written, the
// OPRF key and private artefacts hard-linked, the lock file, and the
// manifest mb last. Every directory is synced.
func (ix *Index) writeLocal(s *Snapshot, tmp string, mb []byte) error {
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return fmt.Errorf("index: local snapshot: %w", err)
	}
	dirs := map[string]bool{tmp: true}
	for _, f := range s.Manifest.Files {
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		d := filepath.Dir(dst)
		if !dirs[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("index: local snapshot: %w", err)
			}
			dirs[d] = true
		}
		if b, ok := s.mem[f.Path]; ok {
			if err := WriteFileSync(dst, b); err != nil {
				return err
			}
			continue
		}
		if err := os.Link(s.disk[f.Path], dst); err != nil {
			if err := s.copyFile(tmp, f); err != nil {
				return err
			}
		}
	}
	// Private lookups read oprf.key and private/ next to the index (private.go).
	if err := linkIfExists(filepath.Join(ix.dir, privKeyFile), filepath.Join(tmp, privKeyFile)); err != nil {
		return err
	}
	if ents, err := os.ReadDir(filepath.Join(ix.dir, privDir)); err == nil {
		pd := filepath.Join(tmp, privDir)
		if err := os.Mkdir(pd, 0o755); err != nil {
			return fmt.Errorf("index: local snapshot: %w", err)
		}
		dirs[pd] = true
		for _, e := range ents {
			if e.Type().IsRegular() {
				if err := linkIfExists(filepath.Join(ix.dir, privDir, e.Name()), filepath.Join(pd, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	if err := WriteFileSync(filepath.Join(tmp, snapLockFile), nil); err != nil {
		return err
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("index: local snapshot: %w", err)
		}
	}
	if err := WriteFileSync(filepath.Join(tmp, ManifestName), mb); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("index: local snapshot: %w", err)
	}
	return nil
}

// linkIfExists hard-links (or copies) src to dst if src exists.
func linkIfExists(src, dst string) error {
	if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("index: local snapshot: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("index: local snapshot: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("index: local snapshot: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index: local snapshot: copy %s: %w", src, err)
	}
	return nil
}

// GCLocalSnapshots removes the local snapshots that are not current and
// that no reader holds (their lock can be taken exclusively without
// waiting), and the leftovers of interrupted exports. Only a writer may
// call it (it holds the metadata store, so no other export runs). It
// returns the names removed.
func (ix *Index) GCLocalSnapshots() ([]string, error) {
	if ix.opts.ReadOnly || ix.metaRO || ix.meta == nil {
		return nil, ErrReadOnly
	}
	cur, err := CurrentLocalSnapshot(ix.dir)
	if err != nil {
		return nil, err
	}
	removed, _, err := removeLocalSnapshots(ix.dir, cur)
	return removed, err
}

// removeLocalSnapshots removes the local snapshots of the index in dir other
// than keep ("" keeps none) that no reader holds, and the leftovers of
// interrupted exports. It returns the names removed and how many a reader
// still holds.
func removeLocalSnapshots(dir, keep string) (removed []string, held int, err error) {
	root := filepath.Join(dir, LocalSnapshotsDir)
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil // no local snapshots
	}
	if err != nil {
		return nil, 0, fmt.Errorf("index: local snapshots: %w", err)
	}
	var errs []error
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || n == keep {
			continue
		}
		p := filepath.Join(root, n)
		if strings.HasPrefix(n, snapTmp) {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, n)
			}
			continue
		}
		lf, err := os.Open(filepath.Join(p, snapLockFile))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				// No lock file: never completed (renamed in only after its lock was written).
				if err := os.RemoveAll(p); err != nil {
					errs = append(errs, err)
				} else {
					removed = append(removed, n)
				}
			}
			continue
		}
		if syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			lf.Close() // a reader holds it
			held++
			continue
		}
		// Remove the lock file first: a reader that opened it before now
		// finds it gone (OpenLocalSnapshot compares inodes).
		err = os.Remove(filepath.Join(p, snapLockFile))
		if err == nil {
			err = os.RemoveAll(p)
		}
		lf.Close()
		if err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, n)
		}
	}
	if len(errs) > 0 {
		return removed, held, fmt.Errorf("index: local snapshots: %w", errors.Join(errs...))
	}
	return removed, held, nil
}
