package index

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// privIndex writes an index with e-mail (600 records, 1 bit),
// credential (100) and phone (30) generations from breach "A", and derives
// its private artefacts. It returns the e-mail hashes.
func privIndex(t *testing.T, dir string) []Hash {
	t.Helper()
	ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	emails := addPrivBreach(t, ix, "A", 600, 100, 30)
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return emails
}

// addPrivBreach commits breach name with ne e-mail addresses, nc
// credentials and np phone numbers (hashes of strings naming the breach).
func addPrivBreach(t *testing.T, ix *Index, name string, ne, nc, np int) []Hash {
	t.Helper()
	b, err := ix.NewBreachBuilder(Breach{Name: name}, BuildOptions{SourceID: "src-" + name})
	if err != nil {
		t.Fatal(err)
	}
	var emails []Hash
	add := func(k Kind, n int, format string) {
		for i := range n {
			h := Hash(sha1.Sum(fmt.Appendf(nil, format, name, i)))
			if k == KindEmail {
				emails = append(emails, h)
			}
			if err := b.AddIdentifier(k, &h); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(KindEmail, ne, "%s-user%d@example.org")
	add(KindCredential, nc, "%s-user%d@example.org\x00pw")
	add(KindPhone, np, "+3361%s%06d")
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return emails
}

// privTree returns the private-lookup files of the index in dir (oprf.key
// and private/*), relative name to content.
func privTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if b, err := os.ReadFile(filepath.Join(dir, privKeyFile)); err == nil {
		out[privKeyFile] = b
	}
	ents, _ := os.ReadDir(filepath.Join(dir, privDir))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, privDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[privDir+"/"+e.Name()] = b
	}
	return out
}

// diffTrees describes how got differs from want ("" when equal).
func diffTrees(got, want map[string][]byte) string {
	var d []string
	for n, w := range want {
		if g, ok := got[n]; !ok {
			d = append(d, n+" missing")
		} else if !bytes.Equal(g, w) {
			d = append(d, fmt.Sprintf("%s differs (%d bytes, want %d)", n, len(g), len(w)))
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			d = append(d, n+" extra")
		}
	}
	slices.Sort(d)
	return strings.Join(d, "; ")
}

// privFile returns the path of the live artefact of kind k (ext ".opr") or
// its sidecar (".vals") in dir.
func privFile(t *testing.T, dir string, k Kind, ext string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, privDir, k.String()+"-*"+ext))
	if len(m) != 1 {
		t.Fatalf("%s%s artefacts: %v", k, ext, m)
	}
	return m[0]
}

