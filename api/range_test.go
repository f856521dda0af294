package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

func TestRangeBodiesAndHeaders(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	pw := "hunter2"
	sp, np := sha1Hex(pw)[:5], ntlmHex(pw)[:5]
	tests := []struct {
		name, path string
		kind       index.Kind
		prefix     string
	}{
		{"sha1 upper", "/range/" + sp, index.KindSHA1, sp},
		{"sha1 lower", "/range/" + strings.ToLower(sp), index.KindSHA1, sp},
		{"mode=sha1", "/range/" + sp + "?mode=sha1", index.KindSHA1, sp},
		{"mode=NTLM is not ntlm", "/range/" + sp + "?mode=NTLM", index.KindSHA1, sp},
		{"mode=other", "/range/" + sp + "?mode=md5", index.KindSHA1, sp},
		{"ntlm", "/range/" + np + "?mode=ntlm", index.KindNTLM, np},
		{"ntlm lower", "/range/" + strings.ToLower(np) + "?mode=ntlm", index.KindNTLM, np},
		{"empty sha1", "/range/" + f.emptyPrefix, index.KindSHA1, f.emptyPrefix},
		{"empty ntlm", "/range/" + f.emptyPrefix + "?mode=ntlm", index.KindNTLM, f.emptyPrefix},
	}
	suffixLine := map[index.Kind]*regexp.Regexp{
		index.KindSHA1: regexp.MustCompile(`^[0-9A-F]{35}:[1-9][0-9]*$`),
		index.KindNTLM: regexp.MustCompile(`^[0-9A-F]{27}:[1-9][0-9]*$`),
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, "GET", base+tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			want := f.body(tc.kind, tc.prefix)
			if string(body) != want {
				t.Fatalf("body differs:\n got %q\nwant %q", trunc(body), trunc([]byte(want)))
			}
			if want != "" {
				for _, l := range strings.Split(string(body), "\r\n") {
					if !suffixLine[tc.kind].MatchString(l) {
						t.Fatalf("line %q is not SUFFIX:COUNT for %s", l, tc.kind)
					}
				}
			}
			for h, v := range map[string]string{
				"Content-Type":                "text/plain",
				"Cache-Control":               "public, max-age=2678400",
				"Access-Control-Allow-Origin": "*",
			} {
				if got := resp.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("unexpected Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			if et := resp.Header.Get("ETag"); !strings.HasPrefix(et, `"`) || !strings.HasSuffix(et, `"`) {
				t.Errorf("ETag %q is not a quoted strong tag", et)
			}
			lm, err := http.ParseTime(resp.Header.Get("Last-Modified"))
			if err != nil {
				t.Errorf("Last-Modified %q: %v", resp.Header.Get("Last-Modified"), err)
			} else if built := f.ix.Meta().BuiltAt; lm.Unix() != built.Unix() {
				t.Errorf("Last-Modified %v, want the index build time %v", lm, built)
			}
		})
	}
	// The password's own row carries the independently computed count.
	_, body := get(t, "GET", base+"/range/"+sp)
	want := sha1Hex(pw)[5:] + ":" + strconv.FormatUint(f.counts[index.KindSHA1][pw], 10)
	if !bytes.Contains(body, []byte(want)) {
		t.Fatalf("range of %s lacks %q", sp, want)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}

