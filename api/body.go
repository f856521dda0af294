package api

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Request bodies are streamed (fasthttp Server.StreamRequestBody): fasthttp
// reads only the headers and at most 8 KiB of a body before the handler
// runs, so keys, scopes and Content-Length are checked on the headers
// before a body byte is buffered. Only the two body routes (POST /v1/audit
// and the injected upload routes) read a body, each up to its own limit
// (413 beyond), and every buffered body is charged to one budget shared by
// all requests in flight (Options.MaxBodyMemory; 503 with Retry-After when
// it is spent). Every other route takes no body: one announced gets 413.
// A body left unread is drained if it is small and otherwise the
// connection is closed, so it cannot be parsed as the next request.

// bodyStep is the granularity in which bodies of unknown length (chunked)
// are charged to the budget and read.
const bodyStep = 64 << 10

// drainLimit bounds the unread body bytes drained (not buffered) so that a
// refused client still reads its answer on a kept-alive connection; above
// it the connection is closed instead.
const drainLimit = 64 << 10

// budget is a byte semaphore bounding the memory of all request bodies
// being read or handled at once.
type budget struct {
	used atomic.Int64
	max  int64
}

// take charges n bytes, or reports false without charging when the budget
// cannot cover them.
func (b *budget) take(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// bodyError is a refused or failed body read: the status to answer and a
// message free of request data.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// bodyFailed answers a readBody error with write (jsonError or textError):
// 413 past the route's limit, 503 with Retry-After when the shared budget is
// spent.
func bodyFailed(ctx *fasthttp.RequestCtx, err error, write func(*fasthttp.RequestCtx, int, string)) {
	be := err.(*bodyError)
	if be.status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.SetCanonical(hRetryAfter, []byte("1"))
	}
	write(ctx, be.status, be.msg)
}

var errBodyBudget = &bodyError{fasthttp.StatusServiceUnavailable, "Server busy, try again"}

// readBody reads the request body of up to limit bytes, charging it to the
// body budget. The caller must call the returned release once done with
// the body (also on error; it is never nil).
func (s *Server) readBody(ctx *fasthttp.RequestCtx, limit int) ([]byte, func(), error) {
	noop := func() {}
	cl := ctx.Request.Header.ContentLength()
	tooLarge := func(n int) error {
		ctx.SetConnectionClose()
		if n < 0 { // chunked: the full size is unknown
			return &bodyError{fasthttp.StatusRequestEntityTooLarge,
				fmt.Sprintf("Request body exceeds the limit of %d bytes", limit)}
		}
		return &bodyError{fasthttp.StatusRequestEntityTooLarge,
			fmt.Sprintf("Request body of %d bytes exceeds the limit of %d", n, limit)}
	}
	if cl > limit {
		return nil, noop, tooLarge(cl)
	}
	stream := ctx.RequestBodyStream()
	if stream == nil {
		// Not streamed (in-memory listener, benchmarks): already read.
		body := ctx.Request.Body()
		if len(body) > limit {
			return nil, noop, tooLarge(len(body))
		}
		return body, noop, nil
	}
	var charged int64
	release := func() { s.bodies.give(charged); charged = 0 }
	if cl >= 0 {
		if !s.bodies.take(int64(cl)) {
			ctx.SetConnectionClose()
			return nil, release, errBodyBudget
		}
		charged = int64(cl)
		buf := make([]byte, cl)
		if _, err := io.ReadFull(stream, buf); err != nil {
			ctx.SetConnectionClose()
			return nil, release, readFailure(err)
		}
		return buf, release, nil
	}
	// Chunked: charge and grow step by step, up to the limit; one byte
	// more is read into a spare array to tell a body at the limit from a
	// larger one.
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= limit {
				var one [1]byte
				n, err := io.ReadFull(stream, one[:])
				if n > 0 {
					return nil, release, tooLarge(-1)
				}
				if errors.Is(err, io.EOF) {
					return buf, release, nil
				}
				ctx.SetConnectionClose()
				return nil, release, readFailure(err)
			}
			step := min(bodyStep, limit-cap(buf))
			if !s.bodies.take(int64(step)) {
				ctx.SetConnectionClose()
				return nil, release, errBodyBudget
			}
			charged += int64(step)
			nb := make([]byte, len(buf), cap(buf)+step)
			copy(nb, buf)
			buf = nb
		}
		n, err := stream.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, release, nil
		}
		if err != nil {
			ctx.SetConnectionClose()
			return nil, release, readFailure(err)
		}
	}
}

