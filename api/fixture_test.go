package api

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 NTLM is MD4 by definition.
	"golang.org/x/crypto/md4"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// The test fixture: a real index built through the Builder API in a temp
// directory, shared by the tests of this package (building it costs about
// a second). Expected values are computed here with crypto/sha1 and
// x/crypto/md4, independently of the index and the server.

// fixturePasswords are the passwords in the base downloads, with their
// base SHA-1 count; the NTLM count is the SHA-1 count + 1000.
var fixturePasswords = map[string]uint64{
	"password":      3_912_816,
	"123456":        37_359_195,
	"correct horse": 17,
	"hunter2":       42,
	"Pa$$w0rd!":     1,
	"azerty":        389_127,
	"motdepasse":    12_345,
}

// Passwords seen in the breach dump (AddPassword), with extra counts.
var fixtureDumpPasswords = map[string]uint64{"hunter2": 5, "dumponly-secret": 2}

// absentPasswords are in no download.
var absentPasswords = []string{"not in the index, surely", "zx81-spectrum-€", "another absent one"}

// Identifiers: normalised e-mail / E.164 phone -> breach names (sorted).
var (
	fixtureEmails = map[string][]string{
		"alice@example.com": {"Adobe", "AshleyMadison"},
		"bob@example.org":   {"Adobe"},
		"carol@example.fr":  {"AshleyMadison"},
	}
	fixturePhones = map[string][]string{"+33612345678": {"LinkedOut"}}
)

var fixtureBreaches = []index.Breach{
	{Name: "Adobe", Title: "Adobe", Domain: "adobe.com", BreachDate: "2013-10-04",
		AddedDate: time.Date(2013, 12, 4, 0, 0, 0, 0, time.UTC), PwnCount: 152445165,
		Description: "In October 2013, 153 million Adobe accounts were breached.",
		DataClasses: []string{"Email addresses", "Password hints", "Passwords", "Usernames"}, IsVerified: true},
	{Name: "AshleyMadison", Title: "Ashley Madison", Domain: "ashleymadison.com", BreachDate: "2015-07-19",
		AddedDate: time.Date(2015, 8, 18, 22, 0, 0, 0, time.UTC), PwnCount: 30811934,
		DataClasses: []string{"Email addresses", "Passwords"}, IsVerified: true, IsSensitive: true},
	{Name: "LinkedOut", Title: "Linked Out", Domain: "linkedout.example", BreachDate: "2021-04-03",
		AddedDate: time.Date(2021, 4, 5, 10, 30, 0, 0, time.FixedZone("CEST", 2*3600)), PwnCount: 1,
		DataClasses: []string{"Phone numbers"}},
}

// API key secrets created in the fixture.
type fixtureKeys struct {
	ranger, sensitive, auditor, auditSensitive, slow, none string
}

type fixture struct {
	dir  string
	ix   *index.Index
	keys fixtureKeys
	// rows maps kind and upper-case 5-hex prefix to the expected sorted
	// "SUFFIX:COUNT" lines.
	rows map[index.Kind]map[string][]string
	// emptyPrefix is a 5-hex prefix with no row in either password kind.
	emptyPrefix string
	counts      map[index.Kind]map[string]uint64 // password -> expected count
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	fixDirs []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil && fix.ix != nil {
		fix.ix.Close()
	}
	if denseIx != nil {
		denseIx.Close()
	}
	for _, d := range fixDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// getFixture returns the shared index, building it on first use.
func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = buildFixture() })
	if fixErr != nil {
		t.Fatalf("building the fixture index: %v", fixErr)
	}
	return fix
}

