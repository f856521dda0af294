package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCmdIngest runs the subcommand on the ingest package's fixtures and
// checks exit codes, summaries and that no progress bar is drawn when
// stderr is not a terminal.
func TestCmdIngest(t *testing.T) {
	fixtures := filepath.Join("..", "..", "ingest", "testdata")
	fx := func(name string) string { return filepath.Join(fixtures, name) }
	dir := filepath.Join(t.TempDir(), "data")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cmdIngest(context.Background(), append([]string{"--index", dir}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"hibp", []string{fx("hibp-sha1.txt")}, 0, []string{"pwned-passwords sha1: ingested", "lines read: 6, accepted: 6, rejected: 0"}, nil},
		{"hibp again", []string{fx("hibp-sha1.txt")}, 0, []string{"pwned-passwords sha1: already ingested"}, nil},
		{"dump and combo", []string{"--manifest", fx("manifest.json"), fx("dump-fr.csv"), fx("combo.txt")}, 0,
			[]string{"breach ExempleFR: ingested", "bad quoting:", "first at line 9"}, nil},
		{"other part without --append", []string{"--manifest", fx("manifest.json"), fx("dump-cp1252.tsv")}, 2,
			nil, []string{"--append"}},
		{"empty file", []string{fx("empty.txt")}, 2, nil, []string{"empty.txt: empty file"}},
		{"wrong format", []string{"--format", "hibp", "--kind", "sha1", fx("dump-fr.csv")}, 2,
			[]string{"pwned-passwords sha1: failed"}, []string{"dump-fr.csv: line 1: no valid Pwned Passwords sha1 line"}},
		{"bad flag value", []string{"--format", "xml", fx("combo.txt")}, 2, nil, []string{"unknown format"}},
		{"bad kind", []string{"--kind", "md5", fx("combo.txt")}, 2, nil, []string{"unknown kind"}},
		{"no input", nil, 2, nil, []string{"no input"}},
		{"partial download dir", []string{fx("hibp-ntlm-dir")}, 2,
			[]string{"pwned-passwords ntlm: failed"}, []string{"6 of the 1048576 prefix files", "--allow-shrink"}},
		{"partial download dir allowed", []string{"--allow-shrink", fx("hibp-ntlm-dir")}, 0,
			[]string{"pwned-passwords ntlm: ingested"}, nil},
	}
	for _, tt := range tests {
		code, out, errs := run(tt.args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tt.name, code, tt.code, out, errs)
		}
		for _, s := range tt.stdout {
			if !strings.Contains(out, s) {
				t.Errorf("%s: stdout lacks %q:\n%s", tt.name, s, out)
			}
		}
		for _, s := range tt.stderr {
			if !strings.Contains(errs, s) {
				t.Errorf("%s: stderr lacks %q:\n%s", tt.name, s, errs)
			}
		}
		if strings.Contains(errs, "\r") || strings.Contains(errs, "\033[") {
			t.Errorf("%s: progress drawn on a non-terminal stderr: %q", tt.name, errs)
		}
	}

	code, out, _ := run("--json", "--manifest", fx("manifest-partner.json"), fx("hashes-email.txt"))
	var sum struct {
		Jobs []struct {
			Target, Status string
			Inputs         []struct {
				Lines, Accepted, Rejected int64
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || len(sum.Jobs) != 1 ||
		sum.Jobs[0].Target != "breach PartnerList" || sum.Jobs[0].Status != "ingested" ||
		sum.Jobs[0].Inputs[0].Lines != 4 || sum.Jobs[0].Inputs[0].Accepted != 2 {
		t.Errorf("--json: exit %d, summary %+v from\n%s", code, sum, out)
	}
}
