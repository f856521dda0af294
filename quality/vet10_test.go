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
