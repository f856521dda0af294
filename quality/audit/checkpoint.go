package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// checkpointVersion changes when the work directory's format does.
const checkpointVersion = 1

const fileCheckpoint = "checkpoint.json"

// checkpoint is the durable progress of a run. The files it describes
// hold hashes, line numbers and reason codes only.
type checkpoint struct {
	Version     int    `json:"version"`
	Fingerprint string `json:"fingerprint"` // input and options (see fingerprint)
	Bits        int    `json:"partitionBits"`
	// RowsDone records of the input have been scanned; the spill
	// partitions and the bad-rows file hold exactly their output, in
	// the first SpillSizes[p] and BadSize bytes.
	RowsDone   int64   `json:"rowsDone"`
	BytesDone  int64   `json:"bytesDone"`
	SpillSizes []int64 `json:"spillSizes"`
	BadSize    int64   `json:"badSize"`
	ScanDone   bool    `json:"scanDone"`
	Counters   Counts  `json:"counters"`
}

// errCheckpoint is wrapped by errors about an unusable checkpoint.
var errCheckpoint = errors.New("unusable checkpoint")

// parseCheckpoint decodes and checks a checkpoint.
func parseCheckpoint(data []byte) (*checkpoint, error) {
	var c checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", errCheckpoint, err)
	}
	switch {
	case c.Version != checkpointVersion:
		return nil, fmt.Errorf("%w: version %d", errCheckpoint, c.Version)
	case c.Bits < 0 || c.Bits > 12:
		return nil, fmt.Errorf("%w: %d partition bits", errCheckpoint, c.Bits)
	case len(c.SpillSizes) != 1<<uint(c.Bits):
		return nil, fmt.Errorf("%w: %d spill sizes for %d partitions", errCheckpoint, len(c.SpillSizes), 1<<uint(c.Bits))
	case c.RowsDone < 0 || c.BytesDone < 0 || c.BadSize < 0:
		return nil, fmt.Errorf("%w: negative progress", errCheckpoint)
	case !c.Counters.valid():
		return nil, fmt.Errorf("%w: negative counters", errCheckpoint)
	}
	for _, s := range c.SpillSizes {
		if s < 0 || s%recSize != 0 {
			return nil, fmt.Errorf("%w: spill size %d", errCheckpoint, s)
		}
	}
	return &c, nil
}

func loadCheckpoint(dir string) (*checkpoint, error) {
	data, err := os.ReadFile(filepath.Join(dir, fileCheckpoint))
	if err != nil {
		return nil, err
	}
	return parseCheckpoint(data)
}

func (c *checkpoint) save(dir string) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	// No directory fsync: if the rename is lost, the previous checkpoint
	// describes a consistent (shorter) state and the run redoes the rest.
	return writeAtomic(filepath.Join(dir, fileCheckpoint), writeBytes(data), false)
}

// writeFileAtomic writes data to path through a temporary file, fsync and
// rename, then fsyncs the directory: after a crash, path holds either the
// old or the new content.
func writeFileAtomic(path string, data []byte) error {
	return writeAtomic(path, writeBytes(data), true)
}

// writeFileNoSync writes data to path through a temporary file and rename,
// without fsync: after a kill, path holds the old or the new content; after
// a power loss it may be torn, so only files that carry their own checksum
// (hits files) are written this way.
func writeFileNoSync(path string, data []byte) error {
	return writeAtomicMode(path, writeBytes(data), syncNone)
}

func writeBytes(data []byte) func(f *os.File) error {
	return func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}
}

// writeAtomic creates path through a temporary file filled by fill, fsync
// and rename; with durable, the directory is fsynced too.
func writeAtomic(path string, fill func(f *os.File) error, durable bool) error {
	if durable {
		return writeAtomicMode(path, fill, syncFileDir)
	}
	return writeAtomicMode(path, fill, syncFile)
}

// syncMode is how much of an atomic write is made durable.
type syncMode int

const (
	syncNone    syncMode = iota // rename only
	syncFile                    // fsync the file before the rename
	syncFileDir                 // and the directory after it
)

func writeAtomicMode(path string, fill func(f *os.File) error, mode syncMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return fmt.Errorf("audit: writing %s: %w", filepath.Base(path), err)
	}
	if mode >= syncFile {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit: writing %s: %w", filepath.Base(path), err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit: writing %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	ok = true
	if mode < syncFileDir {
		return nil
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", dir, err)
	}
	return nil
}
