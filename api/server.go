package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Server serves one open index. Create it with New; it is safe for
// concurrent use.
type Server struct {
	ix      *index.Index
	opts    Options
	log     *Logger
	cache   atomic.Pointer[snapshot]
	limiter *rateLimiter
	metrics *metrics
	ready   atomic.Bool
	inFly   atomic.Int64
	maxFly  int64
	maxBody int
	// bodies bounds the memory of request bodies in flight (body.go).
	bodies budget
	// authFails throttles failed authentication per client (authguard.go).
	authFails *authThrottle
	// trusted holds Options.TrustedProxies (clientip.go).
	trusted proxySet
	// subs remembers POST /range/subscribe registrations (enterprise.go);
	// shared across live swaps like the limiter.
	subs *subscriptions
}

// New returns a Server for ix. The index must stay open while the server
// runs; the caller closes it afterwards.
func New(ix *index.Index, opts Options) (*Server, error) {
	if ix == nil {
		return nil, errors.New("api: nil index")
	}
	opts.setDefaults()
	padTables() // a few milliseconds, once per process
	uploads := make(map[string]Upload, len(opts.Uploads))
	for p, u := range opts.Uploads {
		uploads[p] = u
	}
	opts.Uploads = uploads // a private copy: the caller may change its map
	for p, u := range opts.Uploads {
		if len(p) < 2 || p[0] != '/' {
			return nil, fmt.Errorf("api: upload path %q must start with /", p)
		}
		if routeOf([]byte(p)) != routeNotFound {
			return nil, fmt.Errorf("api: upload path %q collides with a built-in route", p)
		}
		if u.Handler == nil {
			return nil, fmt.Errorf("api: upload %q has no handler", p)
		}
	}
	trusted, err := newProxySet(opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s := &Server{
		trusted: trusted,
		ix:      ix,
		opts:    opts,
		log:     NewLogger(opts.Logger),
		limiter: newRateLimiter(),
		metrics: newMetrics(),
		subs:    &subscriptions{},
		maxFly:  int64(opts.MaxInFlight),
	}
	s.maxBody = opts.MaxAuditBytes
	for _, u := range opts.Uploads {
		n := u.MaxBytes
		if n <= 0 {
			n = DefaultUploadMaxBytes
		}
		s.maxBody = max(s.maxBody, n)
	}
	s.bodies.max = int64(max(opts.MaxBodyMemory, s.maxBody))
	s.authFails = newAuthThrottle()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	s.ready.Store(true)
	return s, nil
}

// Handler returns the request handler, for use with any fasthttp.Server
// (benchmarks) or fasthttp's in-memory listener.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// FastHTTPServer returns a fasthttp.Server configured with the Options'
// limits, timeouts and redacting logger.
func (s *Server) FastHTTPServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               s.handle,
		Name:                  "pwndex",
		Logger:                s.log,
		SecureErrorLogMessage: true,
		ReadTimeout:           s.opts.ReadTimeout,
		WriteTimeout:          s.opts.WriteTimeout,
		IdleTimeout:           s.opts.IdleTimeout,
		ReadBufferSize:        s.opts.MaxHeaderBytes,
		WriteBufferSize:       s.opts.WriteBufferSize,
		MaxRequestBodySize:    s.maxBody,
		Concurrency:           s.opts.MaxConns,
		CloseOnShutdown:       true,
		NoDefaultContentType:  true,

		// Bodies are streamed: only the headers and at most 8 KiB of a
		// body are read before the handler, which checks the key and the
		// route's limit first (body.go).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ContinueHandler:              s.continueOK,
	}
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully
// (in-flight requests finish, bounded by Options.ShutdownTimeout). It
// returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.FastHTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lfGuardListener{ln}) }()
	tick := time.NewTicker(s.opts.RefreshInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("api: serve: %w", err)
		case <-tick.C:
			if err := s.refresh(); err != nil {
				s.opts.Logger.Warn("api: refreshing index snapshot failed", "err", err)
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.ShutdownWithContext(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

// ListenAndServe listens on addr (Options.Addr, DefaultAddr if empty) and
// calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if addr == "" {
		addr = s.opts.Addr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// route identifies a family of endpoints for dispatch and metrics.
type route uint8

const (
	routeRange route = iota
	routeEmailRange
	routePhoneRange
	routeBreaches
	routeBreach
	routeAudit
	routeUpload
	routePage
	routeHealth
	routeReady
	routeMetrics
	routeAccount
	routePasteAccount
	routeDataClasses
	routeLatestBreach
	routeEnterpriseSearch
	routeRangeSubscribe
	routeBadRange
	routeShortRange
	routeSubscription
	routePrivate
	routePrivateKey
	routeNotFound
	routeOverload
	numRoutes
)

var routeNames = [numRoutes]string{
	"range", "email_range", "phone_range", "breaches", "breach", "audit",
	"upload", "page", "healthz", "readyz", "metrics",
	"account", "paste_account", "dataclasses", "latest_breach", "enterprise_range", "range_subscribe", "bad_range",
	"short_range", "subscription", "private", "private_key", "not_found", "overload",
}

// Path prefixes and exact paths of the built-in routes.
const (
	pathRange      = "/range/"
	pathEmailRange = "/api/v3/breachedaccount/range/"
	pathPhoneRange = "/api/v3/phone/range/"
	pathBreaches   = "/api/v3/breaches"
	pathBreach     = "/api/v3/breach/"
	pathAudit      = "/v1/audit"

	pathAccount          = "/api/v3/breachedaccount/"
	pathPasteAccount     = "/api/v3/pasteaccount/"
	pathDataClasses      = "/api/v3/dataclasses"
	pathLatestBreach     = "/api/v3/latestbreach"
	pathEnterpriseSearch = "/range/search/" // Mozilla Monitor's HIBP enterprise range
	pathRangeSubscribe   = "/range/subscribe"
	pathSubscr           = "/api/v3/subscription/status"
)

// routeOf classifies a normalised request path without allocating.
func routeOf(path []byte) route {
	switch {
	case bytes.HasPrefix(path, []byte(pathEnterpriseSearch)):
		return routeEnterpriseSearch
	case string(path) == pathRangeSubscribe:
		return routeRangeSubscribe
	case bytes.HasPrefix(path, []byte(pathRange)):
		return routeRange
	case bytes.HasPrefix(path, []byte("/range")):
		return routeBadRange
	case bytes.HasPrefix(path, []byte(pathEmailRange)):
		return routeEmailRange
	case bytes.HasPrefix(path, []byte(pathAccount)):
		return routeAccount
	case bytes.HasPrefix(path, []byte(pathPasteAccount)):
		return routePasteAccount
	case bytes.HasPrefix(path, []byte(pathPhoneRange)):
		return routePhoneRange
	case bytes.HasPrefix(path, []byte(pathBreach)):
		return routeBreach
	case bytes.HasPrefix(path, []byte(pathShortRange)):
		return routeShortRange
	case string(path) == pathPrivateKey:
		return routePrivateKey
	case bytes.HasPrefix(path, []byte(pathPrivate)):
		return routePrivate
	}
	switch string(path) {
	case pathBreaches:
		return routeBreaches
	case pathAudit:
		return routeAudit
	case pathDataClasses:
		return routeDataClasses
	case pathLatestBreach:
		return routeLatestBreach
	case pathSubscr:
		return routeSubscription
	case "/healthz":
		return routeHealth
	case "/readyz":
		return routeReady
	case "/metrics":
		return routeMetrics
	}
	if isPagePath(path) {
		return routePage
	}
	return routeNotFound
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if s.inFly.Add(1) > s.maxFly {
		s.inFly.Add(-1)
		ctx.Response.Header.SetCanonical(hRetryAfter, []byte("1"))
		textError(ctx, fasthttp.StatusServiceUnavailable, "Server busy, try again")
		s.metrics.observe(routeOverload, ctx.Response.StatusCode(), time.Since(start))
		return
	}
	path := ctx.Path()
	r := routeOf(path)
	defer func() {
		if p := recover(); p != nil {
			s.recovered(ctx, r, p)
		}
		finishBody(ctx)
		lingerOnClose(ctx)
		s.inFly.Add(-1)
		d := time.Since(start)
		status := ctx.Response.StatusCode()
		s.metrics.observe(r, status, d)
		if s.opts.AccessLog {
			s.opts.Logger.Info("request", "route", routeNames[r], "status", status, "duration", d)
		}
	}()
	if r != routeAudit && r != routeRangeSubscribe && r != routePrivate && r != routeNotFound && hasBody(&ctx.Request.Header) {
		refuseBody(ctx)
		return
	}
	dispatch := r
	if ctx.IsOptions() {
		// Any path, as HIBP answers: 200 and the CORS headers.
		allow := vAcctHeaders
		if r == routeRange {
			allow = vRangeHeaders
		}
		preflight(ctx, allow)
		dispatch = numRoutes
	}
	switch dispatch {
	case routeRange:
		s.serveRange(ctx, path[len(pathRange):])
	case routeEmailRange:
		s.serveAccountRange(ctx, index.KindEmail, path[len(pathEmailRange):])
	case routePhoneRange:
		s.serveAccountRange(ctx, index.KindPhone, path[len(pathPhoneRange):])
	case routeBreaches:
		s.serveBreaches(ctx)
	case routeBreach:
		s.serveBreach(ctx, path[len(pathBreach):])
	case routeAudit:
		s.serveAudit(ctx)
	case routeShortRange:
		s.serveShortRange(ctx, path[len(pathShortRange):])
	case routeSubscription:
		s.serveSubscription(ctx)
	case routePrivate:
		s.servePrivate(ctx, path[len(pathPrivate):])
	case routePrivateKey:
		s.servePrivateKey(ctx)
	case routeHealth:
		s.serveHealth(ctx)
	case routeReady:
		s.serveReady(ctx)
	case routeMetrics:
		s.serveMetrics(ctx)
	case routePage:
		servePage(ctx, path)
	case routeAccount:
		s.serveBreachedAccount(ctx, path[len(pathAccount):])
	case routePasteAccount:
		s.servePasteAccount(ctx, path[len(pathPasteAccount):])
	case routeDataClasses:
		s.serveDataClasses(ctx)
	case routeLatestBreach:
		s.serveLatestBreach(ctx)
	case routeEnterpriseSearch:
		s.serveEnterpriseSearch(ctx, path[len(pathEnterpriseSearch):])
	case routeRangeSubscribe:
		s.serveRangeSubscribe(ctx)
	case routeBadRange:
		textError(ctx, fasthttp.StatusBadRequest, msgInvalidQuery)
	case numRoutes:
		// answered above (OPTIONS)
	default:
		if u, ok := s.opts.Uploads[string(path)]; ok {
			r = routeUpload
			s.serveUpload(ctx, &u)
		} else {
			textError(ctx, fasthttp.StatusNotFound, msgNotFound)
		}
	}
}

// Common header names and values, kept as byte slices so setting them does
// not allocate.
var (
	hCacheControl  = []byte("Cache-Control")
	hETag          = []byte("ETag")
	hLastModified  = []byte("Last-Modified")
	hACAO          = []byte("Access-Control-Allow-Origin")
	hACAH          = []byte("Access-Control-Allow-Headers")
	hACAM          = []byte("Access-Control-Allow-Methods")
	hACMA          = []byte("Access-Control-Max-Age")
	hVary          = []byte("Vary")
	hRetryAfter    = []byte("Retry-After")
	hAllow         = []byte("Allow")
	hXCTO          = []byte("X-Content-Type-Options")
	vStar          = []byte("*")
	vNoSniff       = []byte("nosniff")
	vRangeCache    = []byte("public, max-age=2678400")
	vNoStore       = []byte("no-store")
	vTextPlain     = []byte("text/plain")
	vJSON          = []byte("application/json; charset=utf-8")
	vGzip          = []byte("gzip")
	vBr            = []byte("br")
	vVaryRange     = []byte("Accept-Encoding, Add-Padding")
	vMaxAge        = []byte("1728000") // HIBP's preflight max-age (20 days)
	vRangeMethods  = []byte("GET, HEAD, OPTIONS")
	vRangeHeaders  = []byte("Add-Padding")
	vAcctHeaders   = []byte("hibp-api-key, Add-Padding")
	vGetHeadOption = []byte("GET, HEAD, OPTIONS")
)

// HIBP's texts: 404 for unknown paths and breach names; 400 for paths
// under /range that are no range (api.pwnedpasswords.com's worker).
const (
	msgNotFound     = "Not found"
	msgInvalidQuery = "Invalid API query"
)

// textError writes a text/plain error body.
func textError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(vTextPlain)
	ctx.Response.SetBodyString(msg)
}

// methodNotAllowed answers 405 with an Allow header.
func methodNotAllowed(ctx *fasthttp.RequestCtx, allow []byte) {
	ctx.Response.Header.SetCanonical(hAllow, allow)
	textError(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed")
}
