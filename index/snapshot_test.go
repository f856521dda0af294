package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshotSource builds an index with every kind of content a snapshot
// carries: a password generation, a breach with e-mails, an API key.
func snapshotSource(t *testing.T) (*Index, []pw, string) {
	t.Helper()
	ix := openTest(t, t.TempDir())
	ps := passwords(300)
	buildBase(t, ix, KindSHA1, ps, true)
	b, err := ix.NewBreachBuilder(Breach{Name: "Alpha", BreachDate: "2020-01-02", DataClasses: []string{"Email addresses"}}, BuildOptions{SourceID: "breach:Alpha"})
	if err != nil {
		t.Fatal(err)
	}
	h := sha1Of("a@example.com")
	if err := b.AddIdentifier(KindEmail, &h); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	secret, err := ix.CreateAPIKey(APIKey{Name: "ops", Scopes: []string{"range"}})
	if err != nil {
		t.Fatal(err)
	}
	return ix, ps, secret
}

func TestSnapshotRoundTrip(t *testing.T) {
	ix, ps, secret := snapshotSource(t)
	s, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	if err := s.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	// Every file's checksum, recomputed here with crypto/sha256.
	for _, f := range s.Manifest.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Size {
			t.Fatalf("%s: manifest checksum or size wrong", f.Path)
		}
	}
	sx, err := OpenSnapshot(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sx.Version() != ix.Version() || sx.ETag() != ix.ETag() {
		t.Fatalf("version/etag %d %s, want %d %s", sx.Version(), sx.ETag(), ix.Version(), ix.ETag())
	}
	for _, p := range []uint32{ps[0].h.Prefix(5), ps[150].h.Prefix(5)} {
		for _, enc := range []Encoding{Identity, Gzip, Brotli} {
			a, aok := ix.PasswordRange(KindSHA1, p, enc)
			b, bok := sx.PasswordRange(KindSHA1, p, enc)
			if aok != bok || string(a) != string(b) {
				t.Fatalf("range %05X enc %d differs", p, enc)
			}
		}
		if got, want := func() string { b, _ := sx.PasswordRange(KindSHA1, p, Identity); return string(b) }(), expectedBody(ps, p, nil); got != want {
			t.Fatalf("range %05X = %q, want %q", p, got, want)
		}
	}
	h := sha1Of("a@example.com")
	e, found, err := sx.Lookup(KindEmail, &h)
	if err != nil || !found || len(e.Breaches) != 1 {
		t.Fatalf("lookup in snapshot: %+v %v %v", e, found, err)
	}
	if b, ok := sx.BreachByID(e.Breaches[0]); !ok || b.Name != "Alpha" {
		t.Fatalf("catalog: %+v", b)
	}
	if k, ok := sx.AuthAPIKey(secret); !ok || k.Name != "ops" {
		t.Fatal("API key not in snapshot")
	}
	if !sx.HasSource("breach:Alpha") {
		t.Fatal("source not in snapshot")
	}
	if _, err := sx.CreateAPIKey(APIKey{Name: "x"}); err != ErrReadOnly {
		t.Fatalf("CreateAPIKey on a snapshot: %v", err)
	}
	mustCheck(t, sx)
	if err := sx.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening and closing wrote nothing: every byte still matches.
	if _, err := VerifySnapshot(dir); err != nil {
		t.Fatal(err)
	}
	// Two exports of the same state are the same manifest (publishing
	// again is a no-op).
	s2, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := MarshalManifest(&s.Manifest)
	m2, _ := MarshalManifest(&s2.Manifest)
	if string(m1) != string(m2) {
		t.Fatal("two snapshots of one state differ")
	}
}

