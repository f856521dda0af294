package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// testProxies: two IPv4 prefixes, one address, an IPv6 prefix and an
// IPv4-mapped IPv6 prefix (which must match the plain IPv4 addresses).
var testProxies = mustProxySet("10.0.0.0/8", "192.168.1.1/32", "2001:db8:ffff::/48", "::ffff:172.16.0.0/108")

func mustProxySet(cidrs ...string) proxySet {
	var ps []netip.Prefix
	for _, c := range cidrs {
		ps = append(ps, netip.MustParsePrefix(c))
	}
	set, err := newProxySet(ps)
	if err != nil {
		panic(err)
	}
	return set
}

func TestClientAddr(t *testing.T) {
	chain := "198.51.100.1"
	for i := range 40 {
		chain += fmt.Sprintf(", 10.0.%d.1", i)
	}
	cases := []struct {
		name    string
		peer    string
		trusted proxySet
		xff     []string // header lines; nil: no header
		realIP  string
		want    string
	}{
		// Spoofing attempts: headers from an untrusted peer are ignored.
		{"no proxies configured", "10.0.0.1", nil, []string{"198.51.100.1"}, "198.51.100.2", "10.0.0.1"},
		{"untrusted peer with XFF", "203.0.113.7", testProxies, []string{"198.51.100.1"}, "", "203.0.113.7"},
		{"untrusted peer with X-Real-IP", "203.0.113.7", testProxies, nil, "198.51.100.1", "203.0.113.7"},
		{"untrusted peer claims a proxy chain", "203.0.113.7", testProxies, []string{"198.51.100.1, 10.0.0.5"}, "", "203.0.113.7"},
		{"untrusted IPv6 peer with XFF", "2001:db8:1::7", testProxies, []string{"198.51.100.1"}, "", "2001:db8:1::7"},
		{"client writes a trusted address on the left", "10.0.0.1", testProxies, []string{"10.0.0.5, 203.0.113.50"}, "", "203.0.113.50"},
		{"client writes a victim's address on the left", "10.0.0.1", testProxies, []string{"198.51.100.99, 198.51.100.1"}, "", "198.51.100.1"},
		{"client sends its own XFF line", "10.0.0.1", testProxies, []string{"198.51.100.99", "198.51.100.1"}, "", "198.51.100.1"},

		// Trusted peers.
		{"trusted peer without headers", "10.0.0.1", testProxies, nil, "", "10.0.0.1"},
		{"one hop", "10.0.0.1", testProxies, []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"trusted hop skipped", "10.0.0.1", testProxies, []string{"198.51.100.1, 10.0.0.5"}, "", "198.51.100.1"},
		{"chain of trusted hops", "192.168.1.1", testProxies, []string{"6.6.6.6, 198.51.100.1, 10.1.1.1, 192.168.1.1"}, "", "198.51.100.1"},
		{"only trusted hops: the farthest", "10.0.0.1", testProxies, []string{"10.0.0.9, 10.0.0.5"}, "", "10.0.0.9"},
		{"two lines, trusted hop in the last", "10.0.0.1", testProxies, []string{"198.51.100.1", "10.0.0.5"}, "", "198.51.100.1"},
		{"spaces, tabs, empty elements", "10.0.0.1", testProxies, []string{" 198.51.100.1 ,,\t,  10.0.0.5\t, "}, "", "198.51.100.1"},
		{"hop bound", "10.0.0.1", testProxies, []string{chain}, "", "10.0.8.1"},

		// IPv6 and mapped forms.
		{"IPv6", "10.0.0.1", testProxies, []string{"2001:db8::1"}, "", "2001:db8::1"},
		{"IPv6 upper case", "10.0.0.1", testProxies, []string{"2001:DB8::A"}, "", "2001:db8::a"},
		{"IPv6 in brackets", "10.0.0.1", testProxies, []string{"[2001:db8::1]"}, "", "2001:db8::1"},
		{"IPv6 in brackets with port", "10.0.0.1", testProxies, []string{"[2001:db8::1]:443, 10.0.0.5:8080"}, "", "2001:db8::1"},
		{"IPv4 with port", "10.0.0.1", testProxies, []string{"198.51.100.1:5555"}, "", "198.51.100.1"},
		{"IPv4-mapped client", "10.0.0.1", testProxies, []string{"::ffff:198.51.100.1"}, "", "198.51.100.1"},
		{"IPv4-mapped trusted hop", "10.0.0.1", testProxies, []string{"198.51.100.1, [::ffff:10.0.0.5]:80"}, "", "198.51.100.1"},
		{"IPv4-mapped peer", "::ffff:10.0.0.1", testProxies, []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"IPv6 proxy peer", "2001:db8:ffff::1", testProxies, []string{"198.51.100.1, 2001:db8:ffff::2"}, "", "198.51.100.1"},
		{"mapped prefix matches IPv4 peer", "172.16.5.5", testProxies, []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"embedded IPv4 in NAT64", "10.0.0.1", testProxies, []string{"64:ff9b::198.51.100.1"}, "", "64:ff9b::c633:6401"},

		// Garbage stops the walk at the last good address to its right.
		{"garbage rightmost", "10.0.0.1", testProxies, []string{"198.51.100.1, unknown"}, "", "10.0.0.1"},
		{"garbage behind a trusted hop", "10.0.0.1", testProxies, []string{"6.6.6.6, _hidden, 10.0.0.5"}, "", "10.0.0.5"},
		{"garbage left of the client", "10.0.0.1", testProxies, []string{"garbage, 198.51.100.1"}, "", "198.51.100.1"},
		{"garbage last line", "10.0.0.1", testProxies, []string{"198.51.100.1", "1.2.3.256"}, "", "10.0.0.1"},
		{"leading zero", "10.0.0.1", testProxies, []string{"01.2.3.4"}, "", "10.0.0.1"},
		{"unclosed bracket", "10.0.0.1", testProxies, []string{"[2001:db8::1"}, "", "10.0.0.1"},
		{"port out of range", "10.0.0.1", testProxies, []string{"[2001:db8::1]:99999"}, "", "10.0.0.1"},
		{"empty port", "10.0.0.1", testProxies, []string{"198.51.100.1:"}, "", "10.0.0.1"},
		{"zone", "10.0.0.1", testProxies, []string{"fe80::1%eth0"}, "", "10.0.0.1"},
		{"host name", "10.0.0.1", testProxies, []string{"client.example"}, "", "10.0.0.1"},
		{"bad IPv6", "10.0.0.1", testProxies, []string{"1:2:3:4:5:6:7:8:9, ::1::, :::1"}, "", "10.0.0.1"},
		{"garbage does not fall back to X-Real-IP", "10.0.0.1", testProxies, []string{"nonsense"}, "198.51.100.9", "10.0.0.1"},

		// X-Real-IP.
		{"X-Real-IP without XFF", "10.0.0.1", testProxies, nil, "198.51.100.9", "198.51.100.9"},
		{"X-Real-IP with an empty XFF", "10.0.0.1", testProxies, []string{" , "}, "198.51.100.9", "198.51.100.9"},
		{"XFF wins over X-Real-IP", "10.0.0.1", testProxies, []string{"198.51.100.1"}, "198.51.100.9", "198.51.100.1"},
		{"X-Real-IP IPv6 with port", "10.0.0.1", testProxies, nil, " [2001:db8::9]:1234 ", "2001:db8::9"},
		{"X-Real-IP garbage", "10.0.0.1", testProxies, nil, "198.51.100.9, 1.1.1.1", "10.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var xff [][]byte
			for _, l := range c.xff {
				xff = append(xff, []byte(l))
			}
			got := clientAddr(netip.MustParseAddr(c.peer), xff, []byte(c.realIP), c.trusted)
			if got != netip.MustParseAddr(c.want) {
				t.Errorf("got %v, want %s", got, c.want)
			}
			// The same through fasthttp's request header.
			var req fasthttp.Request
			for _, l := range c.xff {
				req.Header.Add("X-Forwarded-For", l)
			}
			if c.realIP != "" {
				req.Header.Set("X-Real-IP", c.realIP)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, tcpAddr(c.peer), nil)
			s := &Server{trusted: c.trusted}
			if got := s.clientAddrOf(&ctx); got != netip.MustParseAddr(c.want) {
				t.Errorf("through the request: got %v, want %s", got, c.want)
			}
		})
	}
}

