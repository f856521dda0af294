package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// LoadOptions configures Load. Every load is bounded by both Duration and
// MaxRequests.
type LoadOptions struct {
	// Addr is the server's host:port; it must be a loopback address.
	Addr string
	// Conns is the number of concurrent connections (default 1).
	Conns int
	// Duration bounds the run (default 2 s, at most 5 minutes).
	Duration time.Duration
	// MaxRequests bounds the number of requests sent (default 5,000,000).
	MaxRequests int64
	// URI appends the request URI of request i to dst (default "/").
	URI func(dst []byte, i int64) []byte
	// Header lists extra request headers as name, value pairs.
	Header [][2]string
	// WantStatus is the expected status; other statuses count as errors
	// (default 200).
	WantStatus int
}

// LoadResult summarises a Load run.
type LoadResult struct {
	Requests  int64 // completed with the expected status
	Errors    int64 // transport errors and unexpected statuses
	BodyBytes int64 // response body bytes received
	Elapsed   time.Duration
	ReqPerSec float64
	P50, P99  time.Duration
}

// Errors returned by Load.
var ErrNotLoopback = errors.New("load target is not a loopback address")

// maxLoadDuration caps LoadOptions.Duration.
const maxLoadDuration = 5 * time.Minute

// Load sends requests over o.Conns keep-alive connections to a loopback
// server until o.Duration elapses, o.MaxRequests were sent or ctx ends,
// and reports throughput and latency percentiles.
func Load(ctx context.Context, o LoadOptions) (LoadResult, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return LoadResult{}, fmt.Errorf("bench: load %s: %w", o.Addr, ErrNotLoopback)
	}
	if o.Conns <= 0 {
		o.Conns = 1
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	o.Duration = min(o.Duration, maxLoadDuration)
	if o.MaxRequests <= 0 {
		o.MaxRequests = 5_000_000
	}
	if o.URI == nil {
		o.URI = func(dst []byte, _ int64) []byte { return append(dst, '/') }
	}
	if o.WantStatus == 0 {
		o.WantStatus = fasthttp.StatusOK
	}
	hc := &fasthttp.HostClient{
		Addr:                     o.Addr,
		MaxConns:                 o.Conns,
		ReadTimeout:              10 * time.Second,
		WriteTimeout:             10 * time.Second,
		NoDefaultUserAgentHeader: true,
	}
	defer hc.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var (
		next     atomic.Int64
		errs     atomic.Int64
		bodyLen  atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		wg       sync.WaitGroup
		firstErr error
	)
	start := time.Now()
	for range o.Conns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var (
				mine []time.Duration
				uri  []byte
				body int64
			)
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= o.MaxRequests {
					break
				}
				uri = o.URI(uri[:0], i)
				req.Reset()
				req.SetRequestURIBytes(uri)
				req.Header.SetHost(o.Addr)
				for _, h := range o.Header {
					req.Header.Set(h[0], h[1])
				}
				t0 := time.Now()
				err := hc.Do(req, resp)
				d := time.Since(t0)
				if err == nil && resp.StatusCode() != o.WantStatus {
					err = fmt.Errorf("status %d, want %d", resp.StatusCode(), o.WantStatus)
				}
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				body += int64(len(resp.Body()))
				mine = append(mine, d)
			}
			bodyLen.Add(body)
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := LoadResult{
		Requests:  int64(len(lat)),
		Errors:    errs.Load(),
		BodyBytes: bodyLen.Load(),
		Elapsed:   elapsed,
		ReqPerSec: float64(len(lat)) / elapsed.Seconds(),
	}
	slices.Sort(lat)
	r.P50, r.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if r.Requests == 0 && firstErr != nil {
		return r, fmt.Errorf("bench: load %s: every request failed: %w", o.Addr, firstErr)
	}
	return r, nil
}

// percentile returns the q-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
