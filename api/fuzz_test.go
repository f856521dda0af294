package api

import (
	"bytes"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

func FuzzPickEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip", "br;q=0, gzip", "*", "gzip;q=0.000,br;q=0", " BR ; Q = 0.5 ", ";;,,", "q=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		enc := pickEncoding([]byte(h))
		if enc != index.Identity && enc != index.Gzip && enc != index.Brotli {
			t.Fatalf("encoding %d", enc)
		}
		// Nothing is chosen that the header does not name (or "*").
		low := strings.ToLower(h)
		if enc == index.Brotli && !strings.Contains(low, "br") && !strings.Contains(low, "*") {
			t.Fatalf("brotli chosen from %q", h)
		}
		if enc == index.Gzip && !strings.Contains(low, "gzip") && !strings.Contains(low, "*") {
			t.Fatalf("gzip chosen from %q", h)
		}
	})
}

func FuzzETagMatches(f *testing.F) {
	tag := []byte(`"pwndex-3-abc"`)
	for _, s := range []string{"", "*", `"pwndex-3-abc"`, `W/"pwndex-3-abc"`, `"x", "y"`, `W/`, `,,,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := etagMatches([]byte(h), tag)
		if got && !strings.Contains(h, string(tag)) && strings.TrimSpace(h) != "*" {
			t.Fatalf("%q matched %s", h, tag)
		}
	})
}

func FuzzParseAuditBody(f *testing.F) {
	f.Add([]byte(sha1Hex("x")+"\n\n"+sha1Hex("y")), uint8(1))
	f.Add([]byte("zz\r\n"), uint8(3))
	f.Add([]byte(ntlmHex("x")), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, k uint8) {
		kind := index.Kind(k%4 + 1)
		hashes, status, err := parseAuditBody(body, kind, 100)
		if err != nil {
			if status != 400 && status != 413 || !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error %d %v", status, err)
			}
			return
		}
		lines := 0
		for _, l := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		if len(hashes) != lines {
			t.Fatalf("%d hashes from %d non-blank lines", len(hashes), lines)
		}
	})
}

// FuzzHandler feeds arbitrary paths, queries and headers to the whole
// handler (path and header parsing included) over the fixture index. It
// must never panic, and range answers must keep their contract.
func FuzzHandler(f *testing.F) {
	fx := getFixture(f)
	s, err := New(fx.ix, Options{Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	for _, seed := range []struct{ method, uri, hname, hval string }{
		{"GET", "/range/" + sha1Hex("password")[:5], "Accept-Encoding", "br"},
		{"GET", "/range/abcde?mode=ntlm", "Add-Padding", "true"},
		{"GET", "/range/%41%42%43%44%45", "If-None-Match", "*"},
		{"OPTIONS", "/range/ABCDE", "Access-Control-Request-Headers", "add-padding"},
		{"GET", "/api/v3/breachedaccount/range/ABCDEF", "hibp-api-key", fx.keys.ranger},
		{"GET", "/api/v3/phone/range/zzzzzz", "hibp-api-key", "x"},
		{"GET", "/api/v3/breach/Adobe", "", ""},
		{"GET", "/api/v3/breaches?domain=adobe.com", "", ""},
		{"POST", "/v1/audit?kind=email", "hibp-api-key", fx.keys.auditor},
		{"GET", "/../range/ABCDE/..", "", ""},
		{"HEAD", "/metrics", "", ""},
	} {
		f.Add(seed.method, seed.uri, seed.hname, seed.hval)
	}
	f.Fuzz(func(t *testing.T, method, uri, hname, hval string) {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(uri)
		if hname != "" {
			req.Header.Set(hname, hval)
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		h(&ctx)
		st := ctx.Response.StatusCode()
		if st < 200 || st > 599 {
			t.Fatalf("status %d", st)
		}
		path := ctx.Path()
		if !bytes.HasPrefix(path, []byte("/range/")) || !ctx.IsGet() {
			return
		}
		switch st {
		case 200:
			raw := path[len("/range/"):]
			if _, err := index.ParsePrefix(raw, 5); err != nil {
				t.Fatalf("200 for invalid prefix %q", raw)
			}
			if len(ctx.Response.Header.ContentEncoding()) == 0 {
				body := ctx.Response.Body()
				if bytes.HasSuffix(body, []byte("\n")) || bytes.Contains(bytes.ReplaceAll(body, crlf, nil), []byte("\n")) {
					t.Fatalf("bad line endings in %q", body)
				}
			}
		case 304:
		case 400:
			b := string(ctx.Response.Body())
			if b != index.ErrPrefixFormat.Error() && b != index.ErrPrefixHex.Error() {
				t.Fatalf("400 body %q", b)
			}
		default:
			t.Fatalf("range status %d", st)
		}
	})
}

// FuzzLFGuard checks the bare-LF watch of a connection's first header
// against a reference written independently: within the bytes up to the
// first CR LF CR LF, is there an LF not preceded by CR? The input is fed
// in two reads split at every position mod 7.
func FuzzLFGuard(f *testing.F) {
	for _, s := range []string{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\n", "\n", "\r\r\n\n", ""} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		want := false
		end := bytes.Index(in, []byte("\r\n\r\n"))
		head := in
		if end >= 0 {
			head = in[:end+4]
		}
		for i, c := range head {
			if c == '\n' && (i == 0 || head[i-1] != '\r') {
				want = true
				break
			}
		}
		var c lfGuardConn
		k := 0
		if len(in) > 0 {
			k = int(cut) % (len(in) + 1)
		}
		c.scan(in[:k])
		if !c.done && !c.bad {
			c.scan(in[k:])
		}
		if c.bad != want {
			t.Fatalf("%q: bad %v, want %v", in, c.bad, want)
		}
	})
}