// readFailure maps a body read error to 408 (timeout) or 400.
func readFailure(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &bodyError{fasthttp.StatusRequestTimeout, "Timed out reading the request body"}
	}
	return &bodyError{fasthttp.StatusBadRequest, "Malformed request body"}
}

// hasBody reports whether the request announces a body (a positive
// Content-Length or chunked transfer coding).
func hasBody(h *fasthttp.RequestHeader) bool {
	cl := h.ContentLength()
	return cl > 0 || cl == -1
}

// refuseBody answers 413 to a body sent to a route that takes none.
func refuseBody(ctx *fasthttp.RequestCtx) {
	ctx.SetConnectionClose()
	textError(ctx, fasthttp.StatusRequestEntityTooLarge, "This route takes no request body")
}

// finishBody makes sure no unread body byte is left to be parsed as the
// next request: a small rest is drained, a larger one closes the
// connection. Called after every request handled.
func finishBody(ctx *fasthttp.RequestCtx) {
	stream := ctx.RequestBodyStream()
	if stream == nil || ctx.Response.ConnectionClose() {
		return
	}
	switch cl := ctx.Request.Header.ContentLength(); {
	case cl == 0:
		return
	case cl > drainLimit:
		ctx.SetConnectionClose()
		return
	}
	// Drain (never buffer) what fits under drainLimit; anything more, or a
	// broken body, stops reading this connection.
	n, err := io.CopyN(io.Discard, stream, drainLimit+1)
	if n > drainLimit || (err != nil && !errors.Is(err, io.EOF)) {
		ctx.SetConnectionClose()
	}
}

// Lingering close bounds: how long and how much of an unread request body
// is discarded after a response that closes the connection.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 16 << 20
)

// lingerOnClose makes a response that closes its connection while part of
// the request body is still unread close gracefully: closing a socket with
// unread input makes the kernel send a reset, and a client still sending
// its body would see "connection reset" instead of reading the 413. So the
// rest of the body is read and discarded first, at most lingerBytes for at
// most lingerTime (through io.Discard's pooled buffer: no memory grows);
// only a larger or slower body is cut off. Called after every request
// handled, after finishBody.
func lingerOnClose(ctx *fasthttp.RequestCtx) {
	stream := ctx.RequestBodyStream()
	if stream == nil || !ctx.Response.ConnectionClose() || ctx.Request.Header.ConnectionClose() ||
		ctx.Request.Header.ContentLength() == 0 {
		return
	}
	if c := ctx.Conn(); c != nil {
		c.SetReadDeadline(time.Now().Add(lingerTime))
	}
	io.CopyN(io.Discard, stream, lingerBytes)
}

// continueOK is the fasthttp ContinueHandler: a client sending "Expect:
// 100-continue" is told 417 before it sends a body that the headers
// already show would be refused (too large for every route, or no key on
// a route that needs one).
func (s *Server) continueOK(h *fasthttp.RequestHeader) bool {
	if h.ContentLength() > s.maxBody {
		return false
	}
	var u fasthttp.URI
	if err := u.Parse(nil, h.RequestURI()); err != nil {
		return false
	}
	path := u.Path()
	switch routeOf(path) {
	case routeAudit:
		return len(h.Peek(hAPIKey)) > 0
	case routeNotFound:
		up, ok := s.opts.Uploads[string(path)]
		if !ok {
			return false
		}
		return up.Scope == "" || len(h.Peek(hAPIKey)) > 0
	}
	return false // no other route takes a body
}
