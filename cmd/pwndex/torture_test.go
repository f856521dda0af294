package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

// Torture tests (`make torture`): long randomised fault runs, skipped
// unless PWNDEX_TORTURE is "short" (CI) or "full". Each prints one result
// row, TORTURE<TAB>test<TAB>runs<TAB>survived<TAB>figure, which the
// Makefile gathers into a table.

// tortureRuns returns the number of runs for the level, or skips.
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

// mainHelperEnv makes TestMainHelper run `pwndex` with the given
// arguments (separated by \x1f) as a separate process.
const mainHelperEnv = "PWNDEX_MAIN_HELPER"

func TestMainHelper(t *testing.T) {
	args := os.Getenv(mainHelperEnv)
	if args == "" {
		t.Skip("helper process only")
	}
	os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
}

// procResult is how a pwndex process ended.
type procResult struct {
	code     int // exit code, -1 when killed by a signal
	signal   string
	stdout   string
	stderr   string
	duration time.Duration
}

func (r procResult) crashed() bool {
	return r.code == -1 || strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:")
}

// startPwndex starts `pwndex args...` as a child process.
func startPwndex(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, error) {
	cmd := pwndexCmd(args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	return cmd, &o, &e, cmd.Start()
}

// pwndexCmd is the command running `pwndex args...` in a child process
// (this test binary, through TestMainHelper), not started.
func pwndexCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainHelper$")
	cmd.Env = append(os.Environ(), mainHelperEnv+"="+strings.Join(args, "\x1f"))
	return cmd
}

func waitPwndex(cmd *exec.Cmd, o, e *bytes.Buffer, start time.Time) procResult {
	err := cmd.Wait()
	r := procResult{stdout: o.String(), stderr: e.String(), duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code, r.signal = -1, ws.Signal().String()
		} else {
			r.code = ee.ExitCode()
		}
	default:
		r.code, r.signal = -1, err.Error()
	}
	return r
}

// pwndex runs `pwndex args...` in a child process to completion.
func pwndex(t *testing.T, args ...string) procResult {
	t.Helper()
	start := time.Now()
	cmd, o, e, err := startPwndex(args...)
	if err != nil {
		t.Fatal(err)
	}
	return waitPwndex(cmd, o, e, start)
}

// TestTortureFullDisk fills a small tmpfs to a random level, before or
// during an ingest (or a key creation) of a random size, and wants every
// run to end with exit 0 and a consistent index, or exit 3 with one line
// naming the directory, the index as it was and check passing. A SIGBUS
// (Badger writing through a memory map) counts as a crash. A filler
// running during the command grows like another process's files, 1 MiB
// every 2 ms (500 MiB/s); one that took all free space in a single step
// at the moment Badger maps a table can still crash pwndex (see
// index/space.go) and is not part of this test.
func TestTortureFullDisk(t *testing.T) {
	runs := tortureRuns(t, 8, 60)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	src := t.TempDir()
	small := writeHIBP(t, src, "small-sha1.txt", 3000, 40, 1)
	inputs := []string{
		writeHIBP(t, src, "ntlm-2k.txt", 2000, 32, 2),
		writeHIBP(t, src, "ntlm-60k.txt", 60000, 32, 3),
		writeHIBP(t, src, "ntlm-250k.txt", 250000, 32, 4),
	}
	survived, refused, committed, during, crashes := 0, 0, 0, 0, 0
	var failures []string
	for i := range runs {
		ok := func() bool {
			mnt := mountTmpfs(t, "160m")
			dir := filepath.Join(mnt, "data")
			if r := pwndex(t, "ingest", "--index", dir, "--quiet", small); r.code != 0 {
				failures = append(failures, fmt.Sprintf("run %d: base ingest: %d %s", i, r.code, r.stderr))
				return false
			}
			want := readRange(t, dir, small)
			leave := uint64(rng.IntN(140 << 20))
			concurrent := rng.IntN(2) == 0
			in := inputs[rng.IntN(len(inputs))]
			args := []string{"ingest", "--index", dir, "--quiet", in}
			if rng.IntN(4) == 0 {
				args = []string{"keys", "add", "--index", dir, fmt.Sprintf("key-%d", i)}
			}
			var r procResult
			if concurrent {
				during++
				start := time.Now()
				cmd, o, e, err := startPwndex(args...)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
				fillGradually(t, mnt, int64(leave))
				r = waitPwndex(cmd, o, e, start)
			} else {
				fill(t, mnt, int64(leave))
				r = pwndex(t, args...)
			}
			desc := fmt.Sprintf("run %d (%s, leave %d MiB, concurrent %v)", i, filepath.Base(args[len(args)-1]), leave>>20, concurrent)
			switch {
			case r.crashed():
				crashes++
				failures = append(failures, fmt.Sprintf("%s: crashed (%s): %.300s", desc, r.signal, r.stderr))
				return false
			case r.code == 3:
				if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, mnt) {
					failures = append(failures, fmt.Sprintf("%s: exit 3 without one line naming the directory: %q", desc, r.stderr))
					return false
				}
				refused++
			case r.code == 0:
				committed++
			default:
				failures = append(failures, fmt.Sprintf("%s: exit %d: %s", desc, r.code, r.stderr))
				return false
			}
			if c := pwndex(t, "check", "--index", dir); c.code != 0 {
				failures = append(failures, fmt.Sprintf("%s: check exit %d: %s%s", desc, c.code, c.stdout, c.stderr))
				return false
			}
			if r.code == 3 && readRange(t, dir, small) != want {
				failures = append(failures, desc+": index changed by a refused command")
				return false
			}
			return true
		}()
		if ok {
			survived++
		}
	}
	for _, f := range failures {
		t.Log(f)
	}
	tortureRow(t, runs, survived, fmt.Sprintf("%d refused cleanly (exit 3, one line), %d completed, %d crashed (SIGBUS); %d filled during the command", refused, committed, crashes, during))
}

