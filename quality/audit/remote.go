package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Defaults of RemoteOptions.
const (
	DefaultRemoteConcurrency = 16
	DefaultRequestTimeout    = 30 * time.Second
	DefaultMaxAttempts       = 8
	DefaultBaseBackoff       = 200 * time.Millisecond
	DefaultMaxBackoff        = 20 * time.Second
	// maxBody bounds a range or catalog response.
	maxBody = 32 << 20
)

// RemoteOptions configures NewRemote.
type RemoteOptions struct {
	// BaseURL is the server's base, e.g. "https://pwndex.example.com".
	BaseURL string
	// APIKey is sent as the hibp-api-key header. It needs the "range"
	// scope, and "sensitive" for sensitive breaches to be reported.
	APIKey string
	// Concurrency bounds the requests in flight (default 16).
	Concurrency int
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts per range, retries included
	// (default 8).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential backoff with jitter
	// between attempts (defaults 200 ms, 20 s).
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter, if set, caps how long a 429's Retry-After is
	// honoured: a longer demand fails the audit. By default every demand
	// is honoured (bound the whole run with a context deadline instead):
	// a 429 never fails an audit.
	MaxRetryAfter time.Duration
	// PrefixDigits, if set (1 to 6), forces the prefix length of the
	// compact range route; 6 uses the HIBP route. By default the audit
	// chooses (see Plan).
	PrefixDigits int
	// UserAgent is sent with every request (default "pwndex-audit").
	UserAgent string
}

// Remote looks identifiers up through the HIBP-compatible range API of a
// pwndex server or of HIBP itself, or through pwndex's compact range
// route for audit keys. Only hash prefixes are sent; suffixes are matched
// by the caller. Requests are paced to the key's rate (see pacer).
type Remote struct {
	opts   RemoteOptions
	base   string
	client *fasthttp.Client
	sem    chan struct{}
	pace   *pacer

	statusOnce sync.Once
	status     remoteStatus
	// hibp is set for haveibeenpwned.com, which has no phone range.
	hibp bool

	requests, bytes, limited atomic.Int64
}

// remoteStatus is what GET /api/v3/subscription/status told (zero when
// the server has no such route).
type remoteStatus struct {
	Rpm          int `json:"Rpm"`
	PwndexRanges *struct {
		MinDigits int               `json:"MinDigits"`
		MaxDigits int               `json:"MaxDigits"`
		Counts    map[string]uint64 `json:"Counts"`
	} `json:"PwndexRanges"`
}

// RemoteStats counts what a Remote sent and received.
type RemoteStats struct {
	Requests    int64 // HTTP requests sent, retries included
	Bytes       int64 // response bytes received (bodies)
	RateLimited int64 // 429 answers
}

