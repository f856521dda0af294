package api

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/pwndex/pwndex/index"
)

// Torture tests run only with PWNDEX_TORTURE=short (CI, well under a
// minute in all) or full; each prints result rows
// "TORTURE\t<test>\t<runs>\t<survived>\t<figure>" for make torture's table.

// tortureMode returns "short" or "full", or skips the test.
func tortureMode(t *testing.T) string {
	m := os.Getenv("PWNDEX_TORTURE")
	if m != "short" && m != "full" {
		t.Skip("set PWNDEX_TORTURE=short or full to run torture tests")
	}
	return m
}

func tortureRow(test string, runs, survived int, figure string) {
	fmt.Printf("TORTURE\t%s\t%d\t%d\t%s\n", test, runs, survived, figure)
}

// probe sends normal requests (a password range checked byte for byte, and
// an authenticated e-mail range) from 127.0.0.3 until stopped, and reports
// how many succeeded and their p99 latency.
type probe struct {
	ok, total atomic.Int64
	mu        sync.Mutex
	lat       []time.Duration
	stop      chan struct{}
	done      chan struct{}
}

func startProbe(base string, f *fixture) *probe {
	p := &probe{stop: make(chan struct{}), done: make(chan struct{})}
	c := clientFrom("127.0.0.3")
	c.Timeout = 5 * time.Second
	pw := sha1Hex("password")
	want := f.body(index.KindSHA1, pw[:5])
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			start := time.Now()
			var ok bool
			if i%4 == 3 {
				req, _ := http.NewRequest("GET", base+"/api/v3/breachedaccount/range/"+idHex("alice@example.com")[:6], nil)
				req.Header.Set("hibp-api-key", f.keys.ranger)
				resp, err := c.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == 200 && bytes.Contains(b, []byte("Adobe"))
				}
			} else {
				resp, err := c.Get(base + "/range/" + pw[:5])
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == 200 && string(b) == want
				}
			}
			d := time.Since(start)
			p.total.Add(1)
			if ok {
				p.ok.Add(1)
			}
			p.mu.Lock()
			p.lat = append(p.lat, d)
			p.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return p
}

// finish stops the probe and returns (requests, successes, p99).
func (p *probe) finish() (int, int, time.Duration) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.Sort(p.lat)
	var p99 time.Duration
	if len(p.lat) > 0 {
		p99 = p.lat[min(len(p.lat)-1, len(p.lat)*99/100)]
	}
	return int(p.total.Load()), int(p.ok.Load()), p99
}

// TestTortureHostile runs three hostile client phases against one server,
// each while a probe measures normal requests: unauthenticated 8 MiB
// uploads, slowloris clients trickling headers, and many idle connections.
func TestTortureHostile(t *testing.T) {
	mode := tortureMode(t)
	f := getFixture(t)
	phase, conns := 3*time.Second, 500
	if mode == "full" {
		phase, conns = 20*time.Second, 4000
	}
	_, base := startServer(t, Options{MaxAuditBytes: 8 << 20, ReadTimeout: 2 * time.Second, DefaultRatePerMinute: 1 << 30})
	addr := strings.TrimPrefix(base, "http://")
	run := func(name string, attack func(deadline time.Time)) {
		before := heapBytes()
		stopHeap := heapPeak()
		p := startProbe(base, f)
		attack(time.Now().Add(phase))
		n, ok, p99 := p.finish()
		peak := stopHeap()
		tortureRow("hostile/"+name, n, ok, fmt.Sprintf("probe success %.2f%%, p99 %v, heap +%d MiB",
			100*float64(ok)/float64(max(n, 1)), p99.Round(time.Microsecond), (int64(peak)-int64(before))>>20))
		if n == 0 || float64(ok) < 0.99*float64(n) {
			t.Errorf("%s: probe %d/%d succeeded, want >= 99%%", name, ok, n)
		}
		if grow := int64(peak) - int64(before); grow > 64<<20 {
			t.Errorf("%s: heap grew %d MiB", name, grow>>20)
		}
	}
	run("unauthenticated-uploads", func(deadline time.Time) {
		var wg sync.WaitGroup
		var refused, other atomic.Int64
		for range 20 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					switch hostileUpload(addr, "127.0.0.2", "/v1/audit?kind=sha1", 8<<20, "") {
					case 401, 429, 0:
						refused.Add(1)
					default:
						other.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if other.Load() > 0 {
			t.Errorf("%d unauthenticated uploads were not refused", other.Load())
		}
	})
	run("slowloris", func(deadline time.Time) {
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
				for time.Now().Before(deadline) {
					c, err := d.Dial("tcp", addr)
					if err != nil {
						return
					}
					req := "GET /range/ABCDE HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200)
					for i := 0; i < len(req) && time.Now().Before(deadline); i++ {
						if _, err := c.Write([]byte{req[i]}); err != nil {
							break
						}
						time.Sleep(50 * time.Millisecond)
					}
					c.Close()
				}
			})
		}
		wg.Wait()
	})
	run("many-connections", func(deadline time.Time) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		var cs []net.Conn
		for range conns {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				break
			}
			cs = append(cs, c)
		}
		time.Sleep(time.Until(deadline))
		for _, c := range cs {
			c.Close()
		}
	})
}

