package quality

import (
	"math/rand/v2"
	"net/mail"
	"strings"
	"testing"
)

// netMailAccepts is the standard library's RFC 5322 verdict on a bare
// address: parsed, with no display name, and given back unchanged.
func netMailAccepts(addr string) bool {
	a, err := mail.ParseAddress(addr)
	return err == nil && a.Address == addr && a.Name == ""
}

// TestEmailSyntaxAgreesWithNetMail checks that every address
// emailSyntaxOK accepts is one net/mail accepts and returns unchanged, the
// ground for not running net/mail per row: random local parts and domains
// drawn from atext, the RFC 5322 specials, dots, spaces, hyphens,
// upper-case letters and non-ASCII bytes, plus hand-picked edge cases.
func TestEmailSyntaxAgreesWithNetMail(t *testing.T) {
	// Mostly valid characters, so that many draws pass emailSyntaxOK.
	const localChars = "abcdefXYZ0123456789abcdef.!#$%&'*+-/=?^_`{|}~abcdef\"(),:;<>@[\\] \té"
	const domainChars = "abcdefz0123456789-abcdefg.-.AZ_ é@[]"
	r := rand.New(rand.NewPCG(10, 20))
	draw := func(chars string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(chars[r.IntN(len(chars))])
		}
		return b.String()
	}
	accepted := 0
	check := func(local, domain string) {
		norm := local + "@" + domain
		if emailSyntaxOK(local, domain, norm) {
			accepted++
			if !netMailAccepts(norm) {
				t.Errorf("emailSyntaxOK accepts %q, net/mail does not", norm)
			}
		}
	}
	for range 300_000 {
		check(draw(localChars, 1+r.IntN(8)), draw(domainChars, 1+r.IntN(8))+"."+draw("abcfrz-9", 1+r.IntN(4)))
	}
	for _, c := range [][2]string{
		{"jean.dupont", "gmail.com"}, {"a", "b.fr"}, {"o'neil", "orange.fr"}, {"x+tag", "xn--bcher-kva.xn--p1ai"},
		{"{a}|b~c", "sub-1.example.co.uk"}, {"a.b.c", "9online.fr"}, {"!#$%&'*+-/=?^_`{|}~", "a.bc"},
	} {
		check(c[0], c[1])
	}
	if accepted < 5000 {
		t.Fatalf("only %d random addresses accepted: the draw tests too little", accepted)
	}
}

// FuzzEmailSyntaxAgreesWithNetMail: whatever the cell, an address that
// emailSyntaxOK accepts is one net/mail accepts unchanged.
func FuzzEmailSyntaxAgreesWithNetMail(f *testing.F) {
	for _, s := range []string{"jean.dupont@gmail.com", "a..b@c.fr", "\"a b\"@c.fr", "a@[1.2.3.4]", "a@b-.fr", "x+y@xn--p1ai.fr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at := strings.LastIndexByte(s, '@')
		if at < 0 {
			return
		}
		if emailSyntaxOK(s[:at], s[at+1:], s) && !netMailAccepts(s) {
			t.Errorf("emailSyntaxOK accepts %q, net/mail does not", s)
		}
	})
}