// NewRemote returns a Lookup for the server at opts.BaseURL.
func NewRemote(opts RemoteOptions) (*Remote, error) {
	u, err := url.Parse(strings.TrimSpace(opts.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("audit: remote URL %q: want http(s)://host[:port][/path]", opts.BaseURL)
	}
	if opts.APIKey == "" {
		return nil, errors.New("audit: remote mode needs an API key")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultRemoteConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRequestTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = DefaultBaseBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.PrefixDigits < 0 || opts.PrefixDigits > RangeDigits {
		return nil, fmt.Errorf("audit: prefix length %d, want 1 to %d", opts.PrefixDigits, RangeDigits)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "pwndex-audit"
	}
	// fasthttp's client: keep-alive connections, at most Concurrency of
	// them, several times cheaper per request than net/http's, so that the
	// server, not the client, bounds a remote audit.
	client := &fasthttp.Client{
		Name:                     opts.UserAgent,
		NoDefaultUserAgentHeader: false,
		MaxConnsPerHost:          opts.Concurrency,
		MaxIdleConnDuration:      90 * time.Second,
		ReadTimeout:              opts.Timeout,
		WriteTimeout:             opts.Timeout,
		MaxConnWaitTimeout:       opts.Timeout,
		MaxResponseBodySize:      maxBody,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			return fasthttp.DialTimeout(addr, min(timeout, 10*time.Second))
		},
	}
	// HIBP's documented base URL ends in /api/v3, which every route
	// path here starts with.
	base := strings.TrimSuffix(strings.TrimRight(u.String(), "/"), "/api/v3")
	return &Remote{
		opts:   opts,
		base:   base,
		client: client,
		sem:    make(chan struct{}, opts.Concurrency),
		pace:   newPacer(),
		hibp:   strings.HasSuffix(strings.ToLower(u.Hostname()), "haveibeenpwned.com"),
	}, nil
}

// hasPhoneRange reports whether the server answers phone ranges: pwndex
// does, HIBP does not (it would answer 404, read as "not found").
func (r *Remote) hasPhoneRange() bool { return !r.hibp }

// Stats returns the requests sent and bytes received so far.
func (r *Remote) Stats() RemoteStats {
	return RemoteStats{Requests: r.requests.Load(), Bytes: r.bytes.Load(), RateLimited: r.limited.Load()}
}

// PacedRPM returns the requests per minute the client currently paces
// itself to (0: not paced, no limit known or met yet).
func (r *Remote) PacedRPM() float64 { return r.pace.RPM() }

// loadStatus asks the server for the key's subscription status once:
// its Rpm paces every later request, and its PwndexRanges advertises the
// compact range route. A server without the route (404), or any error,
// leaves both unknown: the rate is then learnt from 429s.
func (r *Remote) loadStatus(ctx context.Context) remoteStatus {
	r.statusOnce.Do(func() {
		body, err := r.get(ctx, "/api/v3/subscription/status", "subscription status", "application/json", min(3, r.opts.MaxAttempts))
		if err != nil || body == nil {
			return
		}
		st, ok := parseStatus(body)
		if !ok {
			return
		}
		r.status = st
		if st.Rpm > 0 && st.Rpm < 1<<30 {
			r.pace.setKnown(float64(st.Rpm))
		}
	})
	return r.status
}

// parseStatus decodes a subscription status body. A negative Rpm makes
// it unusable; a PwndexRanges with impossible prefix lengths or counts is
// ignored (the 6-hex route is then used).
func parseStatus(body []byte) (remoteStatus, bool) {
	var st remoteStatus
	if json.Unmarshal(body, &st) != nil || st.Rpm < 0 {
		return remoteStatus{}, false
	}
	if p := st.PwndexRanges; p != nil && (p.MinDigits < 1 || p.MaxDigits > RangeDigits || p.MinDigits > p.MaxDigits) {
		st.PwndexRanges = nil
	}
	return st, true
}

// Parallelism implements Lookup.
func (r *Remote) Parallelism() int { return r.opts.Concurrency }

// Describe implements Lookup (the URL without credentials).
func (r *Remote) Describe() string {
	u, err := url.Parse(r.base)
	if err != nil {
		return "remote server"
	}
	u.User = nil
	return "remote " + u.String()
}

// Close releases idle connections.
func (r *Remote) Close() { r.client.CloseIdleConnections() }

// Catalog implements Lookup: GET {base}/api/v3/breaches.
func (r *Remote) Catalog(ctx context.Context) ([]index.Breach, error) {
	body, err := r.get(ctx, "/api/v3/breaches", "catalog", "application/json", min(3, r.opts.MaxAttempts))
	if err != nil {
		return nil, err
	}
	var bs []index.Breach
	if err := json.Unmarshal(body, &bs); err != nil {
		return nil, fmt.Errorf("audit: %s: malformed catalog: %w", r.Describe(), err)
	}
	return bs, nil
}

// Range implements Lookup: GET {base}/api/v3/breachedaccount/range/{prefix}
// for e-mail addresses, {base}/api/v3/phone/range/{prefix} for phones.
func (r *Remote) Range(ctx context.Context, k index.Kind, prefix uint32, dst []RangeEntry) ([]RangeEntry, error) {
	var path string
	switch k {
	case index.KindEmail:
		path = "/api/v3/breachedaccount/range/"
	case index.KindPhone:
		path = "/api/v3/phone/range/"
	default:
		return dst, fmt.Errorf("audit: no range API for kind %s", k)
	}
	path += index.Prefix{Value: prefix, Digits: RangeDigits}.String()
	body, err := r.get(ctx, path, k.String()+" range", "application/json", r.opts.MaxAttempts)
	if err != nil {
		return dst, err
	}
	dst, err = ParseRange(body, k, prefix, dst)
	if err != nil {
		return dst, fmt.Errorf("audit: %s: %s range: %w", r.Describe(), k, err)
	}
	return dst, nil
}

// compactRange fetches GET {base}/v1/range/{kind}/{prefix} (pwndex, audit
// scope) into c.
func (r *Remote) compactRange(ctx context.Context, k index.Kind, p index.Prefix, c *compactRange) error {
	var path string
	switch k {
	case index.KindEmail:
		path = "/v1/range/email/"
	case index.KindPhone:
		path = "/v1/range/phone/"
	default:
		return fmt.Errorf("audit: no range API for kind %s", k)
	}
	path += p.String()
	body, err := r.get(ctx, path, k.String()+" range", "application/x-pwndex-range", r.opts.MaxAttempts)
	if err != nil {
		return err
	}
	if err := parseCompactRange(body, k, p, c); err != nil {
		return fmt.Errorf("audit: %s: %s range: %w", r.Describe(), k, err)
	}
	return nil
}

// statusError is a non-retryable HTTP answer.
type statusError struct {
	what   string
	status int
	msg    string
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.what, e.status)
	switch e.status {
	case http.StatusUnauthorized:
		s += " (API key missing or rejected)"
	case http.StatusForbidden:
		s += " (API key lacks the needed scope)"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

// get fetches path with up to attempts attempts. The catalog, fetched
// first, gets few: an unreachable server is reported quickly. Error messages name what was fetched,
// never the path (it holds a hash prefix) nor the key.
func (r *Remote) get(ctx context.Context, path, what, accept string, attempts int) ([]byte, error) {
	return r.do(ctx, fasthttp.MethodGet, path, what, accept, nil, attempts)
}

// do sends one request (a GET, or a POST of a JSON body) with up to
// attempts attempts, paced like every request of r: a 429 waits for
// Retry-After and is asked again without using up an attempt; 5xx and
// network errors back off. A 404 returns a nil body (HIBP's "nothing
// found"), except for the catalog.
func (r *Remote) do(ctx context.Context, method, path, what, accept string, reqBody []byte, attempts int) ([]byte, error) {
	var last error
	for attempt := 1; ; attempt++ {
		if err := r.pace.wait(ctx); err != nil {
			return nil, err
		}
		sent := time.Now()
		body, status, retryAfter, err := r.once(ctx, method, path, accept, reqBody)
		if err == nil && status != http.StatusTooManyRequests {
			r.pace.accepted(sent)
		}
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = fmt.Errorf("%s: %w", what, err)
			wait = r.backoff(attempt)
		case status == http.StatusOK:
			return body, nil
		case status == http.StatusNotFound && what != "catalog":
			return nil, nil // HIBP answers 404 for "nothing found"
		case status == http.StatusTooManyRequests:
			// Not a failure: the pacer slows down, every request waits
			// Retry-After, and this one is asked again, without using up
			// an attempt.
			r.limited.Add(1)
			wait = retryAfter
			if wait <= 0 {
				wait = r.backoff(min(attempt, 4))
			}
			if r.opts.MaxRetryAfter > 0 && wait > r.opts.MaxRetryAfter {
				return nil, fmt.Errorf("audit: %s: %s: server asks to wait %v, more than %v", r.Describe(), what, wait, r.opts.MaxRetryAfter)
			}
			r.pace.limited(sent, wait)
			attempt--
			continue
		case status == http.StatusServiceUnavailable && retryAfter > 0:
			last = fmt.Errorf("%s: HTTP %d (server busy)", what, status)
			wait = retryAfter
		case status >= 500 || status == http.StatusRequestTimeout:
			last = fmt.Errorf("%s: HTTP %d", what, status)
			wait = r.backoff(attempt)
		default:
			return nil, fmt.Errorf("audit: %s: %w", r.Describe(), &statusError{what: what, status: status, msg: errorMessage(body)})
		}
		if attempt >= attempts {
			return nil, fmt.Errorf("audit: %s: giving up after %d attempts: %w", r.Describe(), attempt, last)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once makes one request within the concurrency bound.
func (r *Remote) once(ctx context.Context, method, path, accept string, reqBody []byte) (body []byte, status int, retryAfter time.Duration, err error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, 0, ctx.Err()
	}
	defer func() { <-r.sem }()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(r.base + path)
	req.Header.SetMethod(method)
	req.Header.Set("hibp-api-key", r.opts.APIKey)
	req.Header.Set("Accept", accept)
	if reqBody != nil {
		// A body has the type of the answer asked for: JSON, or the
		// private lookups' binary format (private.go).
		ct := "application/json"
		if accept == contentTypeBinary {
			ct = contentTypeBinary
		}
		req.Header.SetContentType(ct)
		req.SetBodyRaw(reqBody)
	}
	r.requests.Add(1)
	if err := r.client.DoTimeout(req, resp, r.opts.Timeout); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			return nil, 0, 0, errors.New("request timed out")
		}
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			return nil, 0, 0, fmt.Errorf("response larger than %d bytes", maxBody)
		}
		return nil, 0, 0, err
	}
	body = append([]byte(nil), resp.Body()...)
	r.bytes.Add(int64(len(body)))
	return body, resp.StatusCode(), parseRetryAfter(string(resp.Header.Peek("Retry-After")), time.Now()), nil
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// errorMessage extracts the "message" of an HIBP-style JSON error body.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Message) < 200 {
		return e.Message
	}
	return ""
}

// backoff returns the wait before attempt+1: exponential with jitter in
// [d/2, d], d = BaseBackoff * 2^(attempt-1) capped at MaxBackoff.
func (r *Remote) backoff(attempt int) time.Duration {
	d := r.opts.BaseBackoff
	for i := 1; i < attempt && d < r.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
