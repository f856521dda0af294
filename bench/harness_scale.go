package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Issue 15: an ingest at scale (`pwndex bench --only ingest/scale --keys
// 100000000`), not in the default run: the CLI's ingest of the generated
// Pwned Passwords file in a child process, with its wall time, its peak
// anonymous RSS (RssAnon sampled from /proc, not the file-backed pages of
// the input and the index), its bytes on disk per hash, and the linear
// extrapolation to the ~2 billion hashes of the real corpus.
const (
	rowScaleRate    = "ingest at scale (--keys), CLI default"
	rowScaleRSS     = "ingest at scale, peak RssAnon"
	rowScaleDisk    = "ingest at scale, disk per hash"
	rowScale2BDisk  = "ingest at scale, extrapolated disk at 2B hashes"
	rowScale2BTime  = "ingest at scale, extrapolated wall time at 2B"
	rowScaleDiskRef = "sequential write + fsync, 1 GiB (reference)"

	benchTargetScaleRSSMiB = 1024
	corpusHashes           = 2_000_000_000
)

func scaleCase() *benchCase {
	return &benchCase{
		name:  "ingest/scale",
		once:  true,
		optIn: true,
		rows: []Row{
			{Name: rowScaleRate, Unit: "hashes/s"},
			{Name: rowScaleRSS, Unit: "MiB", Goal: AtMost, Target: benchTargetScaleRSSMiB},
			{Name: rowScaleDisk, Unit: "bytes/hash", Goal: AtMost, Target: benchTargetBytesPerHash},
			{Name: rowScale2BDisk, Unit: "GB"},
			{Name: rowScale2BTime, Unit: "minutes"},
			{Name: rowScaleDiskRef, Unit: "MB/s"},
		},
		run: runScaleBench,
	}
}

func runScaleBench(e *benchEnv) (map[string]benchMeasure, error) {
	exe := e.exe
	if exe == "" {
		x, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("ingest/scale needs the pwndex binary: %w", err)
		}
		exe = x
	}
	file, err := e.hibpInput()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(e.dir, "scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(e.ctx, exe, "ingest", "--quiet", "--no-private", "--index", dir, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ingest: %w", err)
	}
	peakKB := int64(0)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			if kb, ok := rssAnonKB(status); ok && kb > peakKB {
				peakKB = kb
			}
		}
	}
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	disk, _, err := treeDiskBytes(dir)
	if err != nil {
		return nil, err
	}
	ref, err := writeReference(dir, 1<<30)
	if err != nil {
		return nil, err
	}
	n := float64(e.keys)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	perHash := float64(disk) / n
	note := fmt.Sprintf("%d hashes in %.1fs, %.1f CPU-s", e.keys, elapsed.Seconds(), cpu.Seconds())
	rssNote := "sampled every 200 ms from /proc/PID/status"
	if peakKB == 0 {
		rssNote = "no /proc on this system"
	}
	return map[string]benchMeasure{
		rowScaleRate:    {value: n / elapsed.Seconds(), note: note},
		rowScaleRSS:     {value: float64(peakKB) / 1024, note: rssNote},
		rowScaleDisk:    {value: perHash, note: fmt.Sprintf("%.2f GB", float64(disk)/1e9)},
		rowScale2BDisk:  {value: perHash * corpusHashes / 1e9, note: "linear in hashes"},
		rowScale2BTime:  {value: elapsed.Minutes() * corpusHashes / n, note: "linear in hashes, same machine load"},
		rowScaleDiskRef: {value: ref, note: fmt.Sprintf("writing the index alone at this speed: %.1fs", float64(disk)/1e6/ref)},
	}, nil
}

// writeReference writes n zero bytes to a file in dir, fsyncs it, removes
// it and returns the speed in MB/s: the disk's pace at that moment, beside
// which an ingest's wall time reads.
func writeReference(dir string, n int) (float64, error) {
	f, err := os.CreateTemp(dir, "write-reference-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 1<<20)
	start := time.Now()
	for w := 0; w < n; w += len(buf) {
		if _, err := f.Write(buf); err != nil {
			return 0, fmt.Errorf("write reference: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("write reference: %w", err)
	}
	return float64(n) / 1e6 / time.Since(start).Seconds(), nil
}

// rssAnonKB reads RssAnon (kB) from a /proc/PID/status file.
func rssAnonKB(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}
