package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Disk space. Badger writes its tables, memtable logs and value logs
// through memory maps of sparse files: when the disk is full, such a write
// is not an error but a SIGBUS that kills the process. So:
//
// Invariants:
//   - no writable Badger store is opened, and no generation write starts,
//     unless the file system has spaceReserve bytes free beyond the
//     estimate of what the write needs (ensureSpace);
//   - while a generation is written, free space is measured every batch,
//     and the build stops with ErrNoSpace when it falls under
//     spaceReserve, before Badger's next table (at most a few tens of MiB,
//     built in memory first) is mapped;
//   - the memtable logs and discard file of a writable store are allocated
//     on disk (fallocate) right after it is opened, so writes into their
//     maps never need a new block; value logs are never written past
//     their 20-byte header, written when they are created (within the
//     reserve): the value thresholds (128 KiB) are above any value stored, so
//     every value is in the tables (gen.go, meta.go);
//   - every other write (range files, filters, sort runs, checksums) uses
//     write(2), whose ENOSPC is an ordinary error: the build is aborted and
//     the committed index is untouched (build.go).
//
// A process outside pwndex filling the disk between a measurement and a
// Badger table flush can still defeat this; spaceReserve makes that window
// as wide as a whole table.

// maxValueThreshold is the largest value threshold Badger accepts with 1 MiB
// memtables (15% of them): values up to this size are stored in the LSM
// tables, not in a value log. Record values are far smaller (a password
// record is two uvarints; an identifier would need ~30,000 breaches to
// reach it; metadata values are small JSON).
const maxValueThreshold = 128 << 10

// ErrNoSpace is returned when a write would need more disk space than is
// free. The index is unchanged.
var ErrNoSpace = errors.New("not enough free disk space")

// spaceReserve is the free space kept beyond any estimate: larger than the
// biggest single memory-mapped write Badger makes here (a 16 MiB table,
// a 2 MiB memtable log, the 1 MiB discard file, value log headers).
const spaceReserve = 64 << 20

// freeSpace returns the bytes available to unprivileged users in the file
// system holding dir (or its closest existing parent).
func freeSpace(dir string) (uint64, error) {
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(dir, &st)
		if err == nil {
			return st.Bavail * uint64(st.Bsize), nil
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, syscall.ENOENT) || parent == dir {
			return 0, fmt.Errorf("free space of %s: %w", dir, err)
		}
		dir = parent
	}
}

// ensureSpace returns ErrNoSpace unless dir's file system has need +
// spaceReserve bytes free.
func ensureSpace(dir string, need uint64) error {
	free, err := freeSpace(dir)
	if err != nil {
		return err
	}
	if free < need+spaceReserve {
		return noSpaceError(dir, need+spaceReserve, free)
	}
	return nil
}

func noSpaceError(dir string, need, free uint64) error {
	return fmt.Errorf("%w in %s: about %s needed, %s available", ErrNoSpace, dir, mib(need), mib(free))
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// isNoSpace reports whether err is a disk-full condition.
func isNoSpace(err error) bool {
	return errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// allocateLogs allocates on disk every memtable log and the discard file of
// the Badger store in dir (they are created sparse and written through
// memory maps). ENOSPC here is ErrNoSpace.
func allocateLogs(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ".mem" && e.Name() != "DISCARD" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			// Badger flushed and removed the memtable between the
			// listing and the open (its flush runs in the background,
			// e.g. right after replaying a crashed writer's log): a
			// file that is gone needs no reserve.
			continue
		}
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() > 0 {
			err = syscall.Fallocate(int(f.Fd()), 0, 0, fi.Size())
			if errors.Is(err, syscall.EOPNOTSUPP) {
				err = nil // the file system allocates on write; the reserve must do
			}
		}
		f.Close()
		if err != nil {
			if isNoSpace(err) {
				return noSpaceError(dir, uint64(fi.Size()), 0)
			}
			return fmt.Errorf("allocate %s: %w", p, err)
		}
	}
	return nil
}

// generationBytes estimates the disk space of a generation of n records of
// kind k: Badger (~40 bytes a key measured, 64 assumed), range bodies,
// compressed bodies, filter, and the fixed size of the offset tables.
func generationBytes(k Kind, n uint64, compress bool) uint64 {
	per := uint64(64 + 4) // Badger + filter
	files := uint64(1)
	if k.IsPassword() {
		// Badger holds only records with breach-added counts (pwstore.go):
		// room for a tenth of them to have one.
		per = 8 + 4
		text := uint64(k.HexLen() - 5 + 24) // suffix, ':', count, CRLF, with room
		per += text
		if compress {
			per += text + text/4 // gzip and brotli: about half the text each
			files = 3
		}
	} else {
		per += uint64(k.HashLen()) + 16 // hash and a few breach IDs
	}
	return n*per + files*uint64(rangeHeaderLen+8*(RangeBuckets+1)) + 8<<20
}
