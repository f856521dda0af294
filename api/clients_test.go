package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	pwned "github.com/mattevans/pwned-passwords"
	hibp "github.com/wneessen/go-hibp"

	"github.com/pwndex/pwndex/index"
)

// rewriteTransport sends every request to the test server whatever host
// and scheme the client library hard-codes (go-hibp has no base URL
// option, only WithHTTPClient).
type rewriteTransport struct {
	host string // host:port of the test server
	seen []string
}

func (rt *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = "http"
	r.URL.Host = rt.host
	r.Host = rt.host
	rt.seen = append(rt.seen, r.URL.Path)
	return http.DefaultTransport.RoundTrip(r)
}

// clientPasswords are checked through every client: present ones (ASCII,
// since go-hibp's UTF-16 conversion is only right for ASCII) and absent ones.
func clientPasswords() []string {
	var pws []string
	for pw := range fixturePasswords {
		pws = append(pws, pw)
	}
	for pw := range fixtureDumpPasswords {
		pws = append(pws, pw)
	}
	for _, pw := range absentPasswords {
		// go-hibp's UTF-16 conversion is only right for ASCII.
		if strings.IndexFunc(pw, func(r rune) bool { return r > 127 }) < 0 {
			pws = append(pws, pw)
		}
	}
	return pws
}

func TestGoHIBPClient(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	host := strings.TrimPrefix(base, "http://")
	for _, mode := range []struct {
		name string
		kind index.Kind
		opts []hibp.Option
	}{
		{"sha1", index.KindSHA1, nil},
		{"sha1 padded", index.KindSHA1, []hibp.Option{hibp.WithPwnedPadding()}},
		{"ntlm", index.KindNTLM, []hibp.Option{hibp.WithPwnedNTLMHash()}},
		{"ntlm padded", index.KindNTLM, []hibp.Option{hibp.WithPwnedNTLMHash(), hibp.WithPwnedPadding()}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			rt := &rewriteTransport{host: host}
			opts := append([]hibp.Option{hibp.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second})}, mode.opts...)
			c := hibp.New(opts...)
			for _, pw := range clientPasswords() {
				want := f.counts[mode.kind][pw] // 0 when absent
				m, _, err := c.PwnedPassAPI.CheckPassword(pw)
				if err != nil {
					t.Fatalf("CheckPassword(%q): %v", pw, err)
				}
				var got uint64
				if m.Present() {
					got = uint64(m.Count)
				}
				if got != want {
					t.Errorf("go-hibp %s: %q seen %d times, want %d", mode.name, pw, got, want)
				}
			}
			if len(rt.seen) == 0 || !strings.HasPrefix(rt.seen[0], "/range/") {
				t.Fatalf("requests went to %v", rt.seen)
			}
		})
	}
}

func TestMattevansClient(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	for _, padRows := range []int{0, 1200} {
		c := pwned.NewClient()
		if padRows > 0 {
			// This client sends no Add-Padding header; a server padding
			// every response must still answer it correctly.
			_, base = startServer(t, Options{PadRows: padRows})
		}
		u, err := url.Parse(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		c.BackendURL = u
		c.SetHTTPClient(&http.Client{Timeout: 10 * time.Second})
		for _, pw := range clientPasswords() {
			got, err := c.Compromised(pw)
			if err != nil {
				t.Fatalf("Compromised(%q): %v", pw, err)
			}
			if want := f.counts[index.KindSHA1][pw] > 0; got != want {
				t.Errorf("mattevans (padRows %d): %q compromised=%v, want %v", padRows, pw, got, want)
			}
		}
	}
}

// TestGoHIBPBreaches reads the catalog with go-hibp's BreachAPI.
func TestGoHIBPBreaches(t *testing.T) {
	_, base := startServer(t, Options{})
	rt := &rewriteTransport{host: strings.TrimPrefix(base, "http://")}
	c := hibp.New(hibp.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}))
	bs, _, err := c.BreachAPI.Breaches()
	if err != nil {
		t.Fatalf("Breaches: %v", err)
	}
	if len(bs) != len(fixtureBreaches) {
		t.Fatalf("%d breaches, want %d", len(bs), len(fixtureBreaches))
	}
	for _, want := range fixtureBreaches {
		b, _, err := c.BreachAPI.BreachByName(strings.ToLower(want.Name))
		if err != nil {
			t.Fatalf("BreachByName(%q): %v", want.Name, err)
		}
		if b.Name != want.Name || b.Domain != want.Domain || int64(b.PwnCount) != want.PwnCount ||
			b.IsSensitive != want.IsSensitive || b.BreachDate == nil ||
			b.BreachDate.Format("2006-01-02") != want.BreachDate ||
			!b.AddedDate.Equal(want.AddedDate) {
			t.Errorf("BreachByName(%q) = %+v, want %+v", want.Name, b, want)
		}
	}
	bs, _, err = c.BreachAPI.Breaches(hibp.WithDomain("adobe.com"))
	if err != nil || len(bs) != 1 || bs[0].Name != "Adobe" {
		t.Fatalf("Breaches(domain adobe.com) = %v, %v", bs, err)
	}
}
