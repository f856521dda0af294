package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

func TestAudit(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{MaxAuditHashes: 50})
	emails := strings.Join([]string{
		idHex("alice@example.com"),
		"",
		strings.ToLower(idHex("bob@example.org")),
		idHex("nobody@example.com"),
		idHex("carol@example.fr"),
	}, "\r\n")
	for _, tc := range []struct {
		name, key string
		want      map[string][]string
	}{
		{"audit", f.keys.auditor, map[string][]string{
			idHex("alice@example.com"): {"Adobe"},
			idHex("bob@example.org"):   {"Adobe"},
		}},
		{"audit+sensitive", f.keys.auditSensitive, map[string][]string{
			idHex("alice@example.com"): {"Adobe", "AshleyMadison"},
			idHex("bob@example.org"):   {"Adobe"},
			idHex("carol@example.fr"):  {"AshleyMadison"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, base+"/v1/audit?kind=email", []byte(emails), "hibp-api-key: "+tc.key)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var r AuditResponse
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			if r.Checked != 4 || r.Kind != "email" {
				t.Errorf("checked %d kind %q, want 4 email", r.Checked, r.Kind)
			}
			got := map[string][]string{}
			for _, x := range r.Found {
				got[x.Hash] = x.Breaches
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("found %v, want %v", got, tc.want)
			}
		})
	}
	// Passwords: counts, NTLM too.
	pws := []string{"hunter2", "dumponly-secret", "not in the index, surely"}
	for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		var lines []string
		for _, pw := range pws {
			if k == index.KindSHA1 {
				lines = append(lines, sha1Hex(pw))
			} else {
				lines = append(lines, ntlmHex(pw))
			}
		}
		resp, body := post(t, base+"/v1/audit?kind="+k.String(), []byte(strings.Join(lines, "\n")+"\n"), "hibp-api-key: "+f.keys.auditor)
		var r AuditResponse
		if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("%s: %d %s", k, resp.StatusCode, body)
		}
		if len(r.Found) != 2 || r.Found[0].Hash != lines[0] || r.Found[0].Count != f.counts[k]["hunter2"] ||
			r.Found[1].Count != f.counts[k]["dumponly-secret"] {
			t.Errorf("%s: found %+v", k, r.Found)
		}
	}
	for _, tc := range []struct {
		name, query, key, body string
		status                 int
		msg                    string
	}{
		{"range key", "kind=email", f.keys.ranger, idHex("a@b.cd"), 403, "audit"},
		{"no key", "kind=email", "", idHex("a@b.cd"), 401, `"hibp-api-key" header`},
		{"bad kind", "kind=md5", f.keys.auditor, idHex("a@b.cd"), 400, "kind"},
		{"bad line", "kind=email", f.keys.auditor, idHex("a@b.cd") + "\nXYZ\n", 400, "line 2"},
		{"ntlm length for sha1", "kind=sha1", f.keys.auditor, ntlmHex("x"), 400, "line 1"},
		{"too many", "kind=email", f.keys.auditor, strings.Repeat(idHex("a@b.cd")+"\n", 51), 413, "line 51"},
	} {
		var hdr []string
		if tc.key != "" {
			hdr = append(hdr, "hibp-api-key: "+tc.key)
		}
		resp, body := post(t, base+"/v1/audit?"+tc.query, []byte(tc.body), hdr...)
		if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.msg)) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.name, resp.StatusCode, body, tc.status, tc.msg)
		}
	}
	if resp, _ := get(t, "GET", base+"/v1/audit?kind=email", "hibp-api-key: "+f.keys.auditor); resp.StatusCode != 405 {
		t.Errorf("GET /v1/audit: status %d, want 405", resp.StatusCode)
	}
}

