package quality

import (
	"math"
	"testing"
)

// Published examples: Winkler (1990) and the Wikipedia articles on
// Jaro-Winkler, Levenshtein and Damerau-Levenshtein distances.
func TestJaroWinkler(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"MARTHA", "MARHTA", 0.961},
		{"DWAYNE", "DUANE", 0.840},
		{"DIXON", "DICKSONX", 0.813},
		{"CRATE", "TRACE", 0.733},
		{"abc", "abc", 1},
		{"", "", 1},
		{"abc", "", 0},
		{"abc", "xyz", 0},
	}
	for _, c := range cases {
		if got := JaroWinkler(c.a, c.b); math.Abs(got-c.want) > 0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.3f", c.a, c.b, got, c.want)
		}
	}
}

func TestEditDistances(t *testing.T) {
	cases := []struct {
		a, b     string
		lev, osa int
	}{
		{"kitten", "sitting", 3, 3},
		{"Saturday", "Sunday", 3, 3},
		{"gmial.com", "gmail.com", 2, 1},
		{"laposte.nte", "laposte.net", 2, 1},
		{"CA", "ABC", 3, 3}, // OSA cannot edit a substring twice (true Damerau gives 2)
		{"", "abc", 3, 3},
		{"élève", "eleve", 2, 2},
		{"abcdef", "abcdef", 0, 0},
	}
	for _, c := range cases {
		if got := Levenshtein(c.a, c.b); got != c.lev {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.lev)
		}
		if got := OSADistance(c.a, c.b); got != c.osa {
			t.Errorf("OSADistance(%q, %q) = %d, want %d", c.a, c.b, got, c.osa)
		}
	}
}

func BenchmarkJaroWinkler(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		JaroWinkler("JEAN-PIERRE", "JEAN PIERRE")
	}
}

// TestOSAAtMost1 checks the linear-time test against the dynamic
// programme (checked above on published examples) on every pair of strings
// of up to five letters over a three-letter alphabet, plus non-ASCII pairs.
func TestOSAAtMost1(t *testing.T) {
	var words []string
	var gen func(prefix string)
	gen = func(prefix string) {
		words = append(words, prefix)
		if len(prefix) == 5 {
			return
		}
		for _, c := range "abc" {
			gen(prefix + string(c))
		}
	}
	gen("")
	words = append(words, "élève", "eleve", "élèev", "éleve", "lève", "élèves", "ÉLÈVE")
	for _, a := range words {
		for _, b := range words {
			if got, want := osaAtMost1(a, b), OSADistance(a, b) <= 1; got != want {
				t.Fatalf("osaAtMost1(%q, %q) = %v, OSADistance = %d", a, b, got, OSADistance(a, b))
			}
		}
	}
}

// FuzzOSAAtMost1 checks the linear-time test against the dynamic programme
// on arbitrary strings (invalid UTF-8 included).
func FuzzOSAAtMost1(f *testing.F) {
	f.Add("gmail.com", "gmial.com")
	f.Add("élève", "eleve")
	f.Add("MARTIN", "MARTINE")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 64 || len(b) > 64 {
			return
		}
		if got, want := osaAtMost1(a, b), OSADistance(a, b) <= 1; got != want {
			t.Fatalf("osaAtMost1(%q, %q) = %v, OSADistance = %d", a, b, got, OSADistance(a, b))
		}
	})
}
