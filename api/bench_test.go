package api

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkRangeHandler measures the range handler in memory (no network):
// routing, parsing, validators and handing over the precomputed body.
func BenchmarkRangeHandler(b *testing.B) {
	f := getFixture(b)
	s, err := New(f.ix, Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	p := sha1Hex("password")[:5]
	for _, bc := range []struct {
		name    string
		headers []string
	}{
		{"identity", nil},
		{"brotli", []string{"Accept-Encoding", "gzip, deflate, br"}},
		{"padded", []string{"Add-Padding", "true"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.SetRequestURI("/range/" + p)
			for i := 0; i < len(bc.headers); i += 2 {
				req.Header.Set(bc.headers[i], bc.headers[i+1])
			}
			ctx.Init(&req, nil, nil)
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(&ctx)
			}
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
		})
	}
}

// BenchmarkRangeServer measures whole requests over loopback with a
// fasthttp client (client and server share the process and its cores).
func BenchmarkRangeServer(b *testing.B) {
	_, base := startServer(b, Options{})
	addr := base[len("http://"):]
	p := sha1Hex("password")[:5]
	for _, bc := range []struct {
		name    string
		padding bool
	}{{"unpadded", false}, {"padded", true}} {
		b.Run(bc.name, func(b *testing.B) {
			c := &fasthttp.HostClient{Addr: addr, MaxConns: 64}
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI(base + "/range/" + p)
				if bc.padding {
					req.Header.Set("Add-Padding", "true")
				}
				for pb.Next() {
					if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
						b.Errorf("request: %v, status %d", err, resp.StatusCode())
						return
					}
				}
			})
		})
	}
}