// TestTortureRangeFlips flips one random bit of a range file per run (in
// the dense bucket's body half the time, anywhere in the file otherwise),
// then opens and serves the index: every answer must be the exact
// expected body (decoded) or a 500, and a refused open must name the file.
func TestTortureRangeFlips(t *testing.T) {
	runs := 12
	if tortureMode(t) == "full" {
		runs = 150
	}
	dir, want := denseIndex(t)
	files := []string{"ranges.txt", "ranges.gz", "ranges.br"}
	survived, refused, errs500, clean := 0, 0, 0, 0
	for r := range runs {
		name := files[r%len(files)]
		m, _ := filepath.Glob(filepath.Join(dir, "gens", "*", name))
		if len(m) != 1 {
			t.Fatalf("no %s", name)
		}
		data, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		at := r * 7919 % len(data)
		if r%2 == 0 {
			lo, hi := bucketSpan(data, 0xABCDE)
			at = lo + r*31%(hi-lo)
		}
		bit := byte(1) << (r % 8)
		flip := func() {
			data[at] ^= bit
			if err := os.WriteFile(m[0], data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		flip()
		ok, outcome := flipRun(t, dir, name, want)
		flip() // restore
		if ok {
			survived++
		}
		switch outcome {
		case "refused":
			refused++
		case "500":
			errs500++
		default:
			clean++
		}
	}
	tortureRow("range-flips/serve", runs, survived,
		fmt.Sprintf("open refused %d, answered 500 %d, flip not on a served byte %d, wrong bytes %d", refused, errs500, clean, runs-survived))
	if survived != runs {
		t.Errorf("%d of %d flips led to wrong bytes served", runs-survived, runs)
	}
}

// flipRun opens and serves dir and checks both buckets in every encoding.
func flipRun(t *testing.T, dir, file string, want map[uint32]string) (bool, string) {
	ix, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		if !strings.Contains(err.Error(), file) {
			t.Errorf("open refused without naming %s: %v", file, err)
			return false, "refused"
		}
		return true, "refused"
	}
	defer ix.Close()
	_, base, done, cancel := serveStoppable(t, ix, Options{})
	defer func() { cancel(); <-done }()
	ok, saw500 := true, false
	for p, body := range want {
		for _, enc := range []string{"", "gzip", "br"} {
			for _, pad := range []bool{false, true} {
				req, _ := http.NewRequest("GET", base+fmt.Sprintf("/range/%05X", p), nil)
				if enc != "" {
					req.Header.Set("Accept-Encoding", enc)
				}
				if pad {
					req.Header.Set("Add-Padding", "true")
				}
				resp, err := rawClient.Do(req)
				if err != nil {
					t.Errorf("request: %v", err)
					return false, ""
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 500 {
					saw500 = true
					continue
				}
				got, err := decodeBody(resp.Header.Get("Content-Encoding"), raw)
				if resp.StatusCode != 200 || err != nil {
					t.Errorf("%s flip: %05X %s pad=%v: status %d, decode %v", file, p, enc, pad, resp.StatusCode, err)
					ok = false
					continue
				}
				if pad {
					got = stripPadding(got)
				}
				if got != body {
					t.Errorf("%s flip: %05X %s pad=%v: wrong body served", file, p, enc, pad)
					ok = false
				}
			}
		}
	}
	if saw500 {
		return ok, "500"
	}
	return ok, "clean"
}

func decodeBody(coding string, raw []byte) (string, error) {
	var r io.Reader = bytes.NewReader(raw)
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return "", err
		}
		r = zr
	case "br":
		r = brotli.NewReader(r)
	case "":
	default:
		return "", fmt.Errorf("coding %q", coding)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// stripPadding drops rows with count 0 (HIBP padding) from a body.
func stripPadding(body string) string {
	var keep []string
	for _, l := range strings.Split(body, "\r\n") {
		if _, c, _ := strings.Cut(l, ":"); strings.Trim(c, "0") != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\r\n")
}

// procStatusKB reads a "Name:   N kB" line of /proc/self/status.
func procStatusKB(name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return -1
}

// TestTortureSoak serves a mix of normal, malformed and hostile requests
// for a bounded time and records RSS, goroutines and open fds (from
// /metrics) every half second: none may keep growing.
func TestTortureSoak(t *testing.T) {
	dur := 6 * time.Second
	if tortureMode(t) == "full" {
		dur = 60 * time.Second
	}
	f := getFixture(t)
	_, base := startServer(t, Options{ReadTimeout: 2 * time.Second, DefaultRatePerMinute: 1 << 30})
	addr := strings.TrimPrefix(base, "http://")
	var bad [6]atomic.Int64
	type sample struct{ rss, gor, fds int64 }
	var samples []sample
	take := func() {
		samples = append(samples, sample{procStatusKB("VmRSS"), metricValue(t, base, "pwndex_goroutines"), metricValue(t, base, "pwndex_open_fds")})
	}
	take()
	deadline := time.Now().Add(dur)
	var total, okN atomic.Int64
	var wg sync.WaitGroup
	pw := sha1Hex("password")
	for w := range 4 {
		wg.Go(func() {
			c := clientFrom("127.0.0.3")
			for i := 0; time.Now().Before(deadline); i++ {
				var good bool
				switch (i + w) % 6 {
				case 0, 1:
					resp, err := c.Get(base + "/range/" + pw[:5])
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						good = resp.StatusCode == 200
					}
				case 2:
					req, _ := http.NewRequest("POST", base+"/v1/audit?kind=sha1", strings.NewReader(pw+"\n"))
					req.Header.Set("hibp-api-key", f.keys.auditor)
					resp, err := c.Do(req)
					if err == nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						good = resp.StatusCode == 200 && bytes.Contains(b, []byte(pw))
					}
				case 3:
					resp, err := c.Get(base + "/range/XYZ")
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						good = resp.StatusCode == 400
					}
				case 4:
					st := hostileUpload(addr, "127.0.0.2", "/v1/audit?kind=sha1", 1<<20, "")
					good = st == 401 || st == 429 || st == 0
				case 5:
					st := rawRequest(t, addr, []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
					good = strings.Contains(st, " 200 ")
				}
				total.Add(1)
				if good {
					okN.Add(1)
				} else {
					bad[(i+w)%6].Add(1)
				}
			}
		})
	}
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		take()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	take()
	first, last := samples[0], samples[len(samples)-1]
	var maxRSS int64
	for _, s := range samples {
		maxRSS = max(maxRSS, s.rss)
	}
	tortureRow("soak", int(total.Load()), int(okN.Load()), fmt.Sprintf("%v: RSS %d->%d MiB (max %d), goroutines %d->%d, fds %d->%d",
		dur, first.rss>>10, last.rss>>10, maxRSS>>10, first.gor, last.gor, first.fds, last.fds))
	if okN.Load() != total.Load() {
		var by []int64
		for i := range bad {
			by = append(by, bad[i].Load())
		}
		t.Errorf("%d of %d soak requests got an unexpected answer (by case %v)", total.Load()-okN.Load(), total.Load(), by)
	}
	if last.gor > first.gor+50 || last.fds > first.fds+50 {
		t.Errorf("goroutines %d->%d or fds %d->%d kept growing", first.gor, last.gor, first.fds, last.fds)
	}
}

// TestTortureStoreFlips flips bytes in the Badger tables of an e-mail
// generation and audits every hash over a real server: the server must
// stay up and answer 200 or 500 (a panic is recovered). Hashes a 200
// answer missed are counted in the figure: catching those is Badger
// checksum verification's job, not serving's.
func TestTortureStoreFlips(t *testing.T) {
	runs := 8
	if tortureMode(t) == "full" {
		runs = 80
	}
	dir, hexes, key := emailIndex(t, 3000)
	rng := rand.New(rand.NewPCG(21, 22))
	survived, refused, n500, missedRuns, missed := 0, 0, 0, 0, 0
	for range runs {
		ok, opened, e, m := storeFlipRun(t, dir, hexes, key, rng, 20)
		if ok {
			survived++
		}
		if !opened {
			refused++
		}
		n500 += e
		if m > 0 {
			missedRuns++
			missed += m
		}
	}
	tortureRow("store-flips/audit", runs, survived, fmt.Sprintf("open refused %d, 500 answers %d, runs with missed hashes %d (%d hashes)", refused, n500, missedRuns, missed))
	if survived != runs {
		t.Errorf("%d of %d runs took the server down or answered other than 200/500", runs-survived, runs)
	}
}
