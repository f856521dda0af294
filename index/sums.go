package index

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// fileSums lists the files of a generation's Badger store with their sizes
// and xxhash64s, so that Check finds a corruption in any of them, including
// the bytes Badger's own checksums do not cover (table footers, the key
// registry, value log headers, discard statistics). Format, one line a
// file in path order, then a line over everything before it:
//
//	<xxhash64 16 hex> <size> <path relative to the generation directory>\n
//	sum <xxhash64 16 hex of the preceding bytes>\n
//
// Invariant: a generation is immutable once written, and Badger opened
// read-only writes none of its files, so the list stays exact for the
// generation's lifetime. The range and filter files carry their own
// checksums over every byte and are not listed.
const fileSums = "db.sums"

// writeSums writes the sums file of the generation in dir (its db/ must be
// closed) and syncs it.
func writeSums(dir string) error {
	var buf bytes.Buffer
	err := filepath.WalkDir(filepath.Join(dir, "db"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sum, size, err := hashFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&buf, "%016x %d %s\n", sum, size, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("checksum store files: %w", err)
	}
	fmt.Fprintf(&buf, "sum %016x\n", xxhash.Sum64(buf.Bytes()))
	f, err := os.Create(filepath.Join(dir, fileSums))
	if err != nil {
		return fmt.Errorf("write %s: %w", fileSums, err)
	}
	defer f.Close()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", fileSums, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", fileSums, err)
	}
	return f.Close()
}

func hashFile(p string) (uint64, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	d := xxhash.New()
	n, err := io.Copy(d, bufio.NewReaderSize(f, 1<<20))
	return d.Sum64(), n, err
}

// sumEntry is one line of a sums file.
type sumEntry struct {
	sum  uint64
	size int64
	path string // relative to the generation directory, slash-separated
}

// parseSums parses a sums file, verifying its final checksum line.
func parseSums(data []byte) ([]sumEntry, error) {
	i := bytes.LastIndex(data[:max(len(data)-1, 0)], []byte("\n"))
	if i < 0 || string(data[i+1:]) != fmt.Sprintf("sum %016x\n", xxhash.Sum64(data[:i+1])) {
		return nil, errors.New("corrupt (checksum mismatch)")
	}
	var out []sumEntry
	for _, line := range strings.Split(string(data[:i+1]), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 || len(f[0]) != 16 {
			return nil, errors.New("corrupt line")
		}
		sum, err1 := strconv.ParseUint(f[0], 16, 64)
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || size < 0 || f[2] == "" || strings.Contains(f[2], "..") {
			return nil, errors.New("corrupt line")
		}
		out = append(out, sumEntry{sum: sum, size: size, path: f[2]})
	}
	return out, nil
}

// verifySums checks every file listed in dir's sums file, and that the
// store has no file the list does not name. It returns one message a
// problem.
func verifySums(dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, fileSums))
	if errors.Is(err, fs.ErrNotExist) {
		// Written by a pwndex before checksum lists: Badger's own block
		// checksums still apply. (A commit always writes the list before
		// the generation becomes live, so a current one cannot lack it.)
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("store checksum list: %v", err)}
	}
	entries, err := parseSums(data)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", fileSums, err)}
	}
	var problems []string
	listed := map[string]bool{}
	for _, e := range entries {
		listed[e.path] = true
		got, n, err := hashFile(filepath.Join(dir, filepath.FromSlash(e.path)))
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", e.path, err))
		case n != e.size:
			problems = append(problems, fmt.Sprintf("%s: %d bytes, %d when written", e.path, n, e.size))
		case got != e.sum:
			problems = append(problems, fmt.Sprintf("%s: content differs from when it was written (corrupt)", e.path))
		}
	}
	var extra []string
	filepath.WalkDir(filepath.Join(dir, "db"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			if !listed[filepath.ToSlash(rel)] {
				extra = append(extra, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	slices.Sort(extra)
	for _, e := range extra {
		problems = append(problems, fmt.Sprintf("%s: not written by the build", e))
	}
	return problems
}