// TestTortureByteFlips flips one random byte of one random file of a real
// index (every kind of file: range bodies, compressed bodies, binary
// records, filters, Badger tables, manifests, key registries, value logs,
// discard files, checksum lists, the metadata store) and wants `pwndex
// check` to report it (exit 1, or 2 when the index cannot be opened at
// all) without crashing.
func TestTortureByteFlips(t *testing.T) {
	runs := tortureRuns(t, 32, 600)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 41))
	src := t.TempDir()
	tmpl := filepath.Join(t.TempDir(), "template")
	if r := pwndex(t, "ingest", "--index", tmpl, "--quiet", writeHIBP(t, src, "sha1.txt", 20000, 40, 9)); r.code != 0 {
		t.Fatalf("ingest: %s", r.stderr)
	}
	if r := pwndex(t, "bench", "gen", "--kind", "dump", "--name", "Flip", "--n", "3000", "--seed", "3", "--out", filepath.Join(src, "dump")); r.code != 0 {
		t.Fatalf("gen: %s", r.stderr)
	}
	if r := pwndex(t, "ingest", "--index", tmpl, "--quiet", "--manifest", filepath.Join(src, "dump", "manifest.json"),
		filepath.Join(src, "dump", "Flip.csv"), filepath.Join(src, "dump", "Flip-combo.txt")); r.code != 0 {
		t.Fatalf("ingest dump: %s", r.stderr)
	}
	if r := pwndex(t, "keys", "add", "--index", tmpl, "k"); r.code != 0 {
		t.Fatalf("keys: %s", r.stderr)
	}
	if r := pwndex(t, "check", "--index", tmpl); r.code != 0 {
		t.Fatalf("clean index fails check: %s%s", r.stdout, r.stderr)
	}
	// Files by kind: the generation's kind prefix is dropped, so that each
	// kind of file is drawn equally often.
	byKind := map[string][]string{}
	filepath.WalkDir(tmpl, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmpl, p)
		base := filepath.Base(rel)
		if strings.HasSuffix(base, ".sst") || strings.HasSuffix(base, ".vlog") || strings.HasSuffix(base, ".mem") {
			base = "*" + filepath.Ext(base)
		}
		where := "gen"
		if strings.HasPrefix(rel, "meta") {
			where = "meta"
		}
		byKind[where+"/"+base] = append(byKind[where+"/"+base], rel)
		return nil
	})
	var kinds []string
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	found := map[string]int{}
	tried := map[string]int{}
	survived := 0
	var failures []string
	for i := range runs {
		kind := kinds[rng.IntN(len(kinds))]
		rel := byKind[kind][rng.IntN(len(byKind[kind]))]
		work := filepath.Join(t.TempDir(), "ix")
		if err := os.CopyFS(work, os.DirFS(tmpl)); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(work, rel)
		fi, err := os.Stat(p)
		if err != nil || fi.Size() == 0 {
			continue
		}
		off := rng.Int64N(fi.Size())
		flipByte(t, p, off, byte(1+rng.IntN(255)))
		tried[kind]++
		r := pwndex(t, "check", "--index", work)
		switch {
		case r.crashed():
			failures = append(failures, fmt.Sprintf("run %d: %s at %d: check crashed: %.300s", i, rel, off, r.stderr))
		case r.code == 1 || r.code == 2:
			found[kind]++
			survived++
		default:
			failures = append(failures, fmt.Sprintf("run %d: %s at %d of %d: check exit %d, flip not found", i, rel, off, fi.Size(), r.code))
		}
		os.RemoveAll(work)
	}
	for _, f := range failures {
		t.Log(f)
	}
	var parts []string
	for _, k := range kinds {
		if tried[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", k, found[k], tried[k]))
		}
	}
	total := 0
	for _, n := range tried {
		total += n
	}
	tortureRow(t, total, survived, fmt.Sprintf("flips found by check, %d file kinds: %s", len(kinds), strings.Join(parts, ", ")))
}

