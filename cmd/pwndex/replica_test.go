package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/objstore"
	"github.com/pwndex/pwndex/index/objstore/miniotest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// httpResp is what the comparisons look at.
type httpResp struct {
	status int
	body   []byte
	h      http.Header
}

var rawClient = &http.Client{
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32},
	Timeout:   10 * time.Second,
}

func httpGet(base, path string, hdr ...string) (httpResp, error) {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return httpResp{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		return httpResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return httpResp{}, err
	}
	return httpResp{resp.StatusCode, b, resp.Header}, nil
}

func mustGet(t *testing.T, base, path string, hdr ...string) httpResp {
	t.Helper()
	r, err := httpGet(base, path, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// denseHashes returns rows SHA-1 hashes in each of the 5-hex buckets
// 0x00000 .. buckets-1 (dense enough for precomputed gzip and brotli
// bodies), sorted.
func denseHashes(buckets, rows int, seed uint64) []index.Hash {
	r := rand.New(rand.NewPCG(seed, 1))
	var hs []index.Hash
	for b := range buckets {
		var col []index.Hash
		seen := map[index.Hash]bool{}
		for len(col) < rows {
			var h index.Hash
			for i := range 20 {
				h[i] = byte(r.Uint32())
			}
			h[0], h[1], h[2] = byte(b>>12), byte(b>>4), byte(b<<4)|h[2]&0x0f
			if !seen[h] {
				seen[h] = true
				col = append(col, h)
			}
		}
		hs = append(hs, col...)
	}
	sortHashes(hs)
	return hs
}

func sortHashes(hs []index.Hash) {
	for i := 1; i < len(hs); i++ { // insertion sort keeps the test free of index code
		for j := i; j > 0 && bytes.Compare(hs[j-1][:], hs[j][:]) > 0; j-- {
			hs[j-1], hs[j] = hs[j], hs[j-1]
		}
	}
}

// writer is the publishing side: an index opened read-write in the test
// process, with its own local server (the reference replicas must match).
type writer struct {
	t      *testing.T
	ix     *index.Index
	base   string // http://127.0.0.1:port of the local serve
	stop   func() // stops the local serve
	hashes []index.Hash
	n      int
}

func newWriter(t *testing.T, dir string) *writer {
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return &writer{t: t, ix: ix}
}

func (w *writer) serve(ctx context.Context) {
	srv, err := api.New(w.ix, api.Options{RefreshInterval: 20 * time.Millisecond, Logger: discardLog()})
	if err != nil {
		w.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	w.base = "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	w.stop = func() { cancel(); <-done }
	w.t.Cleanup(w.stop)
}

// breach commits a breach with e-mails and a few passwords seen again (so
// password ranges change too).
func (w *writer) breach(name string) {
	w.t.Helper()
	w.n++
	b, err := w.ix.NewBreachBuilder(index.Breach{Name: name, BreachDate: "2024-05-06", DataClasses: []string{"Email addresses", "Passwords"}},
		index.BuildOptions{SourceID: "breach:" + name, Compress: true})
	if err != nil {
		w.t.Fatal(err)
	}
	for i := range 20 {
		h := index.Hash(sha1.Sum(fmt.Appendf(nil, "%s-user%d@example.com", name, i)))
		if err := b.AddIdentifier(index.KindEmail, &h); err != nil {
			w.t.Fatal(err)
		}
	}
	for i := 0; i < len(w.hashes); i += 37 {
		if err := b.AddPassword(index.KindSHA1, &w.hashes[i], uint64(w.n)); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// waitFor polls cond every 10 ms for at most d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// rangePaths are the requests compared between the writer and replicas.
func rangePaths(buckets int) []string {
	var ps []string
	for b := range buckets {
		ps = append(ps, fmt.Sprintf("/range/%05X", b))
	}
	return append(ps, "/range/ABCDE", "/range/00001?mode=ntlm", "/range/fffff")
}

var encodings = []string{"identity", "gzip", "br"}

// sameAsWriter compares status, body and validators of a set of requests.
func sameAsWriter(t *testing.T, writerBase, replicaBase string, paths []string, key string) {
	t.Helper()
	for _, p := range paths {
		for _, enc := range encodings {
			a := mustGet(t, writerBase, p, "Accept-Encoding", enc, "hibp-api-key", key)
			b := mustGet(t, replicaBase, p, "Accept-Encoding", enc, "hibp-api-key", key)
			for _, h := range []string{"ETag", "Last-Modified", "Content-Encoding", "Content-Type", "Cache-Control"} {
				if a.h.Get(h) != b.h.Get(h) {
					t.Fatalf("%s %s: %s %q, writer %q", p, enc, h, b.h.Get(h), a.h.Get(h))
				}
			}
			if a.status != b.status || !bytes.Equal(a.body, b.body) {
				t.Fatalf("%s %s: replica %d (%d bytes), writer %d (%d bytes)", p, enc, b.status, len(b.body), a.status, len(a.body))
			}
		}
	}
}

// startReplica runs 'pwndex serve --from' in-process and waits until it
// is ready.
func startReplica(t *testing.T, ctx context.Context, url, cache string) (base string, log *syncBuffer, done chan int) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	log, done = &syncBuffer{}, make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--from", url, "--cache", cache, "--addr", addr, "--poll", "50ms", "--no-vet"},
			strings.NewReader(""), io.Discard, log)
	}()
	base = "http://" + addr
	if !waitFor(30*time.Second, func() bool { r, err := httpGet(base, "/readyz"); return err == nil && r.status == 200 }) {
		t.Fatalf("replica not ready: %s", log.String())
	}
	return base, log, done
}

// nginxBinary returns Debian's nginx (PWNDEX_NGINX, else /usr/sbin/nginx),
// skipping the test (failing it under CI=true) when missing.
func nginxBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PWNDEX_NGINX")
	if p == "" {
		p = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("nginx not found at %s (.ci/run installs Debian's nginx)", p)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING: " + msg)
	}
	return p
}

// loadStats collects what the load generator saw during updates.
type loadStats struct {
	mu       sync.Mutex
	requests int
	failed   []string
	seen     map[string]map[string][32]byte // ETag -> path -> SHA-256 of body
}

func (ls *loadStats) add(path string, r httpResp, err error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.requests++
	if err != nil || r.status != 200 {
		ls.failed = append(ls.failed, fmt.Sprintf("%s: %d %v", path, r.status, err))
		return
	}
	tag := r.h.Get("ETag")
	if ls.seen[tag] == nil {
		ls.seen[tag] = map[string][32]byte{}
	}
	sum := sha256.Sum256(r.body)
	if old, ok := ls.seen[tag][path]; ok && old != sum {
		ls.failed = append(ls.failed, fmt.Sprintf("%s: two bodies under ETag %s", path, tag))
	}
	ls.seen[tag][path] = sum
}

// expectBodies returns the writer's identity bodies by path, keyed by its ETag.
func expectBodies(t *testing.T, base string, paths []string) (string, map[string][32]byte) {
	t.Helper()
	out := map[string][32]byte{}
	var tag string
	for _, p := range paths {
		r := mustGet(t, base, p, "Accept-Encoding", "identity")
		out[p] = sha256.Sum256(r.body)
		tag = r.h.Get("ETag")
	}
	return tag, out
}

func TestReplicasBehindNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO and nginx")
	}
	nginxBinary(t) // skips before MinIO starts when nginx is absent
	s3 := miniotest.Start(t, "pwndex")
	url := s3.URL("pwndex", "prod/snapshots")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Version 1: dense password buckets, a breach, a key; published with
	// the CLI.
	const buckets = 24
	dir := t.TempDir()
	w := newWriter(t, dir)
	w.hashes = denseHashes(buckets, 120, 7)
	// Bucket 00100: 12 rows, a body under pwndex's 1 KiB threshold for
	// stored copies, which nginx must compress itself (checkCache).
	w.hashes = append(w.hashes, denseHashes(0x101, 12, 8)[0x100*12:]...)
	bb, err := w.ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "base", Sorted: true, Compress: true, ExpectedKeys: len(w.hashes)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.hashes {
		if err := bb.SetBase(&w.hashes[i], uint64(i%1000+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bb.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w.breach("Alpha")
	key, err := w.ix.CreateAPIKey(index.APIKey{Name: "ops", Scopes: []string{"range"}})
	if err != nil {
		t.Fatal(err)
	}
	w.ix.Close()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"publish", "--index", dir, "--to", url}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "published index version 2") {
		t.Fatalf("publish: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(ctx, []string{"publish", "--index", dir, "--to", url}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "already published") || !strings.Contains(out.String(), " 0 uploaded") {
		t.Fatalf("publish again: %d %s %s", code, out.String(), errb.String())
	}
	if w.ix, err = index.Open(index.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer func() { w.ix.Close() }()
	w.serve(ctx)

	r1, log1, done1 := startReplica(t, ctx, url, t.TempDir())
	r2, log2, done2 := startReplica(t, ctx, url, t.TempDir())
	emailPrefix := func(e string) string { s := sha1.Sum([]byte(e)); return fmt.Sprintf("%X", s[:3]) }
	paths := append(rangePaths(buckets), "/api/v3/breaches", "/api/v3/breach/Alpha",
		"/api/v3/breachedaccount/range/"+emailPrefix("Alpha-user3@example.com"))
	for _, r := range []string{r1, r2} {
		sameAsWriter(t, w.base, r, paths, key)
	}

	// nginx in front of both replicas, from the shipped template.
	cache := startTestNginx(t, strings.TrimPrefix(r1, "http://"), strings.TrimPrefix(r2, "http://"))
	t.Run("cache", func(t *testing.T) {
		checkCache(t, cache, w.base, key, "/api/v3/breachedaccount/range/"+emailPrefix("Alpha-user3@example.com"))
	})
	ratio := measureHitRatio(t, cache, buckets)
	t.Logf("nginx cache hit ratio over 1500 range requests (%d prefixes x 3 encodings, skewed): %.3f", buckets+3, ratio)
	if ratio < 0.8 {
		t.Errorf("hit ratio %.3f, want >= 0.8", ratio)
	}

	// Version 3 under load: both replicas, directly and through nginx
	// (which may answer from a version 2 entry until it revalidates it:
	// still one snapshot's body under that snapshot's ETag).
	stats := &loadStats{seen: map[string]map[string][32]byte{}}
	loadPaths := rangePaths(buckets)[:buckets]
	tag1, want1 := expectBodies(t, w.base, loadPaths)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i, base := range []string{r1, r2, r1, r2, cache} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 20000 && !stop.Load(); n++ {
				p := loadPaths[(n*7+i)%len(loadPaths)]
				r, err := httpGet(base, p, "Accept-Encoding", "identity")
				stats.add(p, r, err)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	w.breach("Beta")
	key2, err := w.ix.CreateAPIKey(index.APIKey{Name: "ops2", Scopes: []string{"range"}})
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return mustGet(t, w.base, "/range/00000").h.Get("ETag") != tag1 }) {
		t.Fatal("writer's local serve did not pick up its commit")
	}
	tag2, want2 := expectBodies(t, w.base, loadPaths)
	st, err := objstore.Open(url, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := w.ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := st.Publish(ctx, snap, false)
	if err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	var lags []time.Duration
	for _, r := range []string{r1, r2} {
		if !waitFor(10*time.Second, func() bool { x, err := httpGet(r, "/range/00000"); return err == nil && x.h.Get("ETag") == tag2 }) {
			t.Fatalf("replica %s did not switch to %s", r, ps.Name)
		}
		lags = append(lags, time.Since(published))
	}
	t.Logf("publish of %d files (%d uploaded, %d reused) -> replicas serving it after %v and %v (poll 50ms)", ps.Files, ps.Uploaded, ps.Reused, lags[0], lags[1])
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if len(stats.failed) > 0 {
		t.Fatalf("%d of %d requests failed or were inconsistent during the update: %v", len(stats.failed), stats.requests, stats.failed[:min(5, len(stats.failed))])
	}
	for tag, bodies := range stats.seen {
		want := map[string]map[string][32]byte{tag1: want1, tag2: want2}[tag]
		if want == nil {
			t.Fatalf("a response carried ETag %s, neither snapshot's (%s, %s)", tag, tag1, tag2)
		}
		for p, sum := range bodies {
			if want[p] != sum {
				t.Fatalf("%s under ETag %s is not that snapshot's body", p, tag)
			}
		}
	}
	t.Logf("during the update: %d requests to the replicas and nginx, 0 failed, each consistent with exactly one snapshot (%d ETags seen)", stats.requests, len(stats.seen))
	for _, r := range []string{r1, r2} {
		sameAsWriter(t, w.base, r, paths, key2)
	}
	// Through the cache, the new snapshot arrives once entries are
	// revalidated (CacheValid).
	if !waitFor(10*time.Second, func() bool { x, err := httpGet(cache, "/range/00001"); return err == nil && x.h.Get("ETag") == tag2 }) {
		t.Fatal("nginx still serves the old snapshot after revalidation")
	}

	// Version 4 with a corrupted object in the store: refused, the
	// replicas keep serving version 3.
	w.breach("Gamma")
	snap4, err := w.ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]bool{}
	for _, f := range snap.Manifest.Files {
		old[f.SHA256] = true
	}
	var victim index.SnapshotFile
	for _, f := range snap4.Manifest.Files {
		if !old[f.SHA256] && strings.HasSuffix(f.Path, "ranges.txt") {
			victim = f
		}
	}
	if victim.Path == "" {
		t.Fatal("no new range file in version 4")
	}
	rc, _ := snap4.Open(victim.Path)
	bad, _ := io.ReadAll(rc)
	rc.Close()
	bad[len(bad)-3] ^= 0x20
	if _, err := s3.Client.PutObject(ctx, "pwndex", "prod/snapshots/blobs/"+victim.SHA256, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(ctx, snap4, false); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*syncBuffer{log1, log2} {
		if !waitFor(10*time.Second, func() bool { return strings.Contains(l.String(), "corrupted snapshot refused") }) {
			t.Fatalf("replica did not refuse the corrupted snapshot: %s", l.String())
		}
		if !strings.Contains(l.String(), victim.SHA256) {
			t.Fatalf("the refusal does not name the object: %s", l.String())
		}
	}
	for _, r := range []string{r1, r2} {
		if got := mustGet(t, r, "/range/00000").h.Get("ETag"); got != tag2 {
			t.Fatalf("after a refused snapshot the replica serves %s, want %s", got, tag2)
		}
	}
	// Version 5, published with --force (repairing the store) and --keep 2
	// (versions 2 and 3 deleted, files younger than an hour kept): served.
	w.breach("Delta")
	w.stop()
	w.ix.Close()
	out.Reset()
	if code := run(ctx, []string{"publish", "--index", dir, "--to", url, "--force", "--keep", "2"}, nil, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "pruned 2 older snapshots and 0 unused files") {
		t.Fatalf("publish --force --keep 2: %d %s %s", code, out.String(), errb.String())
	}
	if w.ix, err = index.Open(index.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	w.serve(ctx)
	tag5 := mustGet(t, w.base, "/range/00000").h.Get("ETag")
	for _, r := range []string{r1, r2} {
		if !waitFor(10*time.Second, func() bool { x, err := httpGet(r, "/range/00000"); return err == nil && x.h.Get("ETag") == tag5 }) {
			t.Fatalf("replica did not move on to version 5: %s", log1.String())
		}
		sameAsWriter(t, w.base, r, paths, key2)
	}
	cancel()
	for _, d := range []chan int{done1, done2} {
		if code := <-d; code != 0 {
			t.Fatalf("replica exited with %d", code)
		}
	}
}

// checkCache asserts the caching rules through nginx.
func checkCache(t *testing.T, cache, writer, key, keyed string) {
	status := func(r httpResp) string { return r.h.Get("X-Cache-Status") }
	// Hits on /range/, per encoding, with the writer's bytes.
	for _, enc := range encodings {
		want := mustGet(t, writer, "/range/00003", "Accept-Encoding", enc)
		a := mustGet(t, cache, "/range/00003", "Accept-Encoding", enc)
		b := mustGet(t, cache, "/range/00003", "Accept-Encoding", enc)
		if status(a) != "MISS" || status(b) != "HIT" {
			t.Fatalf("%s: X-Cache-Status %q then %q, want MISS then HIT", enc, status(a), status(b))
		}
		for _, r := range []httpResp{a, b} {
			if r.status != 200 || !bytes.Equal(r.body, want.body) || r.h.Get("ETag") != want.h.Get("ETag") ||
				r.h.Get("Content-Encoding") != want.h.Get("Content-Encoding") || r.h.Get("Cache-Control") != want.h.Get("Cache-Control") {
				t.Fatalf("%s through the cache differs from the writer: %d %q %q", enc, r.status, r.h.Get("ETag"), r.h.Get("Content-Encoding"))
			}
		}
		// Conditional requests: 304 from the cache with the same ETag,
		// 200 for a stale tag.
		nm := mustGet(t, cache, "/range/00003", "Accept-Encoding", enc, "If-None-Match", want.h.Get("ETag"))
		if nm.status != 304 || nm.h.Get("ETag") != want.h.Get("ETag") || len(nm.body) != 0 {
			t.Fatalf("%s If-None-Match: %d %q", enc, nm.status, nm.h.Get("ETag"))
		}
		stale := mustGet(t, cache, "/range/00003", "Accept-Encoding", enc, "If-None-Match", `"pwndex-1-0"`)
		if stale.status != 200 || !bytes.Equal(stale.body, want.body) {
			t.Fatalf("%s stale If-None-Match: %d", enc, stale.status)
		}
	}
	// Variants of Accept-Encoding share the negotiated entry.
	if r := mustGet(t, cache, "/range/00003", "Accept-Encoding", "gzip, deflate, br, zstd"); status(r) != "HIT" || r.h.Get("Content-Encoding") != "br" {
		t.Fatalf("browser Accept-Encoding: %q %q", status(r), r.h.Get("Content-Encoding"))
	}
	if r := mustGet(t, cache, "/range/00003", "Accept-Encoding", "br;q=0, gzip"); r.h.Get("Content-Encoding") != "gzip" || status(r) == "HIT" {
		t.Fatalf("br;q=0 got %q from %q", r.h.Get("Content-Encoding"), status(r))
	}
	// A body pwndex serves uncompressed (no stored copy) is gzipped by
	// nginx for a client that accepts gzip; the bytes are the writer's.
	small := mustGet(t, writer, "/range/00100", "Accept-Encoding", "gzip")
	if small.status != 200 || small.h.Get("Content-Encoding") != "" || len(small.body) < 256 {
		t.Fatalf("writer's small bucket: %d %q, %d bytes", small.status, small.h.Get("Content-Encoding"), len(small.body))
	}
	for range 2 {
		r := mustGet(t, cache, "/range/00100", "Accept-Encoding", "gzip")
		if r.status != 200 || r.h.Get("Content-Encoding") != "gzip" {
			t.Fatalf("small bucket through nginx: %d %q", r.status, r.h.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, small.body) {
			t.Fatalf("small bucket gunzipped through nginx differs from the writer's body (%v)", err)
		}
	}
	if r := mustGet(t, cache, "/range/00100", "Accept-Encoding", "identity"); r.h.Get("Content-Encoding") != "" || !bytes.Equal(r.body, small.body) {
		t.Fatalf("identity through nginx: %q", r.h.Get("Content-Encoding"))
	}
	// No cached 4xx.
	for i := range 3 {
		r := mustGet(t, cache, "/range/XYZ12")
		if r.status != 400 || status(r) == "HIT" || string(r.body) != "The hash prefix was not valid hexadecimal" {
			t.Fatalf("bad prefix, try %d: %d %q %q", i, r.status, status(r), r.body)
		}
	}
	// Add-Padding: never from the cache, never into it.
	plain := mustGet(t, writer, "/range/00004", "Accept-Encoding", "identity")
	mustGet(t, cache, "/range/00004", "Accept-Encoding", "identity") // now cached
	var padded [][]byte
	for range 3 {
		r := mustGet(t, cache, "/range/00004", "Accept-Encoding", "identity", "Add-Padding", "true")
		if status(r) != "BYPASS" || r.status != 200 {
			t.Fatalf("padded: %q %d", status(r), r.status)
		}
		if !bytes.HasPrefix(r.body, plain.body) {
			t.Fatal("padded body does not start with the real rows")
		}
		extra := bytes.Split(bytes.TrimPrefix(r.body[len(plain.body):], []byte("\r\n")), []byte("\r\n"))
		if len(extra) < 10 || !bytes.HasSuffix(extra[0], []byte(":0")) {
			t.Fatalf("padded body has %d extra rows", len(extra))
		}
		padded = append(padded, r.body)
	}
	if bytes.Equal(padded[0], padded[1]) && bytes.Equal(padded[1], padded[2]) {
		t.Fatal("three padded answers are identical: padding served from a cache")
	}
	if r := mustGet(t, cache, "/range/00004", "Accept-Encoding", "identity"); status(r) != "HIT" || !bytes.Equal(r.body, plain.body) {
		t.Fatalf("unpadded after padded: %q, same body %v", status(r), bytes.Equal(r.body, plain.body))
	}
	// Key-protected routes: never cached (a keyless request after a keyed
	// one is refused, and nginx adds no cache status).
	p := keyed
	if r := mustGet(t, cache, p, "hibp-api-key", key); r.status != 200 || r.h.Get("X-Cache-Status") != "" {
		t.Fatalf("keyed: %d %q", r.status, r.h.Get("X-Cache-Status"))
	}
	if r := mustGet(t, cache, p); r.status != 401 {
		t.Fatalf("keyless after keyed: %d (a cached answer?)", r.status)
	}
	// The same for the enterprise range, under the cached /range/.
	search := "/range/search/" + strings.TrimPrefix(keyed, "/api/v3/breachedaccount/range/")
	for range 2 {
		if r := mustGet(t, cache, search, "Hibp-Enterprise-Api-Key", key); r.status != 200 || r.h.Get("X-Cache-Status") != "" || !bytes.Contains(r.body, []byte("hashSuffix")) {
			t.Fatalf("keyed enterprise range: %d %q %q", r.status, r.h.Get("X-Cache-Status"), r.body)
		}
	}
	if r := mustGet(t, cache, search); r.status != 401 {
		t.Fatalf("keyless enterprise range after keyed: %d %q (a cached answer for a key)", r.status, r.h.Get("X-Cache-Status"))
	}
}

// measureHitRatio sends a bounded, skewed workload through nginx and
// returns the share of X-Cache-Status HIT.
func measureHitRatio(t *testing.T, cache string, buckets int) float64 {
	paths := rangePaths(buckets)
	r := rand.New(rand.NewPCG(3, 3))
	z := rand.NewZipf(r, 1.2, 1, uint64(len(paths)-1))
	hits := 0
	const n = 1500
	for range n {
		p := paths[z.Uint64()]
		enc := encodings[r.IntN(len(encodings))]
		x := mustGet(t, cache, p, "Accept-Encoding", enc)
		if x.status != 200 {
			t.Fatalf("%s: %d", p, x.status)
		}
		if x.h.Get("X-Cache-Status") == "HIT" {
			hits++
		}
	}
	return float64(hits) / n
}

// startNginx runs nginx in the foreground until the test ends.
// startTestNginx renders the shipped template for upstreams and runs
// Debian's nginx with it on 127.0.0.1 until the test ends. It returns the
// base URL.
func startTestNginx(t *testing.T, upstreams ...string) string {
	t.Helper()
	ngx := nginxBinary(t)
	ndir := t.TempDir()
	nport := miniotest.FreePort(t)
	cfg := testNginxConfig(ndir, fmt.Sprintf("127.0.0.1:%d", nport), upstreams)
	if err := os.MkdirAll(cfg.TempDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(ndir, "nginx.conf")
	if err := os.WriteFile(conf, renderTemplate(t, "nginx.conf.tmpl", cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log := startNginx(t, ngx, ndir, conf)
	base := fmt.Sprintf("http://127.0.0.1:%d", nport)
	if !waitFor(10*time.Second, func() bool { _, err := httpGet(base, "/healthz"); return err == nil }) {
		t.Fatalf("nginx not answering: %s", log.String())
	}
	return base
}

func startNginx(t *testing.T, bin, prefix, conf string) *syncBuffer {
	t.Helper()
	log := &syncBuffer{}
	cmd := exec.Command(bin, "-p", prefix, "-c", conf, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	return log
}
