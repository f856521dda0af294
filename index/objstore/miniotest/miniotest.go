// Package miniotest starts a real MinIO server on 127.0.0.1 for tests. The
// binary is found through the PWNDEX_MINIO environment variable (.ci/run
// builds it from the Go module proxy into .ci/bin/minio and sets it).
// Without it a test is skipped loudly, or fails when CI=true.
package miniotest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Credentials of the test server, also exported to the environment of the
// test (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) by Start.
const (
	AccessKey = "pwndex-test"
	SecretKey = "pwndex-test-secret"
)

// Server is a running MinIO.
type Server struct {
	Endpoint string // 127.0.0.1:port
	Client   *minio.Client
	cmd      *exec.Cmd
	log      *lockedBuffer
}

// URL returns the s3:// URL of bucket/prefix on this server.
func (s *Server) URL(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&disable_https=true", bucket, prefix, s.Endpoint)
}

// Binary returns the MinIO binary named by PWNDEX_MINIO, skipping the test
// (failing it under CI=true) when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("PWNDEX_MINIO")
	if p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("MinIO binary not found (PWNDEX_MINIO=%q): .ci/run builds it into .ci/bin/minio", p)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING: " + msg)
	return ""
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs MinIO on a temporary directory, creates the given buckets and
// stops the server when the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	bin := Binary(t)
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	var s *Server
	for attempt := 0; attempt < 3 && s == nil; attempt++ { // a port taken meanwhile
		s = try(t, bin)
	}
	if s == nil {
		t.Fatal("MinIO did not start")
	}
	for _, b := range buckets {
		if err := s.Client.MakeBucket(context.Background(), b, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("make bucket %s: %v", b, err)
		}
	}
	return s
}

func try(t testing.TB, bin string) *Server {
	port, console := FreePort(t), FreePort(t)
	s := &Server{Endpoint: "127.0.0.1:" + strconv.Itoa(port), log: &lockedBuffer{}}
	s.cmd = exec.Command(bin, "server", "--quiet", "--address", s.Endpoint,
		"--console-address", "127.0.0.1:"+strconv.Itoa(console), t.TempDir())
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+AccessKey, "MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+t.TempDir())
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	exited := make(chan struct{})
	go func() { s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Logf("MinIO exited: %s", s.log.String())
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), BucketLookup: minio.BucketLookupPath})
				if err != nil {
					t.Fatal(err)
				}
				s.Client = c
				return s
			}
		}
	}
	t.Fatalf("MinIO not ready after 60 s: %s", s.log.String())
	return nil
}
