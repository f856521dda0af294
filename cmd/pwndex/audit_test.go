package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality/audit"
)

// audBigN is the number of synthetic customers user<i>@example.com; every
// tenth is in the breach Beta.
const audBigN = 30000

// TestAudit builds one real index (a Badger commit is slow under -race)
// and runs the audit command tests against it.
func TestAudit(t *testing.T) {
	ixDir := t.TempDir()
	if err := audBuildIndex(ixDir); err != nil {
		t.Fatal(err)
	}
	t.Run("LocalCLI", func(t *testing.T) { testAuditLocalCLI(t, ixDir) })
	t.Run("ExitCodes", func(t *testing.T) { testAuditExitCodes(t, ixDir) })
	t.Run("RemoteMatchesLocal", func(t *testing.T) { testAuditRemoteMatchesLocal(t, ixDir) })
	t.Run("RemoteEveryPrefixLength", func(t *testing.T) { testAuditEveryPrefixLength(t, ixDir) })
	t.Run("ResumeAfterKill", func(t *testing.T) { testAuditResumeAfterKill(t, ixDir) })
	t.Run("RateLimitedShortPrefixes", func(t *testing.T) { testAuditRateLimited(t, ixDir, true) })
	t.Run("DryRunThenRun", func(t *testing.T) { testAuditDryRun(t, ixDir) })
	t.Run("MaxDurationThenResume", func(t *testing.T) { testAuditMaxDuration(t, ixDir) })
	t.Run("RateLimitedHIBPRoute", func(t *testing.T) {
		if os.Getenv("PWNDEX_LONG_TESTS") == "" {
			t.Skip("about 2 minutes: set PWNDEX_LONG_TESTS=1")
		}
		testAuditRateLimited(t, ixDir, false)
	})
}

func audSHA1(s string) index.Hash { return index.Hash(sha1.Sum([]byte(s))) }

// audBuildIndex: Alpha (2019, passwords) and Beta (2021, sensitive,
// with the synthetic customers) hold e-mail addresses, Gamma (2020)
// phone numbers. Hashes are crypto/sha1 of hand-normalised forms.
func audBuildIndex(dir string) error {
	ix, err := index.Open(index.Options{Dir: dir, FalsePositiveRate: 1e-4})
	if err != nil {
		return err
	}
	defer ix.Close()
	beta := []string{"alice@example.com", "erin@example.org"}
	for i := 0; i < audBigN; i += 10 {
		beta = append(beta, fmt.Sprintf("user%d@example.com", i))
	}
	breaches := []struct {
		b      index.Breach
		emails []string
		phones []string
	}{
		{index.Breach{Name: "Alpha", Title: "Alpha Shop", BreachDate: "2019-03-01", DataClasses: []string{"Email addresses", "Passwords"}},
			[]string{"alice@example.com", "carol@example.fr"}, nil},
		{index.Breach{Name: "Beta", Title: "Beta Forum", BreachDate: "2021-07-15", DataClasses: []string{"Email addresses", "Usernames"}, IsSensitive: true},
			beta, nil},
		{index.Breach{Name: "Gamma", Title: "Gamma Telecom", BreachDate: "2020-11-30", DataClasses: []string{"Phone numbers", "Names"}},
			nil, []string{"+33612345678"}},
	}
	for _, fb := range breaches {
		b, err := ix.NewBreachBuilder(fb.b, index.BuildOptions{SourceID: "t:" + fb.b.Name})
		if err != nil {
			return err
		}
		for _, e := range fb.emails {
			h := audSHA1(e)
			b.AddIdentifier(index.KindEmail, &h)
		}
		for _, p := range fb.phones {
			h := audSHA1(p)
			b.AddIdentifier(index.KindPhone, &h)
		}
		if _, err := b.Commit(context.Background()); err != nil {
			return err
		}
	}
	return nil
}

const audCSV = "N° client;Nom;Courriel;Téléphone\r\n" +
	"A1;Martin;Alice@Example.com;\r\n" +
	"A2;Durand;bob@example.com;06 12 34 56 78\r\n" +
	"A3;Roux;carol@example.fr;\r\n" +
	"A4;Petit;pas-un-email;\r\n" +
	"A5;Blanc;frank@example.net;\r\n"

