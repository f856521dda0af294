package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pwndex/pwndex/index"
)

// Replica keeps a local copy of a store's newest snapshot in a cache
// directory:
//
//	<cache>/blobs/<sha256>        verified files (renamed into place only after their checksum matched)
//	<cache>/blobs/<sha256>.part   a download in progress
//	<cache>/snaps/<name>/         a complete snapshot directory (hard links to blobs, manifest.json last)
//	<cache>/snaps/<name>.tmp/     a snapshot directory being assembled
//
// A process killed at any point leaves .part files and .tmp directories,
// which NewReplica removes; verified blobs are kept, so the next Sync
// downloads only what is missing and converges to the same snapshot.
type Replica struct {
	store *Store
	dir   string
	// Workers is the number of parallel downloads (default 4).
	Workers int
}

// CorruptError reports a downloaded object that does not match the
// checksum its manifest (or its name) gives. The snapshot is refused.
type CorruptError struct {
	Snapshot, Object string
	Got, Want        string // SHA-256, hex
	GotSize          int64
	WantSize         int64
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("snapshot %s refused: object %s is corrupted (sha256 %s, %d bytes; want %s, %d bytes)",
		e.Snapshot, e.Object, e.Got, e.GotSize, e.Want, e.WantSize)
}

// NewReplica prepares the cache directory of a replica of store, removing
// what an interrupted run left.
func NewReplica(store *Store, cacheDir string) (*Replica, error) {
	r := &Replica{store: store, dir: cacheDir, Workers: 4}
	for _, d := range []string{"blobs", "snaps"} {
		if err := os.MkdirAll(filepath.Join(cacheDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("replica cache: %w", err)
		}
	}
	for _, pat := range []string{"blobs/*.part", "snaps/*.tmp"} {
		left, _ := filepath.Glob(filepath.Join(cacheDir, pat))
		for _, p := range left {
			if err := os.RemoveAll(p); err != nil {
				return nil, fmt.Errorf("replica cache: remove leftover: %w", err)
			}
		}
	}
	return r, nil
}

// snapDir returns the local directory of a manifest object name.
func (r *Replica) snapDir(name string) string {
	return filepath.Join(r.dir, "snaps", strings.TrimSuffix(strings.TrimPrefix(name, dirSnapshots), ".json"))
}

// Local returns the newest complete snapshot in the cache (the one a
// restarted replica serves while it syncs), or ok false.
func (r *Replica) Local() (dir, name string, ok bool) {
	entries, _ := os.ReadDir(filepath.Join(r.dir, "snaps"))
	var names []string
	for _, e := range entries {
		n := dirSnapshots + e.Name() + ".json"
		if _, valid := parseManifestName(n); valid && e.IsDir() {
			if _, err := os.Stat(filepath.Join(r.dir, "snaps", e.Name(), index.ManifestName)); err == nil {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return "", "", false
	}
	sort.Strings(names)
	n := names[len(names)-1]
	return r.snapDir(n), n, true
}

// Fetch makes the manifest object name available locally: it downloads the
// manifest and every blob the cache lacks, verifies each against its
// SHA-256 as it arrives, and assembles the snapshot directory. It returns
// the directory. A corrupted object makes it fail with a *CorruptError and
// leaves the cache as it was (apart from verified blobs).
func (r *Replica) Fetch(ctx context.Context, name string) (string, error) {
	want, ok := parseManifestName(name)
	if !ok {
		return "", fmt.Errorf("replica: %q is not a snapshot manifest name", name)
	}
	dir := r.snapDir(name)
	if _, err := os.Stat(filepath.Join(dir, index.ManifestName)); err == nil {
		return dir, nil
	}
	mb, err := r.readAll(ctx, name)
	if err != nil {
		return "", err
	}
	if sum := sha256.Sum256(mb); hex.EncodeToString(sum[:]) != want {
		return "", &CorruptError{Snapshot: name, Object: name, Got: hex.EncodeToString(sum[:]), Want: want, GotSize: int64(len(mb)), WantSize: -1}
	}
	m, err := index.ParseManifest(mb)
	if err != nil {
		return "", fmt.Errorf("replica: snapshot %s: %w", name, err)
	}
	if err := r.fetchBlobs(ctx, name, m); err != nil {
		return "", err
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	for _, f := range m.Files {
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("replica: %w", err)
		}
		if err := linkOrCopy(filepath.Join(r.dir, "blobs", f.SHA256), dst); err != nil {
			return "", fmt.Errorf("replica: assemble %s: %w", name, err)
		}
	}
	if err := index.WriteFileSync(filepath.Join(tmp, index.ManifestName), mb); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("replica: %w", err)
	}
	syncDir(filepath.Join(r.dir, "snaps"))
	return dir, nil
}

func (r *Replica) readAll(ctx context.Context, rel string) ([]byte, error) {
	rc, err := r.store.get(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("object store %s: read %s: %w", r.store.loc, rel, err)
	}
	return b, nil
}

// fetchBlobs downloads the blobs of m missing from the cache.
func (r *Replica) fetchBlobs(ctx context.Context, name string, m *index.Manifest) error {
	var todo []index.SnapshotFile
	seen := map[string]bool{}
	for _, f := range m.Files {
		if seen[f.SHA256] {
			continue
		}
		seen[f.SHA256] = true
		if fi, err := os.Stat(filepath.Join(r.dir, "blobs", f.SHA256)); err == nil && fi.Size() == f.Size {
			continue
		}
		todo = append(todo, f)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan index.SnapshotFile)
	)
	workers := max(1, min(r.Workers, len(todo)))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				if err := r.fetchBlob(ctx, name, f); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, f := range todo {
		select {
		case next <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// fetchBlob downloads one blob to a .part file, checks its size and
// SHA-256, syncs it and renames it into place.
func (r *Replica) fetchBlob(ctx context.Context, name string, f index.SnapshotFile) error {
	rel := dirBlobs + f.SHA256
	final := filepath.Join(r.dir, "blobs", f.SHA256)
	part := final + ".part"
	rc, err := r.store.get(ctx, rel)
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.Create(part)
	if err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	h := sha256.New()
	// One byte more than expected, so a longer object is detected.
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(rc, f.Size+1))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(part)
		return fmt.Errorf("replica: download %s for %s: %w", rel, f.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Size {
		os.Remove(part)
		return &CorruptError{Snapshot: name, Object: rel, Got: got, Want: f.SHA256, GotSize: n, WantSize: f.Size}
	}
	if err := os.Rename(part, final); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	return nil
}

// Prune removes every cached snapshot except keep (snapshot directories
// as returned by Fetch) and the blobs none of them uses. Open indexes of
// removed snapshots keep working until closed (their files are unlinked,
// not truncated).
func (r *Replica) Prune(keep ...string) error {
	used := map[string]bool{}
	kept := map[string]bool{}
	for _, d := range keep {
		kept[filepath.Clean(d)] = true
		m, err := index.ReadManifest(d)
		if err != nil {
			return fmt.Errorf("replica: prune: %w", err)
		}
		for _, f := range m.Files {
			used[f.SHA256] = true
		}
	}
	snaps, _ := os.ReadDir(filepath.Join(r.dir, "snaps"))
	var errs []error
	for _, e := range snaps {
		p := filepath.Join(r.dir, "snaps", e.Name())
		if !kept[p] {
			errs = append(errs, os.RemoveAll(p))
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(r.dir, "blobs"))
	for _, e := range blobs {
		if !used[e.Name()] {
			errs = append(errs, os.Remove(filepath.Join(r.dir, "blobs", e.Name())))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replica: prune: %w", err)
	}
	return nil
}

func syncDir(d string) {
	if f, err := os.Open(d); err == nil {
		f.Sync()
		f.Close()
	}
}

// Newer returns the newest published manifest name if it is newer than
// current ("" for none), or "" if current is the newest.
func (r *Replica) Newer(ctx context.Context, current string) (string, error) {
	latest, err := r.store.Latest(ctx)
	if err != nil {
		return "", err
	}
	if latest <= current {
		return "", nil
	}
	return latest, nil
}

// Follow polls the store every interval until ctx is done. When a snapshot
// newer than current is published it fetches it and calls install with its
// directory; install switches the served index and returns nil, or fails
// and the snapshot is refused. Every failure is passed to report (the
// replica keeps serving what it served). A refused snapshot is tried again
// only after retry; a newer one is tried at once. A receive on wake (may
// be nil) polls at once.
func (r *Replica) Follow(ctx context.Context, current string, interval, retry time.Duration, wake <-chan struct{},
	install func(dir, name string) error, report func(name string, err error)) {
	refused := map[string]time.Time{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		name, err := r.Newer(ctx, current)
		if err != nil || name == "" {
			if err != nil && ctx.Err() == nil {
				report("", err)
			}
			continue
		}
		if at, ok := refused[name]; ok && time.Since(at) < retry {
			continue
		}
		dir, err := r.Fetch(ctx, name)
		if err == nil {
			if err = install(dir, name); err != nil {
				os.RemoveAll(dir) // never served: not a cached snapshot to fall back on
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				refused[name] = time.Now()
				report(name, err)
			}
			continue
		}
		delete(refused, name)
		current = name
	}
}

// linkOrCopy hard-links src to dst, or copies it where the file system
// has no hard links.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Start returns the snapshot a replica starting up serves: the newest
// published one it can fetch and verify, else an older published one (up
// to tries in all), else the newest in its cache. failed lists why newer
// snapshots were passed over (corrupted objects, an unreachable store).
func (r *Replica) Start(ctx context.Context, tries int) (dir, name string, failed []error, err error) {
	names, err := r.store.Snapshots(ctx)
	if err != nil {
		failed = append(failed, err)
	}
	for i := len(names) - 1; i >= 0 && len(names)-i <= tries; i-- {
		d, err := r.Fetch(ctx, names[i])
		if err == nil {
			return d, names[i], failed, nil
		}
		failed = append(failed, err)
		if ctx.Err() != nil {
			break
		}
	}
	if d, n, ok := r.Local(); ok {
		return d, n, failed, nil
	}
	if len(names) == 0 && err == nil {
		err = fmt.Errorf("object store %s: %w", r.store.loc, ErrNoSnapshot)
	} else {
		err = fmt.Errorf("no snapshot to serve: %w", errors.Join(failed...))
	}
	return "", "", failed, err
}
