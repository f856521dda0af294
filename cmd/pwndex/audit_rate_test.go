package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

// audTimedServer serves the real API over ix on 127.0.0.1 and records the
// URI, status and arrival time of every request.
type audTimedServer struct {
	url  string
	mu   sync.Mutex
	reqs []audTimed
}

type audTimed struct {
	uri    string
	status int
	at     time.Time
}

func audStartTimedAPI(t *testing.T, ix *index.Index) *audTimedServer {
	t.Helper()
	s, err := api.New(ix, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &audTimedServer{url: "http://" + ln.Addr().String()}
	srv := s.FastHTTPServer()
	inner := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		at := time.Now()
		inner(ctx)
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, audTimed{uri: string(ctx.Request.Header.RequestURI()), status: ctx.Response.StatusCode(), at: at})
		rs.mu.Unlock()
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return rs
}

// audRateCSV writes a base of n customers: user<i>@example.com (every
// tenth is in Beta, see audBuildIndex) and, on every 25th row, a phone
// number, the first of them the one in Gamma.
func audRateCSV(t *testing.T, dir string, n int) (path string, exposed int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,email,phone\n")
	for i := range n {
		phone := ""
		if i%25 == 0 {
			phone = fmt.Sprintf("06 %02d %02d %02d %02d", 10+i%80, i/100%100, i%100, 11)
			if i == 0 {
				phone = "06 12 34 56 78"
			}
		}
		fmt.Fprintf(&b, "C%d,user%d@example.com,%s\n", i, i, phone)
		if i%10 == 0 {
			exposed++
		}
	}
	path = filepath.Join(dir, "crm.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, exposed
}

// testAuditRateLimited audits a 5,000-row base through the real API with
// a key limited to 3,000 requests a minute: the audit finishes, its
// outputs equal the local audit's, and no 10-second window saw more than
// the key's share (500) plus 5%. With short, the key has the audit scope
// and the client chooses short prefixes; without, the key has only the
// range scope and every distinct 6-hex prefix is a request.
func testAuditRateLimited(t *testing.T, ixDir string, short bool) {
	const rows, rpm = 5000, 3000
	dir := t.TempDir()
	in, exposed := audRateCSV(t, dir, rows)
	if code, _, stderr := audRun(t, "--index", ixDir, "--out", filepath.Join(dir, "local"), in); code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	scopes := []string{"range", "sensitive"}
	if short {
		scopes = append(scopes, "audit")
	}
	key, err := ix.CreateAPIKey(index.APIKey{Name: fmt.Sprintf("rate-%d", time.Now().UnixNano()), Scopes: scopes, RatePerMinute: rpm})
	if err != nil {
		t.Fatal(err)
	}
	srv := audStartTimedAPI(t, ix)
	code, stdout, stderr := audRun(t, "--remote", srv.url, "--api-key", key, "--out", filepath.Join(dir, "remote"), in)
	if code != 0 {
		t.Fatalf("remote: exit %d: %s", code, stderr)
	}
	local, remote := audReadOut(t, filepath.Join(dir, "local")), audReadOut(t, filepath.Join(dir, "remote"))
	for name := range local {
		if local[name] != remote[name] {
			t.Errorf("%s differs between local and remote:\nlocal:\n%.500s\nremote:\n%.500s", name, local[name], remote[name])
		}
	}
	// Every tenth customer is in Beta, and C0's phone is in Gamma.
	if got := strings.Count(remote["exposed.csv"], "\n") - 1; got != exposed {
		t.Errorf("%d customers exposed, want %d", got, exposed)
	}

	srv.mu.Lock()
	reqs := append([]audTimed(nil), srv.reqs...)
	srv.mu.Unlock()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].at.Before(reqs[j].at) })
	ranges, shortRanges, limited := 0, 0, 0
	for _, r := range reqs {
		switch {
		case r.status == fasthttp.StatusTooManyRequests:
			limited++
		case strings.HasPrefix(r.uri, "/v1/range/"):
			shortRanges++
		case auditRangeURI.MatchString(r.uri):
			ranges++
		}
		if !auditRangeURI.MatchString(r.uri) && r.uri != "/api/v3/breaches" && r.uri != "/api/v3/subscription/status" {
			t.Errorf("unexpected request %q", r.uri)
		}
	}
	if short && (shortRanges == 0 || ranges != 0) {
		t.Errorf("audit key: %d compact and %d HIBP-route range requests, want compact ones only", shortRanges, ranges)
	}
	if !short && (ranges < rows || shortRanges != 0) {
		t.Errorf("range key: %d HIBP-route and %d compact range requests, want one per 6-hex prefix (> %d)", ranges, shortRanges, rows)
	}
	// The key's share of any 10-second window, measured server-side.
	limit := rpm / 6
	worst := 0
	for i := range reqs {
		j := sort.Search(len(reqs), func(j int) bool { return !reqs[j].at.Before(reqs[i].at.Add(10 * time.Second)) })
		worst = max(worst, j-i)
	}
	if float64(worst) > 1.05*float64(limit) {
		t.Errorf("%d requests in one 10 s window, the key allows %d (+5%%)", worst, limit)
	}
	t.Logf("%d requests (%d compact, %d HIBP route, %d answered 429), at most %d in 10 s (limit %d), over %v",
		len(reqs), shortRanges, ranges, limited, worst, limit, reqs[len(reqs)-1].at.Sub(reqs[0].at).Round(time.Millisecond))
	if !strings.Contains(stdout, "remote      ") {
		t.Errorf("summary without the remote line:\n%s", stdout)
	}
}

