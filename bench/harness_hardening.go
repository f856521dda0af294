package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// Rows of the range checksum case (issue 14): the cost of verifying a
// dense bucket's checksum, beside the minimal fasthttp baseline's cost of
// one request measured in the same run. Under 10% would allow verifying on
// every read; above it the index verifies each bucket once per process.
const (
	rowChecksum      = "range checksum, xxhash64 of a dense bucket"
	rowChecksumRatio = "range checksum / baseline request"
)

// checksumCase is the bench case of the range checksum rows.
func checksumCase() *benchCase {
	return &benchCase{
		name: "serve/checksum",
		rows: []Row{
			{Name: rowChecksum, Unit: "µs"},
			{Name: rowChecksumRatio, Unit: "ratio"},
		},
		run: runChecksumBench,
	}
}

// runChecksumBench measures the checksum of a dense bucket, then the
// baseline server's request rate (one core) over a body of the same size.
func runChecksumBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.denseFixture()
	if err != nil {
		return nil, err
	}
	r, err := benchRunTB(rowChecksum, func(b *testing.B) { BucketChecksum(b, f.ix, f.kind, f.prefixes) })
	if err != nil {
		return nil, err
	}
	ns := benchNsPerOp(r)
	body, _ := f.ix.PasswordRange(f.kind, f.prefixes[0], index.Identity)
	bodyFile := filepath.Join(e.dir, "checksum-baseline-body.txt")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, err
	}
	srv, err := e.startServer("serve-baseline", f, bodyFile)
	if err != nil {
		return nil, err
	}
	lr, err := e.load(srv.addr, false, "", f.prefixes)
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rowChecksumRatio, err)
	}
	perReq := 1e9 / lr.ReqPerSec // ns of one request on the baseline's one core
	ratio := ns / perReq
	design := "under 0.10: could verify on every read"
	if ratio >= 0.10 {
		design = "0.10 or more: verified once per bucket per process"
	}
	return map[string]benchMeasure{
		rowChecksum:      {value: ns / 1e3, note: fmt.Sprintf("%.1f KB body, %.1f GB/s", float64(r.Bytes)/1e3, float64(r.Bytes)/ns)},
		rowChecksumRatio: {value: ratio, note: fmt.Sprintf("baseline %.0f req/s = %.1f µs/req; %s", lr.ReqPerSec, perReq/1e3, design)},
	}, nil
}
