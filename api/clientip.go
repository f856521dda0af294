package api

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// The client address of a request (for the per-client auth throttle) is
// the TCP peer's, unless the peer is a trusted proxy (Options.
// TrustedProxies): then X-Forwarded-For is walked from the right, skipping
// addresses that are themselves trusted proxies, and the rightmost
// untrusted address is the client. The leftmost entries are whatever the
// client chose to send and are never believed. A request through trusted
// proxies without X-Forwarded-For uses X-Real-IP; missing or unparsable
// headers leave the peer's address. An entry that does not parse stops the
// walk at the last good address to its right (a trusted proxy, possibly
// the peer), so garbage never buys trust further left.

// Header names as fasthttp normalises them.
const (
	hXForwardedFor = "X-Forwarded-For"
	hXRealIP       = "X-Real-Ip"
)

// maxForwardHops bounds the trusted proxies walked through in
// X-Forwarded-For; beyond it the last one reached is the client address.
const maxForwardHops = 32

// proxySet is the set of trusted proxy prefixes, masked, with IPv4-mapped
// IPv6 prefixes stored as IPv4 ones (addresses are unmapped before lookup).
type proxySet []netip.Prefix

// newProxySet validates and normalises prefixes.
func newProxySet(prefixes []netip.Prefix) (proxySet, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	set := make(proxySet, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("api: invalid trusted proxy prefix %v", p)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		set = append(set, p.Masked())
	}
	return set, nil
}

// contains reports whether the (unmapped) address a is a trusted proxy.
func (ps proxySet) contains(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddrOf is the client address of the request in ctx.
func (s *Server) clientAddrOf(ctx *fasthttp.RequestCtx) netip.Addr {
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	if len(s.trusted) == 0 {
		return peer.Unmap()
	}
	h := &ctx.Request.Header
	return clientAddr(peer, h.PeekAll(hXForwardedFor), h.Peek(hXRealIP), s.trusted)
}

// clientAddr computes the client address from the TCP peer, the
// X-Forwarded-For header lines xff (in the order received; together one
// comma-separated list) and the X-Real-IP value realIP, believing the
// headers only as far as trusted proxies vouch for them. It does not
// allocate. The result is unmapped (IPv4-mapped IPv6 becomes IPv4).
func clientAddr(peer netip.Addr, xff [][]byte, realIP []byte, trusted proxySet) netip.Addr {
	peer = peer.Unmap()
	if !trusted.contains(peer) {
		return peer
	}
	last := peer // the last good address, right of the walk
	entries, hops := 0, 0
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for end := len(line); end >= 0; {
			start := bytes.LastIndexByte(line[:end], ',') + 1
			entry := trimOWS(line[start:end])
			end = start - 1
			if len(entry) == 0 {
				continue // an empty list element: ignored, as HTTP lists allow
			}
			entries++
			a, ok := parseHostAddr(entry)
			if !ok {
				return last
			}
			if !trusted.contains(a) {
				return a
			}
			last = a
			if hops++; hops >= maxForwardHops {
				return last
			}
		}
	}
	if entries > 0 {
		return last // every entry a trusted proxy: the farthest one
	}
	if a, ok := parseHostAddr(trimOWS(realIP)); ok {
		return a
	}
	return peer
}

// parseHostAddr parses one forwarded address: IPv4, IPv4:port, IPv6,
// [IPv6] or [IPv6]:port, without zone. The result is unmapped.
func parseHostAddr(b []byte) (netip.Addr, bool) {
	if len(b) == 0 {
		return netip.Addr{}, false
	}
	if b[0] == '[' {
		j := bytes.IndexByte(b, ']')
		if j < 0 || !validPort(b[j+1:]) {
			return netip.Addr{}, false
		}
		a, ok := parseIPv6(b[1:j])
		return a.Unmap(), ok
	}
	colon := bytes.IndexByte(b, ':')
	if colon < 0 {
		return parseIPv4(b)
	}
	if bytes.IndexByte(b[colon+1:], ':') < 0 && bytes.IndexByte(b[:colon], '.') >= 0 {
		// IPv4:port
		if !validPort(b[colon:]) {
			return netip.Addr{}, false
		}
		return parseIPv4(b[:colon])
	}
	a, ok := parseIPv6(b)
	return a.Unmap(), ok
}

// validPort reports whether b is empty or ":" and 1 to 5 digits up to 65535.
func validPort(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != ':' || len(b) < 2 || len(b) > 6 {
		return false
	}
	n := 0
	for _, c := range b[1:] {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// parseIPv4 parses dotted-quad IPv4 as netip.ParseAddr does (no leading
// zeros), without allocating.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var fields [4]byte
	val, pos, digits := 0, 0, 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if i == 0 || i == len(b)-1 || b[i-1] == '.' || pos == 3 {
				return netip.Addr{}, false
			}
			fields[pos] = byte(val)
			pos++
			val, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if pos < 3 || digits == 0 {
		return netip.Addr{}, false
	}
	fields[3] = byte(val)
	return netip.AddrFrom4(fields), true
}

// parseIPv6 parses IPv6 without zone as netip.ParseAddr does, without
// allocating (it follows net/netip's parseIPv6).
func parseIPv6(s []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // position of the ellipsis in ip
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off, acc := 0, uint32(0)
	digits:
		for ; off < len(s); off++ {
			c := s[off]
			switch {
			case c >= '0' && c <= '9':
				acc = acc<<4 + uint32(c-'0')
			case c >= 'a' && c <= 'f':
				acc = acc<<4 + uint32(c-'a'+10)
			case c >= 'A' && c <= 'F':
				acc = acc<<4 + uint32(c-'A'+10)
			default:
				break digits
			}
			if off > 3 {
				return netip.Addr{}, false // more than 4 digits
			}
		}
		if off == 0 {
			return netip.Addr{}, false
		}
		if off < len(s) && s[off] == '.' {
			// The trailing embedded IPv4 address.
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return netip.Addr{}, false
			}
			v4, ok := parseIPv4(s)
			if !ok {
				return netip.Addr{}, false
			}
			f := v4.As4()
			copy(ip[i:i+4], f[:])
			s = nil
			i += 4
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false // a second ::
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // :: must stand for at least one group
	}
	return netip.AddrFrom16(ip), true
}