// tcpAddr is a TCP peer for fasthttp.RequestCtx.Init.
func tcpAddr(ip string) *net.TCPAddr {
	return &net.TCPAddr{IP: netip.MustParseAddr(ip).AsSlice(), Port: 40000}
}

func TestNewRejectsBadTrustedProxy(t *testing.T) {
	if _, err := New(getFixture(t).ix, Options{Logger: discardLogger(), TrustedProxies: []netip.Prefix{{}}}); err == nil {
		t.Fatal("New accepted an invalid trusted proxy prefix")
	}
}

// forwardedCtx is a request from a trusted proxy with a typical header.
func forwardedCtx() (*fasthttp.RequestCtx, *Server) {
	var req fasthttp.Request
	req.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.1, 10.0.0.5")
	req.Header.Set("X-Real-IP", "10.0.0.5")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, tcpAddr("10.0.0.1"), nil)
	return ctx, &Server{trusted: testProxies}
}

func TestClientAddrAllocs(t *testing.T) {
	ctx, s := forwardedCtx()
	var got netip.Addr
	n := testing.AllocsPerRun(1000, func() { got = s.clientAddrOf(ctx) })
	if n != 0 || got != netip.MustParseAddr("198.51.100.1") {
		t.Fatalf("%v allocations per request (want 0), address %v", n, got)
	}
	// IPv6 entries and garbage do not allocate either.
	for _, v := range []string{"[2001:db8::1]:443, ::ffff:10.0.0.5", "2001:db8::1, garbage, 10.0.0.5"} {
		ctx.Request.Header.Set("X-Forwarded-For", v)
		if n := testing.AllocsPerRun(1000, func() { got = s.clientAddrOf(ctx) }); n != 0 {
			t.Errorf("%q: %v allocations per request, want 0", v, n)
		}
	}
}