func TestRangeBadPrefix(t *testing.T) {
	_, base := startServer(t, Options{})
	const (
		format = "The hash prefix was not in a valid format"
		hexMsg = "The hash prefix was not valid hexadecimal"
	)
	for _, tc := range []struct{ path, want string }{
		{"/range/ABCD", format},
		{"/range/ABCDEF", format},
		{"/range/", format},
		{"/range/ABCDE/1", format},
		{"/range/ABCDG", hexMsg},
		{"/range/abcdz", hexMsg},
		{"/range/%20BCDE", hexMsg},
		{"/range/12345?mode=ntlm&x=%ZZ", ""},
	} {
		resp, body := get(t, "GET", base+tc.path)
		if tc.want == "" {
			if resp.StatusCode != 200 {
				t.Errorf("%s: status %d, want 200", tc.path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != 400 || string(body) != tc.want {
			t.Errorf("%s: got %d %q, want 400 %q", tc.path, resp.StatusCode, body, tc.want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
			t.Errorf("%s: Content-Type %q", tc.path, ct)
		}
	}
	resp, body := get(t, "HEAD", base+"/range/"+sha1Hex("password")[:5])
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength <= 0 {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
	resp, _ = get(t, "POST", base+"/range/ABCDE")
	if resp.StatusCode != 405 {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
}

func TestRangeEncodings(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	p := sha1Hex("password")[:5]
	want := f.body(index.KindSHA1, p)
	decode := map[string]func(io.Reader) (io.Reader, error){
		"":     func(r io.Reader) (io.Reader, error) { return r, nil },
		"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		"br":   func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	}
	for _, tc := range []struct{ accept, wantEnc string }{
		{"", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br", "br"},
		{"br;q=1.0, gzip;q=0.8", "br"},
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0, br;q=0.000", ""},
		{"identity", ""},
		{"*", "br"},
		{"x-gzip", "gzip"},
		{"deflate", ""},
	} {
		h := "Accept-Encoding: " + tc.accept
		resp, body := get(t, "GET", base+"/range/"+p, h)
		if got := resp.Header.Get("Content-Encoding"); got != tc.wantEnc {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.wantEnc)
			continue
		}
		r, err := decode[tc.wantEnc](bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%q: %v", tc.accept, err)
		}
		plain, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%q: decoding: %v", tc.accept, err)
		}
		if string(plain) != want {
			t.Errorf("Accept-Encoding %q: decoded body differs", tc.accept)
		}
		if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Encoding") {
			t.Errorf("Vary %q lacks Accept-Encoding", v)
		}
	}
	// An empty range is never wrapped in a coding.
	resp, body := get(t, "GET", base+"/range/"+f.emptyPrefix, "Accept-Encoding: br, gzip")
	if len(body) != 0 || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("empty range: %d bytes, Content-Encoding %q", len(body), resp.Header.Get("Content-Encoding"))
	}
}

func TestRangeConditionalAndCORS(t *testing.T) {
	_, base := startServer(t, Options{})
	p := sha1Hex("azerty")[:5]
	resp, _ := get(t, "GET", base+"/range/"+p)
	etag := resp.Header.Get("ETag")
	respBr, _ := get(t, "GET", base+"/range/"+p, "Accept-Encoding: br")
	etagBr := respBr.Header.Get("ETag")
	if etag == "" || etagBr == "" || etag == etagBr {
		t.Fatalf("ETags identity %q, br %q: want two distinct tags", etag, etagBr)
	}
	for _, tc := range []struct {
		inm  string
		want int
	}{
		{etag, 304},
		{etagBr, 304},
		{"W/" + etag, 304},
		{`"other", ` + etag, 304},
		{"*", 304},
		{`"other"`, 200},
		{etag[:len(etag)-1] + `x"`, 200},
	} {
		resp, body := get(t, "GET", base+"/range/"+p, "If-None-Match: "+tc.inm)
		if resp.StatusCode != tc.want {
			t.Errorf("If-None-Match %q: status %d, want %d", tc.inm, resp.StatusCode, tc.want)
		}
		if tc.want == 304 && (len(body) != 0 || resp.Header.Get("ETag") == "") {
			t.Errorf("304 with %d body bytes, ETag %q", len(body), resp.Header.Get("ETag"))
		}
	}
	resp, _ = get(t, "OPTIONS", base+"/range/"+p,
		"Origin: https://example.org", "Access-Control-Request-Method: GET",
		"Access-Control-Request-Headers: add-padding")
	if resp.StatusCode != 204 && resp.StatusCode != 200 {
		t.Fatalf("preflight status %d", resp.StatusCode)
	}
	if !strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "add-padding") ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight headers: %v", resp.Header)
	}
}

// parseRows splits a range body into (suffix, count) rows, checking the
// wire format: CRLF separators and no trailing newline.
func parseRows(t *testing.T, body []byte, hexLen int) (suffixes []string, counts []string) {
	t.Helper()
	if len(body) == 0 {
		return nil, nil
	}
	if bytes.HasSuffix(body, []byte("\n")) || bytes.HasSuffix(body, []byte("\r")) {
		t.Fatalf("body ends with a newline")
	}
	for _, l := range strings.Split(string(body), "\r\n") {
		s, c, ok := strings.Cut(l, ":")
		if !ok || len(s) != hexLen || strings.ContainsAny(l, "\n\r") {
			t.Fatalf("malformed row %q", l)
		}
		if strings.ToUpper(s) != s {
			t.Fatalf("lower-case suffix in %q", l)
		}
		if _, err := strconv.ParseUint(c, 10, 64); err != nil {
			t.Fatalf("count in %q: %v", l, err)
		}
		suffixes = append(suffixes, s)
		counts = append(counts, c)
	}
	return suffixes, counts
}

func TestRangeAddPadding(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	gzipSeen := 0
	defer func() {
		if gzipSeen == 0 {
			t.Errorf("no padded response was served as multi-member gzip")
		}
	}()
	for _, tc := range []struct {
		kind   index.Kind
		prefix string
		query  string
	}{
		{index.KindSHA1, sha1Hex("password")[:5], ""},
		{index.KindNTLM, ntlmHex("password")[:5], "?mode=ntlm"},
		{index.KindSHA1, f.emptyPrefix, ""},
		{index.KindNTLM, ntlmHex("hunter2")[:5], "?mode=ntlm"},
	} {
		want := f.body(tc.kind, tc.prefix)
		realRows := len(f.rows[tc.kind][tc.prefix])
		seen := map[int]bool{}
		for i := range 8 {
			accept := "Accept-Encoding: br, gzip"
			if i%2 == 1 {
				accept = "Accept-Encoding: identity"
			}
			resp, body := get(t, "GET", base+"/range/"+tc.prefix+tc.query, "Add-Padding: true", accept)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			hasGzip := false
			if i%2 == 0 {
				p, _ := index.ParsePrefix([]byte(tc.prefix), 5)
				g, ok := f.ix.PasswordRange(tc.kind, p.Value, index.Gzip)
				hasGzip = ok && len(g) > 0
			}
			switch ce := resp.Header.Get("Content-Encoding"); {
			case hasGzip && ce == "gzip":
				gzipSeen++
				// Multi-member gzip: the first member is exactly the
				// real rows, the rest is the padding.
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				zr.Multistream(false)
				first, err := io.ReadAll(zr)
				if err != nil || (want != "" && string(first) != want) {
					t.Fatalf("first gzip member: %v, %d bytes (real rows %d bytes)", err, len(first), len(want))
				}
				zr2, _ := gzip.NewReader(bytes.NewReader(body))
				if body, err = io.ReadAll(zr2); err != nil {
					t.Fatalf("decoding the padded gzip body: %v", err)
				}
			case !hasGzip && ce == "":
			default:
				t.Fatalf("%s %s: %s: Content-Encoding %q", tc.kind, tc.prefix, accept, ce)
			}
			if !bytes.HasPrefix(body, []byte(want)) {
				t.Fatalf("padded body does not start with the real rows")
			}
			suffixes, counts := parseRows(t, body, tc.kind.HexLen()-5)
			pad := len(suffixes) - realRows
			if pad < 10 || pad > 209 {
				t.Fatalf("%d padding rows, want 10..209", pad)
			}
			for _, c := range counts[realRows:] {
				if c != "0" {
					t.Fatalf("padding row count %q, want 0", c)
				}
			}
			seen[pad] = true
		}
		if len(seen) < 2 {
			t.Errorf("8 padded responses all had the same padding: not random")
		}
	}
}

func TestRangeFixedPadding(t *testing.T) {
	f := getFixture(t)
	const rows = 300
	_, base := startServer(t, Options{PadRows: rows})
	for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		q := ""
		if k == index.KindNTLM {
			q = "?mode=ntlm"
		}
		sizes := map[int]bool{}
		for _, p := range []string{sha1Hex("password")[:5], ntlmHex("123456")[:5], f.emptyPrefix, "FFFFF"} {
			for _, pad := range []string{"Add-Padding: true", "Add-Padding: false"} {
				resp, body := get(t, "GET", base+"/range/"+p+q, pad, "Accept-Encoding: br")
				if resp.Header.Get("Content-Encoding") != "" {
					t.Fatalf("fixed padding served %q", resp.Header.Get("Content-Encoding"))
				}
				suffixes, counts := parseRows(t, body, k.HexLen()-5)
				if len(suffixes) != rows {
					t.Fatalf("%s %s: %d rows, want %d", k, p, len(suffixes), rows)
				}
				real := f.rows[k][p]
				if !bytes.HasPrefix(body, []byte(strings.Join(real, "\r\n"))) {
					t.Fatalf("%s %s: real rows missing", k, p)
				}
				for _, c := range counts[len(real):] {
					if n, _ := strconv.Atoi(c); n != 0 {
						t.Fatalf("padding count %q", c)
					}
				}
				sizes[len(body)] = true
			}
		}
		if len(sizes) != 1 {
			t.Errorf("%s: response sizes %v, want one fixed size", k, sizes)
		}
	}
}

// TestRangeNoAllocs drives the handler in memory: serving a precomputed
// range (any encoding, 304, errors) must not allocate.
func TestRangeNoAllocs(t *testing.T) {
	getFixture(t)
	s, _ := New(fix.ix, Options{Logger: discardLogger()})
	h := s.Handler()
	p := sha1Hex("password")[:5]
	etag := string(s.cache.Load().etag[index.Identity])
	for _, tc := range []struct {
		name, uri string
		headers   []string
		status    int
	}{
		{"identity", "/range/" + p, nil, 200},
		{"lower", "/range/" + strings.ToLower(p), nil, 200},
		{"brotli", "/range/" + p, []string{"Accept-Encoding", "gzip, deflate, br"}, 200},
		{"gzip", "/range/" + p, []string{"Accept-Encoding", "gzip"}, 200},
		{"ntlm", "/range/" + p + "?mode=ntlm", nil, 200},
		{"304", "/range/" + p, []string{"If-None-Match", etag}, 304},
		{"bad hex", "/range/ZZZZZ", nil, 400},
		{"bad length", "/range/ABC", nil, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.SetRequestURI(tc.uri)
			for i := 0; i < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			ctx.Init(&req, nil, nil)
			run := func() {
				ctx.Response.Reset()
				h(&ctx)
			}
			run()
			if got := ctx.Response.StatusCode(); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if n := testing.AllocsPerRun(500, run); n != 0 {
				t.Fatalf("%v allocations per request, want 0", n)
			}
		})
	}
}