// audWantExposed is exposed.csv for audCSV, written by hand.
const audWantExposed = "line;customer_id;identifiers;breaches;breach_count;data_classes;latest_breach;passwords\n" +
	"2;A1;email;Alpha|Beta;2;Email addresses|Passwords|Usernames;2021-07-15;yes\n" +
	"3;A2;phone;Gamma;1;Names|Phone numbers;2020-11-30;no\n" +
	"4;A3;email;Alpha;1;Email addresses|Passwords;2019-03-01;yes\n"

func audRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), append([]string{"audit"}, args...), strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func audReadOut(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range []string{"exposed.csv", "report.json", "report.html", "bad_rows.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		m[f] = string(b)
	}
	return m
}

func testAuditLocalCLI(t *testing.T, ixDir string) {
	dir := t.TempDir()
	in := filepath.Join(dir, "crm.csv")
	os.WriteFile(in, []byte(audCSV), 0o644)
	// FILE before the flags, as in the documentation; default --out.
	code, stdout, stderr := audRun(t, in, "--index", ixDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	out := audReadOut(t, filepath.Join(dir, "crm.audit"))
	if out["exposed.csv"] != audWantExposed {
		t.Errorf("exposed.csv:\n%s\nwant:\n%s", out["exposed.csv"], audWantExposed)
	}
	if !strings.Contains(stdout, "3 customers (75.00%), 2 with passwords") {
		t.Errorf("summary:\n%s", stdout)
	}
	if out["bad_rows.csv"] != "line,field,reason\n5,email,invalid e-mail syntax\n" {
		t.Errorf("bad_rows.csv:\n%s", out["bad_rows.csv"])
	}
}

func testAuditExitCodes(t *testing.T, ixDir string) {
	dir := t.TempDir()
	good := filepath.Join(dir, "crm.csv")
	os.WriteFile(good, []byte(audCSV), 0o644)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, nil, 0o644)
	nocol := filepath.Join(dir, "nocol.csv")
	os.WriteFile(nocol, []byte("a;b\n1;2\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no file", []string{"--index", ixDir}, 2, "exactly one FILE"},
		{"no source", []string{good}, 2, "--index DIR or --remote URL"},
		{"both sources", []string{"--index", ixDir, "--remote", "http://127.0.0.1:1", good}, 2, "either"},
		{"bad flag", []string{"--frobnicate", good}, 2, "flag provided but not defined"},
		{"missing file", []string{"--index", ixDir, filepath.Join(dir, "nope.csv")}, 2, "nope.csv"},
		{"empty file", []string{"--index", ixDir, empty}, 2, "empty.csv: empty file"},
		{"no column", []string{"--index", ixDir, nocol}, 2, "nocol.csv:1: no e-mail or phone column"},
		{"not an index", []string{"--index", dir, good}, 2, "not an index"},
		{"remote without key", []string{"--remote", "http://127.0.0.1:1", good}, 2, "API key"},
		{"remote unreachable", []string{"--remote", "http://127.0.0.1:1", "--api-key", "k", "--out", filepath.Join(dir, "o"), good}, 3, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PWNDEX_API_KEY", "")
			code, _, stderr := audRun(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.msg)
			}
		})
	}
}

// audRecordingServer serves the real API over ix on 127.0.0.1 and records
// the URI and headers of every request it receives.
type audRecordingServer struct {
	url  string
	mu   sync.Mutex
	reqs []string
}

func audStartAPI(t *testing.T, ix *index.Index) *audRecordingServer {
	t.Helper()
	s, err := api.New(ix, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AccountDecoys: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &audRecordingServer{url: "http://" + ln.Addr().String()}
	srv := s.FastHTTPServer()
	inner := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		var b strings.Builder
		b.Write(ctx.Request.Header.RequestURI())
		for k, v := range ctx.Request.Header.All() {
			fmt.Fprintf(&b, "\n%s: %s", k, v)
		}
		b.WriteString("\n")
		b.Write(ctx.Request.Body())
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, b.String())
		rs.mu.Unlock()
		inner(ctx)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return rs
}

