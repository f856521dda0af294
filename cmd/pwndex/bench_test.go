package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/bench"
	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// TestBenchQuick runs the whole benchmark harness in-process with small
// sizes: every registered row must get a sample and no benchmark may error.
// Targets are not enforced in quick mode (the race detector slows
// everything down).
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("builds indexes and runs servers")
	}
	t.Parallel()
	var stdout, stderr bytes.Buffer
	raw := filepath.Join(t.TempDir(), "bench.txt")
	code := run(context.Background(), []string{"bench", "--quick", "--keys", "20000", "--dense-buckets", "16", "--dir", t.TempDir(), "--raw", raw},
		strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("pwndex bench --quick exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	var names []string
	for _, c := range bench.List(nil) {
		names = append(names, c.Rows...)
	}
	if len(names) < 10 {
		t.Fatalf("only %d rows registered", len(names))
	}
	for _, n := range names {
		// name, then a number with an optional k/M/G suffix, then the unit.
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n) + `\s+[0-9.]+[kMG]?\s+\S+\s+.*\s(pass|FAIL|-)\s+1\s`)
		if !re.MatchString(out) {
			t.Errorf("row %q missing or without a sample in:\n%s", n, out)
		}
	}
	if strings.Contains(out, "error:") {
		t.Errorf("a benchmark failed:\n%s", out)
	}
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(data), "\n"); got != len(names) || !strings.HasPrefix(string(data), "BenchmarkIngestHIBPSHA1File") {
		t.Errorf("--raw wrote %d lines, want %d:\n%s", got, len(names), data)
	}
}

func TestBenchOnlyAndList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "--list", "--only", "^index/"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("--list exited %d: %s", code, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !strings.HasPrefix(line, "index/") {
			t.Errorf("--only ^index/ listed %q", line)
		}
	}
	if !strings.Contains(stdout.String(), "lookup present, Lookup") {
		t.Errorf("--list misses the lookup rows:\n%s", stdout.String())
	}
	for _, args := range [][]string{
		{"bench", "--only", "^nothing-matches$"},
		{"bench", "--only", "("},
		{"bench", "--count", "-1"},
		{"bench", "extra"},
		{"bench", "gen", "--kind", "hibp"},
		{"bench", "gen", "--kind", "nope", "--out", filepath.Join(t.TempDir(), "x")},
		{"bench", "gen", "--kind", "hibp", "--hash", "email", "--out", filepath.Join(t.TempDir(), "x")},
	} {
		stderr.Reset()
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%q exited %d with stderr %q; want 2 and a message", args, code, stderr.String())
		}
	}
}

func TestBenchGen(t *testing.T) {
	dir := t.TempDir()
	gen := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"bench", "gen"}, args...), nil, &stdout, &stderr); code != 0 {
			t.Fatalf("bench gen %q exited %d: %s", args, code, stderr.String())
		}
	}
	hibp := filepath.Join(dir, "ntlm.txt")
	gen("--kind", "hibp", "--hash", "ntlm", "--n", "1000", "--seed", "4", "--out", hibp)
	data, err := os.ReadFile(hibp)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
	re := regexp.MustCompile(`^[0-9A-F]{32}:[1-9][0-9]*$`)
	if len(lines) != 1000 || !re.MatchString(lines[0]) || !re.MatchString(lines[999]) {
		t.Errorf("hibp ntlm: %d lines, first %q", len(lines), lines[0])
	}
	if _, err := os.Stat(hibp + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}

	dense := filepath.Join(dir, "dense.txt")
	gen("--kind", "dense", "--buckets", "3", "--per-bucket", "950", "--out", dense)
	data, _ = os.ReadFile(dense)
	perPrefix := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n") {
		perPrefix[l[:5]]++
	}
	if len(perPrefix) != 3 {
		t.Errorf("dense: %d prefixes, want 3", len(perPrefix))
	}
	for p, n := range perPrefix {
		if n != 950 {
			t.Errorf("dense prefix %s: %d rows, want 950", p, n)
		}
	}

	dump := filepath.Join(dir, "dump")
	gen("--kind", "dump", "--n", "50", "--name", "Acme", "--out", dump)
	for _, f := range []string{"manifest.json", "Acme.csv", "Acme-combo.txt"} {
		if st, err := os.Stat(filepath.Join(dump, f)); err != nil || st.Size() == 0 {
			t.Errorf("dump file %s: %v", f, err)
		}
	}

	crm := filepath.Join(dir, "crm.csv")
	gen("--kind", "crm", "--n", "40", "--dump-n", "50", "--exposed", "50", "--out", crm)
	cf, err := os.Open(crm)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	r := csv.NewReader(cf)
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil || len(recs) != 41 {
		t.Fatalf("crm: %d records, %v", len(recs), err)
	}
	// Half the CRM rows are people of the dump: their e-mails are in it.
	dumpData, _ := os.ReadFile(filepath.Join(dump, "Acme.csv"))
	comboData, _ := os.ReadFile(filepath.Join(dump, "Acme-combo.txt"))
	all := string(dumpData) + string(comboData)
	found := 0
	for _, rec := range recs[1:] {
		n, err := ident.NormalizeEmail(rec[3])
		if err != nil {
			t.Fatalf("crm e-mail %q: %v", rec[3], err)
		}
		if strings.Contains(all, n+",") || strings.Contains(all, n+":") {
			found++
		}
	}
	if found != 20 {
		t.Errorf("%d of 40 CRM rows found in the dump, want 20", found)
	}
	_ = index.KindSHA1
}
