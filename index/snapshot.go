package index

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A snapshot is one committed state of an index described as a set of
// immutable files, so that it can be copied (to another directory, to
// object storage) and opened read-only elsewhere without the metadata
// Badger store:
//
//	manifest.json                 the Manifest: state, and every other file with its size and SHA-256
//	catalog.json                  the breach catalog: [{"id": ID, "breach": {HIBP fields}}], by Name
//	keys.json                     API keys: {"<hex SHA-256 of the secret>": APIKey} (never a secret)
//	sources.json                  source IDs already committed (["hibp-sha1:...", ...])
//	gens/<kind>-<version>/...     the live generation of each kind, byte for byte (gen.go)
//
// The manifest is written last: a directory (or an object-store prefix)
// without it is incomplete and is never opened. Every path in a manifest is
// relative, slash-separated and inside the snapshot. Because generations are
// immutable, a file's SHA-256 names its content for good, and two
// snapshots that share a generation share its files.

// SnapshotFormat identifies the manifest format.
const SnapshotFormat = "pwndex-snapshot/1"

// ManifestName is the name of a snapshot directory's manifest.
const ManifestName = "manifest.json"

// Names of the exported metadata files of a snapshot.
const (
	snapCatalog = "catalog.json"
	snapKeys    = "keys.json"
	snapSources = "sources.json"
)

// SnapshotFile is one file of a snapshot.
type SnapshotFile struct {
	Path   string `json:"path"`   // relative, slash-separated
	Size   int64  `json:"size"`   // bytes
	SHA256 string `json:"sha256"` // lower-case hex
}

// Manifest describes a snapshot: the committed state it was exported from
// and every file it holds.
type Manifest struct {
	Format      string            `json:"format"` // SnapshotFormat
	IndexFormat int               `json:"indexFormat"`
	Version     uint64            `json:"version"`
	BuiltAt     time.Time         `json:"builtAt"`
	Gens        map[string]string `json:"gens"`   // kind name -> directory under gens/
	Counts      map[string]uint64 `json:"counts"` // kind name -> records
	NextBreach  BreachID          `json:"nextBreach"`
	Extra       map[string]string `json:"extra,omitempty"`
	Files       []SnapshotFile    `json:"files"` // sorted by Path
}

// snapCatalogEntry is one breach of catalog.json: the ID is not part of the
// HIBP JSON shape of Breach, so it travels beside it.
type snapCatalogEntry struct {
	ID     BreachID `json:"id"`
	Breach Breach   `json:"breach"`
}

// Snapshot is the committed state of an open index as a set of files,
// ready to be written to a directory or uploaded. Create it with
// Index.Snapshot; the index must stay open while the Snapshot is used.
type Snapshot struct {
	// Manifest describes the files. Marshal it with MarshalManifest.
	Manifest Manifest
	disk     map[string]string // snapshot path -> file on disk
	mem      map[string][]byte // snapshot path -> exported metadata
}

// Snapshot exports the committed state of ix: it hashes every file of the
// live generations and renders the catalog, key digests and sources. It
// reads the generation files in place (they are immutable once committed)
// and copies nothing.
func (ix *Index) Snapshot() (*Snapshot, error) { return ix.snapshot(nil) }