func testAuditRemoteMatchesLocal(t *testing.T, ixDir string) {
	dir := t.TempDir()
	in := filepath.Join(dir, "crm.csv")
	os.WriteFile(in, []byte(audCSV), 0o644)
	if code, _, stderr := audRun(t, "--index", ixDir, "--out", filepath.Join(dir, "local"), in); code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}

	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	key, err := ix.CreateAPIKey(index.APIKey{Name: fmt.Sprintf("audit-%d", time.Now().UnixNano()),
		Scopes: []string{"range", "sensitive"}, RatePerMinute: 100000})
	if err != nil {
		t.Fatal(err)
	}
	srv := audStartAPI(t, ix)
	code, stdout, stderr := audRun(t, "--remote", srv.url, "--api-key", key, "--out", filepath.Join(dir, "remote"), in)
	if code != 0 {
		t.Fatalf("remote: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "remote http://127.0.0.1") {
		t.Errorf("summary:\n%s", stdout)
	}
	local, remote := audReadOut(t, filepath.Join(dir, "local")), audReadOut(t, filepath.Join(dir, "remote"))
	for name := range local {
		if local[name] != remote[name] {
			t.Errorf("%s differs between local and remote:\nlocal:\n%.500s\nremote:\n%.500s", name, local[name], remote[name])
		}
	}
	audCheckRequests(t, srv.reqs, []string{"alice@example.com", "bob@example.com", "carol@example.fr", "frank@example.net", "+33612345678"},
		[]string{"Alice", "alice", "bob", "carol", "frank", "06 12", "0612345678"})
	// The summary's lookup count is the number of range requests made.
	ranges := 0
	for _, r := range srv.reqs {
		if auditRangeURI.MatchString(strings.SplitN(r, "\n", 2)[0]) {
			ranges++
		}
	}
	if want := fmt.Sprintf("lookups     %d range lookups in ", ranges); ranges == 0 || !strings.Contains(stdout, want) {
		t.Errorf("summary does not say %q:\n%s", want, stdout)
	}
}

// auditRangeURI matches the range requests of an audit: the HIBP routes
// (6 hex) and pwndex's compact route (1 to 6 hex).
var auditRangeURI = regexp.MustCompile(`^(/api/v3/(breachedaccount|phone)/range/[0-9A-F]{6}|/v1/range/(email|phone)/[0-9A-F]{1,6})$`)

// audShortSpan matches compact range requests of 1 hex digit, which span
// several spill partitions (a remote audit has at least 64).
var audShortSpan = regexp.MustCompile(`^/v1/range/(email|phone)/[0-9A-F]$`)

// checkRequests proves the server saw only the catalog, the subscription
// status and range prefixes (of any length), each once, and never a full
// hash, a longer prefix or an identifier.
func audCheckRequests(t *testing.T, reqs []string, normalised, typed []string) {
	t.Helper()
	var leaks []string
	for _, n := range normalised {
		h := fmt.Sprintf("%X", audSHA1(n))
		leaks = append(leaks, n, h, strings.ToLower(h), h[6:], h[:7])
	}
	leaks = append(leaks, typed...)
	seen := map[string]int{}
	for _, r := range reqs {
		uri, _, _ := strings.Cut(r, "\n")
		seen[uri]++
		if uri != "/api/v3/breaches" && uri != "/api/v3/subscription/status" && !auditRangeURI.MatchString(uri) {
			t.Errorf("unexpected request %q", uri)
		}
		low := strings.ToLower(r)
		for _, l := range leaks {
			if strings.Contains(low, strings.ToLower(l)) {
				t.Errorf("request leaks %q:\n%s", l, r)
			}
		}
	}
	for u, n := range seen {
		// A prefix shorter than a spill partition is asked once per
		// partition; any other request once.
		if n != 1 && !audShortSpan.MatchString(u) {
			t.Errorf("%s requested %d times", u, n)
		}
	}
	if len(seen) < 2 {
		t.Errorf("server saw %d distinct requests", len(seen))
	}
}

