package main

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// TestRepairCommand: after one flipped byte in the filter, check reports a
// problem, repair rebuilds the generation, and check is clean again; the
// index answers the hash the test computed with crypto/sha1. A flipped byte
// in ranges.txt, the store of a password kind's records, is damage repair
// cannot undo: exit 1, the generation untouched, the source to ingest again
// named.
func TestRepairCommand(t *testing.T) {
	tmp := t.TempDir()
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf("%X:%d", sha1.Sum([]byte(fmt.Sprint("pw", i))), i+1))
	}
	slices.Sort(lines)
	in := writeFile(t, tmp, "pwned.txt", strings.Join(lines, "\n")+"\n")
	dir := filepath.Join(tmp, "idx")
	if code, _, stderr := runCLI(t, "ingest", "--quiet", "--no-private", "--index", dir, in); code != 0 {
		t.Fatalf("ingest exited %d: %s", code, stderr)
	}
	flip := func(name string) {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(dir, "gens", "sha1-*", name))
		if len(m) != 1 {
			t.Fatalf("%s: %v", name, m)
		}
		f, err := os.OpenFile(m[0], os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		b := []byte{0}
		f.ReadAt(b, fi.Size()-100)
		b[0] ^= 0x10
		f.WriteAt(b, fi.Size()-100)
	}
	flip("filter.bf")
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "PROBLEM") {
		t.Fatalf("check after the flip: exit %d\n%s", code, stdout)
	}
	if code, stdout, stderr := runCLI(t, "repair", "--index", dir); code != 0 || !strings.Contains(stdout, "rebuilt sha1-") {
		t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 0 {
		t.Fatalf("check after repair: exit %d\n%s", code, stdout)
	}
	ix, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := index.Hash(sha1.Sum([]byte("pw5")))
	if e, ok, err := ix.Lookup(index.KindSHA1, &h); !ok || err != nil || e.Count != 6 {
		t.Errorf("lookup of pw5 after repair = %d %v %v, want 6", e.Count, ok, err)
	}
	ix.Close()

	flip("ranges.txt")
	code, stdout, stderr := runCLI(t, "repair", "--index", dir)
	if code != 1 || !strings.Contains(stdout, "DAMAGED sha1 records: ranges.txt") || !strings.Contains(stdout, "hibp-sha1:") || strings.Contains(stdout, "rebuilt sha1-") {
		t.Fatalf("repair of a flipped ranges.txt: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "PROBLEM") {
		t.Fatalf("check after the refused repair: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "repair", "--index", dir, "extra"); code != 2 || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("repair with an argument: exit %d, %q", code, stderr)
	}
}

// TestRepairCommandPrivate runs the commands on an index whose private
// lookup files an ingest wrote (`bench gen` dump). A deleted e-mail
// artefact, a flipped sidecar and a leftover temporary file: check exits
// 1, repair exits 0 naming the rebuilt artefact and the leftover, and the
// private files are byte for byte those before the damage. oprf.key
// without its checksum line: check exits 1, repair adds it (the file is
// then byte for byte the one ingest wrote). A flipped
// oprf.key: repair exits 1 naming 'pwndex keys oprf-rotate' and changes
// no private file; a deleted one: check exits 1 naming it too (the
// artefacts are left), and an ingest exits 3 naming the fix without
// making a new key. `keys oprf-rotate` then makes a new key, after which
// check and repair exit 0.
func TestRepairCommandPrivate(t *testing.T) {
	tmp := t.TempDir()
	gen := filepath.Join(tmp, "dump")
	if code, _, stderr := runCLI(t, "bench", "gen", "--kind", "dump", "--name", "Priv", "--n", "400", "--seed", "5", "--out", gen); code != 0 {
		t.Fatalf("bench gen exited %d: %s", code, stderr)
	}
	dir := filepath.Join(tmp, "idx")
	if code, _, stderr := runCLI(t, "ingest", "--quiet", "--index", dir, "--manifest", filepath.Join(gen, "manifest.json"),
		filepath.Join(gen, "Priv.csv"), filepath.Join(gen, "Priv-combo.txt")); code != 0 {
		t.Fatalf("ingest exited %d: %s", code, stderr)
	}
	tree := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, p := range append([]string{filepath.Join(dir, "oprf.key")}, globT(t, filepath.Join(dir, "private", "*"))...) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(p)] = string(b)
		}
		return out
	}
	pristine := tree()
	if len(pristine) < 3 {
		t.Fatalf("ingest wrote %d private files", len(pristine))
	}
	art := globT(t, filepath.Join(dir, "private", "email-*.opr"))
	if len(art) != 1 {
		t.Fatalf("e-mail artefacts: %v", art)
	}
	if err := os.Remove(art[0]); err != nil {
		t.Fatal(err)
	}
	vals := globT(t, filepath.Join(dir, "private", "*.vals"))
	b, _ := os.ReadFile(vals[len(vals)-1])
	b[20] ^= 1
	os.WriteFile(vals[len(vals)-1], b, 0o600)
	cred := globT(t, filepath.Join(dir, "private", "credential-*.opr"))
	if len(cred) != 1 {
		t.Fatalf("credential artefacts: %v", cred)
	}
	os.WriteFile(cred[0]+".tmp", []byte("half"), 0o600)
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, filepath.Base(art[0])) {
		t.Fatalf("check of a deleted artefact: exit %d\n%s", code, stdout)
	}
	code, stdout, stderr := runCLI(t, "repair", "--index", dir)
	if code != 0 || !strings.Contains(stdout, "rebuilt private artefact "+filepath.Base(art[0])) ||
		!strings.Contains(stdout, "removed leftover private/"+filepath.Base(cred[0])+".tmp") || !strings.Contains(stdout, "ok: pwndex check finds no problem") {
		t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := tree(); !maps.Equal(got, pristine) {
		t.Fatal("private files after repair differ from those ingest wrote")
	}

	// A key file written before the checksum line: repair adds it, the
	// key unchanged.
	key := filepath.Join(dir, "oprf.key")
	kb, _ := os.ReadFile(key)
	os.WriteFile(key, kb[:bytes.LastIndex(kb, []byte("\n#sha256 "))+1], 0o600)
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "no checksum") {
		t.Fatalf("check of a key file without checksum: exit %d\n%s", code, stdout)
	}
	if code, stdout, stderr := runCLI(t, "repair", "--index", dir); code != 0 || !strings.Contains(stdout, "oprf.key: checksum added") {
		t.Fatalf("repair of a key file without checksum: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := tree(); !maps.Equal(got, pristine) {
		t.Fatal("private files after adding the checksum differ from those ingest wrote")
	}

	kb, _ = os.ReadFile(key)
	kb[len(kb)/2] ^= 0x20
	os.WriteFile(key, kb, 0o600)
	damaged := tree()
	code, stdout, stderr = runCLI(t, "repair", "--index", dir)
	if code != 1 || !strings.Contains(stdout, "LOST OPRF key") || !strings.Contains(stdout, "pwndex keys oprf-rotate") || !strings.Contains(stdout, key) {
		t.Fatalf("repair of a flipped oprf.key: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := tree(); !maps.Equal(got, damaged) {
		t.Fatal("repair with a lost key changed private files")
	}
	os.Remove(key)
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 1 || !strings.Contains(stdout, "oprf.key is missing") || !strings.Contains(stdout, "oprf-rotate") {
		t.Fatalf("check of a deleted oprf.key: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "repair", "--index", dir); code != 1 || !strings.Contains(stdout, "LOST OPRF key") {
		t.Fatalf("repair of a deleted oprf.key: exit %d\n%s", code, stdout)
	}
	if _, err := os.Stat(key); err == nil {
		t.Fatal("repair made a new oprf.key")
	}
	// An ingest (its sources already in) does not make a new key either.
	if code, _, stderr := runCLI(t, "ingest", "--quiet", "--index", dir, "--manifest", filepath.Join(gen, "manifest.json"),
		filepath.Join(gen, "Priv.csv"), filepath.Join(gen, "Priv-combo.txt")); code != 3 || !strings.Contains(stderr, "oprf-rotate") || strings.Contains(stderr, "run the same command again") {
		t.Fatalf("ingest over a lost key: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(key); err == nil {
		t.Fatal("ingest made a new oprf.key")
	}
	if code, _, stderr := runCLI(t, "keys", "oprf-rotate", "--index", dir); code != 0 || !strings.Contains(stderr, "new OPRF key") {
		t.Fatalf("oprf-rotate over a deleted key: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "check", "--index", dir); code != 0 {
		t.Fatalf("check after the rotation: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "repair", "--index", dir); code != 0 || strings.Contains(stdout, "private artefact") {
		t.Fatalf("repair after the rotation: exit %d\n%s", code, stdout)
	}
}

// globT is filepath.Glob, sorted, failing the test on a bad pattern.
func globT(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}
