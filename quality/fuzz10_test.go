package quality

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// FuzzUnwrapEmail: unwrapping never grows the cell, is idempotent on its
// own output, and an unwrapped result is a substring of the cell.
func FuzzUnwrapEmail(f *testing.F) {
	for _, s := range []string{"mailto:a@b.fr", `"Élodie M" <e@x.fr>`, "(a@b.fr);", "a@b.fr, c@d.fr", "<>", "'", "mailto:", "a@@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, unwrapped, multiple := UnwrapEmail(s)
		if multiple {
			return
		}
		if len(a) > len(s) || !strings.Contains(s, a) {
			t.Fatalf("UnwrapEmail(%q) = %q", s, a)
		}
		if !unwrapped && a != strings.TrimSpace(s) {
			t.Fatalf("UnwrapEmail(%q) = %q without unwrapping", s, a)
		}
		if b, again, _ := UnwrapEmail(a); again && b != a && strings.Count(a, "@") < 2 {
			// Only nested wrappers unwrap further; the result must shrink.
			if len(b) >= len(a) {
				t.Fatalf("UnwrapEmail(%q) = %q, not shorter", a, b)
			}
		}
	})
}

// FuzzNormalizeFrenchPostcode: the result is never longer than the cell,
// is stable when normalised again, and a 5-digit result stays as it is.
func FuzzNormalizeFrenchPostcode(f *testing.F) {
	for _, s := range []string{"75011", " F-75 011 ", "1000.0", "FR 75011", "F", "FR-", "7501\u00a01", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pc := NormalizeFrenchPostcode(s)
		if len(pc) > len(s)+1 {
			t.Fatalf("%q -> %q", s, pc)
		}
		if len(pc) == 5 && isDigits(pc) && NormalizeFrenchPostcode(pc) != pc {
			t.Fatalf("%q -> %q not stable", s, pc)
		}
	})
}

// FuzzRepairMojibake: a repair is valid UTF-8, shorter than the input,
// and reading it back as Windows-1252 gives the input again.
func FuzzRepairMojibake(f *testing.F) {
	for _, s := range []string{"FranÃ§ois", "NÃ®mes", "Ã", "Ãx", "â€™", "São Paulo", "Â"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := RepairMojibake(s)
		if !ok {
			if r != s {
				t.Fatalf("%q changed without repair", s)
			}
			return
		}
		if !utf8.ValidString(r) || len(r) >= len(s) {
			t.Fatalf("%q -> %q", s, r)
		}
		var b strings.Builder
		for i := 0; i < len(r); i++ {
			b.WriteRune(charmap.Windows1252.DecodeByte(r[i]))
		}
		if b.String() != s {
			t.Fatalf("%q -> %q -> %q", s, r, b.String())
		}
	})
}
