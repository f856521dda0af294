package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// quietLogger drops fasthttp's messages, which would carry client
// addresses and request URIs (hash prefixes).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// BaselineHandler returns a fasthttp handler that answers every request with
// body and the headers a password range response carries: the cheapest
// possible server for the same bytes on the wire, the yardstick the range
// API is compared with.
func BaselineHandler(body []byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/plain")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=2678400")
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		ctx.Response.SetBodyRaw(body)
	}
}

// Server is a fasthttp server started by StartBaseline.
type Server struct {
	// Addr is the loopback address the server listens on.
	Addr string
	srv  *fasthttp.Server
	done chan error
}

// StartBaseline starts a baseline server (see BaselineHandler) on an
// ephemeral port of 127.0.0.1.
func StartBaseline(body []byte) (*Server, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: baseline listen: %w", err)
	}
	return Serve(ln, BaselineHandler(body)), nil
}

// Serve serves h on ln in the background with a quiet logger.
func Serve(ln net.Listener, h fasthttp.RequestHandler) *Server {
	s := &Server{
		Addr: ln.Addr().String(),
		srv: &fasthttp.Server{
			Handler:               h,
			Logger:                quietLogger{},
			NoDefaultServerHeader: true,
			ReadTimeout:           30 * time.Second,
			WriteTimeout:          30 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// Close stops the server and waits for it to return.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	if serr := <-s.done; err == nil && serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("bench: close server: %w", err)
	}
	return nil
}
