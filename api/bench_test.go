package api

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// denseRows is the row count of a real Pwned Passwords bucket (~950 rows,
// ~37 KB).
const denseRows = 950

// denseIndex is an index holding one dense SHA-1 bucket (prefix densePrefix).
var (
	denseOnce sync.Once
	denseIx   *index.Index
	denseErr  error
)

const densePrefix = "ABCDE"

// getDenseIndex builds, once, a real index with one SHA-1 bucket of
// denseRows random suffixes and precomputed compressed bodies.
func getDenseIndex(b testing.TB) *index.Index {
	b.Helper()
	denseOnce.Do(func() {
		// Not b.TempDir: it is removed when the first benchmark using it
		// ends; TestMain removes this one.
		dir, err := os.MkdirTemp("", "pwndex-api-dense-")
		if err != nil {
			denseErr = err
			return
		}
		fixDirs = append(fixDirs, dir)
		ix, err := index.Open(index.Options{Dir: dir})
		if err != nil {
			denseErr = err
			return
		}
		bb, err := ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "dense", Compress: true})
		if err != nil {
			denseErr = err
			return
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for range denseRows {
			h := []byte(densePrefix)
			for len(h) < 40 {
				h = append(h, upperHex[rng.IntN(16)])
			}
			hh := mustHash(index.KindSHA1, string(h))
			if err := bb.SetBase(&hh, 1+uint64(rng.IntN(1_000_000))); err != nil {
				denseErr = err
				return
			}
		}
		if _, err := bb.Commit(context.Background()); err != nil {
			denseErr = err
			return
		}
		denseIx = ix
	})
	if denseErr != nil {
		b.Fatalf("building the dense index: %v", denseErr)
	}
	return denseIx
}

// newDiscardBufio returns a writer like the server's connection writer
// (fasthttp's default 4 KiB buffer) that discards what it is given.
func newDiscardBufio() *bufio.Writer { return bufio.NewWriterSize(io.Discard, 4096) }

// BenchmarkRangeHandler measures the range handler in memory (no network):
// routing, parsing, validators and handing over the body, on a small
// fixture bucket and on a dense (real-size) one. The body is not written
// anywhere: writing it is the same memmove for every variant.
func BenchmarkRangeHandler(b *testing.B) {
	for _, ic := range []struct {
		name   string
		ix     func(b *testing.B) *index.Index
		prefix string
	}{
		{"small", func(b *testing.B) *index.Index { return getFixture(b).ix }, sha1Hex("password")[:5]},
		{"dense", func(b *testing.B) *index.Index { return getDenseIndex(b) }, densePrefix},
	} {
		for _, bc := range []struct {
			name    string
			headers []string
		}{
			{"identity", nil},
			{"brotli", []string{"Accept-Encoding", "gzip, deflate, br"}},
			{"padded", []string{"Add-Padding", "true"}},
			{"padded-gzip", []string{"Add-Padding", "true", "Accept-Encoding", "gzip"}},
		} {
			b.Run(ic.name+"/"+bc.name, func(b *testing.B) {
				s, err := New(ic.ix(b), Options{Logger: discardLogger()})
				if err != nil {
					b.Fatal(err)
				}
				h := s.Handler()
				var ctx fasthttp.RequestCtx
				var req fasthttp.Request
				req.SetRequestURI("/range/" + ic.prefix)
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
}

// BenchmarkRangeWrite measures the handler and serialising the whole
// response (headers and body) into a buffered writer, as the server does,
// on the dense bucket.
func BenchmarkRangeWrite(b *testing.B) {
	ix := getDenseIndex(b)
	s, err := New(ix, Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	for _, bc := range []struct {
		name    string
		headers []string
	}{
		{"identity", nil},
		{"padded", []string{"Add-Padding", "true"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.SetRequestURI("/range/" + densePrefix)
			for i := 0; i < len(bc.headers); i += 2 {
				req.Header.Set(bc.headers[i], bc.headers[i+1])
			}
			ctx.Init(&req, nil, nil)
			w := newDiscardBufio()
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(&ctx)
				if err := ctx.Response.Write(w); err != nil {
					b.Fatal(err)
				}
				w.Flush()
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