// BenchmarkClientAddr: a request through two trusted proxies (the
// client's own entry, the client, a trusted hop), an IPv6 one, and the
// default without trusted proxies (the peer, headers unread).
func BenchmarkClientAddr(b *testing.B) {
	for _, bc := range []struct {
		name, xff string
		trusted   proxySet
	}{
		{"forwarded", "", testProxies},
		{"forwarded-ipv6", "[2001:db8::1]:443, 2001:db8:ffff::5", testProxies},
		{"no-proxies", "", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, s := forwardedCtx()
			s.trusted = bc.trusted
			if bc.xff != "" {
				ctx.Request.Header.Set("X-Forwarded-For", bc.xff)
			}
			b.ReportAllocs()
			for b.Loop() {
				s.clientAddrOf(ctx)
			}
		})
	}
}

// refAddrs are the addresses a header value may name, parsed with
// net/netip (brackets and ports stripped).
func refAddrs(v string) []netip.Addr {
	var out []netip.Addr
	for _, tok := range strings.Split(v, ",") {
		tok = strings.Trim(tok, " \t")
		if strings.HasPrefix(tok, "[") {
			if i := strings.IndexByte(tok, ']'); i > 0 {
				tok = tok[1:i]
			}
		} else if strings.Count(tok, ":") == 1 {
			tok, _, _ = strings.Cut(tok, ":")
		}
		if a, err := netip.ParseAddr(tok); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// FuzzForwardedFor: clientAddr never panics and answers the peer or an
// address appearing in the headers (the peer itself when it is not a
// trusted proxy); the allocation-free IP parsers agree with net/netip.
func FuzzForwardedFor(f *testing.F) {
	f.Add("10.0.0.1", "198.51.100.1, 10.0.0.5", "")
	f.Add("10.0.0.1", "6.6.6.6\n[2001:db8::1]:443", "1.2.3.4")
	f.Add("203.0.113.1", "198.51.100.1", "198.51.100.2")
	f.Add("::ffff:10.0.0.1", "::ffff:1.2.3.4, unknown, 10.0.0.5:80", "")
	f.Add("10.0.0.1", "", "[::1]:99")
	f.Add("10.0.0.1", "1:2:3:4:5:6:7:1.2.3.4, 64:ff9b::1.2.3.4", "")
	f.Fuzz(func(t *testing.T, peerS, xffS, realIP string) {
		peer, err := netip.ParseAddr(peerS)
		if err != nil || peer.Zone() != "" {
			peer = netip.MustParseAddr("10.0.0.1")
		}
		var xff [][]byte
		if xffS != "" {
			for _, l := range strings.Split(xffS, "\n") {
				xff = append(xff, []byte(l))
			}
		}
		got := clientAddr(peer, xff, []byte(realIP), testProxies)
		if got == peer.Unmap() {
			return
		}
		if !testProxies.contains(peer.Unmap()) {
			t.Fatalf("untrusted peer %v: got %v", peer, got)
		}
		for _, a := range refAddrs(strings.ReplaceAll(xffS, "\n", ",") + "," + realIP) {
			if a == got {
				return
			}
		}
		t.Fatalf("peer %v, XFF %q, X-Real-IP %q: %v appears nowhere", peer, xffS, realIP, got)
	})
}

// FuzzParseIP checks the allocation-free parsers against net/netip.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "01.2.3.4", "::", "::1", "1::", "2001:db8::1.2.3.4", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "fe80::1%x", "1.2.3", "12345::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := netip.ParseAddr(s)
		ok := err == nil && want.Zone() == ""
		var got netip.Addr
		var gok bool
		if strings.Contains(s, ":") {
			got, gok = parseIPv6([]byte(s))
		} else {
			got, gok = parseIPv4([]byte(s))
		}
		if gok != ok || (ok && got != want) {
			t.Fatalf("%q: got %v %v, net/netip %v %v", s, got, gok, want, err)
		}
	})
}

