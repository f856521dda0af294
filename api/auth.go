package api

import (
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Scopes understood by the server.
const (
	ScopeRange     = "range"     // e-mail and phone ranges
	ScopeSensitive = "sensitive" // sensitive breaches appear in answers
	ScopeAudit     = "audit"     // POST /v1/audit with full hashes
	ScopeSearch    = "search"    // GET /api/v3/breachedaccount/{account} (range works too)
)

// msgUnauthorised is HIBP's 401 body (text/plain) for a missing or invalid
// key, as the service sends it today: see api/README.md.
const msgUnauthorised = `Your request to the API couldn't be authorised. Check you have the right value in the "hibp-api-key" header, refer to the documentation for more: https://haveibeenpwned.com/API/v3#Authorisation`

const hAPIKey = "hibp-api-key"

// authorize checks the hibp-api-key header for scope and the key's rate
// limit. On failure it writes the HIBP-style JSON error and returns false.
func (s *Server) authorize(ctx *fasthttp.RequestCtx, scope string) (index.APIKey, bool) {
	if s.authThrottled(ctx) {
		return index.APIKey{}, false
	}
	secret := ctx.Request.Header.Peek(hAPIKey)
	if len(secret) == 0 {
		s.authFailed(ctx)
		textError(ctx, fasthttp.StatusUnauthorized, msgUnauthorised)
		return index.APIKey{}, false
	}
	key, ok := s.ix.AuthAPIKey(string(secret))
	if !ok {
		s.authFailed(ctx)
		textError(ctx, fasthttp.StatusUnauthorized, msgUnauthorised)
		return index.APIKey{}, false
	}
	if scope != "" && !key.HasScope(scope) {
		s.authFailed(ctx) // a valid key used beyond its scope counts too
		jsonError(ctx, fasthttp.StatusForbidden, "Access denied: the hibp-api-key lacks the "+scope+" scope.")
		return index.APIKey{}, false
	}
	if wait, ok := s.limiter.allow(key.Name, s.keyRate(&key), time.Now()); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		ctx.Response.Header.SetCanonical(hRetryAfter, []byte(strconv.Itoa(secs)))
		jsonError(ctx, fasthttp.StatusTooManyRequests, "Rate limit is exceeded. Try again in "+strconv.Itoa(secs)+" seconds.")
		return index.APIKey{}, false
	}
	return key, true
}

// keyRate is the key's requests per minute: its own, else the server's
// default.
func (s *Server) keyRate(key *index.APIKey) int {
	if key.RatePerMinute > 0 {
		return key.RatePerMinute
	}
	return s.opts.DefaultRatePerMinute
}

// jsonError writes {"statusCode":N,"message":"..."} as HIBP does.
func jsonError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(vJSON)
	ctx.Response.Header.SetCanonical(hXCTO, vNoSniff)
	b := append([]byte(`{"statusCode":`), strconv.Itoa(status)...)
	b = append(b, `,"message":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, '}')
	ctx.Response.SetBodyRaw(b)
}

// noStoreJSON writes v as a JSON body that no cache may keep: the answers
// computed for one key (audits, private lookups, a key's status). A value
// that cannot be marshalled is a bug of ours: 500.
func noStoreJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
		return
	}
	ctx.Response.Header.SetContentTypeBytes(vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.SetBodyRaw(b)
}

// rateLimiter is a token bucket per API key name: a key may burst up to
// its per-minute rate, refilled continuously.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter() *rateLimiter { return &rateLimiter{buckets: make(map[string]*bucket)} }

// allow takes one token from name's bucket. When none is left it returns
// how long until one is (allowN with n = 1).
func (l *rateLimiter) allow(name string, perMinute int, now time.Time) (time.Duration, bool) {
	wait, ok, _ := l.allowN(name, perMinute, 1, now)
	return wait, ok
}
