package quality_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/quality"
	"github.com/pwndex/pwndex/quality/testgen"
)

// Data minimisation: comments and birth dates are not copied to the
// outputs unless KeepColumns names them.
func TestVetMinimisation(t *testing.T) {
	var in bytes.Buffer
	tr, err := testgen.GenerateContacts(&in, 400, 5, testgen.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	run := func(keep ...string) ([][]string, [][]string) {
		var clean, rejects bytes.Buffer
		if _, err := quality.Vet(context.Background(), bytes.NewReader(in.Bytes()), "m.csv",
			quality.VetOptions{Now: tr.Now, KeepColumns: keep}, quality.Outputs{Clean: &clean, Rejects: &rejects}); err != nil {
			t.Fatal(err)
		}
		return readCSV(t, clean.Bytes()), readCSV(t, rejects.Bytes())
	}
	has := func(rows [][]string, s string) bool {
		for _, r := range rows {
			for _, c := range r {
				if strings.Contains(c, s) {
					return true
				}
			}
		}
		return false
	}
	clean, rejects := run()
	for _, h := range []string{"Commentaire", "Date de naissance"} {
		if has(clean[:1], h) || has(rejects[:1], h) {
			t.Errorf("column %s copied without --keep-column", h)
		}
	}
	// Birth dates are dd/mm/19xx in the generator; consent dates are later.
	for _, rows := range [][][]string{clean, rejects} {
		for _, r := range rows {
			for _, c := range r {
				if len(c) == 10 && c[2] == '/' && strings.HasPrefix(c[6:], "19") {
					t.Fatalf("birth date %q copied", c)
				}
			}
		}
	}
	if has(rejects, "salon de Lyon") || has(rejects, "syndiqué") || has(clean, "rappeler en juin") {
		t.Error("comment text copied")
	}
	if len(rejects[0]) != len(testgen.Header)-2+4+len(quality.RejectNormHeader) {
		t.Errorf("rejects header %q", rejects[0])
	}
	clean, rejects = run("comment", "Date de naissance")
	if c, r := clean[0], rejects[0]; c[len(c)-2] != "Commentaire" || c[len(c)-1] != "Date de naissance" ||
		!has([][]string{r}, "Commentaire") || !has([][]string{r}, "Date de naissance") {
		t.Errorf("kept columns missing: clean %q rejects %q", c, r)
	}
}

// Rejected rows carry their normalised values beside the raw cells.
func TestVetRejectsNormalised(t *testing.T) {
	in := "Prénom;Nom;E-mail;Téléphone;Code postal;Ville;Date opt-in;Source\r\n" +
		"  élodie ;MARTIN;\"\"\"Élodie Martin\"\" <Elodie.Martin@GMAIL.con>\";06 12 34 56 78;F-75 011;paris;45000;site\r\n"
	var clean, rejects bytes.Buffer
	if _, err := quality.Vet(context.Background(), strings.NewReader(in), "n.csv",
		quality.VetOptions{Now: testgen.Now}, quality.Outputs{Clean: &clean, Rejects: &rejects}); err != nil {
		t.Fatal(err)
	}
	rr := readCSV(t, rejects.Bytes())
	if len(rr) != 2 || len(rr[1]) != len(rr[0]) {
		t.Fatalf("rejects %q", rr)
	}
	got := map[string]string{}
	for i, h := range rr[0] {
		got[h] = rr[1][i]
	}
	want := map[string]string{"norm_first_name": "Élodie", "norm_last_name": "MARTIN", "norm_email": "elodie.martin@gmail.con",
		"norm_phone": "+33612345678", "norm_postcode": "75011", "norm_city": "PARIS", "norm_consent_date": "2023-03-15T00:00:00Z",
		"reasons": "email.typo|consent.expired|email.unwrapped", "details": "suggest elodie.martin@gmail.com"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// The report gives masked example rows per reason and quality per
// consent source; the expected values are written by hand.
func TestVetReportExamplesAndSources(t *testing.T) {
	in := "Prénom;Nom;E-mail;Téléphone;Code postal;Ville;Date opt-in;Source\r\n" +
		"Jean;Dupont;jean.dupont@gmial.com;06 12 34 56 78;75011;Paris;01/06/2026;salon\r\n" + // line 2: typo
		"Marie;Durand;marie.durand@free.fr;08 99 12 34 56;75011;Paris;01/05/2026;salon\r\n" + // line 3: premium
		"Paul;Martin;paul.martin@orange.fr;06 11 22 33 44;75011;Paris;01/04/2026;web\r\n" + // line 4: clean
		"Paul;Martin;PAUL.MARTIN@orange.fr;0611223344;75011;Paris;01/04/2026;web\r\n" + // line 5: duplicate of 4
		"Luc;Petit;luc.petit@free.fr;06 55 66 77 88;75011;Paris;01/03/2026;N/A\r\n" + // line 6: no source
		"Léa;Roux;lea.roux@free.fr;0800 12 34 56;75011;Paris;01/03/2026;N/A\r\n" // line 7: toll-free
	var clean bytes.Buffer
	rep, err := quality.Vet(context.Background(), strings.NewReader(in), "r.csv",
		quality.VetOptions{Now: testgen.Now}, quality.Outputs{Clean: &clean})
	if err != nil {
		t.Fatal(err)
	}
	ex := map[string][]quality.Example{}
	for _, rc := range rep.Reasons {
		ex[rc.Code] = rc.Examples
	}
	want := map[string]quality.Example{
		"email.typo":         {Line: 2, Value: "j*********t@gmial.com", Suggestion: "j*********t@gmail.com"},
		"phone.premium":      {Line: 3, Value: "08 xx xx xx 56"},
		"dup.exact":          {Line: 5, Value: "duplicate of line 4"},
		"phone.special_rate": {Line: 7, Value: "08xx xx xx 56 (toll_free)"},
	}
	for code, w := range want {
		if len(ex[code]) == 0 || ex[code][0] != w {
			t.Errorf("%s examples %+v, want [%+v]", code, ex[code], w)
		}
	}
	got := map[string]quality.SourceStats{}
	for _, s := range rep.Sources {
		got[s.Source] = s
	}
	// Ages from 2026-11-01 12:00: salon 153 and 184 days, web 214 twice.
	wantSrc := map[string]quality.SourceStats{
		"salon":  {Source: "salon", Rows: 2, Rejected: 2, RejectRate: 1, MedianConsentDays: 184},
		"web":    {Source: "web", Rows: 2, Rejected: 1, RejectRate: 0.5, Duplicates: 1, DuplicateRate: 0.5, MedianConsentDays: 214},
		"(none)": {Source: "(none)", Rows: 2, Rejected: 2, RejectRate: 1, MedianConsentDays: 245},
	}
	if len(got) != len(wantSrc) {
		t.Errorf("sources %+v", rep.Sources)
	}
	for k, w := range wantSrc {
		if got[k] != w {
			t.Errorf("source %q = %+v, want %+v", k, got[k], w)
		}
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Quality per consent source", "<td>salon</td>", "j*********t@gmial.com", "08 xx xx xx 56"} {
		if !strings.Contains(html.String(), s) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	for _, s := range []string{"jean.dupont", "12 34 56"} {
		if strings.Contains(html.String(), s) {
			t.Errorf("report.html shows unmasked %q", s)
		}
	}
}