// fillGradually grows a filler file by 1 MiB every 2 ms until about leave
// bytes are free.
func fillGradually(t *testing.T, dir string, leave int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		free := int64(st.Bavail) * st.Bsize
		if free <= leave {
			return
		}
		if _, err := f.Write(chunk[:min(int64(len(chunk)), free-leave)]); err != nil {
			return // ENOSPC: full
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func flipByte(t *testing.T, p string, off int64, x byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= x
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// TestTortureKillAudit kills a local audit with SIGKILL at random moments,
// one to three times, resumes it, and wants the outputs of a clean run.
func TestTortureKillAudit(t *testing.T) {
	runs := tortureRuns(t, 3, 30)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	ixDir := t.TempDir()
	if err := audBuildIndex(ixDir); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "big.csv")
	var b strings.Builder
	b.WriteString("id;email;mobile\n")
	for i := 0; i < audBigN; i++ {
		fmt.Fprintf(&b, "%d;User%d@Example.com;\n", i, i)
		if i%997 == 0 {
			b.WriteString("x;not an email;\n")
		}
	}
	os.WriteFile(in, []byte(b.String()), 0o644)
	clean := filepath.Join(dir, "clean")
	start := time.Now()
	if code, _, stderr := audRun(t, "--index", ixDir, "--out", clean, in); code != 0 {
		t.Fatalf("clean run: exit %d: %s", code, stderr)
	}
	cleanTime := time.Since(start)
	want := audReadOut(t, clean)
	survived, kills := 0, 0
	for i := range runs {
		out := filepath.Join(dir, fmt.Sprintf("run-%d", i))
		args := []string{"--index", ixDir, "--out", out, "--checkpoint-every", "1000", in}
		for range 1 + rng.IntN(3) {
			cmd := audStartHelper(t, args...)
			time.Sleep(time.Duration(rng.Int64N(int64(cleanTime) + int64(50*time.Millisecond))))
			cmd.Process.Kill()
			cmd.Wait()
			kills++
		}
		code, _, stderr := audRun(t, args...)
		if code != 0 {
			t.Logf("run %d: resume exit %d: %s", i, code, stderr)
			continue
		}
		got := audReadOut(t, out)
		same := true
		for name := range want {
			if got[name] != want[name] {
				same = false
				t.Logf("run %d: %s differs from a clean run", i, name)
			}
		}
		if same {
			survived++
		}
	}
	tortureRow(t, runs, survived, fmt.Sprintf("%d SIGKILLs at random times (clean run %s), resumed outputs equal a clean run", kills, cleanTime.Round(time.Millisecond)))
}

// TestTortureKillPrivate kills an ingest with SIGKILL at a random moment
// (half of the runs within its clean duration, half within the private
// step that follows its commit), then runs `pwndex repair` and wants exit 0, check
// clean, and, when the killed ingest had committed its breach, the private
// files (oprf.key, private/*) byte for byte those of a clean ingest under
// the same key: repair alone completes an interrupted private step. When
// the breach was not committed, the ingest run again must give them.
func TestTortureKillPrivate(t *testing.T) {
	runs := tortureRuns(t, 6, 40)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 97))
	src := t.TempDir()
	var dumps [2][]string
	for i, n := range []string{"Base", "Next"} {
		out := filepath.Join(src, n)
		if r := pwndex(t, "bench", "gen", "--kind", "dump", "--name", n, "--n", fmt.Sprint(2000+2000*i), "--seed", fmt.Sprint(11+i), "--out", out); r.code != 0 {
			t.Fatalf("gen: %s", r.stderr)
		}
		dumps[i] = []string{"--manifest", filepath.Join(out, "manifest.json"), filepath.Join(out, n+".csv"), filepath.Join(out, n+"-combo.txt")}
	}
	tmpl := filepath.Join(t.TempDir(), "template")
	if r := pwndex(t, append([]string{"ingest", "--index", tmpl, "--quiet"}, dumps[0]...)...); r.code != 0 {
		t.Fatalf("base ingest: %s", r.stderr)
	}
	ingestNext := func(dir string) []string {
		return append([]string{"ingest", "--index", dir, "--quiet"}, dumps[1]...)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if err := os.CopyFS(ref, os.DirFS(tmpl)); err != nil {
		t.Fatal(err)
	}
	r := pwndex(t, append([]string{"ingest", "--index", ref}, dumps[1]...)...)
	if r.code != 0 {
		t.Fatalf("clean ingest: %s", r.stderr)
	}
	clean := r.duration
	// Half of the kills land at a random moment of the private step.
	var priv time.Duration
	if i := strings.Index(r.stderr, "private lookup values up to date ("); i >= 0 {
		rest := r.stderr[i+len("private lookup values up to date ("):]
		priv, _ = time.ParseDuration(rest[:strings.Index(rest, ")")])
	}
	if priv <= 0 {
		t.Fatalf("clean ingest does not tell its private step's duration: %s", r.stderr)
	}
	want := privateFiles(t, ref)
	survived, byRepair, byIngest, inPrivate := 0, 0, 0, 0
	var failures []string
	for i := range runs {
		work := filepath.Join(t.TempDir(), "ix")
		if err := os.CopyFS(work, os.DirFS(tmpl)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			start := time.Now()
			cmd, o, e, err := startPwndex(ingestNext(work)...)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(clean))))
			cmd.Process.Kill()
			waitPwndex(cmd, o, e, start)
		} else {
			killInPrivateStep(t, time.Duration(rng.Int64N(int64(priv))), ingestNext(work)...)
		}
		rp := pwndex(t, "repair", "--index", work)
		if rp.code != 0 {
			failures = append(failures, fmt.Sprintf("run %d: repair exit %d: %s%s", i, rp.code, rp.stdout, rp.stderr))
			continue
		}
		if c := pwndex(t, "check", "--index", work); c.code != 0 {
			failures = append(failures, fmt.Sprintf("run %d: check after repair exit %d: %s", i, c.code, c.stdout))
			continue
		}
		// Repair alone completes a committed ingest; an uncommitted one
		// is completed by running it again.
		if strings.Contains(rp.stdout, "not committed") {
			inPrivate++ // killed within the private step, after the commit
		}
		ix, err := index.Open(index.Options{Dir: work, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		_, committed := ix.BreachByName("Next")
		ix.Close()
		if committed {
			if got := privateFiles(t, work); !maps.Equal(got, want) {
				failures = append(failures, fmt.Sprintf("run %d: breach committed, but the private files after repair differ from a clean ingest (repair said: %s)", i, rp.stdout))
				continue
			}
			byRepair++
			survived++
			continue
		}
		if r := pwndex(t, ingestNext(work)...); r.code != 0 {
			failures = append(failures, fmt.Sprintf("run %d: ingest again after repair: exit %d: %s (repair said: %s)", i, r.code, r.stderr, rp.stdout))
			continue
		}
		if got := privateFiles(t, work); !maps.Equal(got, want) {
			failures = append(failures, fmt.Sprintf("run %d: private files differ from a clean ingest after repair and ingest", i))
			continue
		}
		byIngest++
		survived++
	}
	for _, f := range failures {
		t.Log(f)
	}
	tortureRow(t, runs, survived, fmt.Sprintf("SIGKILL within the clean ingest's %s (private step %s): %d completed by repair alone (%d of them killed in the private step), %d by the ingest run again; private files byte-identical to a clean ingest",
		clean.Round(time.Millisecond), priv.Round(time.Millisecond), byRepair, inPrivate, byIngest))
}

// privateFiles returns the private lookup files of the index in dir
// (oprf.key and private/*), name to content.
func privateFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(dir, "private", "*"))
	for _, p := range append(paths, filepath.Join(dir, "oprf.key")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// killInPrivateStep starts `pwndex args...` (an ingest), waits for its
// summary on stdout (printed after the commit, before the private step),
// then for after, and kills it with SIGKILL.
func killInPrivateStep(t *testing.T, after time.Duration, args ...string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := pwndexCmd(args...)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if fi, err := out.Stat(); err == nil && fi.Size() > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(after)
	cmd.Process.Kill()
	cmd.Wait()
}
