package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality"
)

func runLocal(t *testing.T, lk Lookup, in, out string, mod func(*Config)) (Report, error) {
	t.Helper()
	cfg := Config{Path: in, OutDir: out, Lookup: lk, Resume: true}
	if mod != nil {
		mod(&cfg)
	}
	return Run(context.Background(), cfg)
}

func TestRunLocalFixture(t *testing.T) {
	dir := t.TempDir()
	ix := fixtureIndex(t)
	in := writeFile(t, dir, "crm.csv", crmCSV)
	out := filepath.Join(dir, "out")
	rep, err := runLocal(t, NewLocal(ix), in, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := outputs(t, out)
	if got[FileExposed] != wantExposedCSV {
		t.Errorf("exposed.csv:\n%s\nwant:\n%s", got[FileExposed], wantExposedCSV)
	}
	bad := strings.Split(got[FileBadRows], "\n")
	wantBad := []string{"line,field,reason", "4,email,invalid e-mail syntax", "5,-,no e-mail address or phone number",
		"6,-,malformed record", "8,phone,invalid phone number", "9,phone,invalid phone number", ""}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad_rows.csv:\n%s", got[FileBadRows])
	}
	for i, w := range wantBad {
		if !strings.HasPrefix(bad[i], w) || (i != 3 && bad[i] != w) {
			t.Errorf("bad_rows.csv line %d = %q, want %q", i+1, bad[i], w)
		}
	}

	// report.json, checked against hand-computed totals.
	var j struct {
		Rows, MalformedRows, CheckedCustomers, NoIdentifier, Emails, InvalidEmails, Phones, InvalidPhones int64
		BadRowEntries, ExposedCustomers, PasswordsExposedCustomers                                        int64
		EmailExposedCustomers, PhoneExposedCustomers                                                      int64
		ExposureRate                                                                                      float64
		Breaches                                                                                          []struct {
			Name       string
			BreachDate string
			Passwords  bool
			Customers  int64
		}
		DataClasses []struct {
			Class     string
			Customers int64
		}
		Years []struct {
			Year      int
			Customers int64
		}
		BadRowSample []BadRow
	}
	if err := json.Unmarshal([]byte(got[FileJSON]), &j); err != nil {
		t.Fatal(err)
	}
	counts := fmt.Sprint(j.Rows, j.MalformedRows, j.CheckedCustomers, j.NoIdentifier, j.Emails, j.InvalidEmails,
		j.Phones, j.InvalidPhones, j.BadRowEntries, j.ExposedCustomers, j.PasswordsExposedCustomers,
		j.EmailExposedCustomers, j.PhoneExposedCustomers, j.ExposureRate)
	if want := "8 1 5 2 5 1 2 2 5 4 3 3 2 0.8"; counts != want {
		t.Errorf("counts = %s, want %s", counts, want)
	}
	if s := fmt.Sprint(j.Breaches); s != "[{Alpha 2019-03-01 true 3} {Gamma 2020-11-30 false 2} {Beta 2021-07-15 false 1}]" {
		t.Errorf("breaches = %s", s)
	}
	if s := fmt.Sprint(j.DataClasses); s != "[{Email addresses 3} {Passwords 3} {Names 2} {Phone numbers 2} {Usernames 1}]" {
		t.Errorf("data classes = %s", s)
	}
	if s := fmt.Sprint(j.Years); s != "[{2019 3} {2020 2} {2021 1}]" {
		t.Errorf("years = %s", s)
	}
	if len(j.BadRowSample) != 5 || j.BadRowSample[0] != (BadRow{Line: 4, Field: "email", Reason: "invalid e-mail syntax"}) {
		t.Errorf("bad row sample = %+v", j.BadRowSample)
	}
	if rep.ExposedCustomers != 4 || rep.Checked != 5 || len(rep.Files) != 4 {
		t.Errorf("returned report = %+v", rep)
	}

	// No identifier in the report files, nothing left in the work dir.
	for _, name := range []string{FileJSON, FileHTML, FileBadRows, FileExposed} {
		if f := containsAny(got[name], "alice", "carol", "example.com", "example.fr", "98 76", "612345678", "martin"); len(f) > 0 {
			t.Errorf("%s contains %v", name, f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, WorkDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work directory left behind: %v", err)
	}
	html := got[FileHTML]
	if !strings.Contains(html, "<svg") || !strings.Contains(html, "Alpha Shop") {
		t.Error("report.html lacks charts or breaches")
	}
	for _, ext := range []string{"src=", "href=", "url(", "@import", "<script", "<link"} {
		if strings.Contains(html, ext) {
			t.Errorf("report.html is not self-contained: has %q", ext)
		}
	}
}

func TestRunColumnOverrideAndRegion(t *testing.T) {
	dir := t.TempDir()
	ix := fixtureIndex(t)
	// Unrecognised headers; a Belgian number read with --region BE is not
	// in Gamma, the French one is found with the default per-row region.
	in := writeFile(t, dir, "x.csv", "k,contact,coord\nA,alice@example.com,0612345678\nB,erin@example.org,\n")
	out := filepath.Join(dir, "out")
	if _, err := runLocal(t, NewLocal(ix), in, out, nil); err == nil {
		t.Fatal("want an error for a file without e-mail or phone column")
	} else if ie := (*quality.InputError)(nil); !errors.As(err, &ie) || ie.Line != 1 {
		t.Fatalf("err = %v, want an InputError on line 1", err)
	}
	rep, err := runLocal(t, NewLocal(ix), in, out, func(c *Config) { c.EmailColumn, c.PhoneColumn = "contact", "#3" })
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExposedCustomers != 2 || rep.PhoneExposed != 1 {
		t.Fatalf("exposed %d (phone %d), want 2 (1)", rep.ExposedCustomers, rep.PhoneExposed)
	}
	rep, err = runLocal(t, NewLocal(ix), in, out, func(c *Config) {
		c.EmailColumn, c.PhoneColumn, c.Region = "contact", "#3", "BE"
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PhoneExposed != 0 || rep.ExposedCustomers != 2 {
		t.Fatalf("with region BE: exposed %d (phone %d), want 2 (0)", rep.ExposedCustomers, rep.PhoneExposed)
	}
	if want := "line,identifiers,breaches,breach_count,data_classes,latest_breach,passwords\n"; !strings.HasPrefix(readFile(t, filepath.Join(out, FileExposed)), want) {
		t.Errorf("exposed.csv header without ID column: %q", readFile(t, filepath.Join(out, FileExposed)))
	}
}

func TestRunUnusableInput(t *testing.T) {
	dir := t.TempDir()
	ix := fixtureIndex(t)
	tests := []struct {
		name, content string
		create        bool
	}{
		{"missing.csv", "", false},
		{"empty.csv", "", true},
		{"blank.csv", "\n\n  \n", true},
		{"nocols.csv", "a;b;c\n1;2;3\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join(dir, tt.name)
			if tt.create {
				writeFile(t, dir, tt.name, tt.content)
			}
			_, err := runLocal(t, NewLocal(ix), in, filepath.Join(dir, "out-"+tt.name), nil)
			var ie *quality.InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("err = %v, want an InputError naming the file", err)
			}
		})
	}
	// A reader input works too (no resume, no customer ID).
	rep, err := Run(context.Background(), Config{Input: strings.NewReader(crmCSV), OutDir: filepath.Join(dir, "stdin"), Lookup: NewLocal(ix)})
	if err != nil || rep.ExposedCustomers != 4 {
		t.Fatalf("reader input: %v %+v", err, rep)
	}
}

// rangeCounter counts the Range calls of the Lookup it wraps; it does not
// expose the wrapped lookup's prefilter.
type rangeCounter struct {
	Lookup
	calls atomic.Int64
}

func (c *rangeCounter) Range(ctx context.Context, k index.Kind, prefix uint32, dst []RangeEntry) ([]RangeEntry, error) {
	c.calls.Add(1)
	return c.Lookup.Range(ctx, k, prefix, dst)
}

// filteredCounter is a rangeCounter that keeps the Local's prefilter.
type filteredCounter struct {
	*rangeCounter
	l *Local
}

func (c filteredCounter) mayContain(k index.Kind, h *index.Hash) bool { return c.l.mayContain(k, h) }

// TestLocalPrefilter checks that the local filter spares the range
// lookups of identifiers the index certainly lacks without changing any
// output.
func TestLocalPrefilter(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "crm.csv", crmCSV)
	l := NewLocal(fixtureIndex(t))
	plain := &rangeCounter{Lookup: l}
	filtered := filteredCounter{&rangeCounter{Lookup: l}, l}
	if _, err := runLocal(t, plain, in, filepath.Join(dir, "plain"), nil); err != nil {
		t.Fatal(err)
	}
	rep, err := runLocal(t, filtered, in, filepath.Join(dir, "filtered"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, outputs(t, filepath.Join(dir, "filtered")), outputs(t, filepath.Join(dir, "plain")))
	// crmCSV: 5 valid e-mail addresses and 2 phones with distinct
	// prefixes; 3 of the e-mail addresses and both phones are in the
	// fixture index (bob@ and frank@ are not).
	if n := plain.calls.Load(); n != 7 {
		t.Errorf("without the filter: %d range lookups, want 7", n)
	}
	if n := filtered.calls.Load(); n != 5 {
		t.Errorf("with the filter: %d range lookups, want 5 (the indexed identifiers)", n)
	}
	if rep.Lookups != filtered.calls.Load() {
		t.Errorf("Report.Lookups = %d, the lookup saw %d calls", rep.Lookups, filtered.calls.Load())
	}
}