// TestAuthThrottleBehindProxy runs a server trusting 127.0.0.1 as its
// reverse proxy: clients forwarded by it are throttled one by one (one
// locked out, another not), whatever they write on the left of
// X-Forwarded-For, and a peer that is no trusted proxy is throttled by its
// own address whatever headers it sends.
func TestAuthThrottleBehindProxy(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	url := base + "/api/v3/breachedaccount/range/" + idHex("alice@example.com")[:6]
	proxy, direct := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	do := func(c *http.Client, key string, hdr ...string) int {
		t.Helper()
		return getWithKey(t, c, url, key, hdr...).StatusCode
	}
	for i := range authBurst {
		// The attacker varies what it writes itself; the proxy appends
		// the address it sees.
		xff := fmt.Sprintf("198.51.100.%d, 203.0.113.66", i+100)
		if st := do(proxy, fmt.Sprintf("pwx_wrong%d", i), "X-Forwarded-For", xff); st != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, st)
		}
	}
	if st := do(proxy, f.keys.ranger, "X-Forwarded-For", "203.0.113.66"); st != 429 {
		t.Errorf("forwarded attacker after %d failures: %d, want 429", authBurst, st)
	}
	if st := do(proxy, f.keys.ranger, "X-Forwarded-For", "203.0.113.77, 203.0.113.66"); st != 429 {
		t.Errorf("forwarded attacker naming another client on the left: %d, want 429", st)
	}
	if st := do(proxy, f.keys.ranger, "X-Real-IP", "203.0.113.66"); st != 429 {
		t.Errorf("forwarded attacker by X-Real-IP: %d, want 429", st)
	}
	if st := do(proxy, f.keys.ranger, "X-Forwarded-For", "203.0.113.77"); st != 200 {
		t.Errorf("another client behind the same proxy: %d, want 200", st)
	}
	if st := do(proxy, "pwx_wrong", "X-Forwarded-For", "203.0.113.77"); st != 401 {
		t.Errorf("another client's first failure: %d, want 401", st)
	}
	if st := do(proxy, f.keys.ranger); st != 200 {
		t.Errorf("the proxy's own requests: %d, want 200", st)
	}
	// A direct client (not a trusted proxy) is its own address, whatever
	// it forwards.
	for i := range authBurst {
		if st := do(direct, "pwx_wrong", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i), "X-Real-IP", "198.51.100.200"); st != 401 {
			t.Fatalf("direct failure %d: %d, want 401", i+1, st)
		}
	}
	if st := do(direct, f.keys.ranger, "X-Forwarded-For", "203.0.113.88"); st != 429 {
		t.Errorf("direct client escaping its lockout by X-Forwarded-For: %d, want 429", st)
	}
	if st := do(proxy, f.keys.ranger, "X-Forwarded-For", "198.51.100.5"); st != 200 {
		t.Errorf("a forwarded client the direct one named: %d, want 200", st)
	}
}