// sha1Hex and ntlmHex compute the expected digests independently of
// index/ident.
func sha1Hex(pw string) string {
	s := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func ntlmHex(pw string) string {
	u := utf16.Encode([]rune(pw))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	m := md4.New()
	m.Write(b)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func mustHash(k index.Kind, hexs string) index.Hash {
	h, err := index.ParseHash(k, []byte(hexs))
	if err != nil {
		panic(err)
	}
	return h
}

func buildFixture() (*fixture, error) {
	dir, err := os.MkdirTemp("", "pwndex-api-test-")
	if err != nil {
		return nil, err
	}
	fixDirs = append(fixDirs, dir)
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, ix: ix,
		rows:   map[index.Kind]map[string][]string{index.KindSHA1: {}, index.KindNTLM: {}},
		counts: map[index.Kind]map[string]uint64{index.KindSHA1: {}, index.KindNTLM: {}},
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		hexOf := sha1Hex
		extra := uint64(0)
		if k == index.KindNTLM {
			hexOf, extra = ntlmHex, 1000
		}
		full := map[string]uint64{} // full hex -> count
		for pw, n := range fixturePasswords {
			h := hexOf(pw)
			full[h] = n + extra
			f.counts[k][pw] = n + extra
			// Neighbours sharing the password's bucket, so buckets have
			// many rows to sort.
			// Big enough buckets (>= 1 KiB) get precomputed gzip and
			// brotli bodies.
			neighbours := 25
			if pw == "password" || pw == "123456" {
				neighbours = 80
			}
			for range neighbours {
				nb := []byte(h[:5])
				for len(nb) < k.HexLen() {
					nb = append(nb, "0123456789ABCDEF"[rng.IntN(16)])
				}
				full[string(nb)] = 1 + uint64(rng.IntN(100000))
			}
		}
		b, err := ix.NewBaseBuilder(k, index.BuildOptions{SourceID: "test-" + k.String(), Compress: true})
		if err != nil {
			return nil, err
		}
		for h, n := range full {
			hh := mustHash(k, h)
			if err := b.SetBase(&hh, n); err != nil {
				return nil, err
			}
		}
		if _, err := b.Commit(ctx); err != nil {
			return nil, fmt.Errorf("commit %s: %w", k, err)
		}
		// Dump passwords add to the counts (SHA-1 and NTLM alike).
		for pw, n := range fixtureDumpPasswords {
			full[hexOf(pw)] += n
			f.counts[k][pw] += n
		}
		for h, n := range full {
			p := h[:5]
			f.rows[k][p] = append(f.rows[k][p], fmt.Sprintf("%s:%d", h[5:], n))
		}
		for p := range f.rows[k] {
			sort.Strings(f.rows[k][p])
		}
	}
	for _, br := range fixtureBreaches {
		b, err := ix.NewBreachBuilder(br, index.BuildOptions{SourceID: "test-" + br.Name, Compress: true})
		if err != nil {
			return nil, err
		}
		for e, names := range fixtureEmails {
			if contains(names, br.Name) {
				h, _, err := ident.Email(e)
				if err != nil {
					return nil, err
				}
				if err := b.AddIdentifier(index.KindEmail, &h); err != nil {
					return nil, err
				}
			}
		}
		for p, names := range fixturePhones {
			if contains(names, br.Name) {
				h, _, err := ident.PhoneHash(p, "")
				if err != nil {
					return nil, err
				}
				if err := b.AddIdentifier(index.KindPhone, &h); err != nil {
					return nil, err
				}
			}
		}
		if br.Name == "Adobe" {
			for pw, n := range fixtureDumpPasswords {
				s, nt := ident.PasswordSHA1([]byte(pw)), ident.PasswordNTLM([]byte(pw))
				if err := b.AddPassword(index.KindSHA1, &s, n); err != nil {
					return nil, err
				}
				if err := b.AddPassword(index.KindNTLM, &nt, n); err != nil {
					return nil, err
				}
			}
		}
		if _, err := b.Commit(ctx); err != nil {
			return nil, fmt.Errorf("commit breach %s: %w", br.Name, err)
		}
	}
	// An empty prefix: the first one used by no password row.
	for v := 0; ; v++ {
		p := fmt.Sprintf("%05X", v)
		if f.rows[index.KindSHA1][p] == nil && f.rows[index.KindNTLM][p] == nil {
			f.emptyPrefix = p
			break
		}
	}
	mk := func(name string, rate int, scopes ...string) string {
		if err == nil {
			var s string
			s, err = ix.CreateAPIKey(index.APIKey{Name: name, Scopes: scopes, RatePerMinute: rate})
			return s
		}
		return ""
	}
	f.keys = fixtureKeys{
		ranger:         mk("ranger", 0, ScopeRange),
		sensitive:      mk("sensitive", 0, ScopeRange, ScopeSensitive),
		auditor:        mk("auditor", 0, ScopeAudit),
		auditSensitive: mk("audit-sensitive", 0, ScopeAudit, ScopeSensitive),
		slow:           mk("slow", 2, ScopeRange),
		none:           mk("noscope", 0),
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// body returns the expected identity body of a password range.
func (f *fixture) body(k index.Kind, prefix string) string {
	return strings.Join(f.rows[k][strings.ToUpper(prefix)], "\r\n")
}

// startServer runs a Server over the shared fixture on 127.0.0.1:0 until
// the test ends and returns it with its base URL ("http://127.0.0.1:port").
func startServer(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	return serveIndex(t, getFixture(t).ix, opts)
}

// serveIndex is startServer over any index. The server stops in a
// t.Cleanup, so an index closed by an earlier-registered cleanup outlives it.
func serveIndex(t testing.TB, ix *index.Index, opts Options) (*Server, string) {
	t.Helper()
	if opts.ShutdownTimeout == 0 {
		// fasthttp counts a connection that has not finished a first
		// request as idle only after 5 s; with -race on two loaded cores
		// the default 10 s bound was seen to run out (TestPrivateConcurrent).
		opts.ShutdownTimeout = 30 * time.Second
	}
	s, base, done, cancel := serveStoppable(t, ix, opts)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel", err)
			}
		case <-time.After(opts.ShutdownTimeout + 5*time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return s, base
}

// serveStoppable serves ix on 127.0.0.1 until cancel is called; done
// receives Serve's result. The caller stops it (defer cancel(); <-done)
// before closing ix.
func serveStoppable(t testing.TB, ix *index.Index, opts Options) (s *Server, base string, done <-chan error, cancel func()) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	s, err := New(ix, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	base, done, cancel = serveOn(t, s.Serve)
	return s, base, done, cancel
}

// serveOn runs serve (a Server's or a Live's Serve) on a new listener on
// 127.0.0.1 until cancel is called; done receives its result.
func serveOn(t testing.TB, serve func(context.Context, net.Listener) error) (base string, done <-chan error, cancel func()) {
	t.Helper()
	ln := listenLocal(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), errc, cancel
}

// listenLocal listens on a free port of 127.0.0.1.
func listenLocal(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

// rawClient does not ask for or decode compressed bodies.
var rawClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableCompression: true},
}

// get performs a request without a body, with headers given as
// "Name: value" pairs.
func get(t testing.TB, method, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return request(t, method, url, nil, headers...)
}

// post performs a POST of body, with headers as for get.
func post(t testing.TB, url string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return request(t, "POST", url, bytes.NewReader(body), headers...)
}

// request performs a request and reads the whole response body.
func request(t testing.TB, method, url string, body io.Reader, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp, b
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
