package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

// hibpServer is a real HTTP server on 127.0.0.1 implementing the HIBP
// range contract over fixtureBreaches, with decoy rows in every answer,
// and recording what it receives.
type hibpServer struct {
	*httptest.Server
	key      string
	catalog  []byte
	rows     map[string]map[string][]string // "email"/"phone" -> upper hex SHA-1 -> names
	mu       sync.Mutex
	requests []recorded
	// fail returns a status (and Retry-After) to answer instead of the
	// range, given the path and how often it was asked before; 0 = serve.
	fail func(path string, n int) (status int, retryAfter string)
	seen map[string]int
	// rpm, if set, limits the key to rpm authenticated requests per
	// fixed minute, as HIBP does: beyond, 429 with Retry-After (seconds
	// to the next minute, rounded up) and HIBP's body. statusRPM, if set,
	// is the Rpm of GET /api/v3/subscription/status (404 otherwise).
	rpm, statusRPM int
	window         time.Time
	used           int
}

type recorded struct {
	path   string
	header http.Header
	at     time.Time
}

func newHIBPServer(t *testing.T) *hibpServer {
	t.Helper()
	s := &hibpServer{key: "test-key", rows: map[string]map[string][]string{"email": {}, "phone": {}}, seen: map[string]int{}}
	var bs []index.Breach
	for _, fb := range fixtureBreaches() {
		bs = append(bs, fb.b)
		for _, e := range fb.emails {
			h := fmt.Sprintf("%X", sha1Hash(e))
			s.rows["email"][h] = append(s.rows["email"][h], fb.b.Name)
		}
		for _, p := range fb.phones {
			h := fmt.Sprintf("%X", sha1Hash(p))
			s.rows["phone"][h] = append(s.rows["phone"][h], fb.b.Name)
		}
	}
	// The catalog in reverse order: the client must not depend on it.
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name > bs[j].Name })
	s.catalog, _ = json.Marshal(bs)
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

const statusPath = "/api/v3/subscription/status"

var rangePath = regexp.MustCompile(`^/api/v3/(breachedaccount|phone)/range/([0-9A-F]{6})$`)

