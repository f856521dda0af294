package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pwndex/pwndex/quality/testgen"
)

// --keep-column copies a minimised column (comment, birth date) to the
// outputs; without it they are left out.
func TestCmdVetKeepColumn(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "p.csv")
	f, err := os.Create(gen)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := testgen.GenerateContacts(f, 300, 4, testgen.UTF8)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	header := func(out, name string) []string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		// Default output format: the input's ';' and a UTF-8 BOM.
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))))
		r.Comma = ';'
		h, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, c := range []struct {
		args []string
		kept bool
	}{{nil, false}, {[]string{"--keep-column", "comment", "--keep-column", "Date de naissance"}, true}} {
		out := filepath.Join(dir, "out", string(rune('a'+len(c.args))))
		args := append(append([]string{"--now", tr.Now.Format("2006-01-02"), "--out", out}, c.args...), gen)
		var so, se bytes.Buffer
		if code := cmdVet(context.Background(), args, nil, &so, &se); code > 1 {
			t.Fatalf("exit %d: %s", code, se.String())
		}
		for _, name := range []string{"clean.csv", "rejects.csv"} {
			h := header(out, name)
			if slices.Contains(h, "Commentaire") != c.kept || slices.Contains(h, "Date de naissance") != c.kept {
				t.Errorf("%v: %s header %q", c.args, name, h)
			}
		}
	}
	var so, se bytes.Buffer
	if code := cmdVet(context.Background(), []string{"--keep-column", "", gen}, nil, &so, &se); code != 2 {
		t.Errorf("empty --keep-column: exit %d", code)
	}
}
