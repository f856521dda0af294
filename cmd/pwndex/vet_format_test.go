package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVetOutputFormat: by default clean.csv and rejects.csv keep the
// input's ';' and start with a UTF-8 BOM (French Excel opens them right);
// --output-format csv writes commas and no BOM; an unknown format is a
// usage error.
func TestVetOutputFormat(t *testing.T) {
	tmp := t.TempDir()
	in := writeFile(t, tmp, "contacts.csv", "email;nom;source;date_consentement\r\n"+
		"alice@example.fr;Martin;site web;2026-01-10\r\n"+
		"pas-une-adresse;Durand;site web;2026-01-10\r\n")
	bom := []byte("\xEF\xBB\xBF")
	for _, tc := range []struct {
		format string
		bom    bool
		sep    string
	}{{"", true, ";"}, {"excel", true, ";"}, {"csv", false, ","}} {
		t.Run("format="+tc.format, func(t *testing.T) {
			out := filepath.Join(tmp, "out-"+tc.format)
			args := []string{"vet", "--now", "2026-06-01", "--out", out}
			if tc.format != "" {
				args = append(args, "--output-format", tc.format)
			}
			if code, _, stderr := runCLI(t, append(args, in)...); code > 1 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, name := range []string{"clean.csv", "rejects.csv"} {
				b, err := os.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.HasPrefix(b, bom) != tc.bom {
					t.Errorf("%s: BOM %v, want %v", name, bytes.HasPrefix(b, bom), tc.bom)
				}
				first, _, _ := strings.Cut(string(bytes.TrimPrefix(b, bom)), "\n")
				want := map[string]string{"clean.csv": "source_line" + tc.sep + "id" + tc.sep, "rejects.csv": "email" + tc.sep + "nom" + tc.sep}[name]
				if !strings.HasPrefix(first, want) {
					t.Errorf("%s header %q, want prefix %q", name, first, want)
				}
			}
		})
	}
	if code, _, stderr := runCLI(t, "vet", "--output-format", "xlsx", in); code != 2 || !strings.Contains(stderr, "--output-format") {
		t.Errorf("unknown format: exit %d, %q", code, stderr)
	}
}
