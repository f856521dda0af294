package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/objstore"
	"github.com/pwndex/pwndex/index/objstore/miniotest"
)

// TestMain lets a test run the pwndex command in a child process (the test
// binary itself, with PWNDEX_TEST_RUN_MAIN=1), so that it can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("PWNDEX_TEST_RUN_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// throttle is a TCP proxy to target that passes at most rate bytes/s from
// the server to all clients together: it makes a download slow enough to
// be killed in the middle.
func throttle(t *testing.T, target string, rate int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						mu.Lock()
						time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
						mu.Unlock()
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// child starts 'pwndex args...' as a child process.
func child(t *testing.T, log io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PWNDEX_TEST_RUN_MAIN=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestReplicaKilledMidDownloadConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO and child processes")
	}
	s3 := miniotest.Start(t, "pwndex")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newWriter(t, t.TempDir())
	w.hashes = denseHashes(8, 100, 11)
	bb, err := w.ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "base", Sorted: true, Compress: true, ExpectedKeys: len(w.hashes)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.hashes {
		if err := bb.SetBase(&w.hashes[i], uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bb.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w.breach("Alpha")
	st, err := objstore.Open(s3.URL("pwndex", "p"), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := w.ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range snap.Manifest.Files {
		total += f.Size
	}
	ps, err := st.Publish(ctx, snap, false)
	if err != nil {
		t.Fatal(err)
	}
	w.serve(ctx)

	// A replica behind a slow link (8 MB/s for a ~total-byte snapshot),
	// killed with SIGKILL once part of the snapshot is on disk.
	cache := t.TempDir()
	slow := throttle(t, s3.Endpoint, 8<<20)
	slowURL := strings.Replace(s3.URL("pwndex", "p"), s3.Endpoint, slow, 1)
	addr := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	log1 := &syncBuffer{}
	c1 := child(t, log1, "serve", "--from", slowURL, "--cache", cache, "--addr", addr, "--poll", "50ms", "--no-vet")
	blobs := filepath.Join(cache, "blobs")
	midway := waitFor(30*time.Second, func() bool {
		es, _ := os.ReadDir(blobs)
		done, part := 0, false
		for _, e := range es {
			if strings.HasSuffix(e.Name(), ".part") {
				part = true
			} else {
				done++
			}
		}
		return done >= 1 && part
	})
	if !midway {
		t.Fatalf("download never reached the middle: %s", log1.String())
	}
	if err := c1.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c1.Wait()
	es, _ := os.ReadDir(blobs)
	snaps, _ := os.ReadDir(filepath.Join(cache, "snaps"))
	if len(snaps) != 0 {
		t.Fatalf("killed before the end, yet snapshot directories exist: %v", snaps)
	}
	t.Logf("killed with %d of %d files in the cache (snapshot %d bytes)", len(es), len(snap.Manifest.Files), total)

	// Restarted on the same cache, at full speed: it converges.
	log2 := &syncBuffer{}
	c2 := child(t, log2, "serve", "--from", s3.URL("pwndex", "p"), "--cache", cache, "--addr", addr, "--poll", "1h", "--no-vet")
	base := "http://" + addr
	if !waitFor(30*time.Second, func() bool { r, err := httpGet(base, "/readyz"); return err == nil && r.status == 200 }) {
		t.Fatalf("restarted replica not ready: %s", log2.String())
	}
	sameAsWriter(t, w.base, base, rangePaths(8), "")
	dir := filepath.Join(cache, "snaps", strings.TrimSuffix(strings.TrimPrefix(ps.Name, "snapshots/"), ".json"))
	if _, err := index.VerifySnapshot(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(blobs, "*.part")); len(left) != 0 {
		t.Fatalf("partial files left after convergence: %v", left)
	}
	// With a 1 h poll, SIGHUP makes it look for the next snapshot now.
	w.breach("Beta")
	snap2, err := w.ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(ctx, snap2, false); err != nil {
		t.Fatal(err)
	}
	tag2 := w.ix.ETag()
	if got := mustGet(t, base, "/range/00000").h.Get("ETag"); got == tag2 {
		t.Fatal("switched before SIGHUP")
	}
	c2.Process.Signal(syscall.SIGHUP)
	if !waitFor(10*time.Second, func() bool { r, err := httpGet(base, "/range/00000"); return err == nil && r.h.Get("ETag") == tag2 }) {
		t.Fatalf("SIGHUP did not bring the new snapshot: %s", log2.String())
	}
	c2.Process.Signal(syscall.SIGTERM)
	if err := c2.Wait(); err != nil {
		t.Fatalf("replica stopped with %v: %s", err, log2.String())
	}
}
