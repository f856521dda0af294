package quality

import (
	"strings"
	"testing"
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