func (s *hibpServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, recorded{path: r.URL.RequestURI(), header: r.Header.Clone(), at: time.Now()})
	n := s.seen[r.URL.Path]
	s.seen[r.URL.Path]++
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		if st, ra := fail(r.URL.Path, n); st != 0 {
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			w.WriteHeader(st)
			fmt.Fprintf(w, `{"statusCode":%d,"message":"injected"}`, st)
			return
		}
	}
	if r.URL.Path == "/api/v3/breaches" {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.catalog)
		return
	}
	if r.Header.Get("hibp-api-key") != s.key {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"statusCode":401,"message":"Access denied due to invalid hibp-api-key."}`))
		return
	}
	if s.rpm > 0 {
		now := time.Now()
		s.mu.Lock()
		if now.Sub(s.window) >= time.Minute {
			s.window, s.used = now, 0
		}
		s.used++
		over, wait := s.used > s.rpm, s.window.Add(time.Minute).Sub(now)
		s.mu.Unlock()
		if over {
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in %d seconds." }`, secs)
			return
		}
	}
	if r.URL.Path == statusPath {
		if s.statusRPM == 0 {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"SubscriptionName":"Pwned 3","Description":"Test plan","SubscribedUntil":"2027-05-30T00:00:00Z","Rpm":%d,"DomainSearchMaxBreachedAccounts":500,"IncludesKAnon":true}`, s.statusRPM)
		return
	}
	m := rangePath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	kind := "email"
	if m[1] == "phone" {
		kind = "phone"
	}
	var out []rangeRow
	for h, names := range s.rows[kind] {
		if strings.HasPrefix(h, m[2]) {
			out = append(out, rangeRow{HashSuffix: h[6:], Websites: names})
		}
	}
	for range 5 { // decoys
		var b strings.Builder
		for range 34 {
			b.WriteByte("0123456789ABCDEF"[rand.IntN(16)])
		}
		out = append(out, rangeRow{HashSuffix: b.String(), Websites: []string{"Alpha"}})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *hibpServer) remote(t *testing.T, mod func(*RemoteOptions)) *Remote {
	t.Helper()
	o := RemoteOptions{BaseURL: s.URL, APIKey: s.key, Concurrency: 4, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	r, err := NewRemote(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// identifiersOf lists the crmCSV identifiers in every form a leak could
// take: as typed, normalised, and the full SHA-1 in hex (both cases).
func identifiersOf() []string {
	norm := []string{"alice@example.com", "bob@example.com", "carol@example.fr", "frank@example.net",
		"dave@xn--caf-dma.fr", "+33612345678", "+33698765432"}
	out := []string{"alice", "bob@", "carol", "frank", "dave@", "06 12 34", "6 98 76", "0612345678", "612345678"}
	for _, n := range norm {
		h := fmt.Sprintf("%X", sha1Hash(n))
		out = append(out, n, h, strings.ToLower(h), h[:20], h[6:])
	}
	return out
}

func TestRemoteMatchesLocal(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "crm.csv", crmCSV)
	localOut, remoteOut := filepath.Join(dir, "local"), filepath.Join(dir, "remote")
	if _, err := runLocal(t, NewLocal(fixtureIndex(t)), in, localOut, nil); err != nil {
		t.Fatal(err)
	}
	srv := newHIBPServer(t)
	rep, err := runLocal(t, srv.remote(t, nil), in, remoteOut, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExposedCustomers != 4 {
		t.Errorf("remote: %d exposed, want 4", rep.ExposedCustomers)
	}
	sameOutputs(t, outputs(t, remoteOut), outputs(t, localOut))
	if got := outputs(t, remoteOut)[FileExposed]; got != wantExposedCSV {
		t.Errorf("remote exposed.csv:\n%s", got)
	}

	// What the server received: the catalog and 6-hex prefixes, each once.
	leaks := identifiersOf()
	perPath := map[string]int{}
	for _, r := range srv.requests {
		perPath[r.path]++
		if r.path != "/api/v3/breaches" && r.path != statusPath && !rangePath.MatchString(r.path) {
			t.Errorf("unexpected request %q", r.path)
		}
		all := r.path
		for k, vs := range r.header {
			all += "\n" + k + ": " + strings.Join(vs, ",")
		}
		if f := containsAny(all, leaks...); len(f) > 0 {
			t.Errorf("request leaks %v:\n%s", f, all)
		}
	}
	for p, n := range perPath {
		if n != 1 {
			t.Errorf("%s requested %d times", p, n)
		}
	}
	// 5 valid e-mails and 2 phones, all with distinct prefixes, + catalog
	// and subscription status.
	if len(perPath) != 9 {
		t.Errorf("%d distinct requests, want 8: %v", len(perPath), perPath)
	}
}

func TestRemoteRetryAfter(t *testing.T) {
	srv := newHIBPServer(t)
	var first string
	var once sync.Once
	srv.fail = func(path string, n int) (int, string) {
		if !strings.Contains(path, "/range/") {
			return 0, ""
		}
		hit := false
		once.Do(func() { first, hit = path, true })
		if hit {
			return http.StatusTooManyRequests, "1"
		}
		return 0, ""
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "crm.csv", crmCSV)
	if _, err := runLocal(t, srv.remote(t, func(o *RemoteOptions) { o.Concurrency = 1 }), in, filepath.Join(dir, "out"), nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "out", FileExposed)); got != wantExposedCSV {
		t.Errorf("exposed.csv after a 429:\n%s", got)
	}
	// The request after the 429 came no sooner than Retry-After.
	var limited time.Time
	for i, r := range srv.requests {
		if r.path == first && limited.IsZero() {
			limited = r.at
			if i+1 >= len(srv.requests) {
				t.Fatal("no request after the 429")
			}
			if gap := srv.requests[i+1].at.Sub(limited); gap < 950*time.Millisecond {
				t.Errorf("next request %v after a 429 with Retry-After: 1", gap)
			}
		}
	}
	if srv.seen[first] != 2 {
		t.Errorf("rate-limited range asked %d times, want 2", srv.seen[first])
	}
}

func TestRemoteRetriesAndErrors(t *testing.T) {
	ctx := context.Background()
	const prefix = 0x2BD806 // an arbitrary range
	path := "/api/v3/breachedaccount/range/2BD806"

	t.Run("transient 5xx", func(t *testing.T) {
		srv := newHIBPServer(t)
		srv.fail = func(p string, n int) (int, string) {
			if p == path && n < 2 {
				return []int{http.StatusInternalServerError, http.StatusBadGateway}[n], ""
			}
			return 0, ""
		}
		if _, err := srv.remote(t, nil).Range(ctx, index.KindEmail, prefix, nil); err != nil {
			t.Fatal(err)
		}
		if srv.seen[path] != 3 {
			t.Errorf("asked %d times, want 3", srv.seen[path])
		}
	})
	t.Run("persistent 5xx", func(t *testing.T) {
		srv := newHIBPServer(t)
		srv.fail = func(string, int) (int, string) { return http.StatusServiceUnavailable, "" }
		_, err := srv.remote(t, func(o *RemoteOptions) { o.MaxAttempts = 3 }).Range(ctx, index.KindEmail, prefix, nil)
		if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || strings.Contains(err.Error(), "2BD806") {
			t.Fatalf("err = %v", err)
		}
		if srv.seen[path] != 3 {
			t.Errorf("asked %d times, want 3", srv.seen[path])
		}
	})
	t.Run("bad key", func(t *testing.T) {
		srv := newHIBPServer(t)
		_, err := srv.remote(t, func(o *RemoteOptions) { o.APIKey = "wrong" }).Range(ctx, index.KindEmail, prefix, nil)
		if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("err = %v", err)
		}
		if srv.seen[path] != 1 {
			t.Errorf("asked %d times, want 1 (no retry on 401)", srv.seen[path])
		}
	})
	t.Run("retry-after too long", func(t *testing.T) {
		srv := newHIBPServer(t)
		srv.fail = func(string, int) (int, string) { return http.StatusTooManyRequests, "3600" }
		_, err := srv.remote(t, func(o *RemoteOptions) { o.MaxRetryAfter = time.Minute }).Range(ctx, index.KindEmail, prefix, nil)
		if err == nil || !strings.Contains(err.Error(), "wait") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("malformed response", func(t *testing.T) {
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`[{"hashSuffix":"XYZ","websites":["A"]}]`))
		}))
		defer bad.Close()
		r, err := NewRemote(RemoteOptions{BaseURL: bad.URL, APIKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Range(ctx, index.KindEmail, prefix, nil); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := newHIBPServer(t)
		r := srv.remote(t, func(o *RemoteOptions) { o.MaxAttempts = 2 })
		srv.Close()
		_, err := r.Range(ctx, index.KindEmail, prefix, nil)
		if err == nil || strings.Contains(err.Error(), "2BD806") || strings.Contains(err.Error(), "/range/") {
			t.Fatalf("err = %v (must not name the prefix or the range path)", err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{"Sun, 22 Nov 2026 12:00:30 GMT", 30 * time.Second},
		{"Sun, 22 Nov 2026 11:00:00 GMT", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewRemoteRejects(t *testing.T) {
	for _, o := range []RemoteOptions{
		{BaseURL: "ftp://x", APIKey: "k"},
		{BaseURL: "http://", APIKey: "k"},
		{BaseURL: "http://127.0.0.1:1"},
	} {
		if _, err := NewRemote(o); err == nil {
			t.Errorf("NewRemote(%+v) accepted", o)
		}
	}
}

// TestRemoteHIBPPaced audits through a server that behaves like HIBP (6-hex
// routes only, a base URL ending in /api/v3, a per-minute limit with
// Retry-After, the subscription status with its Rpm): the audit paces
// itself to the announced rate, so no 10-second window exceeds the key's
// share by more than 5%, and its outputs equal the local audit's.
func TestRemoteHIBPPaced(t *testing.T) {
	const rpm = 1200
	srv := newHIBPServer(t)
	srv.rpm, srv.statusRPM = rpm, rpm
	dir := t.TempDir()
	// The fixture CRM and 280 more customers, all with distinct prefixes
	// (nearly): about 290 range requests, 15 s at 1,200 a minute.
	var b strings.Builder
	b.WriteString(crmCSV)
	for i := range 280 {
		fmt.Fprintf(&b, "X%d;M.;N;N;client%d@example.org;;75001;Paris\r\n", i, i)
	}
	in := writeFile(t, dir, "crm.csv", b.String())
	localOut, remoteOut := filepath.Join(dir, "local"), filepath.Join(dir, "remote")
	if _, err := runLocal(t, NewLocal(fixtureIndex(t)), in, localOut, nil); err != nil {
		t.Fatal(err)
	}
	r := srv.remote(t, func(o *RemoteOptions) { o.BaseURL = srv.URL + "/api/v3/"; o.Concurrency = 16 })
	var progress []Progress
	rep, err := runLocal(t, r, in, remoteOut, func(c *Config) { c.Progress = func(p Progress) { progress = append(progress, p) } })
	if err != nil {
		t.Fatal(err)
	}
	// The lookup stage's progress: the paced rate and an ETA from its
	// start, counted in requests of the plan.
	var lookups []Progress
	for _, p := range progress {
		if p.Stage == StageResolve {
			lookups = append(lookups, p)
		}
	}
	if len(lookups) < 10 {
		t.Fatalf("%d progress reports while looking up", len(lookups))
	}
	first, last := lookups[0], lookups[len(lookups)-1]
	total := rep.Plan.Total()
	if first.Total != total || first.RPM != 0.98*rpm || last.Done != total {
		t.Errorf("progress: first %+v, last %+v; plan %d requests at %v/min", first, last, total, 0.98*rpm)
	}
	// ETA at the first report: the requests left at the paced rate.
	want := time.Duration(float64(total-first.Done) / (0.98 * rpm) * float64(time.Minute))
	if first.ETA < want-time.Second || first.ETA > want+2*time.Second {
		t.Errorf("first ETA %v, want about %v", first.ETA, want)
	}
	sameOutputs(t, outputs(t, remoteOut), outputs(t, localOut))
	if got := r.PacedRPM(); got > rpm || got < rpm*0.9 {
		t.Errorf("paced to %.0f/min, the key has %d", got, rpm)
	}
	srv.mu.Lock()
	reqs := append([]recorded(nil), srv.requests...)
	srv.mu.Unlock()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].at.Before(reqs[j].at) })
	limit, worst := rpm/6, 0
	for i := range reqs {
		if !rangePath.MatchString(reqs[i].path) && reqs[i].path != "/api/v3/breaches" && reqs[i].path != statusPath {
			t.Errorf("unexpected request %q", reqs[i].path)
		}
		j := sort.Search(len(reqs), func(j int) bool { return !reqs[j].at.Before(reqs[i].at.Add(10 * time.Second)) })
		worst = max(worst, j-i)
	}
	if len(reqs) < 250 {
		t.Fatalf("%d requests: too few to measure pacing", len(reqs))
	}
	if float64(worst) > 1.05*float64(limit) {
		t.Errorf("%d requests in one 10 s window, the key allows %d (+5%%)", worst, limit)
	}
	if st := r.Stats(); st.RateLimited != 0 {
		t.Errorf("%d requests answered 429 although the rate was announced", st.RateLimited)
	}
}

// TestPacerLearns checks the rate learnt from 429s when the server does
// not announce one: the requests accepted in the minute before the first
// 429, then a fifth less at every later 429, and requests before an
// adjustment do not lower it again.
func TestPacerLearns(t *testing.T) {
	p := newPacer()
	now := time.Now()
	p.accepted(now.Add(-2 * time.Minute)) // too old to count
	for i := range 120 {
		p.accepted(now.Add(-time.Duration(119-i) * 400 * time.Millisecond)) // 120 in the last 48 s
	}
	p.limited(now, 10*time.Millisecond)
	if got, want := p.RPM(), 0.98*120; got != want {
		t.Fatalf("learnt %v/min, want %v", got, want)
	}
	p.limited(now.Add(-time.Second), 10*time.Millisecond) // sent before the adjustment
	if got, want := p.RPM(), 0.98*120; got != want {
		t.Fatalf("a stale 429 changed the rate to %v/min", got)
	}
	p.limited(time.Now(), 10*time.Millisecond)
	if got, want := p.RPM(), 0.98*120*0.8; got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("after a second 429: %v/min, want %v", got, want)
	}
	// Too few requests to learn from: only the pause.
	q := newPacer()
	q.accepted(time.Now())
	q.limited(time.Now(), 10*time.Millisecond)
	if q.RPM() != 0 {
		t.Errorf("learnt %v/min from one request", q.RPM())
	}
}
