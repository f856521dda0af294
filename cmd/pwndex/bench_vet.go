package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// vetInput generates (once) the dirty French contact file of the vet
// benchmark with quality's generator.
func (e *benchEnv) vetInput() (string, error) {
	path := filepath.Join(e.dir, fmt.Sprintf("contacts-%d.csv", e.vetRows))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	fmt.Fprintf(e.log, "bench: generating %d contact rows\n", e.vetRows)
	err := benchWriteFile(path, func(w io.Writer) error {
		_, err := testgen.GenerateContacts(w, e.vetRows, benchSeedVet, testgen.Windows1252)
		return err
	})
	return path, err
}

// runVetBench runs `pwndex vet` on the generated file: as a child process
// (whose peak RSS the kernel reports) in full runs, in-process with --quick.
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
	)
	if e.exe == "" {
		start := time.Now()
		var stderr strings.Builder
		code := cmdVet(e.ctx, args[1:], nil, io.Discard, &stderr)
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
		cmd := exec.CommandContext(e.ctx, e.exe, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		elapsed = time.Since(start)
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
			return nil, fmt.Errorf("vet: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rssKB = ru.Maxrss
		}
		note = "child process pwndex vet"
	}
	return map[string]benchMeasure{
		rowVetRate: {value: float64(e.vetRows) / elapsed.Seconds(), note: fmt.Sprintf("%d rows in %.1fs", e.vetRows, elapsed.Seconds())},
		rowVetRSS:  {value: float64(rssKB) / 1024, note: note},
	}, nil
}
