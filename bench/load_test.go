package bench

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestLoadBaseline(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789ABCDEF0123456789ABCDEF012:1\r\n"), 900)
	s, err := StartBaseline(body)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := Load(context.Background(), LoadOptions{
		Addr: s.Addr, Conns: 4, Duration: 300 * time.Millisecond, MaxRequests: 3000,
		URI: func(dst []byte, i int64) []byte { return append(dst, "/range/ABCDE"...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Errors != 0 || r.BodyBytes != r.Requests*int64(len(body)) {
		t.Errorf("result %+v, body %d bytes", r, len(body))
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.ReqPerSec <= 0 {
		t.Errorf("latencies p50 %v p99 %v, %v req/s", r.P50, r.P99, r.ReqPerSec)
	}
	// The baseline answers like a range response.
	var resp fasthttp.Response
	req := fasthttp.AcquireRequest()
	req.SetRequestURI("http://" + s.Addr + "/range/00000")
	if err := fasthttp.Do(req, &resp); err != nil {
		t.Fatal(err)
	}
	if ct := string(resp.Header.ContentType()); ct != "text/plain" || !bytes.Equal(resp.Body(), body) {
		t.Errorf("baseline response: %s, %d bytes", ct, len(resp.Body()))
	}
}

func TestLoadBounds(t *testing.T) {
	var seen atomic.Int64
	var lastURI, lastHdr atomic.Value
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln, func(ctx *fasthttp.RequestCtx) {
		seen.Add(1)
		lastURI.Store(string(ctx.RequestURI()))
		lastHdr.Store(string(ctx.Request.Header.Peek("Add-Padding")))
		if bytes.HasSuffix(ctx.RequestURI(), []byte("/404")) {
			ctx.SetStatusCode(404)
		}
	})
	defer s.Close()

	// The request count bound stops a long run early.
	start := time.Now()
	r, err := Load(context.Background(), LoadOptions{
		Addr: s.Addr, Conns: 3, Duration: 20 * time.Second, MaxRequests: 50,
		Header: [][2]string{{"Add-Padding", "true"}},
		URI:    func(dst []byte, i int64) []byte { return append(dst, "/x"...) },
	})
	if err != nil || r.Requests != 50 || seen.Load() != 50 {
		t.Fatalf("Load: %+v, %v; server saw %d requests, want 50", r, err, seen.Load())
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("50 requests took %v", time.Since(start))
	}
	if lastURI.Load() != "/x" || lastHdr.Load() != "true" {
		t.Errorf("server saw %v with Add-Padding %v", lastURI.Load(), lastHdr.Load())
	}
	// The time bound stops an unbounded count, and unexpected statuses count as errors.
	start = time.Now()
	r, err = Load(context.Background(), LoadOptions{
		Addr: s.Addr, Conns: 2, Duration: 200 * time.Millisecond,
		URI: func(dst []byte, i int64) []byte { return append(dst, "/404"...) },
	})
	if err == nil || r.Requests != 0 || r.Errors == 0 {
		t.Errorf("404s: %+v, %v; want errors", r, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("200 ms load ran %v", d)
	}
}

func TestLoadRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:80", "example.org:80", "10.0.0.1:8080"} {
		if _, err := Load(context.Background(), LoadOptions{Addr: addr, Duration: time.Millisecond}); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Load(%s) = %v, want ErrNotLoopback", addr, err)
		}
	}
}