// TestValidatorsFollowCommits serves a separate index and commits to it
// while serving: ETag, Last-Modified, ranges and the catalog follow.
func TestValidatorsFollowCommits(t *testing.T) {
	ix, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() }) // after the server's cleanup
	commit := func(name, pw string) {
		b, err := ix.NewBreachBuilder(index.Breach{Name: name, BreachDate: "2020-01-02"}, index.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := mustHash(index.KindSHA1, sha1Hex(pw))
		if err := b.AddPassword(index.KindSHA1, &h, 7); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	commit("First", "first-password")
	_, base := serveIndex(t, ix, Options{RefreshInterval: 20 * time.Millisecond})

	p := sha1Hex("second-password")[:5]
	resp1, body := get(t, "GET", base+"/range/"+p)
	if resp1.Header.Get("ETag") != ix.ETag() || bytes.Contains(body, []byte(sha1Hex("second-password")[5:])) {
		t.Fatalf("before the commit: ETag %q (index %q), body %q", resp1.Header.Get("ETag"), ix.ETag(), body)
	}
	time.Sleep(1100 * time.Millisecond) // Last-Modified has one-second resolution
	commit("Second", "second-password")
	want := sha1Hex("second-password")[5:] + ":7"
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp2, body := get(t, "GET", base+"/range/"+p)
		if resp2.Header.Get("ETag") == ix.ETag() && bytes.Contains(body, []byte(want)) {
			if resp2.Header.Get("ETag") == resp1.Header.Get("ETag") ||
				resp2.Header.Get("Last-Modified") == resp1.Header.Get("Last-Modified") {
				t.Fatalf("validators did not change: %v / %v", resp1.Header, resp2.Header)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the commit: ETag %q (index %q), body %q", resp2.Header.Get("ETag"), ix.ETag(), body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, body := get(t, "GET", base+"/api/v3/breach/second"); !bytes.Contains(body, []byte(`"Name":"Second"`)) {
		t.Fatalf("the new breach is not served: %s", body)
	}
}
