package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pwndex/pwndex/quality/testgen"
)

// Row names of the vet benchmark.
const (
	rowVetRate = "vet French contact file (Windows-1252)"
	rowVetRSS  = "vet peak RSS"
)

// benchSeedVet seeds the generated contact file.
const benchSeedVet = 4

// Targets of the vet benchmark (issue text): at least 100k rows/s on the
// machine's 2 cores with phone validation, peak RSS under 300 MB.
const (
	benchTargetVetRate   = 100_000
	benchTargetVetRSSMiB = 300e6 / (1 << 20) // 300 MB = 286 MiB
)

// vetInput generates (once) the dirty French contact file of the vet
// benchmark with quality's generator.
func (e *benchEnv) vetInput() (string, error) {
	path := filepath.Join(e.dir, fmt.Sprintf("contacts-%d.csv", e.vetRows))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	fmt.Fprintf(e.log, "bench: generating %d contact rows\n", e.vetRows)
	err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := testgen.GenerateContacts(w, e.vetRows, benchSeedVet, testgen.Windows1252)
		return err
	})
	return path, err
}

// runVetBench runs `pwndex vet` on the generated file the way a user does:
// the pwndex binary as a child process, whose peak RSS the kernel reports
// (ProcessState rusage), rows/s from the wall time. Only inside a test
// binary, which cannot run subcommands, does it run vet in-process (the RSS
// is then the whole test process's). The note gives the child's CPU time:
// on a shared machine rows per CPU-second is the steadier figure.
func runVetBench(e *benchEnv) (map[string]benchMeasure, error) {
	file, err := e.vetInput()
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp(e.dir, "vet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	args := []string{"vet", "--out", out, "--now", testgen.Now.Format("2006-01-02"), file}
	var (
		elapsed time.Duration
		rssKB   int64
		note    string
		cpuNote string
	)
	exe := e.exe
	if exe == "" && !testing.Testing() {
		if x, err := os.Executable(); err == nil {
			exe = x
		}
	}
	if exe == "" {
		start := time.Now()
		var stderr strings.Builder
		code := e.runCommand(args, io.Discard, &stderr)
		elapsed = time.Since(start)
		if code != 0 && code != 1 {
			return nil, fmt.Errorf("vet exited %d: %s", code, strings.TrimSpace(stderr.String()))
		}
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
			rssKB = ru.Maxrss
		}
		note = "in-process: RSS of the whole process"
	} else {
		cmd := exec.CommandContext(e.ctx, exe, args...)
		peakFile := filepath.Join(out, "peak-rss")
		cmd.Env = append(os.Environ(), "PWNDEX_PEAKRSS_FILE="+peakFile)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		elapsed = time.Since(start)
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
			return nil, fmt.Errorf("vet: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		// The child's own high-water mark (VmHWM): rusage Maxrss of a
		// child started with CLONE_VM includes this process's peak.
		note = "child process pwndex vet, its VmHWM"
		hwm, err := os.ReadFile(peakFile)
		if err != nil {
			return nil, fmt.Errorf("vet: peak RSS not recorded: %w", err)
		}
		if _, err := fmt.Sscanf(strings.TrimPrefix(string(hwm), "VmHWM:"), "%d", &rssKB); err != nil {
			return nil, fmt.Errorf("vet: peak RSS %q: %w", hwm, err)
		}
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if cpu > 0 {
			cpuNote = fmt.Sprintf(", CPU %.1fs (%.0fk rows per CPU-second)", cpu.Seconds(), float64(e.vetRows)/cpu.Seconds()/1000)
		}
	}
	return map[string]benchMeasure{
		rowVetRate: {value: float64(e.vetRows) / elapsed.Seconds(), note: fmt.Sprintf("%d rows in %.1fs%s", e.vetRows, elapsed.Seconds(), cpuNote)},
		rowVetRSS:  {value: float64(rssKB) / 1024, note: note},
	}, nil
}