func TestUploads(t *testing.T) {
	f := getFixture(t)
	var mu sync.Mutex
	var gotBody []byte
	var gotQuery map[string]string
	echo := func(_ context.Context, body []byte, q map[string]string) (int, string, []byte) {
		mu.Lock()
		defer mu.Unlock()
		gotBody, gotQuery = append([]byte(nil), body...), q
		return 201, "application/json", []byte(`{"ok":true}`)
	}
	_, base := startServer(t, Options{Uploads: map[string]Upload{
		"/v1/vet":    {Handler: echo, MaxBytes: 1000},
		"/v1/secret": {Handler: echo, MaxBytes: 1000, Scope: "vet"},
	}})
	resp, body := post(t, base+"/v1/vet?format=csv&sep=%3B", []byte("a;b\n1;2\n"))
	if resp.StatusCode != 201 || string(body) != `{"ok":true}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("upload: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	if string(gotBody) != "a;b\n1;2\n" || gotQuery["format"] != "csv" || gotQuery["sep"] != ";" {
		t.Errorf("handler got body %q query %v", gotBody, gotQuery)
	}
	if resp, _ := post(t, base+"/v1/vet", bytes.Repeat([]byte("x"), 1001)); resp.StatusCode != 413 {
		t.Errorf("oversized upload: status %d, want 413", resp.StatusCode)
	}
	if resp, _ := post(t, base+"/v1/vet", bytes.Repeat([]byte("x"), 1000)); resp.StatusCode != 201 {
		t.Errorf("upload at the limit: status %d, want 201", resp.StatusCode)
	}
	if resp, _ := get(t, "GET", base+"/v1/vet"); resp.StatusCode != 405 {
		t.Errorf("GET upload: status %d, want 405", resp.StatusCode)
	}
	if resp, _ := post(t, base+"/v1/secret", []byte("x")); resp.StatusCode != 401 {
		t.Errorf("scoped upload without key: status %d, want 401", resp.StatusCode)
	}
	if resp, _ := post(t, base+"/v1/secret", []byte("x"), "hibp-api-key: "+f.keys.ranger); resp.StatusCode != 403 {
		t.Errorf("scoped upload with a key lacking the scope: status %d, want 403", resp.StatusCode)
	}
	if _, err := New(f.ix, Options{Uploads: map[string]Upload{"/range/x": {Handler: echo}}}); err == nil {
		t.Errorf("New accepted an upload path shadowing /range/")
	}
	if _, err := New(f.ix, Options{Uploads: map[string]Upload{"/v1/x": {}}}); err == nil {
		t.Errorf("New accepted an upload without handler")
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, _ := get(t, "GET", base+p); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	p := sha1Hex("password")[:5]
	for range 3 {
		get(t, "GET", base+"/range/"+p)
	}
	get(t, "GET", base+"/range/XYZ")
	get(t, "GET", base+"/nowhere")
	resp, body := get(t, "GET", base+"/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	m := string(body)
	for _, want := range []string{
		`pwndex_http_requests_total{route="range",status="200"} 3`,
		`pwndex_http_requests_total{route="range",status="400"} 1`,
		`pwndex_http_requests_total{route="not_found",status="404"} 1`,
		`pwndex_http_request_duration_seconds_bucket{route="range",le="+Inf"} 4`,
		`pwndex_http_request_duration_seconds_count{route="range"} 4`,
		fmt.Sprintf("pwndex_index_version %d", f.ix.Meta().Version),
		fmt.Sprintf(`pwndex_index_records{kind="email"} %d`, f.ix.Meta().Counts[index.KindEmail]),
		fmt.Sprintf("pwndex_index_breaches %d", len(fixtureBreaches)),
		"# TYPE pwndex_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line has the exposition format's shape; no prefix leaks.
	line := regexp.MustCompile(`^(# (HELP|TYPE) .*|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$`)
	sc := bufio.NewScanner(strings.NewReader(m))
	for sc.Scan() {
		if !line.MatchString(sc.Text()) {
			t.Errorf("bad exposition line %q", sc.Text())
		}
	}
	if strings.Contains(m, p) {
		t.Errorf("metrics contain a requested prefix")
	}
	if sz := regexp.MustCompile(`pwndex_index_size_bytes (\d+)`).FindStringSubmatch(m); sz == nil || sz[1] == "0" {
		t.Errorf("index size missing or zero: %v", sz)
	}
}

func TestGracefulShutdown(t *testing.T) {
	f := getFixture(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := func(context.Context, []byte, map[string]string) (int, string, []byte) {
		entered <- struct{}{}
		<-release
		return 200, "text/plain", []byte("done")
	}
	s, err := New(f.ix, Options{Logger: discardLogger(), Uploads: map[string]Upload{"/v1/slow": {Handler: slow}}})
	if err != nil {
		t.Fatal(err)
	}
	base, done, cancel := serveOn(t, s.Serve)
	type result struct {
		status int
		body   string
	}
	inflight := make(chan result, 1)
	go func() {
		resp, body := post(t, base+"/v1/slow", []byte("x"))
		inflight <- result{resp.StatusCode, string(body)}
	}()
	<-entered
	cancel()
	// While shutting down, readiness is withdrawn and new connections fail.
	deadline := time.Now().Add(5 * time.Second)
	for s.ready.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.ready.Load() {
		t.Fatalf("still ready after cancel")
	}
	close(release)
	if r := <-inflight; r.status != 200 || r.body != "done" {
		t.Errorf("in-flight request got %d %q, want 200 done", r.status, r.body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Errorf("listener still accepts after shutdown")
	}
}

func TestConcurrencyCap(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := func(context.Context, []byte, map[string]string) (int, string, []byte) {
		entered <- struct{}{}
		<-release
		return 200, "text/plain", []byte("done")
	}
	_, base := startServer(t, Options{MaxInFlight: 1, Uploads: map[string]Upload{"/v1/slow": {Handler: slow}}})
	first := make(chan int, 1)
	go func() {
		resp, _ := post(t, base+"/v1/slow", []byte("x"))
		first <- resp.StatusCode
	}()
	<-entered
	resp, _ := get(t, "GET", base+"/range/ABCDE")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the cap: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(release)
	if st := <-first; st != 200 {
		t.Errorf("first request: %d", st)
	}
	if resp, _ := get(t, "GET", base+"/range/ABCDE"); resp.StatusCode != 200 {
		t.Errorf("after the slow request: status %d", resp.StatusCode)
	}
}

// rawRequest writes bytes on a fresh connection and returns the status line.
func rawRequest(t *testing.T, addr string, req []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(req)
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestHeaderLimitAndRedactedLogs sends oversized and malformed requests
// whose text carries a marker prefix and key, and checks fasthttp's error
// logging went through the redacting Logger: no marker, no address.
func TestHeaderLimitAndRedactedLogs(t *testing.T) {
	var logs safeBuffer
	lg := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, base := startServer(t, Options{MaxHeaderBytes: 4096, Logger: lg, AccessLog: true})
	addr := strings.TrimPrefix(base, "http://")
	const marker = "C0FFE"
	big := "GET /range/" + marker + " HTTP/1.1\r\nHost: x\r\nhibp-api-key: pwx_SECRETKEY\r\nX-Big: " +
		strings.Repeat("a", 8000) + "\r\n\r\n"
	if st := rawRequest(t, addr, []byte(big)); !strings.Contains(st, "431") {
		t.Errorf("oversized header: status line %q, want 431", st)
	}
	if st := rawRequest(t, addr, []byte("GARBAGE /range/"+marker+"\r\n\r\n")); !strings.HasPrefix(st, "HTTP/1.1 4") {
		t.Errorf("malformed request: status line %q, want 4xx", st)
	}
	get(t, "GET", base+"/range/"+marker, "hibp-api-key: pwx_SECRETKEY")
	time.Sleep(50 * time.Millisecond)
	out := logs.String()
	if !strings.Contains(out, "route=range") {
		t.Errorf("access log missing: %q", out)
	}
	// fasthttp's own error went through the redacting Logger.
	if !strings.Contains(out, `msg="fasthttp: error when serving connection _<->_: _" class=bad_request`) {
		t.Errorf("fasthttp's error log is missing or not redacted:\n%s", out)
	}
	for _, bad := range []string{marker, "SECRETKEY", "127.0.0.1", "/range/"} {
		if strings.Contains(out, bad) {
			t.Errorf("logs contain %q:\n%s", bad, out)
		}
	}
}

func TestLoggerRedacts(t *testing.T) {
	var logs safeBuffer
	l := NewLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	l.Printf("error when serving connection %q<->%q: %v", "127.0.0.1:8080", "10.1.2.3:5555",
		fmt.Errorf("cannot parse request %q", "GET /range/ABCDE?key=pwx_123"))
	l.Printf("%s", "/range/12345")
	l.Printf("100%% sure %d", 987654321)
	out := logs.String()
	for _, bad := range []string{"127.0.0.1", "10.1.2.3", "ABCDE", "pwx_123", "12345", "987654321"} {
		if strings.Contains(out, bad) {
			t.Errorf("redacting logger wrote %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "error when serving connection") || !strings.Contains(out, "class=bad_request") ||
		!strings.Contains(out, "100% sure") {
		t.Errorf("logger lost the message or class:\n%s", out)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestListenAndServeDefaultAddr(t *testing.T) {
	if DefaultAddr != "127.0.0.1:8080" {
		t.Fatalf("DefaultAddr %q", DefaultAddr)
	}
	f := getFixture(t)
	s, err := New(f.ix, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	if err := s.ListenAndServe(context.Background(), "256.0.0.1:bad"); err == nil {
		t.Fatalf("bad address accepted")
	}
}
