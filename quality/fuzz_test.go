package quality

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzSniffDelimiter(f *testing.F) {
	for _, s := range []string{"a;b\n1;2\n", "a,b\n\"x;y\",2\n", "a\tb\n", "a|b\n", "\"", "", "a\"b;c\n"} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, atEOF bool) {
		d, _ := SniffDelimiter(b, atEOF)
		if d != ';' && d != ',' && d != '\t' && d != '|' {
			t.Fatalf("delimiter %q", d)
		}
	})
}

// FuzzOpenTable feeds arbitrary bytes through encoding detection, delimiter
// sniffing, header mapping and row streaming: no panic, rows in order,
// every error an *InputError naming the file.
func FuzzOpenTable(f *testing.F) {
	f.Add([]byte("email;nom\na@b.fr;x\n"))
	f.Add([]byte("\xef\xbb\xbfCourriel,T\xc3\xa9l\n\"a\nb\",1\n"))
	f.Add([]byte("\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00"))
	f.Add([]byte("Pr\xe9nom;Nom\nJos\xe9;\x80\n"))
	f.Add([]byte("email;nom\n\"unterminated;x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := OpenTable(bytes.NewReader(b), "fz.csv", TableOptions{})
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != "fz.csv" {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		last := 0
		for i := 0; i < 10000; i++ {
			r, err := tb.Next()
			if err == io.EOF {
				return
			}
			var ie *InputError
			if err != nil && !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InputError", err)
			}
			if r.Line < last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			for _, c := range r.Fields {
				if !utf8.ValidString(c) {
					t.Fatalf("invalid UTF-8 cell %q", c)
				}
			}
		}
	})
}

func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"a@b.fr", "Jean.Dupont@Gmail.com", "a@gmial.com", "a@bücher.de", "x@yopmail.com", "<a@b.c>", "a@@b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := CheckEmail(s)
		if !r.Bad {
			if r.Normalized == "" || strings.ToLower(r.Normalized) != r.Normalized || !strings.Contains(r.Normalized, "@") {
				t.Fatalf("CheckEmail(%q) accepted %q", s, r.Normalized)
			}
			for i := 0; i < len(r.Normalized); i++ {
				if r.Normalized[i] >= 0x80 {
					t.Fatalf("non-ASCII accepted address %q", r.Normalized)
				}
			}
			if again := CheckEmail(r.Normalized); again.Bad || again.Normalized != r.Normalized {
				t.Fatalf("normalised form %q not stable: %+v", r.Normalized, again)
			}
		}
		if r.Bad && r.Reason == EmailTypo && r.Suggestion == "" {
			t.Fatal("typo without suggestion")
		}
	})
}

func FuzzCheckPhone(f *testing.F) {
	for _, s := range []string{"06 12 34 56 78", "+33 (0)6 12 34 56 78", "0470 12 34 56", "08 99 12 34 56", "abc", ""} {
		f.Add(s, "FR")
	}
	f.Add("0470 12 34 56", "Belgique")
	f.Fuzz(func(t *testing.T, s, country string) {
		r := CheckPhone(s, PhoneRegion(country, ""), false)
		if !r.Bad && !strings.HasPrefix(r.E164, "+") {
			t.Fatalf("CheckPhone(%q) = %+v", s, r)
		}
	})
}

func FuzzParseConsentDate(f *testing.F) {
	for _, s := range []string{"12/03/2025", "2025-03-12T10:11:12+02:00", "1/3/2025 14:05", "31/02/2025", "hier", "",
		"45678", "45678,25", "5/3/25 9h05", "99999.999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseConsentDate(s, time.UTC)
		if ok && (d.Year() < 1990 || d.Year() > 2200) {
			t.Fatalf("%q -> %v", s, d)
		}
		CheckConsent(s, "x", "", now, DefaultRetention, true)
		r := CheckConsentCalendar(s, "x", "", now, RetentionLimit(now, 3, 0), true)
		if ok != (r.Reason != ConsentInvalid && r.Reason != ConsentMissing) {
			t.Fatalf("%q: parsed %v but consent %v", s, ok, r.Reason)
		}
	})
}

func FuzzCheckPostal(f *testing.F) {
	f.Add("12 rue de la Paix", "75002", "Paris Cedex 02", "")
	f.Add("", "1000", "Bourg", "BE")
	f.Add("x", "97400", "St Denis", "")
	f.Fuzz(func(t *testing.T, addr, pc, city, region string) {
		r := CheckPostal(addr, "", pc, city, region)
		for _, l := range r.Lines {
			if len(l) > rnvpWidth {
				t.Fatalf("line %q longer than %d", l, rnvpWidth)
			}
		}
	})
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"jean-pierre", "LEFÈVRE", "Test", "d'Arc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := CheckName(s, false)
		if s != "" && strings.TrimSpace(s) != "" && r.Value == "" && utf8.ValidString(s) {
			t.Fatalf("CheckName(%q) lost the value", s)
		}
		CheckName(s, true)
	})
}

func FuzzLoadOptOut(f *testing.F) {
	f.Add("# c\nemail:A9993E364706816ABA3E25717850C26C9CD0D89D\n")
	f.Add("zz\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := LoadOptOut(strings.NewReader(s), "o.txt")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v", err)
			}
			return
		}
		_ = l.Len()
	})
}

// FuzzVet runs the whole pipeline on arbitrary input.
func FuzzVet(f *testing.F) {
	f.Add([]byte("Prénom;Nom;Courriel;Tél;CP;Ville;Date opt-in;Source\nJean;Martin;j@x.fr;0612345678;75002;Paris;01/01/2026;web\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Vet(context.Background(), bytes.NewReader(b), "fz.csv", VetOptions{Workers: 2}, Outputs{Clean: io.Discard, Rejects: io.Discard})
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("Vet error %v is not an InputError", err)
		}
	})
}
