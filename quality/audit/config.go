package audit

import (
	"errors"
	"io"
	"runtime"
	"time"

	"github.com/pwndex/pwndex/quality"
)

// Defaults of Config.
const (
	DefaultCheckpointEvery = 200_000
	// WorkDirName is the work directory Run keeps inside the output
	// directory until the outputs are written.
	WorkDirName = ".pwndex-audit-work"
)

// Output file names inside Config.OutDir.
const (
	FileExposed = "exposed.csv"
	FileJSON    = "report.json"
	FileHTML    = "report.html"
	FileBadRows = "bad_rows.csv"
)

// Config configures Run.
type Config struct {
	// Path is the input file. It is needed to resume an interrupted run
	// and to copy the customer ID column into exposed.csv.
	Path string
	// Input is read when Path is empty (no resume, no customer IDs).
	Input io.Reader
	// Name names the input in messages and the report (default: Path, or
	// "stdin").
	Name string
	// OutDir receives exposed.csv, report.json, report.html and
	// bad_rows.csv, and holds the work directory while Run runs.
	OutDir string
	// Lookup resolves hashes: NewLocal or NewRemote.
	Lookup Lookup

	// Table forces the encoding, delimiter or column mapping of the input.
	Table quality.TableOptions
	// EmailColumn and PhoneColumn name the e-mail and phone columns (a
	// header cell, or "#N"), overriding header recognition.
	EmailColumn, PhoneColumn string
	// Region is the ISO region national phone numbers are read in. Empty
	// means per row: the country column, a French overseas postcode, else
	// FR (quality.PhoneRegion).
	Region string

	// Concurrency bounds lookups in flight (default Lookup.Parallelism()).
	Concurrency int
	// Workers is the number of goroutines normalising and hashing
	// (default GOMAXPROCS).
	Workers int
	// Resume continues an interrupted run of the same input and options
	// from its checkpoint. Without it, any earlier work is discarded.
	Resume bool
	// CheckpointEvery is the number of input rows between checkpoints
	// (default 200,000).
	CheckpointEvery int
	// PartitionBits sets 2^bits spill partitions (0: from the input size).
	PartitionBits int
	// Progress, if set, is called from time to time (from Run's goroutine).
	Progress func(Progress)
	// DryRun stops after reading the input and planning the lookups:
	// Report.Plan tells how many requests the audit needs and how long
	// they take at the key's rate; no prefix is sent. The work directory
	// is kept, so the real run (with Resume) does not read the input again.
	DryRun bool
}

// Stage names reported in Progress.
const (
	StageScan    = "reading"
	StageResolve = "looking up"
	StageReport  = "writing report"
)

// Progress describes how far Run is.
type Progress struct {
	Stage   string
	Done    int64 // units done in this stage (bytes, partitions)
	Total   int64 // 0 when unknown
	Rows    int64 // input rows read so far
	Resumed bool  // the run continues an interrupted one
	Elapsed time.Duration
	// RPM is the rate the lookup stage is paced to, in requests per
	// minute (0: not paced), and ETA its time left: at that rate when
	// known, else at the rate so far (0: not known yet).
	RPM float64
	ETA time.Duration
}

func (c *Config) validate() error {
	if c.Lookup == nil {
		return errors.New("audit: no lookup (index or remote) given")
	}
	if c.OutDir == "" {
		return errors.New("audit: no output directory given")
	}
	if c.Path == "" && c.Input == nil {
		return errors.New("audit: no input given")
	}
	if c.Name == "" {
		c.Name = c.Path
		if c.Name == "" {
			c.Name = "stdin"
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = max(1, c.Lookup.Parallelism())
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.PartitionBits < 0 || c.PartitionBits > 12 {
		return errors.New("audit: PartitionBits must be within 0..12")
	}
	return nil
}
