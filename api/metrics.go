package api

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// latencyBuckets are the upper bounds of the request latency histogram.
var latencyBuckets = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	100 * time.Millisecond, 500 * time.Millisecond, time.Second,
}

const maxStatus = 600

// metrics holds counters updated with atomics only, so observing a
// request neither locks nor allocates.
type metrics struct {
	requests [numRoutes][maxStatus]atomic.Uint64
	buckets  [numRoutes][len(latencyBuckets) + 1]atomic.Uint64
	sumNanos [numRoutes]atomic.Uint64
	// panics counts handler panics recovered (answered 500).
	panics atomic.Uint64
	// authThrottled counts requests refused after repeated failed
	// authentication from one client.
	authThrottled atomic.Uint64
	// corruptBodies counts range bodies refused for failing their checksum.
	corruptBodies atomic.Uint64
}

func newMetrics() *metrics { return new(metrics) }

func (m *metrics) observe(r route, status int, d time.Duration) {
	if status < 0 || status >= maxStatus {
		status = 0
	}
	m.requests[r][status].Add(1)
	i := 0
	for i < len(latencyBuckets) && d > latencyBuckets[i] {
		i++
	}
	m.buckets[r][i].Add(1)
	m.sumNanos[r].Add(uint64(d))
}

// serveMetrics writes the Prometheus text exposition format (0.0.4).
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, []byte("GET, HEAD"))
		return
	}
	m := s.metrics
	b := make([]byte, 0, 8<<10)
	b = append(b, "# HELP pwndex_http_requests_total HTTP requests by route and status.\n# TYPE pwndex_http_requests_total counter\n"...)
	for r := range numRoutes {
		for st := range maxStatus {
			if n := m.requests[r][st].Load(); n > 0 {
				b = fmt.Appendf(b, "pwndex_http_requests_total{route=%q,status=\"%d\"} %d\n", routeNames[r], st, n)
			}
		}
	}
	b = append(b, "# HELP pwndex_http_request_duration_seconds Request handling latency.\n# TYPE pwndex_http_request_duration_seconds histogram\n"...)
	for r := range numRoutes {
		var counts [len(latencyBuckets) + 1]uint64
		var total uint64
		for i := range counts {
			counts[i] = m.buckets[r][i].Load()
			total += counts[i]
		}
		if total == 0 {
			continue
		}
		var cum uint64
		for i, ub := range latencyBuckets {
			cum += counts[i]
			b = fmt.Appendf(b, "pwndex_http_request_duration_seconds_bucket{route=%q,le=\"%s\"} %d\n",
				routeNames[r], strconv.FormatFloat(ub.Seconds(), 'g', -1, 64), cum)
		}
		b = fmt.Appendf(b, "pwndex_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", routeNames[r], total)
		b = fmt.Appendf(b, "pwndex_http_request_duration_seconds_sum{route=%q} %s\n", routeNames[r],
			strconv.FormatFloat(float64(m.sumNanos[r].Load())/1e9, 'g', -1, 64))
		b = fmt.Appendf(b, "pwndex_http_request_duration_seconds_count{route=%q} %d\n", routeNames[r], total)
	}
	b = append(b, "# HELP pwndex_http_panics_total Handler panics recovered and answered 500.\n# TYPE pwndex_http_panics_total counter\n"...)
	b = fmt.Appendf(b, "pwndex_http_panics_total %d\n", m.panics.Load())
	b = append(b, "# HELP pwndex_http_auth_throttled_total Requests refused after repeated failed authentication.\n# TYPE pwndex_http_auth_throttled_total counter\n"...)
	b = fmt.Appendf(b, "pwndex_http_auth_throttled_total %d\n", m.authThrottled.Load())
	b = append(b, "# HELP pwndex_range_corrupt_total Range bodies refused for failing their checksum.\n# TYPE pwndex_range_corrupt_total counter\n"...)
	b = fmt.Appendf(b, "pwndex_range_corrupt_total %d\n", m.corruptBodies.Load())
	b = append(b, "# HELP pwndex_http_body_bytes_in_flight Request body bytes buffered now.\n# TYPE pwndex_http_body_bytes_in_flight gauge\n"...)
	b = fmt.Appendf(b, "pwndex_http_body_bytes_in_flight %d\n", s.bodies.used.Load())
	b = append(b, "# HELP pwndex_goroutines Goroutines in the process.\n# TYPE pwndex_goroutines gauge\n"...)
	b = fmt.Appendf(b, "pwndex_goroutines %d\n", runtime.NumGoroutine())
	if n := openFDs(); n >= 0 {
		b = append(b, "# HELP pwndex_open_fds Open file descriptors of the process.\n# TYPE pwndex_open_fds gauge\n"...)
		b = fmt.Appendf(b, "pwndex_open_fds %d\n", n)
	}
	sn := s.cache.Load()
	b = append(b, "# HELP pwndex_http_requests_in_flight Requests being handled.\n# TYPE pwndex_http_requests_in_flight gauge\n"...)
	b = fmt.Appendf(b, "pwndex_http_requests_in_flight %d\n", s.inFly.Load())
	b = append(b, "# HELP pwndex_index_version Committed index version.\n# TYPE pwndex_index_version gauge\n"...)
	b = fmt.Appendf(b, "pwndex_index_version %d\n", sn.version)
	b = append(b, "# HELP pwndex_index_records Records in the index by kind.\n# TYPE pwndex_index_records gauge\n"...)
	kinds := slices.Clone(index.Kinds)
	for _, k := range kinds {
		b = fmt.Appendf(b, "pwndex_index_records{kind=%q} %d\n", k.String(), sn.meta.Counts[k])
	}
	b = append(b, "# HELP pwndex_index_breaches Breaches in the catalog.\n# TYPE pwndex_index_breaches gauge\n"...)
	b = fmt.Appendf(b, "pwndex_index_breaches %d\n", len(sn.breaches))
	b = append(b, "# HELP pwndex_index_size_bytes Bytes of files in the index directory.\n# TYPE pwndex_index_size_bytes gauge\n"...)
	b = fmt.Appendf(b, "pwndex_index_size_bytes %d\n", sn.dirBytes)
	if !sn.meta.BuiltAt.IsZero() {
		b = append(b, "# HELP pwndex_index_built_timestamp_seconds Time of the last commit.\n# TYPE pwndex_index_built_timestamp_seconds gauge\n"...)
		b = fmt.Appendf(b, "pwndex_index_built_timestamp_seconds %d\n", sn.meta.BuiltAt.Unix())
	}
	ctx.Response.Header.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.SetBodyRaw(b)
}

// serveHealth answers /healthz: the process is alive.
func (s *Server) serveHealth(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	textError(ctx, fasthttp.StatusOK, "ok")
}

// serveReady answers /readyz: 200 while serving, 503 once shutting down.
func (s *Server) serveReady(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	if !s.ready.Load() {
		textError(ctx, fasthttp.StatusServiceUnavailable, "shutting down")
		return
	}
	textError(ctx, fasthttp.StatusOK, "ready")
}