// audKey creates a key on the index in ixDir.
func audKey(t *testing.T, ix *index.Index, rpm int, scopes ...string) string {
	t.Helper()
	key, err := ix.CreateAPIKey(index.APIKey{Name: fmt.Sprintf("k-%d", time.Now().UnixNano()), Scopes: scopes, RatePerMinute: rpm})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// testAuditDryRun: --dry-run sends no prefix, prints the requests and
// their time at the key's rate; the real run then resumes after the scan
// and makes exactly the requests announced.
func testAuditDryRun(t *testing.T, ixDir string) {
	dir := t.TempDir()
	in, _ := audRateCSV(t, dir, 2000)
	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	key := audKey(t, ix, 600, "range", "sensitive")
	srv := audStartTimedAPI(t, ix)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := audRun(t, "--remote", srv.url, "--api-key", key, "--out", out, "--dry-run", in)
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	srv.mu.Lock()
	for _, r := range srv.reqs {
		if auditRangeURI.MatchString(r.uri) {
			t.Errorf("dry run sent %q", r.uri)
		}
	}
	srv.mu.Unlock()
	var n int64
	for _, line := range strings.Split(stdout, "\n") {
		fmt.Sscanf(strings.TrimSpace(line), "requests %d", &n)
	}
	// Distinct 6-hex prefixes of the base, computed here with crypto/sha1.
	prefixes := map[string]bool{}
	for i := range 2000 {
		prefixes["e"+fmt.Sprintf("%X", audSHA1(fmt.Sprintf("user%d@example.com", i)))[:6]] = true
	}
	if n <= int64(len(prefixes)) || n > int64(len(prefixes))+2000/25 {
		t.Errorf("dry run announces %d requests; the base has %d distinct e-mail prefixes and %d phones:\n%s", n, len(prefixes), 2000/25, stdout)
	}
	// Paced 2% under the key's 600 a minute.
	if want := fmt.Sprintf("time        %s at 588 requests/minute", (time.Duration(n) * time.Minute / 588).Round(time.Second)); !strings.Contains(stdout, want) {
		t.Errorf("dry run does not say %q:\n%s", want, stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "exposed.csv")); err == nil {
		t.Errorf("dry run wrote exposed.csv")
	}
	// The real run is not timed here (n requests at 600/min); the short
	// route plans and runs the same way (RateLimitedShortPrefixes).
	akey := audKey(t, ix, 3000, "range", "sensitive", "audit")
	code, stdout, stderr = audRun(t, "--remote", srv.url, "--api-key", akey, "--out", out, "--dry-run", in)
	if code != 0 {
		t.Fatalf("dry run, audit key: exit %d: %s", code, stderr)
	}
	var planned int64
	for _, line := range strings.Split(stdout, "\n") {
		fmt.Sscanf(strings.TrimSpace(line), "requests %d", &planned)
	}
	srv.mu.Lock()
	before := len(srv.reqs)
	srv.mu.Unlock()
	code, stdout, stderr = audRun(t, "--remote", srv.url, "--api-key", akey, "--out", out, in)
	if code != 0 {
		t.Fatalf("run after the dry run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "resumed") {
		t.Errorf("the run after a dry run did not resume its scan:\n%s", stdout)
	}
	srv.mu.Lock()
	made := 0
	for _, r := range srv.reqs[before:] {
		if auditRangeURI.MatchString(r.uri) {
			made++
		}
	}
	srv.mu.Unlock()
	if int64(made) != planned || planned == 0 {
		t.Errorf("dry run planned %d requests, the run made %d", planned, made)
	}
}

// testAuditMaxDuration: --max-duration stops a rate-limited audit with
// exit 3 and a resumable state; the same command without it completes,
// with the local audit's outputs.
func testAuditMaxDuration(t *testing.T, ixDir string) {
	dir := t.TempDir()
	in, _ := audRateCSV(t, dir, 60)
	if code, _, stderr := audRun(t, "--index", ixDir, "--out", filepath.Join(dir, "local"), in); code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	key := audKey(t, ix, 900, "range", "sensitive") // 6-hex route: ~63 requests, ~4 s
	srv := audStartTimedAPI(t, ix)
	out := filepath.Join(dir, "remote")
	code, _, stderr := audRun(t, "--remote", srv.url, "--api-key", key, "--out", out, "--max-duration", "1500ms", in)
	if code != 3 || !strings.Contains(stderr, "--max-duration") || !strings.Contains(stderr, "resume") {
		t.Fatalf("with --max-duration: exit %d: %s", code, stderr)
	}
	srv.mu.Lock()
	first := 0
	for _, r := range srv.reqs {
		if auditRangeURI.MatchString(r.uri) {
			first++
		}
	}
	srv.mu.Unlock()
	code, stdout, stderr := audRun(t, "--remote", srv.url, "--api-key", key, "--out", out, in)
	if code != 0 {
		t.Fatalf("resumed: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "resumed") {
		t.Errorf("not resumed:\n%s", stdout)
	}
	local, remote := audReadOut(t, filepath.Join(dir, "local")), audReadOut(t, out)
	for name := range local {
		if local[name] != remote[name] {
			t.Errorf("%s differs between local and remote:\nlocal:\n%.500s\nremote:\n%.500s", name, local[name], remote[name])
		}
	}
	srv.mu.Lock()
	total := 0
	for _, r := range srv.reqs {
		if auditRangeURI.MatchString(r.uri) {
			total++
		}
	}
	srv.mu.Unlock()
	// The resumed run asks only for the partitions not done: at most the
	// distinct prefixes (60 e-mails, 3 phones) less those done, plus the
	// partition in flight at the stop.
	if first < 5 || total > 63+16 {
		t.Errorf("%d range requests before the stop, %d in all: the resumed run redid finished partitions", first, total)
	}
	t.Logf("%d range requests before --max-duration, %d after", first, total-first)
}

// testAuditEveryPrefixLength audits audCSV through the recording server
// with an audit key (without the range scope) at every prefix length of
// the compact route, 1 to 6: the outputs equal the local audit's, and the
// server saw only the catalog, the status and prefixes of that length,
// never an identifier, a full hash, a suffix or a longer prefix.
func testAuditEveryPrefixLength(t *testing.T, ixDir string) {
	dir := t.TempDir()
	in := filepath.Join(dir, "crm.csv")
	os.WriteFile(in, []byte(audCSV), 0o644)
	if code, _, stderr := audRun(t, "--index", ixDir, "--out", filepath.Join(dir, "local"), in); code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	local := audReadOut(t, filepath.Join(dir, "local"))
	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	key := audKey(t, ix, 100000, "sensitive", "audit")
	for d := 1; d <= 6; d++ {
		srv := audStartAPI(t, ix)
		out := filepath.Join(dir, fmt.Sprintf("remote%d", d))
		code, _, stderr := audRun(t, "--remote", srv.url, "--api-key", key, "--out", out, "--prefix-digits", fmt.Sprint(d), in)
		if code != 0 {
			t.Fatalf("%d hex: exit %d: %s", d, code, stderr)
		}
		remote := audReadOut(t, out)
		for name := range local {
			if local[name] != remote[name] {
				t.Errorf("%d hex: %s differs between local and remote:\nlocal:\n%.500s\nremote:\n%.500s", d, name, local[name], remote[name])
			}
		}
		srv.mu.Lock()
		reqs := append([]string(nil), srv.reqs...)
		srv.mu.Unlock()
		audCheckRequests(t, reqs, []string{"alice@example.com", "bob@example.com", "carol@example.fr", "frank@example.net", "+33612345678"},
			[]string{"Alice", "alice", "bob", "carol", "frank", "06 12", "0612345678"})
		ranges := 0
		for _, r := range reqs {
			uri, _, _ := strings.Cut(r, "\n")
			if !auditRangeURI.MatchString(uri) {
				continue
			}
			ranges++
			p := uri[strings.LastIndexByte(uri, '/')+1:]
			if len(p) != d || !strings.HasPrefix(uri, "/v1/range/") {
				t.Errorf("%d hex: request %s", d, uri)
			}
		}
		if ranges == 0 {
			t.Errorf("%d hex: no range request", d)
		}
	}
}
