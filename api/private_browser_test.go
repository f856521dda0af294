package api

import (
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestPrivateCheckPageInChromium drives the page's "check my e-mail
// privately" form in headless Chromium: the bundled @cloudflare/voprf-ts
// runs the OPRF in the browser. A recording wrapper proves that the server
// received neither the address nor any hex prefix of its SHA-1, and that
// the two lookups of the same address sent different elements.
func TestPrivateCheckPageInChromium(t *testing.T) {
	requireChromium(t)
	f := getPrivateFixture(t)
	s, err := New(f.ix, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	base := serveWrapped(t, s, func(h fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			mu.Lock()
			seen = append(seen, string(ctx.RequestURI())+"\n"+string(ctx.Request.Header.RawHeaders())+string(ctx.Request.Body()))
			mu.Unlock()
			h(ctx)
		}
	})
	ctx := chromiumContext(t, 90*time.Second)

	cases := []struct{ typed, norm, want string }{
		{"  Alice@Example.COM ", "alice@example.com", "2 breach(es): Breach1, Breach2"},
		{"alice@example.com", "alice@example.com", "2 breach(es): Breach1, Breach2"},
		{"Zoé@exemple.fr", "zoé@exemple.fr", "1 breach(es): Breach2"},
		{"carol@example.com", "carol@example.com", "not found"},
		{"bob@example.org.", "bob@example.org", "1 breach(es): Breach1"},
	}
	for _, tc := range cases {
		verdict, err := pageVerdict(ctx, base, "#pcheck", "#presult", [2]string{"#pemail", tc.typed}, [2]string{"#pkey", f.key})
		if err != nil {
			t.Fatalf("driving Chromium for %q: %v", tc.typed, err)
		}
		if !strings.Contains(verdict, tc.want) {
			t.Errorf("%q: page says %q, want %q", tc.typed, verdict, tc.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	posts := map[string]bool{}
	for _, r := range seen {
		uri, _, _ := strings.Cut(r, "\n")
		if uri == "/v1/private/email" {
			body := r[strings.LastIndex(r, "\n")+1:]
			if posts[body] {
				t.Errorf("the same lookup body was sent twice: %s", body)
			}
			posts[body] = true
		}
		for _, tc := range cases {
			h := fmt.Sprintf("%x", sha1.Sum([]byte(tc.norm)))
			s := fmt.Sprintf("%x", sha256.Sum256([]byte(tc.norm)))
			low := strings.ToLower(r)
			for _, leak := range []string{strings.ToLower(strings.TrimSpace(tc.typed)), tc.norm, h[:6], s[:6], "alice", "carol"} {
				if strings.Contains(low, leak) {
					t.Errorf("the server saw %q in %q", leak, r)
				}
			}
		}
	}
	if len(posts) != len(cases) {
		t.Errorf("%d distinct private lookups, want %d", len(posts), len(cases))
	}
}
