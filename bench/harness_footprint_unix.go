package bench

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// treeDiskBytes returns the bytes allocated on disk to the files under dir
// (sparse files count what they use) and their number, counting each file
// once however many hard links it has, as du does: an index's local
// snapshots (snapshots/) hard-link the generation files.
func treeDiskBytes(dir string) (bytes int64, files int, err error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no block count", p)
		}
		id := inode{uint64(st.Dev), st.Ino}
		if !seen[id] {
			seen[id] = true
			bytes += st.Blocks * 512
			files++
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return bytes, files, nil
}
