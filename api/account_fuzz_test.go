package api

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// FuzzParseAccount fuzzes the account path segment parser: it never
// panics, rejects only blank input as empty, ignores surrounding spaces
// and, for ASCII e-mail addresses, case.
func FuzzParseAccount(f *testing.F) {
	for _, s := range []string{"alice@example.com", " ALICE@Example.COM ", "jean@bücher.de", "jean@xn--bcher-kva.de",
		"+33 6 12 34 56 78", "06.12.34.56.78", "username", "", "   ", "@", "a@", "@b.c", "a@b@c.d", "\xff@x.y", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, h, ok, err := parseAccount([]byte(s))
		if len(bytes.TrimSpace([]byte(s))) == 0 {
			if !errors.Is(err, errEmptyAccount) || ok {
				t.Fatalf("blank %q: ok=%v err=%v", s, ok, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if !ok {
			return
		}
		if kind != index.KindEmail && kind != index.KindPhone {
			t.Fatalf("%q: kind %v", s, kind)
		}
		if (kind == index.KindEmail) != strings.Contains(s, "@") {
			t.Fatalf("%q parsed as %v", s, kind)
		}
		k2, h2, ok2, _ := parseAccount([]byte(" \t" + s + " "))
		if !ok2 || k2 != kind || h2 != h {
			t.Fatalf("%q: surrounding spaces change the result", s)
		}
		ascii := strings.IndexFunc(s, func(r rune) bool { return r > 127 }) < 0
		if kind == index.KindEmail && ascii {
			for _, v := range []string{strings.ToUpper(s), strings.ToLower(s)} {
				k3, h3, ok3, _ := parseAccount([]byte(v))
				if !ok3 || k3 != kind || h3 != h {
					t.Fatalf("%q and %q differ", s, v)
				}
			}
		}
	})
}

// FuzzParseSubscribe fuzzes the POST /range/subscribe body parser.
func FuzzParseSubscribe(f *testing.F) {
	for _, s := range []string{`{"hashPrefix":"ABCDEF"}`, `{"hashPrefix":"abcdef"}`, `{"hashPrefix":"ABCDE"}`, `{}`, `[]`, ``,
		`{"hashPrefix":"ABCDEF"} {}`, `{"hashPrefix":7}`, `{"HASHPREFIX":"012345"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseSubscribe(body)
		if err != nil {
			return
		}
		if p.Digits != 6 || !strings.Contains(strings.ToUpper(string(body)), p.String()) {
			t.Fatalf("%q gave prefix %s", body, p)
		}
	})
}
