package api

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// TestLiveSwapUnderLoad switches a Live server between two snapshots of
// different indexes 8 times while clients request a range: no request
// fails, every body is the one its ETag's snapshot holds (a response
// written from an index released too early would crash or garble), and
// every replaced index is released exactly once.
func TestLiveSwapUnderLoad(t *testing.T) {
	f := getFixture(t)
	pwHash := sha1.Sum([]byte("password"))
	prefix := fmt.Sprintf("%X", pwHash[:])[:5]
	suffix := fmt.Sprintf("%X", pwHash[:])[5:]

	// Snapshot A: the fixture. Snapshot B: one password with count 7.
	dirA := filepath.Join(t.TempDir(), "a")
	snapA, err := f.ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := snapA.WriteDir(dirA); err != nil {
		t.Fatal(err)
	}
	ixB, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ixB.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "b", Sorted: true, ExpectedKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := index.Hash(pwHash)
	if err := b.SetBase(&h, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	snapB, err := ixB.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	dirB := filepath.Join(t.TempDir(), "b")
	if err := snapB.WriteDir(dirB); err != nil {
		t.Fatal(err)
	}
	ixB.Close()

	var opened, released atomic.Int64
	open := func(dir string) (*index.Index, func()) {
		ix, err := index.OpenSnapshot(dir, index.Options{Kinds: []index.Kind{index.KindSHA1}})
		if err != nil {
			t.Fatal(err)
		}
		opened.Add(1)
		var once atomic.Bool
		return ix, func() {
			if !once.CompareAndSwap(false, true) {
				t.Error("an index was released twice")
			}
			ix.Close()
			released.Add(1)
		}
	}
	ix0, rel0 := open(dirA)
	want := map[string]string{ix0.ETag(): f.body(index.KindSHA1, prefix)}
	live, err := NewLive(ix0, Options{Logger: discardLogger()}, nil, rel0)
	if err != nil {
		t.Fatal(err)
	}
	base, served, cancel := serveOn(t, live.Serve)
	url := base + "/range/" + prefix

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		requests atomic.Int64
		seen     = map[string]string{} // ETag -> body
	)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 50000 && !stop.Load(); n++ {
				resp, err := client.Get(url)
				var body bytes.Buffer
				if err == nil {
					body.ReadFrom(resp.Body)
					resp.Body.Close()
				}
				requests.Add(1)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case resp.StatusCode != 200:
					failures = append(failures, resp.Status)
				default:
					tag := resp.Header.Get("ETag")
					if old, ok := seen[tag]; ok && old != body.String() {
						failures = append(failures, "two bodies under ETag "+tag)
					}
					seen[tag] = body.String()
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 8 {
		time.Sleep(40 * time.Millisecond)
		dir, body := dirB, suffix+":7"
		if i%2 == 1 {
			dir, body = dirA, f.body(index.KindSHA1, prefix)
		}
		ix, rel := open(dir)
		want[ix.ETag()] = body
		if err := live.Swap(ix, rel); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(30 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed: %v", len(failures), requests.Load(), failures[:min(5, len(failures))])
	}
	for tag, body := range seen {
		if w, ok := want[tag]; !ok || w != body {
			t.Fatalf("ETag %s served %q, want %q", tag, body, w)
		}
	}
	if len(seen) < 2 {
		t.Fatalf("only %d snapshot(s) seen by the clients", len(seen))
	}
	// Every index, the last one included (Serve released it), is released.
	deadline := time.Now().Add(5 * time.Second)
	for released.Load() != opened.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if released.Load() != opened.Load() {
		t.Fatalf("%d indexes opened, %d released", opened.Load(), released.Load())
	}
	t.Logf("%d requests across 8 swaps, 0 failed", requests.Load())
	if err := live.Swap(ix0, nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Swap after Serve returned: %v", err)
	}
	var rc fasthttp.RequestCtx
	rc.Request.SetRequestURI("/range/" + prefix)
	live.Handler()(&rc)
	if rc.Response.StatusCode() != fasthttp.StatusServiceUnavailable {
		t.Fatalf("a request after Serve returned got %d", rc.Response.StatusCode())
	}
}

// serveLive serves a Live over ix on 127.0.0.1 until the test ends and
// returns it with its base URL.
func serveLive(t *testing.T, ix *index.Index, opts Options) (*Live, string) {
	t.Helper()
	live, err := NewLive(ix, opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	base, served, cancel := serveOn(t, live.Serve)
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	return live, base
}

// TestLiveSwapKeepsSubscriptions: a range subscription made before a live
// swap is still held after it (200 "already held", not 201 "new"), for the
// same key, while another key's subscription to the prefix is new.
func TestLiveSwapKeepsSubscriptions(t *testing.T) {
	f := getFixture(t)
	live, base := serveLive(t, f.ix, Options{Logger: discardLogger()})
	subscribe := func(key, prefix string) int {
		t.Helper()
		resp, body := post(t, base+"/range/subscribe", []byte(`{"hashPrefix":"`+prefix+`"}`), "Hibp-Enterprise-Api-Key: "+key)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("subscribe %s: %d %s", prefix, resp.StatusCode, body)
		}
		return resp.StatusCode
	}
	if st := subscribe(f.keys.ranger, "A1B2C3"); st != 201 {
		t.Fatalf("first subscription: %d, want 201", st)
	}
	for i := range 2 {
		if err := live.Swap(f.ix, nil); err != nil {
			t.Fatal(err)
		}
		if st := subscribe(f.keys.ranger, "A1B2C3"); st != 200 {
			t.Errorf("after swap %d the held subscription answers %d, want 200", i+1, st)
		}
	}
	if st := subscribe(f.keys.ranger, "D4E5F6"); st != 201 {
		t.Errorf("a new prefix after the swaps: %d, want 201", st)
	}
}
