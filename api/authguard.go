package api

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Failed authentication is throttled per client address (the TCP peer, or
// the address trusted proxies forwarded: clientip.go): each address may
// fail (a missing or invalid key, 401, or a valid key lacking the route's
// scope, 403) authBurst times in a row, then one more time every
// authRefill; beyond that every request of that address needing a key is
// answered 429 without looking at its key, so
// guessing keys costs authRefill per guess. IPv6 clients are grouped by
// /64. Addresses live only in this in-memory table, are never logged, and
// the table is bounded: when full it forgets addresses whose allowance has
// refilled, and if none has, all of them (an attacker with that many
// addresses gains one burst each). The table outlives swaps of the served
// index (Live.Swap), as lockouts must.
const (
	authBurst      = 20
	authRefill     = 2 * time.Second
	authMaxClients = 1 << 16
)

type authThrottle struct {
	mu      sync.Mutex
	clients map[[16]byte]*failBucket
}

type failBucket struct {
	tokens float64
	last   time.Time
}

func newAuthThrottle() *authThrottle {
	return &authThrottle{clients: make(map[[16]byte]*failBucket)}
}

// clientKey is the throttling key of an address: IPv4 as is (in its
// IPv4-mapped form), IPv6 by /64.
func clientKey(a netip.Addr) [16]byte {
	if !a.IsValid() {
		return [16]byte{}
	}
	a = a.Unmap()
	k := a.As16()
	if !a.Is4() {
		clear(k[8:])
	}
	return k
}

// refill brings b up to date at now.
func (b *failBucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(authBurst, b.tokens+float64(el)/float64(authRefill))
		b.last = now
	}
}

// blocked reports whether key has no failure left, and for how long.
func (t *authThrottle) blocked(key [16]byte, now time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.clients[key]
	if b == nil {
		return 0, false
	}
	b.refill(now)
	if b.tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - b.tokens) * float64(authRefill)), true
}

// fail records one failed authentication of key.
func (t *authThrottle) fail(key [16]byte, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.clients[key]
	if b == nil {
		if len(t.clients) >= authMaxClients {
			for k, o := range t.clients {
				if o.refill(now); o.tokens >= authBurst {
					delete(t.clients, k)
				}
			}
			if len(t.clients) >= authMaxClients {
				clear(t.clients)
			}
		}
		b = &failBucket{tokens: authBurst, last: now}
		t.clients[key] = b
	}
	b.refill(now)
	b.tokens = max(b.tokens-1, 0)
}

// authThrottled answers 429 and returns true when the client has used up
// its failed authentications.
func (s *Server) authThrottled(ctx *fasthttp.RequestCtx) bool {
	wait, blocked := s.authFails.blocked(clientKey(s.clientAddrOf(ctx)), time.Now())
	if !blocked {
		return false
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	s.metrics.authThrottled.Add(1)
	ctx.Response.Header.SetCanonical(hRetryAfter, []byte(strconv.Itoa(secs)))
	jsonError(ctx, fasthttp.StatusTooManyRequests,
		"Too many failed authentication attempts. Try again in "+strconv.Itoa(secs)+" seconds.")
	return true
}

// authFailed records a failed authentication of the client.
func (s *Server) authFailed(ctx *fasthttp.RequestCtx) {
	s.authFails.fail(clientKey(s.clientAddrOf(ctx)), time.Now())
}
