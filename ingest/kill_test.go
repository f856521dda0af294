package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// childEnv carries a childSpec to a re-executed test binary, which then
// runs one ingest like `pwndex ingest` and exits (see TestMain).
const childEnv = "PWNDEX_INGEST_TEST_CHILD"

// childSpec is the ingest a child process runs.
type childSpec struct {
	Index    string
	Inputs   []string
	Manifest string
	Compress bool
	// PauseAt, "job/event:n", makes the child print PAUSED and stop at the
	// n-th occurrence of a test hook event in the job-th job, so that the
	// parent's SIGKILL lands exactly there.
	PauseAt string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childMain(spec))
	}
	os.Exit(m.Run())
}

// childMain runs in the child process: open the index, ingest, exit with
// pwndex's exit codes.
func childMain(specJSON string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		return 3
	}
	var mu sync.Mutex
	job, counts := 0, map[string]int{}
	testHook = func(ev string) {
		mu.Lock()
		if ev == "build" {
			job++
			clear(counts)
		}
		counts[ev]++
		at := fmt.Sprintf("%d/%s:%d", job, ev, counts[ev])
		mu.Unlock()
		if at == spec.PauseAt {
			fmt.Println("PAUSED")
			os.Stdout.Sync()
			time.Sleep(time.Hour)
		}
	}
	ix, err := index.Open(index.Options{Dir: spec.Index})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open index:", err)
		return 3
	}
	defer ix.Close()
	sum, err := Run(context.Background(), ix, Config{Inputs: spec.Inputs, Manifest: spec.Manifest, Compress: spec.Compress}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		return 2
	}
	for _, j := range sum.Jobs {
		fmt.Printf("JOB %s %s\n", j.Target, j.Status)
	}
	return 0
}

