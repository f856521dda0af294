package api

import (
	"errors"
	"net"
)

// fasthttp rejects a request whose header lines end in a bare LF (RFC 9112
// requires CRLF; accepting LF invites request smuggling behind proxies),
// but only once the read timeout expires, since it keeps waiting for the
// CRLF CRLF that ends a header. lfGuardListener makes that refusal
// immediate: its connections watch the first request's header bytes and,
// at the first LF not preceded by CR, fail the next read, which fasthttp
// answers with 400 at once. Later requests on a kept-alive connection
// pass through unwatched (a client that sent one CRLF header does not
// switch to LF), so the cost is a byte scan of one header per connection.

var errBareLF = errors.New("request header line ends in a bare LF")

type lfGuardListener struct{ net.Listener }

func (l lfGuardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lfGuardConn{Conn: c}, nil
}

type lfGuardConn struct {
	net.Conn
	done bool   // the first header ended (CRLF CRLF seen)
	bad  bool   // a bare LF was seen: fail the next read
	last uint32 // the last four bytes read, for CR LF CR LF
}

func (c *lfGuardConn) Read(p []byte) (int, error) {
	if c.bad {
		return 0, errBareLF
	}
	n, err := c.Conn.Read(p)
	if !c.done {
		c.scan(p[:n])
	}
	return n, err
}

// scan follows the first header through b.
func (c *lfGuardConn) scan(b []byte) {
	for _, x := range b {
		if x == '\n' && byte(c.last) != '\r' {
			c.bad = true
			return
		}
		c.last = c.last<<8 | uint32(x)
		if c.last == '\r'<<24|'\n'<<16|'\r'<<8|'\n' {
			c.done = true
			return
		}
	}
}
