package testgen

import (
	"math"
	"strings"
	"testing"
)

// TestScore checks the scorer on hand-written outputs whose scores are
// counted by hand.
func TestScore(t *testing.T) {
	tr := Truth{Detail: []RowTruth{
		{Line: 2, Entity: 1},
		{Line: 3, Entity: 1, Codes: []string{"dup.exact"}},                                          // found (dup_of)
		{Line: 4, Entity: 1, Codes: []string{"dup.near"}},                                           // missed
		{Line: 5, Entity: 2, Kind: "homonym", Twin: 2},                                              // wrongly merged (details)
		{Line: 6, Entity: 3, EmailBad: true, Codes: []string{"email.typo"}, Suggest: "a@gmail.com"}, // right
		{Line: 7, Entity: 4}, // e-mail wrongly rejected
		{Line: 8, Entity: 5, Consent: "consent.expired", Codes: []string{"consent.expired"}}, // consent missed
		{Line: 9, Entity: 6, Postal: "postal.missing", Codes: []string{"postal.missing"}},    // postal right
		{Line: 10, Entity: 7, Unscored: true, Codes: []string{"row.malformed"}},
	}}
	rejects := "Nom,E-mail,source_line,reasons,details,dup_of\n" +
		"x,y,3,dup.exact,,2\n" +
		"x,y,5,dup.near,duplicate of line 2,\n" +
		"x,y,6,email.typo,suggest a@gmail.com,\n" +
		"x,y,7,email.syntax,,\n" +
		"extra,x,y,10,row.malformed,line 10: bare quote,\n" // one cell too many: columns count from the end
	clean := "source_line,warnings\n2,\n4,\n8,\n9,postal.missing\n"
	s, err := Score(tr, strings.NewReader(clean), strings.NewReader(rejects))
	if err != nil {
		t.Fatal(err)
	}
	// Groups {2,3,5}, {4}: predicted pairs 3, true pairs 3 ({2,3,4}), TP 1 (2-3).
	if s.PairTP != 1 || s.PairFP != 2 || s.PairFN != 2 {
		t.Errorf("pairs TP %d FP %d FN %d, want 1 2 2", s.PairTP, s.PairFP, s.PairFN)
	}
	if s.FalseMerges != 1 || s.Lookalikes != 1 {
		t.Errorf("false merges %d/%d, want 1/1", s.FalseMerges, s.Lookalikes)
	}
	if s.EmailTP != 1 || s.EmailFP != 1 || s.EmailFN != 0 || s.SuggestRight != 1 {
		t.Errorf("e-mail TP %d FP %d FN %d suggest %d, want 1 1 0 1", s.EmailTP, s.EmailFP, s.EmailFN, s.SuggestRight)
	}
	if s.FieldRows != 8 || s.ConsentRight != 7 || s.AddressRight != 8 {
		t.Errorf("field rows %d consent %d address %d, want 8 7 8", s.FieldRows, s.ConsentRight, s.AddressRight)
	}
	if math.Abs(s.PairF1-1.0/3) > 1e-9 || s.EmailPrecision != 0.5 {
		t.Errorf("F1 %v precision %v", s.PairF1, s.EmailPrecision)
	}
	if _, err := Score(Truth{}, strings.NewReader(clean), strings.NewReader(rejects)); err == nil {
		t.Error("truth without detail accepted")
	}
	if _, err := Score(tr, strings.NewReader("a,b\n"), strings.NewReader(rejects)); err == nil {
		t.Error("clean.csv without source_line accepted")
	}
}
