package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

// benchServer is a running server of a server benchmark.
type benchServer struct {
	addr string
	stop func() error
}

// benchCanPin reports whether server and client can be pinned to distinct cores.
func benchCanPin() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && runtime.NumCPU() >= 2
}

// childCommand returns the command running `pwndex bench <args>` in a child
// process, pinned to core cpu with GOMAXPROCS=1 when pinning is on.
func (e *benchEnv) childCommand(cpu int, args ...string) *exec.Cmd {
	args = append([]string{"bench"}, args...)
	var cmd *exec.Cmd
	if e.pin && benchCanPin() {
		cmd = exec.CommandContext(e.ctx, "taskset", append([]string{"-c", fmt.Sprint(cpu), e.exe}, args...)...)
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	} else {
		cmd = exec.CommandContext(e.ctx, e.exe, args...)
	}
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// startServer starts the baseline server or the range API on the dense
// fixture: in a child process when e.exe is set, else in-process.
func (e *benchEnv) startServer(kind string, f *benchFixture, bodyFile string) (*benchServer, error) {
	if e.exe == "" {
		return startServerInProcess(e.ctx, kind, f, bodyFile)
	}
	f.close() // the child opens the index; Badger allows one opener
	cmd := e.childCommand(0, kind, "--index", f.dir, "--body", bodyFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	stop := func() error {
		stdin.Close()
		err := cmd.Wait()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", kind, err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(strings.TrimPrefix(line, "listening "))
		io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		if a == "" {
			return nil, fmt.Errorf("%s did not start: %v", kind, stop())
		}
		return &benchServer{addr: a, stop: stop}, nil
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		stop()
		return nil, fmt.Errorf("%s did not start within 2 minutes", kind)
	}
}

// startServerInProcess serves on 127.0.0.1 from this process.
func startServerInProcess(ctx context.Context, kind string, f *benchFixture, bodyFile string) (*benchServer, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if kind == "serve-baseline" {
		body, err := os.ReadFile(bodyFile)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s := Serve(ln, BaselineHandler(body))
		return &benchServer{addr: s.Addr, stop: s.Close}, nil
	}
	if err := f.open(); err != nil {
		ln.Close()
		return nil, err
	}
	srv, err := api.New(f.ix, api.Options{Logger: benchDiscardLogger()})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	return &benchServer{addr: ln.Addr().String(), stop: func() error { cancel(); return <-done }}, nil
}

// benchDiscardLogger drops every message.
func benchDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// load runs the load client against addr: in a child pinned to core 1
// when e.exe is set, else in-process.
func (e *benchEnv) load(addr string, padding bool, accept string, prefixes []uint32) (LoadResult, error) {
	o := LoadOptions{Addr: addr, Conns: e.conns, Duration: e.loadDur, URI: benchRangeURI(prefixes)}
	o.Header = loadHeaders(padding, accept)
	if e.exe == "" {
		return Load(e.ctx, o)
	}
	cmd := e.childCommand(1, "load", "--addr", addr, "--conns", fmt.Sprint(e.conns),
		"--duration", e.loadDur.String(), fmt.Sprintf("--padding=%v", padding), "--accept-encoding", accept,
		"--dense-buckets", fmt.Sprint(e.buckets), "--seed", fmt.Sprint(benchSeedDense))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return LoadResult{}, fmt.Errorf("load client: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var r LoadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("load client output: %w", err)
	}
	return r, nil
}

// ServeChildOptions configures ServeChild.
type ServeChildOptions struct {
	Kind   string // "serve-baseline" or "serve-api"
	Index  string // index directory (serve-api, and serve-baseline with Rotate)
	Body   string // response body file (serve-baseline)
	Rotate bool   // serve-baseline: answer /range/PREFIX with that bucket's SHA-1 body of Index
}

// ServeChild is one side of a server benchmark in a child process (the
// hidden `pwndex bench serve-baseline|serve-api`): it listens on an
// ephemeral 127.0.0.1 port, prints "listening ADDR" to stdout, and serves
// until stdin closes or ctx ends.
func ServeChild(ctx context.Context, o ServeChildOptions, stdin io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, stdin)
		cancel()
	}()
	f := &benchFixture{dir: o.Index}
	var (
		srv *benchServer
		err error
	)
	if o.Rotate && o.Kind == "serve-baseline" {
		srv, err = startRotatingBaseline(f)
	} else {
		srv, err = startServerInProcess(ctx, o.Kind, f, o.Body)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", o.Kind, err)
	}
	defer f.close()
	fmt.Fprintf(stdout, "listening %s\n", srv.addr)
	<-ctx.Done()
	if err := srv.stop(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop %s: %w", o.Kind, err)
	}
	return nil
}

