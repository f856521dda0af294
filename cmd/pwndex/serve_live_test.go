package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

// livePasswords returns n passwords whose SHA-1 share one 5-hex prefix
// (found by brute force with crypto/sha1), so that one range response
// shows which of them the answering snapshot holds.
func livePasswords(n int) (prefix string, pw, suffix []string) {
	buf := []byte("live-")
	for i := 0; len(pw) < n; i++ {
		b := strconv.AppendInt(buf[:5], int64(i), 10)
		s := sha1.Sum(b)
		p := string(b)
		h := strings.ToUpper(hex.EncodeToString(s[:]))
		if prefix == "" {
			prefix = h[:5]
		}
		if h[:5] == prefix {
			pw, suffix = append(pw, p), append(suffix, h[5:])
		}
	}
	return prefix, pw, suffix
}

// writeLiveBreach writes the manifest and combo file of breach name whose
// only password is pw.
func writeLiveBreach(t *testing.T, dir, name, pw string) (manifest, combo string) {
	t.Helper()
	manifest, combo = filepath.Join(dir, name+".json"), filepath.Join(dir, name+".txt")
	m := fmt.Sprintf(`{"Name":%q,"Title":%q,"Domain":"live.test","BreachDate":"2025-01-02","PwnCount":1,"Description":"live","DataClasses":["Email addresses","Passwords"],"IsVerified":true}`, name, name)
	if err := os.WriteFile(manifest, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(combo, []byte(strings.ToLower(name)+"@live.test:"+pw+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return manifest, combo
}

// present returns which of suffixes appear as rows of a range body.
func present(body []byte, suffixes []string) []bool {
	out := make([]bool, len(suffixes))
	for _, line := range strings.Split(string(body), "\n") {
		s, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		for i, x := range suffixes {
			if s == x {
				out[i] = true
			}
		}
	}
	return out
}

// startServe runs 'pwndex serve --index dir' in a child process and waits
// until it answers.
func startServe(t *testing.T, dir string, flags ...string) (base string, log *syncBuffer, cmd *exec.Cmd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	log = &syncBuffer{}
	cmd = child(t, log, append([]string{"serve", "--index", dir, "--addr", addr, "--rate", "1000000"}, flags...)...)
	base = "http://" + addr
	if !waitFor(20*time.Second, func() bool { r, err := httpGet(base, "/healthz"); return err == nil && r.status == 200 }) {
		t.Fatalf("serve did not start:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "msg=serving") {
		t.Fatalf("serve answered before logging serving:\n%s", log.String())
	}
	return base, log, cmd
}

func currentSnapshot(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "snapshots", "CURRENT"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func livePwndex(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("pwndex %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String())
}

// TestServeLiveUpdates runs bounded load against a real 'pwndex serve
// --index' (child process) while 3 ingests and 2 key changes commit: no
// request fails, every range response is the content of exactly the
// snapshot its Pwndex-Snapshot header names, and each change is served
// within 2 s. Old snapshots are garbage-collected once serve let go.
func TestServeLiveUpdates(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	prefix, pws, suffixes := livePasswords(3)
	// An index with a first breach and two keys, before serve starts.
	m0, c0 := writeLiveBreach(t, tmp, "Live0", "not-in-the-prefix")
	livePwndex(t, "ingest", "--index", dir, "--manifest", m0, c0)
	stable := livePwndex(t, "keys", "add", "--index", dir, "--scopes", "range", "stable")
	doomed := livePwndex(t, "keys", "add", "--index", dir, "--scopes", "range", "doomed")
	base, slog, _ := startServe(t, dir)

	// expect: snapshot name -> which passwords it must hold (recorded
	// after each step from the pointer); bodies: name -> first body seen.
	var mu sync.Mutex
	expect := map[string][]bool{currentSnapshot(t, dir): {false, false, false}}
	bodies := map[string][]byte{}
	var failures []string
	var requests int
	check := func(r httpResp, err error, path string) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", path, err))
			return
		}
		if r.status != 200 {
			failures = append(failures, fmt.Sprintf("%s: status %d %s", path, r.status, r.body))
			return
		}
		name := r.h.Get(api.SnapshotHeader)
		if name == "" {
			failures = append(failures, path+": no "+api.SnapshotHeader+" header")
			return
		}
		if !strings.HasPrefix(path, "/range/") {
			return
		}
		got := present(r.body, suffixes)
		// Ingests add the passwords in order: a snapshot holds a prefix of them.
		for i := 1; i < len(got); i++ {
			if got[i] && !got[i-1] {
				failures = append(failures, fmt.Sprintf("%s: snapshot %s holds password %d but not %d", path, name, i, i-1))
			}
		}
		if want, ok := expect[name]; ok && !slices.Equal(got, want) {
			failures = append(failures, fmt.Sprintf("%s: snapshot %s: passwords %v, want %v", path, name, got, want))
		}
		if b, ok := bodies[name]; ok && !bytes.Equal(b, r.body) {
			failures = append(failures, fmt.Sprintf("%s: two different bodies from snapshot %s", path, name))
		} else if !ok {
			bodies[name] = r.body
		}
	}

	// Load: 4 clients, bounded by count and by the end of the updates.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				time.Sleep(time.Millisecond) // bounded: at most ~1000 requests/s per client
				if c%2 == 0 {
					r, err := httpGet(base, "/range/"+prefix)
					check(r, err, "/range/"+prefix)
				} else {
					r, err := httpGet(base, "/api/v3/subscription/status", "hibp-api-key", stable)
					check(r, err, "/api/v3/subscription/status")
				}
			}
		}(c)
	}

	var switches []time.Duration
	// step runs a writer, records the new pointer's expected content, and
	// waits until serve answers from it.
	step := func(want []bool, args ...string) string {
		out := livePwndex(t, args...)
		name := currentSnapshot(t, dir)
		// From the pointer's move (the commit point serve follows).
		fi, err := os.Stat(filepath.Join(dir, "snapshots", "CURRENT"))
		if err != nil {
			t.Fatal(err)
		}
		done := fi.ModTime()
		mu.Lock()
		expect[name] = want
		mu.Unlock()
		if !waitFor(5*time.Second, func() bool {
			r, err := httpGet(base, "/range/"+prefix)
			return err == nil && r.h.Get(api.SnapshotHeader) == name
		}) {
			t.Fatalf("serve did not switch to %s after pwndex %s:\n%s", name, args[0], slog.String())
		}
		switches = append(switches, time.Since(done))
		return out
	}
	ingest := func(i int) {
		m, c := writeLiveBreach(t, tmp, fmt.Sprintf("Live%d", i+1), pws[i])
		want := make([]bool, 3)
		for j := 0; j <= i; j++ {
			want[j] = true
		}
		step(want, "ingest", "--index", dir, "--manifest", m, c)
	}
	keyStatus := func(key string) int {
		r := mustGet(t, base, "/api/v3/subscription/status", "hibp-api-key", key)
		return r.status
	}
	ingest(0)
	fresh := step([]bool{true, false, false}, "keys", "add", "--index", dir, "--scopes", "range", "fresh")
	if s := keyStatus(fresh); s != 200 {
		t.Errorf("new key after the switch: status %d, want 200", s)
	}
	ingest(1)
	step([]bool{true, true, false}, "keys", "delete", "--index", dir, "doomed")
	if s := keyStatus(doomed); s != 401 {
		t.Errorf("deleted key after the switch: status %d, want 401", s)
	}
	ingest(2)
	time.Sleep(300 * time.Millisecond) // load on the last snapshot too
	close(stop)
	wg.Wait()

	mu.Lock()
	t.Logf("%d requests during 3 ingests and 2 key changes, %d failed, %d snapshots seen", requests, len(failures), len(bodies))
	for i, f := range failures {
		if i == 10 {
			break
		}
		t.Error(f)
	}
	mu.Unlock()
	sorted := slices.Clone(switches)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("time until serve switched: median %v, max %v (%v)", sorted[len(sorted)/2], sorted[len(sorted)-1], switches)
	if sorted[len(sorted)-1] > 2*time.Second {
		t.Errorf("a change took %v to be served, want <= 2s", sorted[len(sorted)-1])
	}

	// GC: serve now holds only the current snapshot; the next writer
	// removes every other one.
	cur := currentSnapshot(t, dir)
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.GCLocalSnapshots(); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ents, _ := os.ReadDir(filepath.Join(dir, "snapshots"))
	var left []string
	for _, e := range ents {
		if e.IsDir() {
			left = append(left, e.Name())
		}
	}
	if len(left) != 1 || left[0] != cur {
		t.Errorf("snapshots left after GC: %v, want only the current %s", left, cur)
	}
	// check validates the served snapshot.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--snapshot", filepath.Join(dir, "snapshots", cur)}, nil, &out, &errb); code != 0 {
		t.Errorf("check --snapshot: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// TestServeLiveWriterKilled kills an ingest with SIGKILL at several points
// while serve runs: serve keeps answering from a complete snapshot, and
// the same ingest run again completes and is served within 2 s.
func TestServeLiveWriterKilled(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	prefix, pws, suffixes := livePasswords(1)
	m0, c0 := writeLiveBreach(t, tmp, "Live0", "not-in-the-prefix")
	livePwndex(t, "ingest", "--index", dir, "--manifest", m0, c0)
	base, slog, _ := startServe(t, dir)

	// A big breach (the password of interest among 5k others), so that
	// a kill lands during the build, the commit or the export.
	m, c := writeLiveBreach(t, tmp, "Big", pws[0])
	f, err := os.OpenFile(c, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(f, "u%d@big.test:pw-%d\n", i, i)
	}
	f.Close()
	for _, d := range []time.Duration{40 * time.Millisecond, 250 * time.Millisecond, 700 * time.Millisecond} {
		w := child(t, io.Discard, "ingest", "--index", dir, "--manifest", m, c)
		time.Sleep(d)
		w.Process.Signal(syscall.SIGKILL)
		w.Wait()
		for i := 0; i < 20; i++ {
			r, err := httpGet(base, "/range/"+prefix)
			if err != nil || r.status != 200 || r.h.Get(api.SnapshotHeader) == "" {
				t.Fatalf("after a kill at %v: %v %d\n%s", d, err, r.status, slog.String())
			}
		}
		if _, err := index.VerifySnapshot(filepath.Join(dir, "snapshots", currentSnapshot(t, dir))); err != nil {
			t.Fatalf("after a kill at %v the pointer names a bad snapshot: %v", d, err)
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"ingest", "--index", dir, "--manifest", m, c}, nil, &out, &errb); code != 0 {
		t.Fatalf("ingest after the kills: exit %d\n%s%s", code, out.String(), errb.String())
	}
	done := time.Now()
	if !waitFor(2*time.Second, func() bool {
		r, err := httpGet(base, "/range/"+prefix)
		return err == nil && r.status == 200 && present(r.body, suffixes)[0]
	}) {
		t.Fatalf("the completed ingest is not served 2 s later:\n%s", slog.String())
	}
	t.Logf("served %v after the ingest completed", time.Since(done))
}

// TestServeLiveSIGHUP: with polling practically off (--poll 1h), SIGHUP
// makes serve pick up a new snapshot at once.
func TestServeLiveSIGHUP(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	prefix, pws, suffixes := livePasswords(1)
	m0, c0 := writeLiveBreach(t, tmp, "Live0", "not-in-the-prefix")
	livePwndex(t, "ingest", "--index", dir, "--manifest", m0, c0)
	base, slog, cmd := startServe(t, dir, "--poll", "1h")
	m, c := writeLiveBreach(t, tmp, "Hup", pws[0])
	livePwndex(t, "ingest", "--index", dir, "--manifest", m, c)
	seen := func() bool {
		r, err := httpGet(base, "/range/"+prefix)
		return err == nil && r.status == 200 && present(r.body, suffixes)[0]
	}
	time.Sleep(300 * time.Millisecond)
	if seen() {
		t.Fatal("serve switched without SIGHUP although --poll is 1h")
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, seen) {
		t.Fatalf("serve did not switch within 2 s of SIGHUP:\n%s", slog.String())
	}
}
