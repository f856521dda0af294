package ident

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"
)

// TestFirstBytes checks the first-digit analysis on hand-written
// patterns shaped like the phone metadata's: the digits a match can
// start with, and no filter when the pattern can match the empty string
// or holds something the analysis does not model.
func TestFirstBytes(t *testing.T) {
	cases := []struct {
		pattern string
		want    string // digits a match can start with; "all" for no filter
	}{
		{`(?:6\d|7[3-9])\d{7}`, "67"},
		{`\d{9}`, "0123456789"},
		{`[1-5]\d{8}|9\d{8}`, "123459"},
		{`8(?:0[0-5]|1[0-9])\d{5}`, "8"},
		{`(?:0)?6\d`, "06"},
		{`(?:0|)6\d`, "06"},
		{`(?:(?:12)?3|4)5`, "134"},
		{`6*`, "all"},           // matches the empty string
		{`.\d`, "all"},          // any character
		{`(?i:a)\d`, "all"},     // case folding
		{`(?:7\d{0}|8)9`, "78"}, // a zero-width repeat still starts with its sub's digits
		{`(?:\d{0,2})9`, "0123456789"},
	}
	for _, c := range cases {
		if _, err := syntax.Parse(c.pattern, syntax.Perl); err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for i, not := range notFirstDigits("^(?:" + c.pattern + ")$") {
			if !not {
				got.WriteByte(byte('0' + i))
			}
		}
		want := c.want
		if want == "all" {
			want = "0123456789"
		}
		if got.String() != want {
			t.Errorf("%s: first digits %q, want %q", c.pattern, got.String(), want)
		}
	}
}

// TestNumberDescFilterNeverRejectsAMatch runs every compiled pattern of
// every fast region on random national numbers of its possible lengths:
// whenever the pattern matches, the first-digit filter must let the
// number through. It also checks that the filter rules out something.
func TestNumberDescFilterNeverRejectsAMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	matched, filtering := 0, 0
	for _, regions := range fastTypes() {
		for _, rt := range regions {
			descs := append([]numberDesc{rt.general, rt.fixed, rt.mobile}, rt.special[:]...)
			for _, d := range descs {
				for _, n := range d.notFirst {
					if n {
						filtering++
						break
					}
				}
				lengths := d.lengths
				if len(lengths) == 0 {
					lengths = []int32{6, 7, 8, 9, 10, 11, 12}
				}
				for range 2000 {
					b := make([]byte, lengths[r.IntN(len(lengths))])
					for i := range b {
						b[i] = byte('0' + r.IntN(10))
					}
					if d.re.Match(b) {
						matched++
						if d.notFirst[b[0]-'0'] {
							t.Fatalf("%s: pattern %s matches %s, the filter rejects it", rt.region, d.re, b)
						}
					}
				}
			}
		}
	}
	if matched < 10000 || filtering < 20 {
		t.Fatalf("too weak: %d matches drawn, %d patterns filtering", matched, filtering)
	}
	t.Logf("%d random matches, %d patterns with a first-digit filter", matched, filtering)
}
