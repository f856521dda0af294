package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "160m") and returns its
// path. Where mounting is impossible it skips loudly, and fails under
// CI=true.
func mountTmpfs(t testing.TB, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		msg := fmt.Sprintf("SKIPPING: cannot mount a %s tmpfs (%v): this test needs root or CAP_SYS_ADMIN", size, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; under CI=true this is a failure")
		}
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}

// writeHIBP writes a sorted Pwned Passwords file of n random hashes of kind
// k (hex length hexLen) and returns its path.
func writeHIBP(t testing.TB, dir, name string, n, hexLen int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	lines := make([]string, n)
	for i := range lines {
		var b [20]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		lines[i] = fmt.Sprintf("%X", b[:])[:hexLen] + fmt.Sprintf(":%d\r\n", 1+rng.IntN(1000))
	}
	slices.Sort(lines)
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// fill writes a file in dir until the file system is full, leaving about
// leave bytes free, and returns its path.
func fill(t testing.TB, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n := free - leave; n > 0; n -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	return p
}

func runCmd(fn func(context.Context, []string, *os.File, *bytes.Buffer, *bytes.Buffer) int, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := fn(context.Background(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func ingestCmd(ctx context.Context, args []string, _ *os.File, out, errb *bytes.Buffer) int {
	return cmdIngest(ctx, args, nil, out, errb)
}
func checkCmd(ctx context.Context, args []string, _ *os.File, out, errb *bytes.Buffer) int {
	return cmdCheck(ctx, args, nil, out, errb)
}
func keysCmd(ctx context.Context, args []string, _ *os.File, out, errb *bytes.Buffer) int {
	return cmdKeys(ctx, args, nil, out, errb)
}

// TestFullDisk runs pwndex on a small tmpfs: an ingest that cannot fit is
// refused before writing (estimate), an ingest on a full disk and a key
// creation fail with one clean line naming the directory and exit 3; the
// index stays as it was, and check and reads keep working. A SIGBUS from a
// memory-mapped write would kill this test process.
func TestFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "160m")
	src := t.TempDir()
	small := writeHIBP(t, src, "small-sha1.txt", 3000, 40, 1)
	big := writeHIBP(t, src, "big-ntlm.txt", 500000, 32, 2)
	later := writeHIBP(t, src, "later-ntlm.txt", 2000, 32, 3)
	dir := filepath.Join(mnt, "data")

	if code, _, errs := runCmd(ingestCmd, "--index", dir, "--quiet", small); code != 0 {
		t.Fatalf("small ingest: exit %d: %s", code, errs)
	}
	want := readRange(t, dir, small)

	oneLine := func(t *testing.T, what, errs string) {
		t.Helper()
		if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, mnt) || strings.Contains(errs, "goroutine") {
			t.Fatalf("%s: want one line naming %s, got:\n%s", what, mnt, errs)
		}
	}
	stillFine := func(t *testing.T) {
		t.Helper()
		if code, out, errs := runCmd(checkCmd, "--index", dir); code != 0 {
			t.Fatalf("check after a full-disk failure: exit %d\n%s%s", code, out, errs)
		}
		if got := readRange(t, dir, small); got != want {
			t.Fatal("index content changed")
		}
		if ents, _ := os.ReadDir(filepath.Join(dir, "gens")); len(ents) != 1 {
			t.Fatalf("leftover generations: %v", ents)
		}
	}

	t.Run("refused by the estimate", func(t *testing.T) {
		// With its gzip and brotli copies (opt-in since issue 15), the
		// big base cannot fit the tmpfs.
		code, _, errs := runCmd(ingestCmd, "--index", dir, "--quiet", "--compress", big)
		if code != 3 {
			t.Fatalf("exit %d, want 3: %s", code, errs)
		}
		oneLine(t, "big ingest", errs)
		t.Log(errs)
		if !strings.Contains(errs, "not enough free disk space") {
			t.Fatalf("stderr: %s", errs)
		}
		stillFine(t)
	})
	t.Run("disk already full", func(t *testing.T) {
		filler := fill(t, mnt, 0)
		defer os.Remove(filler)
		code, _, errs := runCmd(ingestCmd, "--index", dir, "--quiet", later)
		if code != 3 {
			t.Fatalf("ingest on a full disk: exit %d, want 3: %s", code, errs)
		}
		oneLine(t, "ingest on a full disk", errs)
		code, _, errs = runCmd(keysCmd, "add", "--index", dir, "k1")
		if code != 3 {
			t.Fatalf("keys add on a full disk: exit %d, want 3: %s", code, errs)
		}
		oneLine(t, "keys add on a full disk", errs)
		t.Log(errs)
		stillFine(t)
	})
	t.Run("space freed", func(t *testing.T) {
		if code, _, errs := runCmd(ingestCmd, "--index", dir, "--quiet", later); code != 0 {
			t.Fatalf("ingest after freeing space: exit %d: %s", code, errs)
		}
		if code, out, errs := runCmd(checkCmd, "--index", dir); code != 0 {
			t.Fatalf("check: exit %d\n%s%s", code, out, errs)
		}
	})
}

// readRange returns the SHA-1 range bodies of the prefixes of the first
// lines of a HIBP file, read through a read-only open as serve does.
func readRange(t *testing.T, dir, hibp string) string {
	t.Helper()
	ix, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	b, err := os.ReadFile(hibp)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, line := range strings.SplitN(string(b), "\n", 20)[:19] {
		var p uint32
		fmt.Sscanf(line[:5], "%X", &p)
		body, _ := ix.PasswordRange(index.KindSHA1, p, index.Identity)
		sb.Write(body)
	}
	_ = sha1.Size
	return sb.String()
}

// TestKeysOnReadOnlyFileSystem: on a read-only mount `keys add` says so
// (not that another process holds the index), and readers still work.
func TestKeysOnReadOnlyFileSystem(t *testing.T) {
	src := t.TempDir()
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errs := runCmd(ingestCmd, "--index", dir, "--quiet", writeHIBP(t, src, "s.txt", 200, 40, 4)); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	mnt := t.TempDir()
	if err := syscall.Mount(dir, mnt, "", syscall.MS_BIND, ""); err != nil {
		mountTmpfs(t, "1m") // skips or fails with the same rules
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	if err := syscall.Mount("", mnt, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("read-only remount: %v", err)
	}
	code, _, errs := runCmd(keysCmd, "add", "--index", mnt, "k1")
	if code != 2 || !strings.Contains(errs, "read-only file system: change API keys") || strings.Contains(errs, "holding") {
		t.Fatalf("keys add on a read-only mount: exit %d: %s", code, errs)
	}
	if code, out, errs := runCmd(checkCmd, "--index", mnt); code != 0 {
		t.Fatalf("check on a read-only mount: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCmd(keysCmd, "list", "--index", mnt); code != 0 {
		t.Fatalf("keys list on a read-only mount: exit %d: %s", code, errs)
	}
}
