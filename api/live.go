package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Live serves the newest of a sequence of read-only indexes (snapshots) and
// switches between them without failing a request: Swap installs a new
// index between two requests, every request is answered entirely from the
// one index that was current when it started (never a mix), and an old
// index is released only once the last response that may alias its memory
// has been written (see liveServer.Close). Rate limits, metrics, the
// failed-authentication throttle and the range subscriptions carry over
// from one index to the next.
type Live struct {
	cur     atomic.Pointer[liveServer]
	opts    Options
	uploads func(*index.Index) map[string]Upload
	header  string // SetSnapshotHeader
}

// SnapshotHeader is the response header that names the snapshot a response
// was computed from, when SetSnapshotHeader enabled it.
const SnapshotHeader = "Pwndex-Snapshot"

// SetSnapshotHeader makes every response carry the header name (e.g.
// SnapshotHeader) set to the SnapshotID of the index that answered it, so
// that a client (or a test) can tell which snapshot it saw. Call it before
// Serve.
func (l *Live) SetSnapshotHeader(name string) { l.header = name }

// liveServer is one index's Server with a reference count: 1 for being
// current, plus 1 per request in progress. It is released when the count
// drops to zero, which can happen only after it stopped being current.
type liveServer struct {
	srv     *Server
	refs    atomic.Int64
	release func()
}

// liveKey is the user-value key under which a request holds its reference.
type liveKey struct{}

// Close drops a request's reference. fasthttp calls it when it resets the
// request's user values: after the response has been written (or the
// connection failed), so a range body aliasing the index's memory map has
// left by then.
func (ls *liveServer) Close() error {
	if ls.refs.Add(-1) == 0 {
		ls.srv.ready.Store(false)
		if ls.release != nil {
			go ls.release()
		}
	}
	return nil
}

// NewLive returns a Live serving ix. uploads, if not nil, returns the upload
// routes for an index (they may close over it); it overrides opts.Uploads.
// release is called once ix is no longer served and no response uses it
// any more (it typically closes ix).
func NewLive(ix *index.Index, opts Options, uploads func(*index.Index) map[string]Upload, release func()) (*Live, error) {
	l := &Live{opts: opts, uploads: uploads}
	ls, err := l.newServer(ix, nil, release)
	if err != nil {
		return nil, err
	}
	ls.refs.Store(1)
	l.cur.Store(ls)
	return l, nil
}

func (l *Live) newServer(ix *index.Index, prev *Server, release func()) (*liveServer, error) {
	opts := l.opts
	if l.uploads != nil {
		opts.Uploads = l.uploads(ix)
	}
	srv, err := New(ix, opts)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		srv.limiter, srv.metrics, srv.authFails, srv.subs = prev.limiter, prev.metrics, prev.authFails, prev.subs
	}
	return &liveServer{srv: srv, release: release}, nil
}

// Swap makes ix the served index. Requests already in progress finish on
// the previous index, whose release function runs once they have all been
// written. release is called for ix in turn when a later Swap replaces it
// (or Close).
func (l *Live) Swap(ix *index.Index, release func()) error {
	old := l.cur.Load()
	if old == nil {
		return errors.New("api: swap on a closed Live")
	}
	ls, err := l.newServer(ix, old.srv, release)
	if err != nil {
		return err
	}
	ls.refs.Store(1)
	if !l.cur.CompareAndSwap(old, ls) {
		return errors.New("api: concurrent swaps")
	}
	old.Close() // the "current" reference
	return nil
}

// acquire returns the current server with a reference taken, or nil once
// Serve has returned.
func (l *Live) acquire() *liveServer {
	for {
		ls := l.cur.Load()
		if ls == nil {
			return nil
		}
		n := ls.refs.Load()
		if n > 0 && ls.refs.CompareAndSwap(n, n+1) {
			return ls
		}
		// Released between Load and CompareAndSwap: a newer one is current.
	}
}

// Handler returns the request handler.
func (l *Live) Handler() fasthttp.RequestHandler { return l.handle }

func (l *Live) handle(ctx *fasthttp.RequestCtx) {
	ls := l.acquire()
	if ls == nil {
		textError(ctx, fasthttp.StatusServiceUnavailable, "shutting down")
		return
	}
	ctx.SetUserValue(liveKey{}, ls)
	ls.srv.handle(ctx)
	if l.header != "" {
		if id := ls.srv.ix.SnapshotID(); id != "" {
			ctx.Response.Header.Set(l.header, id)
		}
	}
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully and
// releases the current index. It returns nil after a shutdown caused by ctx.
func (l *Live) Serve(ctx context.Context, ln net.Listener) error {
	first := l.cur.Load().srv
	srv := first.FastHTTPServer()
	srv.Handler = l.handle
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serr error
	select {
	case serr = <-errc:
	case <-ctx.Done():
		l.cur.Load().srv.ready.Store(false)
		sctx, cancel := context.WithTimeout(context.Background(), first.opts.ShutdownTimeout)
		defer cancel()
		if err := srv.ShutdownWithContext(sctx); err != nil {
			serr = fmt.Errorf("api: shutdown: %w", err)
		}
		<-errc
	}
	if ls := l.cur.Swap(nil); ls != nil {
		ls.Close()
	}
	if serr != nil && ctx.Err() == nil {
		return fmt.Errorf("api: serve: %w", serr)
	}
	return serr
}

// ListenAndServe listens on addr (Options.Addr, DefaultAddr if empty) and
// calls Serve.
func (l *Live) ListenAndServe(ctx context.Context, addr string) error {
	if addr == "" {
		addr = l.cur.Load().srv.opts.Addr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	return l.Serve(ctx, ln)
}