// TestAuthThrottleForbiddenCounts: a valid key used beyond its scope (403)
// counts as a failed authentication, as the throttle's comment says.
func TestAuthThrottleForbiddenCounts(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	url := base + "/api/v3/breachedaccount/range/" + idHex("alice@example.com")[:6]
	c := clientFrom("127.0.0.4")
	do := func(url, key string) int { return getWithKey(t, c, url, key).StatusCode }
	search := base + "/api/v3/breachedaccount/alice.martin@example.com" // checks its scopes itself
	for i := range authBurst {
		u, key := url, f.keys.none
		switch i % 3 {
		case 1:
			key = f.keys.auditor
		case 2:
			u, key = search, f.keys.auditor
		}
		if st := do(u, key); st != 403 {
			t.Fatalf("under-scoped request %d: %d, want 403", i+1, st)
		}
	}
	if st := do(url, f.keys.ranger); st != 429 {
		t.Errorf("after %d under-scoped requests: %d, want 429", authBurst, st)
	}
}

// TestLiveSwapKeepsAuthThrottle: a client locked out stays locked out when
// the served index is swapped (the throttle is not rebuilt with the
// Server of the new index), while another client is not.
func TestLiveSwapKeepsAuthThrottle(t *testing.T) {
	f := getFixture(t)
	live, base := serveLive(t, f.ix, Options{Logger: discardLogger()})
	url := base + "/api/v3/breachedaccount/range/" + idHex("alice@example.com")[:6]
	do := func(c *http.Client, key string) int { return getWithKey(t, c, url, key).StatusCode }
	attacker, other := clientFrom("127.0.0.5"), clientFrom("127.0.0.6")
	for i := range authBurst {
		if st := do(attacker, fmt.Sprintf("pwx_wrong%d", i)); st != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, st)
		}
	}
	if st := do(attacker, f.keys.ranger); st != 429 {
		t.Fatalf("before the swap: %d, want 429", st)
	}
	for range 2 {
		if err := live.Swap(f.ix, nil); err != nil {
			t.Fatal(err)
		}
		if st := do(attacker, f.keys.ranger); st != 429 {
			t.Errorf("after a swap the locked-out client gets %d, want 429", st)
		}
		if st := do(other, f.keys.ranger); st != 200 {
			t.Errorf("after a swap another client gets %d, want 200", st)
		}
	}
}
