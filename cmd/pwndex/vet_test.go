package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/quality/testgen"
)

func TestCmdVetExitCodes(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "prospects.csv")
	f, err := os.Create(gen)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := testgen.GenerateContacts(f, 600, 3, testgen.Windows1252)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	now := tr.Now.Format("2006-01-02")
	optout := filepath.Join(dir, "optout.txt")
	if err := os.WriteFile(optout, []byte(strings.Join(tr.OptOut, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cmdVet(context.Background(), args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	// About a third of the rows are defective: the default policy fails.
	code, out, _ := run("--now", now, "--optout", optout, gen)
	if code != 1 || !strings.HasPrefix(out, "FAIL") {
		t.Fatalf("default policy: exit %d\n%s", code, out)
	}
	for _, n := range []string{"clean.csv", "rejects.csv", "report.json", "report.html"} {
		if _, err := os.Stat(filepath.Join(gen+".vet", n)); err != nil {
			t.Errorf("output %s: %v", n, err)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(gen+".vet", ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	b, err := os.ReadFile(filepath.Join(gen+".vet", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Rows, Rejected int
		Encoding       string
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Rows != tr.Rows || rep.Rejected != tr.Rejected || rep.Encoding != "windows-1252" {
		t.Errorf("report %+v, truth rows %d rejected %d", rep, tr.Rows, tr.Rejected)
	}
	// A lenient policy passes; --out chooses the directory.
	pol := filepath.Join(dir, "policy.json")
	os.WriteFile(pol, []byte(`{"max_reject_rate": 0.6, "max_duplicate_rate": 0.5}`), 0o644)
	out2 := filepath.Join(dir, "out")
	if code, out, errs := run("--now", now, "--policy", pol, "--out", out2, gen); code != 0 {
		t.Errorf("lenient policy: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(out2, "clean.csv")); err != nil {
		t.Error(err)
	}
	// Unusable input and usage errors exit 2.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("foo;bar\n1;2\n"), 0o644)
	if code, _, errs := run(bad); code != 2 || !strings.Contains(errs, "bad.csv") {
		t.Errorf("unusable: exit %d %s", code, errs)
	}
	if code, _, _ := run("--purpose", "fax", gen); code != 2 {
		t.Errorf("bad purpose: exit %d", code)
	}
	if code, _, _ := run(filepath.Join(dir, "missing.csv")); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _, _ := run(); code != 2 {
		t.Errorf("no args: exit %d", code)
	}
	if code, _, errs := run("--col", "email=Nope", gen); code != 2 || !strings.Contains(errs, "Nope") {
		t.Errorf("bad column: exit %d %s", code, errs)
	}
}