// snapshot is Snapshot; a generation file listed in reuse with the same
// size keeps its SHA-256 there instead of being hashed again (generations
// are immutable and their directories never reused).
func (ix *Index) snapshot(reuse map[string]SnapshotFile) (*Snapshot, error) {
	v := ix.view.Load()
	if v == nil {
		return nil, errors.New("index: snapshot of a closed index")
	}
	s := &Snapshot{
		Manifest: Manifest{
			Format: SnapshotFormat, IndexFormat: v.st.FormatVersion, Version: v.st.Version,
			BuiltAt: v.st.BuiltAt, Gens: map[string]string{}, Counts: map[string]uint64{},
			NextBreach: v.st.NextBreach, Extra: v.st.Extra,
		},
		disk: map[string]string{},
		mem:  map[string][]byte{},
	}
	for k, n := range v.st.Counts {
		s.Manifest.Counts[k.String()] = n
	}
	cat := make([]snapCatalogEntry, len(v.breaches))
	for i, b := range v.breaches {
		cat[i] = snapCatalogEntry{ID: b.ID, Breach: b}
	}
	srcs := make([]string, 0, len(v.sources))
	for id := range v.sources {
		srcs = append(srcs, id)
	}
	sort.Strings(srcs)
	for name, val := range map[string]any{snapCatalog: cat, snapKeys: v.keys, snapSources: srcs} {
		b, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("index: snapshot %s: %w", name, err)
		}
		s.mem[name] = b
		sum := sha256.Sum256(b)
		s.Manifest.Files = append(s.Manifest.Files, SnapshotFile{Path: name, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
	}
	for k, name := range v.st.Gens {
		s.Manifest.Gens[k.String()] = name
		root := filepath.Join(ix.dir, "gens", name)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.Type().IsRegular() || e.Name() == "LOCK" {
				return nil
			}
			rel, err := filepath.Rel(ix.dir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			var size int64
			var sum string
			if r, ok := reuse[rel]; ok {
				if fi, err := e.Info(); err == nil && fi.Size() == r.Size {
					size, sum = r.Size, r.SHA256
				}
			}
			if sum == "" {
				if size, sum, err = sha256File(p); err != nil {
					return err
				}
			}
			s.disk[rel] = p
			s.Manifest.Files = append(s.Manifest.Files, SnapshotFile{Path: rel, Size: size, SHA256: sum})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("index: snapshot of generation %s: %w", name, err)
		}
	}
	sort.Slice(s.Manifest.Files, func(i, j int) bool { return s.Manifest.Files[i].Path < s.Manifest.Files[j].Path })
	return s, nil
}

// sha256File returns the size and hex SHA-256 of a file.
func sha256File(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Open returns the content of the snapshot file at path (a Manifest path).
func (s *Snapshot) Open(p string) (io.ReadCloser, error) {
	if b, ok := s.mem[p]; ok {
		return io.NopCloser(strings.NewReader(string(b))), nil
	}
	if d, ok := s.disk[p]; ok {
		f, err := os.Open(d)
		if err != nil {
			return nil, fmt.Errorf("index: snapshot file %s: %w", p, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("index: snapshot has no file %s", p)
}

// WriteDir copies the snapshot into dir (which must not exist yet): every
// file is written, synced and checked against its SHA-256 and the manifest
// is written last, so an interrupted WriteDir leaves a directory that
// OpenSnapshot refuses.
func (s *Snapshot) WriteDir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("index: snapshot directory: %w", err)
	}
	for _, f := range s.Manifest.Files {
		if err := s.copyFile(dir, f); err != nil {
			return err
		}
	}
	m, err := MarshalManifest(&s.Manifest)
	if err != nil {
		return err
	}
	return WriteFileSync(filepath.Join(dir, ManifestName), m)
}

func (s *Snapshot) copyFile(dir string, f SnapshotFile) error {
	src, err := s.Open(f.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("index: snapshot: %w", err)
	}
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("index: snapshot: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index: snapshot: write %s: %w", f.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
		return fmt.Errorf("index: snapshot: %s changed while copying (size %d, sha256 %s; manifest: %d, %s)", f.Path, n, got, f.Size, f.SHA256)
	}
	return nil
}

// WriteFileSync creates (or truncates) the file p, writes b to it and
// syncs it before closing: once it returns nil, b is on disk. It does not
// sync p's directory.
func WriteFileSync(p string, b []byte) error {
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index: write %s: %w", p, err)
	}
	return nil
}

// MarshalManifest renders m as indented JSON (the bytes whose SHA-256
// names a published snapshot).
func MarshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("index: encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes and validates a manifest read from outside (a
// snapshot directory, an object store): known format, a valid kind for
// every generation, and file paths that are relative, clean, unique and
// stay inside the snapshot, with hex SHA-256 sums and sizes >= 0.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Format != SnapshotFormat {
		return nil, fmt.Errorf("manifest: format %q, want %q", m.Format, SnapshotFormat)
	}
	if m.IndexFormat != FormatVersion {
		return nil, fmt.Errorf("manifest: index format %d, this pwndex reads format %d", m.IndexFormat, FormatVersion)
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if err := checkSnapshotPath(f.Path); err != nil {
			return nil, fmt.Errorf("manifest: file %d: %w", i, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("manifest: file %s listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 {
			return nil, fmt.Errorf("manifest: file %s: negative size", f.Path)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size || strings.ToLower(f.SHA256) != f.SHA256 {
			return nil, fmt.Errorf("manifest: file %s: sha256 %q is not 64 lower-case hex digits", f.Path, f.SHA256)
		}
	}
	for _, name := range []string{snapCatalog, snapKeys, snapSources} {
		if !seen[name] {
			return nil, fmt.Errorf("manifest: no %s", name)
		}
	}
	for kn, g := range m.Gens {
		k, err := ParseKind(kn)
		if err != nil {
			return nil, fmt.Errorf("manifest: generation %q: %w", g, err)
		}
		if g == "" || g == "." || g == ".." || strings.ContainsAny(g, `/\`) {
			return nil, fmt.Errorf("manifest: %s generation directory %q is not a plain name", k, g)
		}
	}
	for kn := range m.Counts {
		if _, err := ParseKind(kn); err != nil {
			return nil, fmt.Errorf("manifest: counts: %w", err)
		}
	}
	return &m, nil
}

// checkSnapshotPath accepts relative, clean, slash-separated paths inside
// the snapshot that are not the manifest itself.
func checkSnapshotPath(p string) error {
	if p == "" || p == ManifestName || strings.ContainsRune(p, '\\') || strings.ContainsRune(p, 0) ||
		path.IsAbs(p) || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("path %q is not a clean relative path inside the snapshot", p)
	}
	return nil
}

// ReadManifest reads and validates dir's manifest.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return m, nil
}

// VerifySnapshot reads every file of the snapshot in dir and checks its
// size and SHA-256 against the manifest.
func VerifySnapshot(dir string) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		size, sum, err := sha256File(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", dir, err)
		}
		if size != f.Size || sum != f.SHA256 {
			return nil, fmt.Errorf("snapshot %s: %s: size %d sha256 %s, manifest says %d %s", dir, f.Path, size, sum, f.Size, f.SHA256)
		}
	}
	return m, nil
}

// OpenSnapshot opens the snapshot in dir read-only. It checks that every
// file of the manifest is present with its size and verifies the SHA-256 of
// the metadata files it parses; VerifySnapshot checks every byte (a
// replica verifies each file as it downloads it). opts.Dir is ignored and
// the index is always read-only. The snapshot's files are never written.
func OpenSnapshot(dir string, opts Options) (*Index, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts.Dir, opts.ReadOnly = dir, true
	files := make(map[string]SnapshotFile, len(m.Files))
	for _, f := range m.Files {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", dir, err)
		}
		if !fi.Mode().IsRegular() || fi.Size() != f.Size {
			return nil, fmt.Errorf("snapshot %s: %s has %d bytes, manifest says %d", dir, f.Path, fi.Size(), f.Size)
		}
		files[f.Path] = f
	}
	readMeta := func(name string, dst any) error {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", dir, err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != files[name].SHA256 {
			return fmt.Errorf("snapshot %s: %s does not match its sha256 in the manifest", dir, name)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return fmt.Errorf("snapshot %s: %s: %w", dir, name, err)
		}
		return nil
	}
	v := &view{
		st: state{FormatVersion: m.IndexFormat, Version: m.Version, BuiltAt: m.BuiltAt,
			Gens: map[Kind]string{}, Counts: map[Kind]uint64{}, NextBreach: m.NextBreach, Extra: m.Extra},
		keys: map[string]APIKey{}, sources: map[string]bool{},
	}
	for kn, g := range m.Gens {
		k, _ := ParseKind(kn) // validated by ParseManifest
		if len(opts.Kinds) == 0 || containsKind(opts.Kinds, k) {
			v.st.Gens[k] = g
		}
	}
	for kn, n := range m.Counts {
		k, _ := ParseKind(kn)
		v.st.Counts[k] = n
	}
	var cat []snapCatalogEntry
	var srcs []string
	if err := readMeta(snapCatalog, &cat); err != nil {
		return nil, err
	}
	if err := readMeta(snapKeys, &v.keys); err != nil {
		return nil, err
	}
	if err := readMeta(snapSources, &srcs); err != nil {
		return nil, err
	}
	for _, e := range cat {
		e.Breach.ID = e.ID
		v.breaches = append(v.breaches, e.Breach)
	}
	for _, s := range srcs {
		v.sources[s] = true
	}
	v.indexBreaches()
	if err := v.openGens(dir, opts.Lenient); err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, opts: opts, log: opts.Logger, metaRO: true, snapID: filepath.Base(dir)}
	ix.view.Store(v)
	return ix, nil
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
