package quality_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
	"github.com/pwndex/pwndex/quality"
)

var refNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const smallHeader = "Prénom;Nom;Courriel;Portable;Adresse;CP;Ville;Pays;Date de consentement;Source;Opt-in SMS\n"

func vetString(t *testing.T, in string, opts quality.VetOptions) (quality.Report, string, string) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = refNow
	}
	var clean, rejects bytes.Buffer
	rep, err := quality.Vet(context.Background(), strings.NewReader(in), "t.csv", opts, quality.Outputs{Clean: &clean, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	return rep, clean.String(), rejects.String()
}

func TestPurposeReasons(t *testing.T) {
	in := smallHeader +
		"Jean;Martin;jean@x-corp.fr;06 12 34 56 78;1 rue A;75002;Paris;;01/06/2026;web;oui\n" + // ok everywhere
		"Paul;Durand;paul@x-corp.fr;01 45 67 89 01;2 rue B;75002;Paris;;01/06/2026;web;oui\n" + // landline
		"Anne;Petit;anne@x-corp.fr;;;;;;01/06/2026;web;oui\n" + // no phone, no address
		"Luc;Roux;;06 98 76 54 32;3 rue C;75002;Paris;;01/06/2026;web;non\n" // no e-mail, SMS opt-in refused
	cases := []struct {
		p       quality.Purpose
		counts  map[string]int
		rejects int
	}{
		{quality.PurposeEmail, map[string]int{"email.missing": 1}, 1},
		{quality.PurposeSMS, map[string]int{"phone.not_mobile": 1, "phone.missing": 1, "consent.refused": 1}, 3},
		{quality.PurposePostal, map[string]int{"postal.missing": 1}, 1},
	}
	for _, c := range cases {
		rep, _, _ := vetString(t, in, quality.VetOptions{Purpose: c.p})
		for code, n := range c.counts {
			if rep.Count(code) != n {
				t.Errorf("%s: %s = %d, want %d", c.p, code, rep.Count(code), n)
			}
		}
		if rep.Rejected != c.rejects {
			t.Errorf("%s: %d rejected, want %d (%+v)", c.p, rep.Rejected, c.rejects, rep.Reasons)
		}
	}
}

func TestOptOutList(t *testing.T) {
	// SHA-1 of "jean@x-corp.fr" and "+33698765432", from sha1sum.
	list := "# buyer unsubscribes\n" +
		"email:" + fmt.Sprintf("%X", sha1sum("jean@x-corp.fr")) + "\n\n" +
		fmt.Sprintf("%x", sha1sum("+33698765432")) + "\n"
	ol, err := quality.LoadOptOut(strings.NewReader(list), "optout.txt")
	if err != nil {
		t.Fatal(err)
	}
	if ol.Len() != 2 {
		t.Fatalf("Len %d", ol.Len())
	}
	in := smallHeader +
		"Jean;Martin;JEAN@X-Corp.fr;;1 rue A;75002;Paris;;01/06/2026;web;\n" +
		"Luc;Roux;luc@x-corp.fr;+33 6 98 76 54 32;3 rue C;75002;Paris;;01/06/2026;web;\n" +
		"Eve;Blanc;eve@x-corp.fr;;3 rue C;75002;Paris;;01/06/2026;web;\n"
	rep, _, rej := vetString(t, in, quality.VetOptions{OptOut: ol})
	if rep.Suppressed != 2 || rep.Rejected != 2 || !strings.Contains(rej, "optout.match") {
		t.Errorf("suppressed %d rejected %d\n%s", rep.Suppressed, rep.Rejected, rej)
	}
	_, err = quality.LoadOptOut(strings.NewReader("# x\nabc\n"), "bad.txt")
	var ie *quality.InputError
	if !errors.As(err, &ie) || ie.Line != 2 || !strings.HasPrefix(err.Error(), "bad.txt:2:") {
		t.Errorf("bad list: %v", err)
	}
}

// sha1sum is the standard library's SHA-1, independent of index/ident.
func sha1sum(s string) [20]byte { return sha1.Sum([]byte(s)) }

func TestPolicyAndVerdict(t *testing.T) {
	in := smallHeader +
		"Jean;Martin;jean@x-corp.fr;;1 rue A;75002;Paris;;01/06/2026;web;\n" +
		"Luc;Roux;luc@yopmail.com;;3 rue C;75002;Paris;;01/06/2026;web;\n"
	rep, _, _ := vetString(t, in, quality.VetOptions{})
	if rep.Verdict.Pass || len(rep.Verdict.Failures) != 1 || !strings.Contains(rep.Verdict.Failures[0], "reject rate 50.0%") {
		t.Errorf("default policy verdict %+v", rep.Verdict)
	}
	p, err := quality.LoadPolicy(strings.NewReader(`{"max_reject_rate": 0.5}`), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxDuplicateRate != quality.DefaultPolicy().MaxDuplicateRate {
		t.Error("absent field lost its default")
	}
	rep, _, _ = vetString(t, in, quality.VetOptions{Policy: &p})
	if !rep.Verdict.Pass {
		t.Errorf("lenient policy verdict %+v", rep.Verdict)
	}
	p.MaxReasonRates = map[string]float64{"email.disposable": 0.1}
	rep, _, _ = vetString(t, in, quality.VetOptions{Policy: &p})
	if rep.Verdict.Pass {
		t.Error("reason cap ignored")
	}
	for _, bad := range []string{`{"max_reject_rate": 2}`, `{"max_reason_rates": {"nope": 0.1}}`, `{"unknown": 1}`, `[`} {
		if _, err := quality.LoadPolicy(strings.NewReader(bad), "p.json"); err == nil {
			t.Errorf("policy %s accepted", bad)
		}
	}
}

func TestVetUnusableInput(t *testing.T) {
	for _, in := range []string{"", "\n\n", "foo;bar\n1;2\n", smallHeader} {
		_, err := quality.Vet(context.Background(), strings.NewReader(in), "u.csv", quality.VetOptions{}, quality.Outputs{})
		var ie *quality.InputError
		if !errors.As(err, &ie) || ie.File != "u.csv" {
			t.Errorf("Vet(%q) err %v, want an InputError", in, err)
		}
	}
}

func TestVetBytesJSON(t *testing.T) {
	in := smallHeader + "Jean;Martin;jean@x-corp.fr;;1 rue A;75002;Paris;;01/06/2026;web;\n"
	b, err := quality.VetBytes(context.Background(), []byte(in), "api.csv", quality.VetOptions{Now: refNow})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["rows"].(float64) != 1 || m["verdict"].(map[string]any)["pass"] != true {
		t.Errorf("report %s", b)
	}
}

func TestReportHTML(t *testing.T) {
	in := smallHeader +
		"Jean;Martin;jean@x-corp.fr;;1 rue A;75002;Paris;;01/06/2026;web;\n" +
		"<script>;Roux;luc@yopmail.com;;3 rue C;75002;Paris;;01/06/2020;web;\n"
	rep, _, _ := vetString(t, in, quality.VetOptions{})
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	h := buf.String()
	for _, want := range []string{"<svg", "email.disposable", "consent.expired", "FAIL", "Consent age"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "src="} {
		if strings.Contains(h, bad) {
			t.Errorf("report.html contains %q (must be self-contained, no script)", bad)
		}
	}
}

// TestExposureRealIndex builds a real index with two breaches and checks
// the per-breach shares and the provenance warning.
func TestExposureRealIndex(t *testing.T) {
	dir := t.TempDir()
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	add := func(b index.Breach, ids ...string) {
		bb, err := ix.NewBreachBuilder(b, index.BuildOptions{SourceID: "test-" + b.Name})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ids {
			k := index.KindEmail
			if strings.HasPrefix(s, "+") {
				k = index.KindPhone
			}
			h := ident.HashNormalized(s)
			if err := bb.AddIdentifier(k, &h); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := bb.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	add(index.Breach{Name: "ProspectLeak", Title: "Prospect Leak", BreachDate: "2025-06-01", DataClasses: []string{"Email addresses"}},
		"a@x-corp.fr", "b@x-corp.fr", "+33612345603", "d@x-corp.fr")
	add(index.Breach{Name: "OtherShop", BreachDate: "2024-01-01"}, "a@x-corp.fr")
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var b strings.Builder
	b.WriteString(smallHeader)
	names := []string{"Alice", "Bruno", "Claire", "David", "Emma", "Félix", "Gaël", "Hugo", "Inès", "Jules"}
	for i, l := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		fmt.Fprintf(&b, "%s;Morel;%s@x-corp.fr;06 12 34 56 %02d;%d rue A;75002;Paris;;01/06/2026;web;\n", names[i], l, i+1, i+1)
	}
	rep, clean, _ := vetString(t, b.String(), quality.VetOptions{Index: ro})
	e := rep.Exposure
	if e == nil || e.Checked != 10 || e.Exposed != 4 || len(e.Breaches) != 2 {
		t.Fatalf("exposure %+v", e)
	}
	if e.Breaches[0].Name != "ProspectLeak" || e.Breaches[0].Count != 4 || e.Breaches[1].Count != 1 {
		t.Errorf("breaches %+v", e.Breaches)
	}
	if e.LikelySource != "ProspectLeak" || rep.Verdict.Pass {
		t.Errorf("provenance %q verdict %+v", e.LikelySource, rep.Verdict)
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "ProspectLeak") || !strings.Contains(html.String(), "likely derived") {
		t.Error("report.html lacks the exposure section or the provenance warning")
	}
	recs := readCSV(t, []byte(clean))
	bc := slices.Index(recs[0], "breach_count")
	if bc < 0 || len(recs) < 2 || recs[1][bc] != "2" { // a@ is in both breaches
		t.Errorf("breach_count column:\n%s", clean)
	}
	rep, _, _ = vetString(t, b.String(), quality.VetOptions{Index: ro, ProvenanceThreshold: 0.5})
	if rep.Exposure.LikelySource != "" || !rep.Verdict.Pass {
		t.Errorf("threshold 0.5: %+v %+v", rep.Exposure, rep.Verdict)
	}
}