// runChild runs one child ingest. With pauseAt it waits for the child to
// pause there and kills it with SIGKILL; with killAfter it kills it after
// that delay (the child may have finished by then). It returns the child's
// standard output.
func runChild(t *testing.T, spec childSpec, killAfter time.Duration) string {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var timer *time.Timer
	if killAfter > 0 {
		timer = time.AfterFunc(killAfter, func() { cmd.Process.Kill() })
	}
	var stdout strings.Builder
	sc := bufio.NewScanner(out)
	paused := false
	for sc.Scan() {
		stdout.WriteString(sc.Text() + "\n")
		if sc.Text() == "PAUSED" {
			paused = true
			cmd.Process.Kill() // SIGKILL
		}
	}
	err = cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	switch {
	case spec.PauseAt != "" && !paused:
		t.Fatalf("child never reached %s (err %v):\n%s%s", spec.PauseAt, err, stdout.String(), stderr.String())
	case spec.PauseAt == "" && killAfter == 0 && err != nil:
		t.Fatalf("child failed: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// writeKillInputs writes a sorted Pwned Passwords file of n lines and a
// combo list of m lines, with a manifest.
func writeKillInputs(t testing.TB, dir string, n, m int) (hibp, combo, manifest string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	hashes := make([][20]byte, n)
	for i := range hashes {
		for j := range hashes[i] {
			hashes[i][j] = byte(rng.Uint32())
		}
	}
	slices.SortFunc(hashes, func(a, b [20]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	hibp = filepath.Join(dir, "pwned-passwords-sha1.txt")
	f, err := os.Create(hibp)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, h := range hashes {
		fmt.Fprintf(w, "%X:%d\r\n", h, 1+rng.IntN(5000))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	combo = filepath.Join(dir, "combo.txt")
	var b strings.Builder
	for i := 0; i < m; i++ {
		fmt.Fprintf(&b, "user%d@exemple%d.fr:pw%d\n", rng.IntN(m), i%7, rng.IntN(m/4+1))
	}
	if err := os.WriteFile(combo, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest = filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(manifest, []byte(`{"Name":"KillTest","BreachDate":"2025-01-02","DataClasses":["Email addresses","Passwords"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return hibp, combo, manifest
}

// snapshot describes an index through its read API: catalog (without
// dates), record counts, every password range body (and a sample of the
// gzip ones), and
// the records of the combo list's addresses.
func snapshot(t *testing.T, dir string, emails []index.Hash) string {
	t.Helper()
	ix := openIndex(t, dir)
	defer ix.Close()
	rep, err := ix.Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("Check: %v", rep.Problems)
	}
	var b strings.Builder
	for _, br := range ix.Breaches() {
		fmt.Fprintf(&b, "breach %d %s %s %v\n", br.ID, br.Name, br.BreachDate, br.DataClasses)
	}
	for _, k := range index.Kinds {
		fmt.Fprintf(&b, "%s: %d records\n", k, ix.Meta().Counts[k])
	}
	for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		step := uint32(1)
		if raceEnabled {
			step = 16 // a sample: the race detector slows every read
		}
		for p := uint32(0); p < 1<<20; p += step {
			if body, _ := ix.PasswordRange(k, p, index.Identity); len(body) > 0 {
				fmt.Fprintf(&b, "%s %05X %s\n", k, p, body)
			}
			if p%4096 == 0 { // the compressed bodies of a sample of ranges
				body, ok := ix.PasswordRange(k, p, index.Gzip)
				fmt.Fprintf(&b, "gzip %s %05X %v %x\n", k, p, ok, body)
			}
		}
	}
	for i := range emails {
		e, ok, err := ix.Lookup(index.KindEmail, &emails[i])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "email %X %v %v\n", emails[i], ok, e.Breaches)
	}
	return b.String()
}

// TestKillAndRerunGivesCleanIndex kills a real ingest (a Pwned Passwords
// file and a breach combo list, two commits) with SIGKILL at several
// points, reruns the same command, and compares the index with the one a
// clean run gives.
func TestKillAndRerunGivesCleanIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	// The Pwned Passwords file is big enough for 24 "lines" events (one per
	// earlyCheckLines lines), the combo list for one.
	nHIBP, nCombo := 200_000, 9_000
	points := []string{
		"1/lines:12",    // mid-read of the Pwned Passwords file, writer streaming
		"1/write:20",    // the base generation is being written
		"1/committed:1", // first job committed, breach job not started
		"2/lines:1",     // mid-read of the combo list
		"2/write:20",    // breach generations being written during Commit
	}
	if raceEnabled {
		nHIBP, nCombo = 20_000, 2_000
		points = []string{"1/lines:2", "1/committed:1", "2/write:3"}
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
	out := runChild(t, spec(cleanDir), 0)
	cleanTime := time.Since(start)
	if !strings.Contains(out, "JOB pwned-passwords sha1 ingested") || !strings.Contains(out, "JOB breach KillTest ingested") {
		t.Fatalf("clean run output:\n%s", out)
	}
	want := snapshot(t, cleanDir, emails)
	if !strings.Contains(want, "breach 1 KillTest") || strings.Contains(want, "email: 0 records") || strings.Contains(want, "sha1: 0 records") {
		t.Fatalf("clean index looks wrong:\n%.500s", want)
	}

	// One kill at a time-based point as well, somewhere in the run.
	delay := time.Duration(100+rand.IntN(int(cleanTime/time.Millisecond))) * time.Millisecond
	for i := 0; i <= len(points); i++ {
		var pause, name string
		var killAfter time.Duration
		if i < len(points) {
			pause, name = points[i], points[i]
		} else {
			killAfter, name = delay, "after "+delay.String()
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ixDir := filepath.Join(dir, fmt.Sprintf("killed-%d", i))
			s := spec(ixDir)
			s.PauseAt = pause
			runChild(t, s, killAfter)
			if pause != "" {
				// The kill left the run unfinished: the breach is not there,
				// nor the Pwned Passwords counts before the first commit.
				ix := openIndex(t, ixDir)
				m := ix.Meta()
				wantSHA1 := uint64(0)
				if strings.HasPrefix(pause, "2/") || pause == "1/committed:1" {
					wantSHA1 = uint64(nHIBP)
				}
				if m.Counts[index.KindEmail] != 0 || len(ix.Breaches()) != 0 || m.Counts[index.KindSHA1] != wantSHA1 {
					t.Errorf("after the kill at %s: counts %v, breaches %d", pause, m.Counts, len(ix.Breaches()))
				}
				ix.Close()
			}
			out := runChild(t, spec(ixDir), 0)
			if got := snapshot(t, ixDir, emails); got != want {
				t.Errorf("index after kill at %s and rerun differs from a clean run (rerun output %q)", name, out)
			}
		})
	}
}

func emailHash(t *testing.T, s string) index.Hash {
	t.Helper()
	h, _, err := ident.Email(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
