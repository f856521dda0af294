package api

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	rtmetrics "runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

// heapBytes reads the live heap object bytes from runtime/metrics.
func heapBytes() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

// heapPeak samples the heap every 2 ms until stop is called and returns
// the peak seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// zeros64K is the body every hostile upload sends from (read-only).
var zeros64K [64 << 10]byte

// hostileUpload dials addr (from local, if set), sends a POST of path
// announcing n body bytes without a key and keeps writing zeros until the
// server stops it or n bytes are sent. It returns the response status, or
// 0 when the connection was reset before an answer could be read.
func hostileUpload(addr, local, path string, n int, header string) int {
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return -1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n", path, header, n)
	status := make(chan int, 1)
	go func() {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			status <- 0
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			status <- 0
			return
		}
		st, _ := strconv.Atoi(f[1])
		status <- st
	}()
	buf := zeros64K[:]
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			break
		}
		select {
		case st := <-status:
			return st
		default:
		}
	}
	return <-status
}

// TestUnauthenticatedUploadsBounded sends 40 concurrent 8 MiB uploads
// (within the body limit) without a key, to the audit route and to a
// scoped upload route: each is refused on its headers (401, or 429 once
// the client is throttled) and the server's heap stays far below what
// buffering them would take (40 x 8 MiB = 320 MiB).
func TestUnauthenticatedUploadsBounded(t *testing.T) {
	const conns, size = 40, 8 << 20
	_, base := startServer(t, Options{MaxAuditBytes: size, Uploads: map[string]Upload{
		"/v1/vet": {Handler: func(context.Context, []byte, map[string]string) (int, string, []byte) {
			return 200, "text/plain", []byte("ok")
		}, MaxBytes: size, Scope: "vet"},
	}})
	addr := strings.TrimPrefix(base, "http://")
	before := heapBytes()
	stop := heapPeak()
	var wg sync.WaitGroup
	statuses := make([]int, conns)
	for i := range conns {
		wg.Go(func() {
			path := "/v1/audit?kind=sha1"
			if i%2 == 1 {
				path = "/v1/vet"
			}
			statuses[i] = hostileUpload(addr, "", path, size, "")
		})
	}
	wg.Wait()
	peak := stop()
	counts := map[int]int{}
	for _, st := range statuses {
		counts[st]++
	}
	t.Logf("statuses %v; heap %d MiB before, peak %d MiB", counts, before>>20, peak>>20)
	for st, n := range counts {
		if st != 401 && st != 429 && st != 0 {
			t.Errorf("%d uploads answered %d, want 401 or 429", n, st)
		}
	}
	if counts[401] == 0 {
		t.Errorf("no upload was answered 401: %v", counts)
	}
	if grow := int64(peak) - int64(before); grow > 32<<20 {
		t.Errorf("heap grew by %d MiB during unauthenticated uploads, want < 32 MiB", grow>>20)
	}
}

func TestBodyLimits(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{MaxAuditBytes: 1 << 20, MaxBodyMemory: 1 << 20})
	addr := strings.TrimPrefix(base, "http://")
	audit := base + "/v1/audit?kind=sha1"
	key := "hibp-api-key: " + f.keys.auditor
	line := []byte(sha1Hex("password") + "\n")
	big := []byte(strings.Repeat(string(line), (1<<20)/len(line)+1))

	if resp, _ := post(t, audit, big, key); resp.StatusCode != 413 {
		t.Errorf("audit body over the limit (Content-Length): status %d, want 413", resp.StatusCode)
	}
	// Chunked: net/http sends an unknown-length body chunked.
	if resp, _ := request(t, "POST", audit, io.MultiReader(strings.NewReader(string(big))), key); resp.StatusCode != 413 {
		t.Errorf("chunked audit body over the limit: status %d, want 413", resp.StatusCode)
	}
	if resp, body := request(t, "POST", audit, io.MultiReader(strings.NewReader(string(line))), key); resp.StatusCode != 200 || !strings.Contains(string(body), `"checked":1`) {
		t.Errorf("small chunked audit: %d %s", resp.StatusCode, body)
	}
	if resp, _ := request(t, "GET", base+"/range/ABCDE", strings.NewReader("x"), "Content-Type: text/plain"); resp.StatusCode != 413 {
		t.Errorf("GET /range with a body: status %d, want 413", resp.StatusCode)
	}
	// Expect: 100-continue without a key: refused before the body is sent.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST /v1/audit?kind=sha1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
	st, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.Contains(st, " 417 ") {
		t.Errorf("Expect: 100-continue without a key: %q, want 417", st)
	}

	// The body budget (1 MiB): a slow upload holding it makes the next
	// one answer 503 with Retry-After, and returns it once done.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /v1/audit?kind=sha1 HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: %d\r\n\r\n", key, 1<<20)
	// fasthttp reads up to 8 KiB of a body before calling the handler.
	slow.Write(big[:16<<10])
	waitMetric(t, base, "pwndex_http_body_bytes_in_flight", 1<<20)
	resp, _ := post(t, audit, line, key)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upload over the body budget: status %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	slow.Close()
	waitMetric(t, base, "pwndex_http_body_bytes_in_flight", 0)
	if resp, _ := post(t, audit, line, key); resp.StatusCode != 200 {
		t.Errorf("upload after the budget was returned: status %d", resp.StatusCode)
	}
}

