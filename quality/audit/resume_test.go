package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigCSV is crmCSV followed by n synthetic customers, none indexed
// except every 100th, who is alice again.
func bigCSV(n int) string {
	var b strings.Builder
	b.WriteString(crmCSV)
	for i := 0; i < n; i++ {
		email := fmt.Sprintf("client%d@example.net", i)
		if i%100 == 0 {
			email = "ALICE@example.com"
		}
		fmt.Fprintf(&b, "X%d;M.;Prénom;Nom;%s;;75001;Paris\r\n", i, email)
	}
	return b.String()
}

// TestResumeAfterCancel interrupts a run in each stage and checks the
// resumed run gives exactly a clean run's outputs, and that the work
// directory holds no identifier while interrupted.
func TestResumeAfterCancel(t *testing.T) {
	dir := t.TempDir()
	lk := NewLocal(fixtureIndex(t))
	in := writeFile(t, dir, "big.csv", bigCSV(20000))
	clean := filepath.Join(dir, "clean")
	rep, err := runLocal(t, lk, in, clean, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExposedCustomers != 4+200 {
		t.Fatalf("clean run: %d exposed, want 204", rep.ExposedCustomers)
	}
	want := outputs(t, clean)

	for _, stage := range []string{StageScan, StageResolve} {
		t.Run(stage, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+stage)
			ctx, cancel := context.WithCancel(context.Background())
			cfg := Config{Path: in, OutDir: out, Lookup: lk, Resume: true, CheckpointEvery: 1000,
				Progress: func(p Progress) {
					if p.Stage == stage && (stage == StageResolve || p.Rows >= 5000) {
						cancel()
					}
				}}
			_, err := Run(ctx, cfg)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			ck, err := loadCheckpoint(filepath.Join(out, WorkDirName))
			if err != nil {
				t.Fatal(err)
			}
			if stage == StageScan && (ck.ScanDone || ck.RowsDone == 0 || ck.RowsDone >= 20008) {
				t.Errorf("checkpoint after a scan interruption: rows %d, done %v", ck.RowsDone, ck.ScanDone)
			}
			if stage == StageResolve && !ck.ScanDone {
				t.Error("checkpoint after a resolve interruption: scan not done")
			}
			// Hashes only in the work directory.
			filepath.WalkDir(filepath.Join(out, WorkDirName), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if f := containsAny(readFile(t, p), "alice", "client1", "example.com", "example.net", "Martin", "Paris"); len(f) > 0 {
						t.Errorf("%s holds %v", p, f)
					}
				}
				return nil
			})
			if stage == StageResolve {
				// A hits file torn as by a power loss is resolved again.
				torn, _ := filepath.Glob(filepath.Join(out, WorkDirName, "hits-*.bin"))
				if len(torn) == 0 {
					t.Fatal("no partition resolved before the interruption")
				}
				data := readFile(t, torn[0])
				if err := os.WriteFile(torn[0], []byte(data[:len(data)-3]), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg.Progress = nil
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Resumed {
				t.Error("second run did not resume")
			}
			sameOutputs(t, outputs(t, out), want)
		})
	}

	// A changed input is not resumed from a stale checkpoint.
	t.Run("changed input", func(t *testing.T) {
		out := filepath.Join(dir, "out-changed")
		ctx, cancel := context.WithCancel(context.Background())
		cfg := Config{Path: in, OutDir: out, Lookup: lk, Resume: true, CheckpointEvery: 1000,
			Progress: func(p Progress) {
				if p.Rows >= 5000 {
					cancel()
				}
			}}
		if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		in2 := writeFile(t, dir, "big.csv", crmCSV) // same path, new content
		defer writeFile(t, dir, "big.csv", bigCSV(20000))
		cfg.Path, cfg.Progress = in2, nil
		rep, err := Run(context.Background(), cfg)
		if err != nil || rep.Resumed || rep.ExposedCustomers != 4 {
			t.Fatalf("run on changed input: resumed=%v exposed=%d err=%v", rep.Resumed, rep.ExposedCustomers, err)
		}
		if got := readFile(t, filepath.Join(out, FileExposed)); got != wantExposedCSV {
			t.Errorf("exposed.csv:\n%s", got)
		}
		if _, err := os.Stat(filepath.Join(out, WorkDirName)); !errors.Is(err, os.ErrNotExist) {
			t.Error("work directory left behind")
		}
	})
}
