package bench

import (
	"fmt"
	"os"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/ingest"
)

// Issue 15: the whole Pwned Passwords corpus on one commodity machine.
const benchTargetBytesPerHash = 45 // bytes on disk per hash, every file of the index

const (
	rowFootprint     = "disk per hash, HIBP ingest (CLI default, no copies)"
	rowFootprintComp = "disk per hash, HIBP ingest, gzip+brotli (--compress)"
)

// footprintCase measures the bytes on disk per hash of a Pwned Passwords
// ingest: every file under the index directory (generation, filter, range
// files, metadata), with and without the precomputed compressed copies.
func footprintCase() *benchCase {
	return &benchCase{
		name: "ingest/footprint",
		once: true, // deterministic sizes; two full ingests
		rows: []Row{
			{Name: rowFootprint, Unit: "bytes/hash", Goal: AtMost, Target: benchTargetBytesPerHash},
			{Name: rowFootprintComp, Unit: "bytes/hash"},
		},
		run: runFootprintBench,
	}
}

func runFootprintBench(e *benchEnv) (map[string]benchMeasure, error) {
	file, err := e.hibpInput()
	if err != nil {
		return nil, err
	}
	res := map[string]benchMeasure{}
	for _, c := range []struct {
		row      string
		compress bool
	}{{rowFootprint, false}, {rowFootprintComp, true}} {
		n, files, elapsed, err := footprintIngest(e, file, c.compress)
		if err != nil {
			return nil, err
		}
		res[c.row] = benchMeasure{value: float64(n) / float64(e.keys),
			note: fmt.Sprintf("%d hashes, %d files, %.1f MB, ingest %.1fs (%.0f hashes/s)", e.keys, files,
				float64(n)/1e6, elapsed.Seconds(), float64(e.keys)/elapsed.Seconds())}
	}
	return res, nil
}

// footprintIngest ingests file into a fresh index and returns its bytes on
// disk (allocated blocks, each file once, as du counts them), its number of files and the
// ingest's wall time.
func footprintIngest(e *benchEnv, file string, compress bool) (bytes int64, files int, elapsed time.Duration, err error) {
	dir, err := os.MkdirTemp(e.dir, "footprint-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		return 0, 0, 0, err
	}
	sum, err := ingest.Run(e.ctx, ix, ingest.Config{Inputs: []string{file}, Format: ingest.FormatHIBP, Kind: index.KindSHA1, Compress: compress}, nil)
	if cerr := ix.Close(); err == nil {
		err = cerr
	}
	elapsed = time.Since(start)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(sum.Jobs) != 1 || sum.Jobs[0].Records["sha1"] != uint64(e.keys) {
		return 0, 0, 0, fmt.Errorf("ingest of %d hashes reported %+v", e.keys, sum.Jobs)
	}
	if bytes, files, err = treeDiskBytes(dir); err != nil {
		return 0, 0, 0, err
	}
	return bytes, files, elapsed, nil
}