// TestRepairPrivateFiles damages one private-lookup file of a derived
// index per case and runs Repair. Damage to an artefact or sidecar
// (truncated, one flipped bit in the header, offsets or body, deleted),
// leftovers of an interrupted write and a key file without a checksum are
// repaired: afterwards oprf.key and every file of private/ are byte for
// byte those of the pristine index (same key: clients' values stay
// valid), Check is clean and OK() true. A damaged or deleted key is lost:
// PrivateKey names 'pwndex keys oprf-rotate', OK() is false, and no
// private file is changed (no new key is made).
func TestRepairPrivateFiles(t *testing.T) {
	clean := t.TempDir()
	emails := privIndex(t, clean)
	pristine := privTree(t, clean)
	truncate := func(p string) error {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		return os.Truncate(p, fi.Size()/2)
	}
	flip := func(off int64) func(string) error {
		return func(p string) error {
			flipAt(t, p, off, 0x04)
			return nil
		}
	}
	stripSum := func(p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		i := bytes.LastIndex(b, []byte("\n"+keySumPrefix))
		return os.WriteFile(p, b[:i+1], 0o600)
	}
	cases := []struct {
		name    string
		kind    Kind   // of the file damaged; 0 for oprf.key
		file    string // ".opr", ".vals", "key", "dir" (private/), "tmp" (leftovers)
		damage  func(string) error
		lost    bool     // the key is lost: nothing changes
		rebuilt []Kind   // artefacts rebuilt
		removed []string // leftovers removed (suffixes)
		summed  bool
	}{
		{name: "email artefact truncated", kind: KindEmail, file: ".opr", damage: truncate, rebuilt: []Kind{KindEmail}},
		{name: "email artefact header bit flipped", kind: KindEmail, file: ".opr", damage: flip(20), rebuilt: []Kind{KindEmail}},
		{name: "email artefact offsets bit flipped", kind: KindEmail, file: ".opr", damage: flip(privHeaderLen + 9), rebuilt: []Kind{KindEmail}},
		{name: "email artefact body bit flipped", kind: KindEmail, file: ".opr", damage: flip(-3), rebuilt: []Kind{KindEmail}},
		{name: "email artefact deleted", kind: KindEmail, file: ".opr", damage: os.Remove, rebuilt: []Kind{KindEmail}},
		{name: "credential artefact bit flipped", kind: KindCredential, file: ".opr", damage: flip(-20), rebuilt: []Kind{KindCredential}},
		{name: "phone artefact deleted", kind: KindPhone, file: ".opr", damage: os.Remove, rebuilt: []Kind{KindPhone}},
		{name: "email sidecar deleted", kind: KindEmail, file: ".vals", damage: os.Remove, rebuilt: []Kind{KindEmail}},
		{name: "email sidecar bit flipped", kind: KindEmail, file: ".vals", damage: flip(1000), rebuilt: []Kind{KindEmail}},
		{name: "credential sidecar truncated", kind: KindCredential, file: ".vals", damage: truncate, rebuilt: []Kind{KindCredential}},
		{name: "private directory deleted", file: "dir", damage: os.RemoveAll, rebuilt: []Kind{KindEmail, KindPhone, KindCredential}},
		{name: "leftover temporary files", file: "tmp", damage: func(pdir string) error {
			for _, n := range []string{"email-00000009-0011223344556677.opr.tmp", "phone-00000001-0011223344556677.opr", "phone-00000001-0011223344556677.vals", "x.vals.tmp"} {
				if err := os.WriteFile(filepath.Join(pdir, n), []byte("half"), 0o600); err != nil {
					return err
				}
			}
			return os.WriteFile(filepath.Join(filepath.Dir(pdir), privKeyFile+".tmp"), []byte("{"), 0o600)
		}, removed: []string{privKeyFile + ".tmp", "email-00000009-0011223344556677.opr.tmp", "phone-00000001-0011223344556677.opr", "phone-00000001-0011223344556677.vals", "x.vals.tmp"}},
		{name: "key checksum missing", file: "key", damage: stripSum, summed: true},
		{name: "key bit flipped", file: "key", damage: flip(30), lost: true},
		{name: "key truncated", file: "key", damage: truncate, lost: true},
		{name: "key checksum missing and secret flipped", file: "key", damage: func(p string) error {
			if err := stripSum(p); err != nil {
				return err
			}
			b, _ := os.ReadFile(p)
			i := bytes.Index(b, []byte(`"secret": "`)) + len(`"secret": "`)
			if b[i+5] == 'a' {
				b[i+5] = 'b'
			} else {
				b[i+5] = 'a'
			}
			return os.WriteFile(p, b, 0o600)
		}, lost: true},
		{name: "key deleted", file: "key", damage: os.Remove, lost: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
				t.Fatal(err)
			}
			var p string
			switch c.file {
			case ".opr", ".vals":
				p = privFile(t, dir, c.kind, c.file)
			case "key":
				p = filepath.Join(dir, privKeyFile)
			case "dir", "tmp":
				p = filepath.Join(dir, privDir)
			}
			if err := c.damage(p); err != nil {
				t.Fatal(err)
			}
			damaged := privTree(t, dir)
			if !c.lost && len(checkDir(t, dir)) == 0 && c.file != ".vals" && c.file != "tmp" && c.file != "dir" {
				t.Fatal("Check finds no problem in the damaged index")
			}
			start := time.Now()
			rep, err := Repair(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("repair %s: %s, %d values evaluated", c.name, time.Since(start).Round(time.Millisecond), rep.PrivateEvaluated)
			if c.lost {
				if rep.OK() || !strings.Contains(rep.PrivateKey, "pwndex keys oprf-rotate") || !strings.Contains(rep.PrivateKey, privKeyFile) {
					t.Fatalf("lost key: OK %v, PrivateKey %q", rep.OK(), rep.PrivateKey)
				}
				if d := diffTrees(privTree(t, dir), damaged); d != "" {
					t.Fatalf("repair with a lost key changed private files: %s", d)
				}
				if len(rep.PrivateRebuilt) > 0 || len(rep.PrivateRemoved) > 0 || rep.PrivateKeySummed {
					t.Fatalf("repair with a lost key reports changes: %+v", rep)
				}
				if ps := checkDir(t, dir); !strings.Contains(strings.Join(ps, "\n"), "oprf-rotate") {
					t.Fatalf("Check of a lost key: %q", ps)
				}
				return
			}
			if !rep.OK() || rep.PrivateKey != "" {
				t.Fatalf("repair: %+v", rep)
			}
			if d := diffTrees(privTree(t, dir), pristine); d != "" {
				t.Fatalf("private files after repair differ from the pristine index: %s", d)
			}
			var kinds []Kind
			for _, r := range rep.PrivateRebuilt {
				k, err := ParseKind(r[:strings.Index(r, "-")])
				if err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			want := slices.Sorted(slices.Values(c.rebuilt))
			if !slices.Equal(kinds, want) {
				t.Errorf("rebuilt %q, want the artefacts of %v", rep.PrivateRebuilt, want)
			}
			var removed []string
			for _, r := range rep.PrivateRemoved {
				removed = append(removed, filepath.Base(r))
			}
			slices.Sort(removed)
			if !slices.Equal(removed, slices.Sorted(slices.Values(c.removed))) {
				t.Errorf("removed %q, want %q", removed, c.removed)
			}
			if rep.PrivateKeySummed != c.summed {
				t.Errorf("PrivateKeySummed %v, want %v", rep.PrivateKeySummed, c.summed)
			}
			if ps := checkDir(t, dir); len(ps) > 0 {
				t.Fatalf("Check after repair: %q", ps)
			}
			ix, err := Open(Options{Dir: dir, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if got := privLookup(t, ix, KindEmail, [][]byte{emails[7][:], emails[590][:]}); len(got[0]) != 1 || len(got[1]) != 1 {
				t.Fatalf("lookups after repair: %v", got)
			}
			// A second repair finds nothing to do.
			rep, err = Repair(context.Background(), dir)
			if err != nil || !rep.OK() || len(rep.PrivateRebuilt)+len(rep.PrivateRemoved) > 0 || rep.PrivateEvaluated != 0 || rep.PrivateKeySummed {
				t.Fatalf("second repair: %+v %v", rep, err)
			}
		})
	}
}

// TestRepairInterruptedPrivateStep: an ingest committed a new breach and
// was killed before its private step committed (oprf.key names the
// previous e-mail generation's artefact; a half-written artefact of the new
// one is left). Repair completes the step under the same key, evaluating
// only the new records (the previous sidecar's values are reused), and the
// private files are byte for byte those that completing the ingest's
// derivation writes.
func TestRepairInterruptedPrivateStep(t *testing.T) {
	base := t.TempDir()
	privIndex(t, base)
	ix, err := Open(Options{Dir: base, FalsePositiveRate: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	fresh := addPrivBreach(t, ix, "B", 25, 0, 0)
	ix.Close()
	// The half-written artefact of the new e-mail generation.
	kf, _, err := readKeyFileAt(filepath.Join(base, privKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(base, privDir, filepath.Base(genDir(t, base, KindEmail))+"-"+kf.KeyID+".opr.tmp")
	if err := os.WriteFile(half, []byte(privMagic+"half"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := t.TempDir()
	if err := os.CopyFS(want, os.DirFS(base)); err != nil {
		t.Fatal(err)
	}
	wix, err := Open(Options{Dir: want})
	if err != nil {
		t.Fatal(err)
	}
	if err := wix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	wix.Close()
	rep, err := Repair(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.PrivateRebuilt) != 1 || !strings.HasPrefix(rep.PrivateRebuilt[0], "email-") || !strings.Contains(rep.PrivateRebuilt[0], "not committed") {
		t.Fatalf("repair: %+v", rep)
	}
	if rep.PrivateEvaluated != 25 {
		t.Errorf("repair evaluated %d values, want the 25 new records'", rep.PrivateEvaluated)
	}
	if d := diffTrees(privTree(t, base), privTree(t, want)); d != "" {
		t.Fatalf("private files after repair differ from a completed derivation: %s", d)
	}
	ro, err := Open(Options{Dir: base, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	b, _ := ro.BreachByName("B")
	if got := privLookup(t, ro, KindEmail, [][]byte{fresh[3][:]}); !slices.Equal(got[0], []BreachID{b.ID}) {
		t.Fatalf("lookup of a new address after repair: %v", got)
	}
}

// TestRotateOverLostKey: with oprf.key damaged, truncated or deleted (its
// artefacts left), a writable open makes no new key, a derivation (ingest)
// refuses with ErrPrivateKeyLost instead of making one silently, and
// RotatePrivateKey makes a new key and re-derives every artefact; Check
// and Repair are then clean and lookups answer.
func TestRotateOverLostKey(t *testing.T) {
	clean := t.TempDir()
	emails := privIndex(t, clean)
	old := privTree(t, clean)[privKeyFile]
	for _, c := range []struct {
		name   string
		damage func(p string) error
	}{
		{"flipped", func(p string) error { flipAt(t, p, 40, 0x01); return nil }},
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("not json\n"), 0o600) }},
		{"deleted", os.Remove},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
				t.Fatal(err)
			}
			kp := filepath.Join(dir, privKeyFile)
			if err := c.damage(kp); err != nil {
				t.Fatal(err)
			}
			damaged := privTree(t, dir)
			ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if err := ix.DerivePrivate(context.Background()); !errors.Is(err, ErrPrivateKeyLost) {
				t.Fatalf("derivation over a lost key: %v, want ErrPrivateKeyLost", err)
			}
			if d := diffTrees(privTree(t, dir), damaged); d != "" {
				t.Fatalf("open and derivation changed the private files: %s", d)
			}
			if err := ix.RotatePrivateKey(context.Background()); err != nil {
				t.Fatalf("rotation over a lost key: %v", err)
			}
			now := privTree(t, dir)
			if bytes.Equal(now[privKeyFile], old) {
				t.Fatal("rotation kept the old key file")
			}
			if n := len(slices.Collect(maps.Keys(now))); n != 7 {
				t.Fatalf("after rotation: %d private files, want oprf.key and 3 artefacts with sidecars", n)
			}
			if got := privLookup(t, ix, KindEmail, [][]byte{emails[3][:]}); len(got[0]) != 1 {
				t.Fatalf("lookup after rotation: %v", got)
			}
			ix.Close()
			if ps := checkDir(t, dir); len(ps) > 0 {
				t.Fatalf("Check after rotation: %q", ps)
			}
			if rep, err := Repair(context.Background(), dir); err != nil || !rep.OK() || len(rep.PrivateRebuilt) > 0 {
				t.Fatalf("repair after rotation: %+v %v", rep, err)
			}
		})
	}
}