// metricValue reads one unlabelled gauge or counter from /metrics.
func metricValue(t *testing.T, base, name string) int64 {
	t.Helper()
	_, body := get(t, "GET", base+"/metrics")
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	t.Fatalf("/metrics has no %s:\n%s", name, body)
	return 0
}

func waitMetric(t *testing.T, base, name string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := metricValue(t, base, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d", name, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clientFrom is an HTTP client whose connections leave from local.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
}

// getWithKey GETs url through c with the hibp-api-key header (none when key
// is empty) and the name, value pairs of hdr, reads the body away and
// returns the response.
func getWithKey(t testing.TB, c *http.Client, url, key string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("hibp-api-key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestAuthThrottle(t *testing.T) {
	f := getFixture(t)
	var logs safeBuffer
	_, base := startServer(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), AccessLog: true})
	url := base + "/api/v3/breachedaccount/range/" + idHex("alice@example.com")[:6]
	attacker, other := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	do := func(c *http.Client, key string) *http.Response { return getWithKey(t, c, url, key) }
	for i := range authBurst {
		key := fmt.Sprintf("pwx_wrong%d", i)
		if i%4 == 0 {
			key = "" // a missing key fails too
		}
		if st := do(attacker, key).StatusCode; st != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, st)
		}
	}
	resp := do(attacker, f.keys.ranger) // even a valid key: no oracle while throttled
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after %d failures: status %d Retry-After %q, want 429", authBurst, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st := do(other, f.keys.ranger).StatusCode; st != 200 {
		t.Errorf("another client with a valid key: status %d, want 200", st)
	}
	if st := do(other, "pwx_wrong").StatusCode; st != 401 {
		t.Errorf("another client's first failure: status %d, want 401", st)
	}
	// Failures refill one per authRefill.
	th := newAuthThrottle()
	k := clientKey(netip.MustParseAddr("2001:db8::1"))
	now := time.Now()
	for range authBurst {
		th.fail(k, now)
	}
	if _, blocked := th.blocked(clientKey(netip.MustParseAddr("2001:db8::ffff")), now); !blocked {
		t.Errorf("an IPv6 neighbour in the same /64 is not throttled")
	}
	if _, blocked := th.blocked(k, now.Add(authRefill)); blocked {
		t.Errorf("still blocked after one refill period")
	}
	time.Sleep(20 * time.Millisecond)
	if out := logs.String(); strings.Contains(out, "127.0.0") {
		t.Errorf("logs carry a client address:\n%s", out)
	}
}

