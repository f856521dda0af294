package api

import (
	"fmt"
	"os"
	"runtime"

	"github.com/valyala/fasthttp"
)

// recovered turns a panic in a handler into a 500 on a closed connection.
// The log line names the route and the panic's type only: a panic value or
// a stack trace can carry request data (an index, a prefix, bytes of a
// body), which logs must not.
func (s *Server) recovered(ctx *fasthttp.RequestCtx, r route, p any) {
	s.metrics.panics.Add(1)
	s.opts.Logger.Error("api: recovered from a panic while handling a request; answered 500",
		"route", routeNames[r], "panic_type", fmt.Sprintf("%T", p))
	ctx.Response.Reset()
	ctx.SetConnectionClose()
	textError(ctx, fasthttp.StatusInternalServerError, "Internal error")
}

// openFDs counts the process's open file descriptors (Linux /proc), or -1
// where that is not available.
func openFDs() int {
	if runtime.GOOS != "linux" {
		return -1
	}
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names) - 1 // the descriptor reading the directory
}