// LoadChildOptions configures LoadChild.
type LoadChildOptions struct {
	Addr     string        // server address (loopback)
	Conns    int           // connections
	Duration time.Duration // duration of the run
	Padding  bool          // send Add-Padding: true
	// AcceptEncoding is the Accept-Encoding header sent (none if empty).
	AcceptEncoding string
	Buckets        int    // dense buckets to request
	Seed           uint64 // dense prefix seed (DefaultDenseSeed)
}

// DefaultDenseSeed is the seed of the dense fixture's prefixes.
const DefaultDenseSeed = benchSeedDense

// LoadChild is the load side of a server benchmark in a child process (the
// hidden `pwndex bench load`): one bounded load run against a loopback
// server, written to stdout as JSON.
func LoadChild(ctx context.Context, o LoadChildOptions, stdout io.Writer) error {
	if o.Buckets < 1 || o.Buckets > index.RangeBuckets {
		return fmt.Errorf("dense buckets %d out of range 1..%d", o.Buckets, index.RangeBuckets)
	}
	lo := LoadOptions{Addr: o.Addr, Conns: o.Conns, Duration: o.Duration, URI: benchRangeURI(DensePrefixes(o.Buckets, o.Seed))}
	lo.Header = loadHeaders(o.Padding, o.AcceptEncoding)
	r, err := Load(ctx, lo)
	if err != nil {
		return fmt.Errorf("load %s: %w", o.Addr, err)
	}
	if err := json.NewEncoder(stdout).Encode(r); err != nil {
		return fmt.Errorf("write load result: %w", err)
	}
	return nil
}

// startRotatingBaseline starts a minimal fasthttp server answering
// /range/PREFIX with the identity SHA-1 body of that bucket of the
// fixture's index, copied into one heap arena at start: the baseline
// server with as many distinct bodies as the range API serves (so the
// same cache misses), and none of its headers, validators or parsing.
func startRotatingBaseline(f *benchFixture) (*benchServer, error) {
	if err := f.open(); err != nil {
		return nil, err
	}
	off := make([]uint32, index.RangeBuckets+1)
	var arena []byte
	for p := range uint32(index.RangeBuckets) {
		b, _ := f.ix.PasswordRange(index.KindSHA1, p, index.Identity)
		arena = append(arena, b...)
		off[p+1] = uint32(len(arena))
	}
	f.close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bodies := BaselineHandler(nil)
	h := func(ctx *fasthttp.RequestCtx) {
		bodies(ctx)
		path := ctx.Path()
		var p uint32
		if len(path) != len("/range/")+5 {
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			return
		}
		for _, c := range path[len("/range/"):] {
			v := uint32(c - '0')
			if c >= 'A' {
				v = uint32(c|0x20-'a') + 10
			}
			p = p<<4 | v&15
		}
		ctx.Response.SetBodyRaw(arena[off[p]:off[p+1]])
	}
	s := Serve(ln, h)
	return &benchServer{addr: s.Addr, stop: s.Close}, nil
}

// loadHeaders returns the extra request headers of a load run.
func loadHeaders(padding bool, accept string) [][2]string {
	var h [][2]string
	if padding {
		h = append(h, [2]string{"Add-Padding", "true"})
	}
	if accept != "" {
		h = append(h, [2]string{"Accept-Encoding", accept})
	}
	return h
}