// TestAuditHelperProcess is not a test: it runs `pwndex audit` in a child
// process for TestAuditResumeAfterKill.
func TestAuditHelperProcess(t *testing.T) {
	args := os.Getenv("PWNDEX_AUDIT_HELPER")
	if args == "" {
		t.Skip("helper process only")
	}
	// Keep the lookup stage long enough to be killed in: a pause after
	// each resolved partition (its hits file is written by then).
	auditConfigHook = func(c *audit.Config) {
		c.Progress = func(p audit.Progress) {
			if p.Stage == audit.StageResolve {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	os.Exit(run(context.Background(), append([]string{"audit"}, strings.Split(args, "\x1f")...), os.Stdin, io.Discard, os.Stderr))
}

func audStartHelper(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditHelperProcess$")
	cmd.Env = append(os.Environ(), "PWNDEX_AUDIT_HELPER="+strings.Join(args, "\x1f"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitUntil polls cond every 2 ms until it holds or the child exits; it
// reports whether cond held (the child is still running then).
func audWaitUntil(t *testing.T, cmd *exec.Cmd, cond func() bool) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Process.Wait(); close(done) }()
	deadline := time.After(60 * time.Second)
	for {
		if cond() {
			return true
		}
		select {
		case <-done:
			return false
		case <-deadline:
			t.Fatal("child neither progressed nor exited in 60 s")
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func testAuditResumeAfterKill(t *testing.T, ixDir string) {
	dir := t.TempDir()
	in := filepath.Join(dir, "big.csv")
	var b strings.Builder
	b.WriteString("id;email;mobile\n")
	for i := 0; i < audBigN; i++ {
		phone := ""
		if i%500 == 0 {
			phone = "06 12 34 56 78"
		}
		fmt.Fprintf(&b, "%d;User%d@Example.com;%s\n", i, i, phone)
		if i%997 == 0 {
			b.WriteString("x;not an email;\n")
		}
	}
	os.WriteFile(in, []byte(b.String()), 0o644)

	clean := filepath.Join(dir, "clean")
	if code, _, stderr := audRun(t, "--index", ixDir, "--out", clean, in); code != 0 {
		t.Fatalf("clean run: exit %d: %s", code, stderr)
	}
	want := audReadOut(t, clean)
	if n := strings.Count(want["exposed.csv"], "\n") - 1; n != audBigN/10 {
		t.Fatalf("clean run: %d exposed, want %d", n, audBigN/10)
	}

	out := filepath.Join(dir, "killed")
	work := filepath.Join(out, ".pwndex-audit-work")
	args := []string{"--index", ixDir, "--out", out, "--checkpoint-every", "1000", in}
	ckState := func() (rows int64, scanDone bool) {
		data, err := os.ReadFile(filepath.Join(work, "checkpoint.json"))
		if err != nil {
			return 0, false
		}
		var c struct {
			RowsDone int64
			ScanDone bool
		}
		json.Unmarshal(data, &c)
		return c.RowsDone, c.ScanDone
	}
	// 1. Kill during the scan, after a checkpoint.
	cmd := audStartHelper(t, args...)
	if !audWaitUntil(t, cmd, func() bool { r, d := ckState(); return r > 0 && !d }) {
		t.Fatal("child finished before a mid-scan checkpoint")
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if r, d := ckState(); r == 0 || d || r >= int64(audBigN) {
		t.Fatalf("killed at rows=%d scanDone=%v, want mid-scan", r, d)
	}
	if _, err := os.Stat(filepath.Join(out, "report.json")); err == nil {
		t.Fatal("report written by a killed run")
	}
	// 2. Resume, and kill again once some partitions are resolved.
	cmd = audStartHelper(t, args...)
	hits := func() bool { m, _ := filepath.Glob(filepath.Join(work, "hits-*.bin")); return len(m) > 0 }
	if audWaitUntil(t, cmd, hits) {
		cmd.Process.Kill()
		cmd.Wait()
	} else {
		t.Fatal("the resumed run completed before it could be killed while resolving")
	}
	// 3. Resume to the end.
	code, stdout, stderr := audRun(t, args...)
	if code != 0 {
		t.Fatalf("resumed run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "resumed") {
		t.Errorf("summary does not say it resumed:\n%s", stdout)
	}
	got := audReadOut(t, out)
	for name := range want {
		if got[name] != want[name] {
			t.Errorf("%s after kill -9 and resume differs from a clean run:\ngot:\n%.400s\nwant:\n%.400s", name, got[name], want[name])
		}
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("work directory left behind: %v", err)
	}
}
