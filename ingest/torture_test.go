package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

// Torture tests (`make torture`), skipped unless PWNDEX_TORTURE is "short"
// or "full"; each prints TORTURE<TAB>test<TAB>runs<TAB>survived<TAB>figure.

func tortureRuns(t *testing.T, short, full int) int {
	t.Helper()
	switch os.Getenv("PWNDEX_TORTURE") {
	case "short":
		return short
	case "full":
		return full
	}
	t.Skip("torture test: set PWNDEX_TORTURE=short or full (make torture)")
	return 0
}

func tortureRow(t *testing.T, runs, survived int, figure string) {
	t.Helper()
	fmt.Printf("TORTURE\t%s\t%d\t%d\t%s\n", t.Name(), runs, survived, figure)
	if survived != runs {
		t.Errorf("%d of %d runs did not survive", runs-survived, runs)
	}
}

// startChild starts a child ingest (see childMain) without waiting.
func startChild(t *testing.T, spec childSpec) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// exitOf returns a finished child's exit code, -1 for a signal.
func exitOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestTortureKillIngest kills a real two-commit ingest (a Pwned Passwords
// file, then a breach) with SIGKILL at random moments, one to three times
// in a row; after each kill a reader opens the index read-only and checks
// it (readers never need the writer's lock or write access); then the same
// command runs to the end and the index must equal a clean run's.
func TestTortureKillIngest(t *testing.T) {
	runs := tortureRuns(t, 4, 40)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	dir := t.TempDir()
	nHIBP, nCombo := 40_000, 3_000
	if os.Getenv("PWNDEX_TORTURE") == "full" {
		nHIBP, nCombo = 200_000, 9_000
	}
	if raceEnabled {
		nHIBP, nCombo = 20_000, 2_000
	}
	hibp, combo, manifest := writeKillInputs(t, dir, nHIBP, nCombo)
	spec := func(ix string) childSpec {
		return childSpec{Index: ix, Inputs: []string{hibp, combo}, Manifest: manifest, Compress: true}
	}
	var emails []index.Hash
	for i := 0; i < nCombo; i += 97 {
		emails = append(emails, emailHash(t, fmt.Sprintf("user%d@exemple%d.fr", i, i%7)))
	}
	cleanDir := filepath.Join(dir, "clean")
	start := time.Now()
	runChild(t, spec(cleanDir), 0)
	cleanTime := time.Since(start)
	want := snapshot(t, cleanDir, emails)

	survived, kills, attempts, midway := 0, 0, 0, 0
	for i := range runs {
		ixDir := filepath.Join(dir, fmt.Sprintf("killed-%d", i))
		ok := true
		for range 1 + rng.IntN(3) {
			attempts++
			cmd, _ := startChild(t, spec(ixDir))
			time.Sleep(time.Duration(rng.Int64N(int64(cleanTime))))
			cmd.Process.Kill()
			if exitOf(cmd.Wait()) == -1 {
				kills++
			}
			// A reader, between the kill and the rerun.
			ix, err := index.Open(index.Options{Dir: ixDir, ReadOnly: true, Lenient: true})
			if err != nil {
				if _, serr := os.Stat(filepath.Join(ixDir, "meta")); serr == nil {
					t.Logf("run %d: reader cannot open after a kill: %v", i, err)
					ok = false
				}
				continue
			}
			rep, err := ix.Check(context.Background())
			if err != nil || !rep.OK() {
				t.Logf("run %d: check after a kill: %v %v", i, err, rep.Problems)
				ok = false
			}
			if n := ix.Meta().Counts[index.KindSHA1]; n != 0 && len(ix.Breaches()) == 0 {
				midway++ // killed between the two commits
			}
			ix.Close()
		}
		runChild(t, spec(ixDir), 0)
		if got := snapshot(t, ixDir, emails); got != want {
			t.Logf("run %d: index after kills and rerun differs from a clean run", i)
			ok = false
		}
		if ok {
			survived++
		}
		os.RemoveAll(ixDir)
	}
	tortureRow(t, runs, survived, fmt.Sprintf("%d SIGKILLs landed (%d tried) at random times in a %s ingest, %d between its two commits; reader check after each, reruns equal a clean run",
		kills, attempts, cleanTime.Round(time.Millisecond), midway))
}

// TestTortureChangingInput truncates, appends to or rewrites a Pwned
// Passwords file at a random moment of its ingest. A run survives when the
// ingest either refuses (exit 2, "changed", index unchanged, and a rerun
// on the now stable file then gives a clean index of it), or commits an
// index equal to a clean ingest of one of the two versions of the file.
func TestTortureChangingInput(t *testing.T) {
	runs := tortureRuns(t, 6, 50)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	dir := t.TempDir()
	n := 60_000
	if raceEnabled {
		n = 20_000
	}
	orig, _, _ := writeKillInputs(t, dir, n, 10)
	origData, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	var cleanTime time.Duration // of the ingest process alone
	cleanOf := func(data []byte, name string) string {
		p := filepath.Join(dir, name+".txt")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ixDir := filepath.Join(dir, name+"-clean")
		start := time.Now()
		runChild(t, childSpec{Index: ixDir, Inputs: []string{p}, Compress: true}, 0)
		cleanTime = time.Since(start)
		s := snapshot(t, ixDir, nil)
		os.RemoveAll(ixDir)
		return s
	}
	want0 := cleanOf(origData, "v0")
	ingestTime := cleanTime
	empty := snapshot(t, filepath.Join(dir, "empty"), nil)

	survived, refused, committed := 0, 0, 0
	for i := range runs {
		in := filepath.Join(dir, fmt.Sprintf("input-%d.txt", i))
		if err := os.WriteFile(in, origData, 0o644); err != nil {
			t.Fatal(err)
		}
		var v1 []byte
		var how string
		switch rng.IntN(3) {
		case 0:
			how = "truncated"
			v1 = origData[:rng.IntN(len(origData))]
		case 1:
			how = "appended"
			extra, _, _ := writeKillInputs(t, t.TempDir(), 200, 1)
			e, _ := os.ReadFile(extra)
			v1 = append(bytes.Clone(origData), e...)
		default:
			how = "rewritten"
			v1 = bytes.Clone(origData)
			j := rng.IntN(len(v1) / 46)
			v1[j*46] = "0123456789ABCDEF"[rng.IntN(16)]
		}
		ixDir := filepath.Join(dir, fmt.Sprintf("ix-%d", i))
		cmd, out := startChild(t, childSpec{Index: ixDir, Inputs: []string{in}, Compress: true})
		time.Sleep(time.Duration(rng.Int64N(int64(ingestTime) * 2 / 3)))
		if err := os.WriteFile(in, v1, 0o644); err != nil {
			t.Fatal(err)
		}
		code := exitOf(cmd.Wait())
		got := snapshot(t, ixDir, nil)
		ok := false
		switch {
		case code == 2 && strings.Contains(out.String(), "changed"):
			refused++
			if got != empty {
				t.Logf("run %d (%s): refused but the index changed", i, how)
				break
			}
			runChild(t, childSpec{Index: ixDir, Inputs: []string{in}, Compress: true}, 0)
			ok = snapshot(t, ixDir, nil) == cleanOf(v1, fmt.Sprintf("v1-%d", i))
			if !ok {
				t.Logf("run %d (%s): rerun differs from a clean ingest", i, how)
			}
		case code == 0:
			committed++
			ok = got == want0 || got == cleanOf(v1, fmt.Sprintf("v1-%d", i))
			if !ok {
				t.Logf("run %d (%s): committed an index that matches neither version of the file", i, how)
			}
		default:
			t.Logf("run %d (%s): exit %d: %s", i, how, code, out.String())
		}
		if ok {
			survived++
		}
		os.RemoveAll(ixDir)
	}
	tortureRow(t, runs, survived, fmt.Sprintf("file changed at a random moment of a %s ingest: %d refused as changed (exit 2, index unchanged, rerun clean), %d committed, each equal to a clean ingest of one version", ingestTime.Round(time.Millisecond), refused, committed))
}
