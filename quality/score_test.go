package quality_test

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/pwndex/pwndex/quality/testgen"
)

// TestScoreGenerated vets a generated file with known truth and scores
// the outputs with testgen.Score, which shares no code with vet. The
// closing note's figures come from PWNDEX_SCORE_ROWS=20000.
func TestScoreGenerated(t *testing.T) {
	n := 4000
	if s := os.Getenv("PWNDEX_SCORE_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	tr, _, clean, rejects := vetGenerated(t, n, 20261101, testgen.UTF8)
	s, err := testgen.Score(tr, bytes.NewReader(clean), bytes.NewReader(rejects))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scores on %d rows:\n%s", n, s)
	if os.Getenv("PWNDEX_SCORE_BEFORE") != "" {
		return
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"e-mail reject precision", s.EmailPrecision, 0.99},
		{"e-mail reject recall", s.EmailRecall, 0.99},
		{"duplicate pair F1", s.PairF1, 0.97},
		{"consent status accuracy", s.ConsentAccuracy, 1},
		{"address status accuracy", s.AddressAccuracy, 0.99},
		{"1 - false-merge rate", 1 - s.FalseMergeRate, 0.99},
	}
	for _, c := range checks {
		if c.got < c.want {
			t.Errorf("%s %.4f, want >= %.2f", c.name, c.got, c.want)
		}
	}
}
