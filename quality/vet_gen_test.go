package quality_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/quality"
	"github.com/pwndex/pwndex/quality/testgen"
)

// vetGenerated generates a file and vets it as the truth assumes.
func vetGenerated(t *testing.T, n int, seed int64, enc string) (testgen.Truth, quality.Report, []byte, []byte) {
	t.Helper()
	var in bytes.Buffer
	tr, err := testgen.GenerateContacts(&in, n, seed, enc)
	if err != nil {
		t.Fatal(err)
	}
	ol, err := quality.LoadOptOut(strings.NewReader(strings.Join(tr.OptOut, "\n")), "optout.txt")
	if err != nil {
		t.Fatal(err)
	}
	var clean, rejects bytes.Buffer
	rep, err := quality.Vet(context.Background(), &in, "gen.csv", quality.VetOptions{Now: tr.Now, OptOut: ol},
		quality.Outputs{Clean: &clean, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	return tr, rep, clean.Bytes(), rejects.Bytes()
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// findings maps source lines to reason codes found by vet: rejects.csv's
// reasons column and clean.csv's warnings column.
func findings(t *testing.T, clean, rejects []byte) (map[int][]string, map[int][]string) {
	got := map[int][]string{}
	cleanRows := map[int][]string{}
	rr := readCSV(t, rejects)
	// vet's columns follow the input's; records with extra cells shift
	// them, so they are found from the end.
	fromEnd := map[string]int{}
	for i, h := range rr[0] {
		fromEnd[h] = len(rr[0]) - i
	}
	for _, rec := range rr[1:] {
		n := len(rec)
		line, err := strconv.Atoi(rec[n-fromEnd["source_line"]])
		if err != nil {
			t.Fatalf("rejects line %q", rec[n-fromEnd["source_line"]])
		}
		got[line] = strings.Split(rec[n-fromEnd["reasons"]], "|")
	}
	cr := readCSV(t, clean)
	if strings.Join(cr[0], ",") != strings.Join(quality.CleanHeader, ",") {
		t.Fatalf("clean header %q", cr[0])
	}
	for _, rec := range cr[1:] {
		line, _ := strconv.Atoi(rec[0])
		cleanRows[line] = rec
		if w := rec[len(rec)-1]; w != "" {
			got[line] = strings.Split(w, "|")
		}
	}
	return got, cleanRows
}

func TestVetGeneratedTruth(t *testing.T) {
	for _, enc := range []string{testgen.UTF8, testgen.UTF8BOM, testgen.UTF16LE, testgen.UTF16BE, testgen.Windows1252} {
		t.Run(enc, func(t *testing.T) {
			// 1500 rows hold every reason code the generator injects (see
			// TestGeneratedCoversReasons), so each code is checked in
			// every encoding.
			n := 1500
			tr, rep, clean, rejects := vetGenerated(t, n, 42, enc)
			got, cleanRows := findings(t, clean, rejects)
			bad := 0
			for line, want := range tr.Lines {
				g := append([]string(nil), got[line]...)
				sort.Strings(g)
				if strings.Join(g, "|") != strings.Join(want, "|") {
					if bad++; bad <= 15 {
						t.Errorf("line %d: got %v, want %v", line, g, want)
					}
				}
			}
			for line, g := range got {
				if _, ok := tr.Lines[line]; !ok {
					if bad++; bad <= 15 {
						t.Errorf("line %d: unexpected findings %v", line, g)
					}
				}
			}
			if rep.Rows != tr.Rows || rep.Rejected != tr.Rejected || rep.Clean != tr.Rows-tr.Rejected {
				t.Errorf("rows %d rejected %d clean %d; want %d %d", rep.Rows, rep.Rejected, rep.Clean, tr.Rows, tr.Rejected)
			}
			for code, n := range tr.Counts {
				if rep.Count(code) != n {
					t.Errorf("report count %s = %d, want %d", code, rep.Count(code), n)
				}
			}
			// Region-dependent numbers (Belgian, Swiss, overseas).
			for line, e := range tr.E164 {
				rec, ok := cleanRows[line]
				if !ok || rec[8] != e {
					t.Errorf("line %d: phone %v, want %s", line, rec, e)
				}
			}
			// Cleaned city: La Poste's libellé d'acheminement verbatim
			// (arrondissements, repaired mojibake).
			for line, want := range tr.Cities {
				rec, ok := cleanRows[line]
				if !ok || rec[14] != want {
					t.Errorf("line %d: city %v, want %s", line, rec, want)
				}
			}
			if len(tr.Cities) == 0 {
				t.Error("no city rows generated")
			}
			if len(tr.E164) < 10 {
				t.Errorf("only %d region-dependent rows generated", len(tr.E164))
			}
			euro := 0
			for _, rec := range cleanRows {
				if strings.Contains(rec[5], "€") {
					euro++
				}
			}
			if euro != tr.EuroRows || euro == 0 {
				t.Errorf("%d clean rows with €, want %d", euro, tr.EuroRows)
			}
			wantEnc := map[string]string{testgen.UTF8: quality.EncUTF8, testgen.UTF8BOM: quality.EncUTF8BOM,
				testgen.UTF16LE: quality.EncUTF16LE, testgen.UTF16BE: quality.EncUTF16BE, testgen.Windows1252: quality.EncWindows1252}[enc]
			if rep.Encoding != wantEnc || rep.Delimiter != ";" {
				t.Errorf("encoding %s delimiter %s", rep.Encoding, rep.Delimiter)
			}
		})
	}
}

// Every reason code the generator can inject is present in its truth, so
// the truth test above covers them; the purpose-specific ones are covered
// by TestPurposeReasons.
func TestGeneratedCoversReasons(t *testing.T) {
	tr, err := testgen.GenerateContacts(io.Discard, 1500, 42, testgen.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	purposeOnly := map[string]bool{"phone.not_mobile": true}
	for _, r := range quality.AllReasons() {
		if !purposeOnly[r.String()] && tr.Counts[r.String()] == 0 {
			t.Errorf("generated file has no %s row", r)
		}
	}
	if tr.MultilineRows == 0 || tr.Households == 0 || tr.Homonyms == 0 {
		t.Errorf("tricky rows missing: %+v", tr)
	}
}

// The ordered pipeline must give byte-identical outputs whatever the
// number of workers.
func TestVetDeterministicAcrossWorkers(t *testing.T) {
	var in bytes.Buffer
	tr, err := testgen.GenerateContacts(&in, 3000, 9, testgen.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	run := func(workers int) (string, string) {
		var c, r bytes.Buffer
		if _, err := quality.Vet(context.Background(), bytes.NewReader(in.Bytes()), "d.csv",
			quality.VetOptions{Now: tr.Now, Workers: workers}, quality.Outputs{Clean: &c, Rejects: &r}); err != nil {
			t.Fatal(err)
		}
		return c.String(), r.String()
	}
	c1, r1 := run(1)
	c4, r4 := run(4)
	if c1 != c4 || r1 != r4 {
		t.Error("outputs differ between 1 and 4 workers")
	}
}

func TestVetCancelled(t *testing.T) {
	var in bytes.Buffer
	if _, err := testgen.GenerateContacts(&in, 3000, 9, testgen.UTF8); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := quality.Vet(ctx, &in, "c.csv", quality.VetOptions{}, quality.Outputs{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