func TestPanicRecovered(t *testing.T) {
	const marker = "SECRET-IDENTIFIER-42"
	var logs safeBuffer
	_, base := startServer(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Uploads: map[string]Upload{
		"/v1/boom": {Handler: func(_ context.Context, body []byte, _ map[string]string) (int, string, []byte) {
			panic("handler failed on " + string(body))
		}},
	}})
	for range 3 {
		if resp, body := post(t, base+"/v1/boom", []byte(marker)); resp.StatusCode != 500 || string(body) != "Internal error" {
			t.Errorf("panicking handler: %d %q, want 500", resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, "GET", base+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("server down after panics: %d", resp.StatusCode)
	}
	if n := metricValue(t, base, "pwndex_http_panics_total"); n != 3 {
		t.Errorf("pwndex_http_panics_total = %d, want 3", n)
	}
	out := logs.String()
	if !strings.Contains(out, "recovered from a panic") || !strings.Contains(out, "route=upload") {
		t.Errorf("no panic log line:\n%s", out)
	}
	if strings.Contains(out, marker) || strings.Contains(out, "127.0.0.1") {
		t.Errorf("panic log carries request data:\n%s", out)
	}
}

func TestMetricsProcess(t *testing.T) {
	_, base := startServer(t, Options{})
	if n := metricValue(t, base, "pwndex_goroutines"); n < 2 {
		t.Errorf("pwndex_goroutines = %d", n)
	}
	if n := metricValue(t, base, "pwndex_open_fds"); n < 3 {
		t.Errorf("pwndex_open_fds = %d", n)
	}
}

// denseIndex builds, in a temp dir, a SHA-1 base whose bucket 0xABCDE has
// 150 rows (so gzip and brotli forms exist) and 0x12345 has 3, and returns
// the directory and the expected identity bodies of the two, rendered
// here from the inputs.
func denseIndex(t testing.TB) (string, map[uint32]string) {
	t.Helper()
	dir := t.TempDir()
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "dense", Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rows := map[uint32][]string{}
	for i := range 153 {
		var h index.Hash
		for j := range h {
			h[j] = byte(rng.Uint32())
		}
		p := uint32(0xABCDE)
		if i >= 150 {
			p = 0x12345
		}
		h[0], h[1], h[2] = byte(p>>12), byte(p>>4), byte(p<<4)|h[2]&0x0F
		if err := b.SetBase(&h, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
		rows[p] = append(rows[p], fmt.Sprintf("%X:%d", h[:20], i+1)[5:])
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{}
	for p, r := range rows {
		sort.Strings(r)
		want[p] = strings.Join(r, "\r\n")
	}
	return dir, want
}

// bucketSpan locates bucket b's body in a range file from the documented
// layout: a 64-byte header, 2^20+1 offsets, 2^20 checksums, then the body.
func bucketSpan(data []byte, b uint32) (lo, hi int) {
	const bodyStart = 64 + 8*(1<<20+1) + 4*(1<<20)
	l := binary.LittleEndian.Uint64(data[64+8*int(b):])
	h := binary.LittleEndian.Uint64(data[64+8*int(b)+8:])
	return bodyStart + int(l), bodyStart + int(h)
}

func flipByte(t testing.TB, path string, at int) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var b [1]byte
	if _, err := fh.ReadAt(b[:], int64(at)); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1 << rand.IntN(8)
	if _, err := fh.WriteAt(b[:], int64(at)); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptRangeNotServed(t *testing.T) {
	for _, tc := range []struct {
		file    string
		headers []string
	}{
		{"ranges.txt", nil},
		{"ranges.txt", []string{"Add-Padding: true"}},
		{"ranges.gz", []string{"Accept-Encoding: gzip"}},
		{"ranges.gz", []string{"Accept-Encoding: gzip", "Add-Padding: true"}},
		{"ranges.br", []string{"Accept-Encoding: br"}},
	} {
		t.Run(tc.file+strings.Join(tc.headers, ","), func(t *testing.T) {
			dir, want := denseIndex(t)
			m, _ := filepath.Glob(filepath.Join(dir, "gens", "*", tc.file))
			if len(m) != 1 {
				t.Fatalf("no %s: %v", tc.file, m)
			}
			data, err := os.ReadFile(m[0])
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := bucketSpan(data, 0xABCDE)
			flipByte(t, m[0], lo+rand.IntN(hi-lo))
			ix, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			var logs safeBuffer
			_, base := serveIndex(t, ix, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			for range 2 {
				resp, body := get(t, "GET", base+"/range/ABCDE", tc.headers...)
				if resp.StatusCode != 500 || resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("ETag") != "" {
					t.Errorf("corrupt bucket: status %d, Content-Encoding %q, ETag %q, %d bytes; want 500 without them",
						resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"), len(body))
				}
			}
			if resp, body := get(t, "GET", base+"/range/12345"); resp.StatusCode != 200 || string(body) != want[0x12345] {
				t.Errorf("intact bucket: %d, body matches %v", resp.StatusCode, string(body) == want[0x12345])
			}
			if n := metricValue(t, base, "pwndex_range_corrupt_total"); n != 2 {
				t.Errorf("pwndex_range_corrupt_total = %d, want 2", n)
			}
			out := logs.String()
			if !strings.Contains(out, "corrupt range") || !strings.Contains(out, tc.file) || strings.Contains(strings.ToUpper(out), "ABCDE") {
				t.Errorf("log should name the file and the corruption, not the prefix:\n%s", out)
			}
		})
	}
}

// TestBareLFAnsweredAtOnce: requests whose header lines end in a bare LF
// are refused with 400 well before the read timeout.
func TestBareLFAnsweredAtOnce(t *testing.T) {
	_, base := startServer(t, Options{ReadTimeout: 5 * time.Second})
	addr := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct{ req, want string }{
		{"GET /healthz HTTP/1.1\nHost: x\n\n", "400"},
		{"GET /healthz HTTP/1.1\r\nHost: x\n\n", "400"},
		{"GET /healthz HTTP/1.0\n\n", "400"},
		{"POST /v1/audit?kind=sha1 HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc", "400"},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "200"},
		// A CRLF header followed by an LF-separated body is fine.
		{"POST /v1/audit?kind=sha1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\nb\n", "401"},
	} {
		start := time.Now()
		st := rawRequest(t, addr, []byte(tc.req))
		if d := time.Since(start); !strings.Contains(st, " "+tc.want+" ") || d > time.Second {
			t.Errorf("%q: %q after %v, want %s within 1s", tc.req, st, d, tc.want)
		}
	}
	// Keep-alive: the second CRLF request on a connection is served too.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for i := range 2 {
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("keep-alive request %d: %v %v", i, resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
