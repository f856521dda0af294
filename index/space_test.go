package index

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of the given size ("160m") and returns its path;
// it skips loudly where mounting is impossible (fails under CI=true).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		mountUnavailable(t, "mount a "+size+" tmpfs", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}

// TestBuildStopsBeforeDiskFull: the disk fills up while a generation is
// written (here, from the build's own progress callback, after its first
// batch): the free-space watch stops the build with ErrNoSpace before
// Badger maps a table it cannot back (a SIGBUS would kill this test). The
// index is unchanged and the partial generation removed.
func TestBuildStopsBeforeDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "160m")
	dir := filepath.Join(mnt, "ix")
	ix := openTest(t, dir)
	buildBase(t, ix, KindSHA1, passwords(500), true)
	v := ix.Meta().Version

	hs := make([]Hash, 20000)
	for i := range hs {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		s := md5.Sum(b[:])
		copy(hs[i][:], s[:])
	}
	slices.SortFunc(hs, func(a, b Hash) int { return bytes.Compare(a[:16], b[:16]) })
	filled := false
	var fillErr error
	b, err := ix.NewBaseBuilder(KindNTLM, BuildOptions{Sorted: true, ExpectedKeys: len(hs),
		Progress: func(int64) { // in the writer goroutine: no t.Fatal here
			if !filled {
				filled = true
				// Another process takes the space, leaving 40 MiB.
				free, err := freeSpace(mnt)
				if err == nil {
					err = os.WriteFile(filepath.Join(mnt, "filler"), make([]byte, free-40<<20), 0o644)
				}
				fillErr = err
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range hs {
		if err = b.SetBase(&hs[i], 1); err != nil {
			break
		}
	}
	if err == nil {
		_, err = b.Commit(context.Background())
	}
	b.Abort()
	if !filled || fillErr != nil {
		t.Fatalf("the build never reported progress, or filling failed: %v", fillErr)
	}
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), filepath.Join(dir, "gens")) {
		t.Fatalf("build = %v, want ErrNoSpace from the generation write", err)
	}
	if ix.Meta().Version != v || ix.Meta().Counts[KindNTLM] != 0 {
		t.Fatal("a failed build changed the index")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "gens", "ntlm-*")); len(m) != 0 {
		t.Fatalf("partial generation left: %v", m)
	}
	os.Remove(filepath.Join(mnt, "filler"))
	mustCheck(t, ix)
}