func TestSnapshotRefusesDamage(t *testing.T) {
	ix, _, _ := snapshotSource(t)
	s, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var filter string
	for _, f := range s.Manifest.Files {
		if strings.HasSuffix(f.Path, "/filter.bf") {
			filter = f.Path
		}
	}
	tests := []struct {
		name   string
		damage func(dir string) error
		open   string // substring of OpenSnapshot's error; "" if it opens
		verify string // substring of VerifySnapshot's error
	}{
		{"no manifest", func(d string) error { return os.Remove(filepath.Join(d, ManifestName)) }, "manifest.json", "manifest.json"},
		{"truncated file", func(d string) error { return os.Truncate(filepath.Join(d, filepath.FromSlash(filter)), 10) }, "manifest says", "manifest says"},
		{"flipped byte", func(d string) error {
			p := filepath.Join(d, filepath.FromSlash(filter))
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x40
			return os.WriteFile(p, b, 0o644)
		}, "", filter},
		{"edited catalog", func(d string) error {
			return os.WriteFile(filepath.Join(d, snapCatalog), []byte(strings.Repeat(" ", int(s.Manifest.Files[0].Size))), 0o644)
		}, "catalog.json does not match", "catalog.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snap")
			if err := s.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			sx, err := OpenSnapshot(dir, Options{})
			if tc.open == "" {
				if err == nil {
					sx.Close()
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.open) {
				if err == nil {
					sx.Close()
				}
				t.Fatalf("OpenSnapshot: %v, want an error with %q", err, tc.open)
			}
			if _, err := VerifySnapshot(dir); err == nil || !strings.Contains(err.Error(), tc.verify) {
				t.Fatalf("VerifySnapshot: %v, want an error with %q", err, tc.verify)
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	const sum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	base := func(files string) string {
		return `{"format":"pwndex-snapshot/1","indexFormat":1,"version":3,"builtAt":"2026-01-02T03:04:05Z","gens":{"sha1":"sha1-3"},"counts":{"sha1":5},"nextBreach":1,"files":[` +
			`{"path":"catalog.json","size":0,"sha256":"` + sum + `"},{"path":"keys.json","size":0,"sha256":"` + sum + `"},{"path":"sources.json","size":0,"sha256":"` + sum + `"}` + files + `]}`
	}
	tests := []struct {
		name, in, err string
	}{
		{"ok", base(`,{"path":"gens/sha1-3/filter.bf","size":9,"sha256":"` + sum + `"}`), ""},
		{"escape", base(`,{"path":"../etc/passwd","size":9,"sha256":"` + sum + `"}`), "not a clean relative path"},
		{"absolute", base(`,{"path":"/etc/passwd","size":9,"sha256":"` + sum + `"}`), "not a clean relative path"},
		{"unclean", base(`,{"path":"gens/./x","size":9,"sha256":"` + sum + `"}`), "not a clean relative path"},
		{"manifest itself", base(`,{"path":"manifest.json","size":9,"sha256":"` + sum + `"}`), "not a clean relative path"},
		{"twice", base(`,{"path":"keys.json","size":0,"sha256":"` + sum + `"}`), "listed twice"},
		{"bad sum", base(`,{"path":"x","size":1,"sha256":"` + strings.ToUpper(sum) + `"}`), "64 lower-case hex"},
		{"negative", base(`,{"path":"x","size":-1,"sha256":"` + sum + `"}`), "negative size"},
		{"format", strings.Replace(base(""), "pwndex-snapshot/1", "pwndex-snapshot/9", 1), "format"},
		{"index format", strings.Replace(base(""), `"indexFormat":1`, `"indexFormat":2`, 1), "index format 2"},
		{"bad kind", strings.Replace(base(""), `"gens":{"sha1"`, `"gens":{"md5"`, 1), "unknown kind"},
		{"gen escape", strings.Replace(base(""), `"sha1-3"`, `"../x"`, 1), "not a plain name"},
		{"unknown field", strings.Replace(base(""), `"version":3`, `"version":3,"x":1`, 1), "unknown field"},
		{"no keys", strings.Replace(base(""), `"keys.json"`, `"keyz.json"`, 1), "no keys.json"},
		{"not json", "{", "manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.in))
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"pwndex-snapshot/1","indexFormat":1,"files":[{"path":"catalog.json","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}`))
	f.Add([]byte(`{"files":[{"path":"../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, fl := range m.Files {
			if checkSnapshotPath(fl.Path) != nil || fl.Size < 0 || len(fl.SHA256) != 64 {
				t.Fatalf("accepted a bad file entry %+v", fl)
			}
			if p := filepath.Join("/snap", filepath.FromSlash(fl.Path)); !strings.HasPrefix(p, "/snap/") {
				t.Fatalf("path %q escapes the snapshot", fl.Path)
			}
		}
	})
}
