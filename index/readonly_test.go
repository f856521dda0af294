package index

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// uncleanEnv makes TestUncleanWriterHelper act as a writer that commits
// and exits without closing the index, as a SIGKILL would leave it.
const uncleanEnv = "PWNDEX_INDEX_UNCLEAN_WRITER"

func TestUncleanWriterHelper(t *testing.T) {
	dir := os.Getenv(uncleanEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	ix, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if _, err := ix.CreateAPIKey(APIKey{Name: "after-crash"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0) // no Close: the metadata log is left for a replay
}

// treeDigest hashes every file's path, size, mode, modification time and
// content under dir: any write to the tree changes it.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d %v %d\n", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// readOnlyMount bind-mounts dir read-only and returns the mount point. It
// skips (loudly) where mounting is impossible, and fails under CI=true.
func readOnlyMount(t *testing.T, dir string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount(dir, mnt, "", syscall.MS_BIND, ""); err != nil {
		mountUnavailable(t, "bind mount", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	if err := syscall.Mount("", mnt, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		mountUnavailable(t, "read-only remount", err)
	}
	return mnt
}

func mountUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("SKIPPING: cannot %s (%v): this test needs root or CAP_SYS_ADMIN", what, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; under CI=true this is a failure")
	}
	fmt.Fprintln(os.Stderr, msg)
	t.Skip(msg) // msg starts with SKIPPING:
}

// TestReadersNeverWrite: after a writer exits without closing the index,
// two readers (check and serve's open) can open it at once, on a
// read-only mount, see the last commit, and leave every byte as it was.
func TestReadersNeverWrite(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	buildBase(t, ix, KindSHA1, passwords(300), true)
	ix.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUncleanWriterHelper$")
	cmd.Env = append(os.Environ(), uncleanEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("writer: %v\n%s", err, out)
	}
	// Precondition: Badger itself refuses a read-only open now.
	if db, err := badger.Open(metaOptions(filepath.Join(dir, "meta"), true)); err == nil {
		db.Close()
		t.Fatal("a read-only Badger open succeeded after the unclean exit: the case is not exercised")
	}
	before := treeDigest(t, dir)
	for _, where := range []string{"writable directory", "read-only mount"} {
		t.Run(where, func(t *testing.T) {
			d := dir
			if where == "read-only mount" {
				d = readOnlyMount(t, dir)
			}
			a, err := Open(Options{Dir: d, ReadOnly: true})
			if err != nil {
				t.Fatalf("first reader: %v", err)
			}
			defer a.Close()
			b, err := Open(Options{Dir: d, ReadOnly: true, Lenient: true})
			if err != nil {
				t.Fatalf("second reader: %v", err)
			}
			defer b.Close()
			if len(a.APIKeys()) != 1 || a.Meta().Counts[KindSHA1] != 300 {
				t.Fatalf("reader sees keys %v, %d records; want the crashed writer's key and 300", a.APIKeys(), a.Meta().Counts[KindSHA1])
			}
			rep, err := b.Check(context.Background())
			if err != nil || !rep.OK() {
				t.Fatalf("check: %v %v", err, rep.Problems)
			}
			a.Close()
			b.Close()
			if after := treeDigest(t, dir); after != before {
				t.Fatal("readers modified the index directory")
			}
		})
	}
	// The next writer replays the log itself.
	w := openTest(t, dir)
	if len(w.APIKeys()) != 1 {
		t.Fatal("writer lost the key")
	}
}
