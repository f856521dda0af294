package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// garbageNames are placeholder and test values found in name cells
// (compared upper case, without accents or punctuation).
var garbageNames = map[string]bool{
	"TEST": true, "TESTS": true, "TESTEUR": true, "TESTER": true, "XXX": true, "XX": true, "X": true,
	"ASDF": true, "QWERTY": true, "AZERTY": true, "TOTO": true, "TITI": true, "TATA": true, "TUTU": true,
	"FOO": true, "BAR": true, "FOOBAR": true, "NULL": true, "NONE": true, "NA": true, "N A": true,
	"NOM": true, "PRENOM": true, "NAME": true, "FIRSTNAME": true, "LASTNAME": true, "INCONNU": true,
	"UNKNOWN": true, "ANONYME": true, "ANONYMOUS": true, "AAA": true, "ABC": true, "BLABLA": true,
	"DUMMY": true, "FAKE": true, "SAMPLE": true, "EXEMPLE": true, "EXAMPLE": true, "MICKEY": true,
	"MICKEY MOUSE": true, "DONALD DUCK": true, "JOHN DOE": true, "JANE DOE": true, "DOE": true,
	"ZZZ": true, "QSDF": true, "AZER": true, "JKL": true, "LOL": true, "MR": true, "MME": true,
}

// NameResult is the outcome of CheckName.
type NameResult struct {
	Value   string // normalised: spaces collapsed; first names Title-Case, last names UPPER
	Garbage bool   // a test or placeholder value
}

// CheckName normalises a first or last name (upper reports the last-name
// convention, upper case) and flags test and placeholder values: a known
// placeholder ("test", "xxx", "asdf"...), digits, no letter at all, one
// letter repeated three times or more ("aaaa"), or over 60 characters.
func CheckName(s string, upper bool) NameResult {
	s = collapseSpaces(s)
	if s == "" {
		return NameResult{}
	}
	res := NameResult{}
	var kb [128]byte
	key := unsafeString(appendKey(kb[:0], s, ' ', false)) // only looked up
	letters, digits := 0, 0
	var first rune
	same := true
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			if letters == 0 {
				first = unicode.ToLower(r)
			} else if unicode.ToLower(r) != first {
				same = false
			}
			letters++
		case unicode.IsDigit(r):
			digits++
		}
	}
	if garbageNames[key] || garbageNames[strings.ReplaceAll(key, " ", "")] || digits > 0 || letters == 0 ||
		(same && letters >= 3) || utf8.RuneCountInString(s) > 60 {
		res.Garbage = true
	}
	if upper {
		res.Value = strings.ToUpper(s)
	} else {
		res.Value = titleCase(s)
	}
	return res
}

// titleCase upper-cases the first letter of every word (after a space,
// hyphen or apostrophe) and lower-cases the rest: "JEAN-pierre d'ARC" ->
// "Jean-Pierre D'Arc".
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if start {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		start = r == ' ' || r == '-' || r == '\'' || r == '’'
	}
	return b.String()
}
