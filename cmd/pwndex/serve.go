package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/quality"
)

const serveUsage = `usage: pwndex serve [flags]

Serve the index: the k-anonymity password range API (byte-compatible with
api.pwnedpasswords.com), e-mail and phone ranges and the breach catalog
(HIBP v3 paths, API keys managed with 'pwndex keys'), account search
GET /api/v3/breachedaccount/{account} (sees the plaintext address, never
logged; --no-account-search switches it off), POST /v1/audit (full
hashes, key scope audit), POST /v1/vet (vet a contact file in memory, key
scope vet by default), /healthz, /readyz, /metrics and the check page at /. Stops gracefully on SIGINT or SIGTERM.

With --index, serve answers from the index's newest local snapshot
(DIR/snapshots, exported by every ingest and key change) and never holds
the index: 'pwndex ingest' and 'pwndex keys' run meanwhile, and serve
switches to the new snapshot within a second (at once on SIGHUP) between
two requests, without failing one. An index without snapshots gets one at
start if no writer holds it; otherwise (or on a read-only file system)
serve reads the index itself and writers wait until it stops.
The port is bound before "serving" is logged; a malformed --addr or one
that cannot be bound exits 2.
Logs carry no client address, URI, hash prefix or key.

Behind a reverse proxy (deploy/nginx.conf) every request comes from the
proxy's address: --trusted-proxy names it, so that failed authentication is
throttled per client (the rightmost X-Forwarded-For address that is no
trusted proxy, else X-Real-IP) instead of locking every client out at once.
Headers from any other peer are ignored.

Exit codes: 0 stopped by a signal, 2 usage or unusable index, 3 internal error.

flags:
`

// uploadRoutes holds extra POST routes that other subcommand files register
// from their init functions (e.g. vet.go: registerUpload("/v1/vet", ...)),
// so that serve wires them into the server without api importing them.
var uploadRoutes = map[string]api.Upload{}

// registerUpload adds a POST route to every server started by serve.
// Call it only from init functions.
//
//lint:ignore U1000 the hook for subcommand files that add upload routes.
func registerUpload(path string, u api.Upload) { uploadRoutes[path] = u }

// cmdServe implements "pwndex serve".
func cmdServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	fs := newFlagSet("serve", serveUsage, stderr)
	var (
		dir       = fs.String("index", "./data", "index `directory`")
		addr      = fs.String("addr", api.DefaultAddr, "listen `address`")
		padRows   = fs.Int("pad-rows", 0, "pad every password range to exactly `N` rows and a fixed size (0: HIBP-style padding on Add-Padding only)")
		decoys    = fs.Bool("account-decoys", false, "add decoy rows to every e-mail and phone range, not only on Add-Padding")
		noAccount = fs.Bool("no-account-search", false, "switch off GET /api/v3/breachedaccount/{account} and /pasteaccount/{account}, the routes that see plaintext addresses (403); ranges stay")
		rate      = fs.Int("rate", api.DefaultRatePerMinute, "default requests per minute for API keys without their own rate")
		inflight  = fs.Int("max-inflight", api.DefaultMaxInFlight, "requests handled at once before answering 503")
		conns     = fs.Int("max-conns", api.DefaultMaxConns, "concurrent connections before answering 503")
		readTO    = fs.Duration("read-timeout", api.DefaultReadTimeout, "read timeout")
		writeTO   = fs.Duration("write-timeout", api.DefaultWriteTimeout, "write timeout")
		idleTO    = fs.Duration("idle-timeout", api.DefaultIdleTimeout, "keep-alive idle timeout")
		maxHeader = fs.Int("max-header-bytes", api.DefaultMaxHeaderBytes, "limit of the request line and headers (431 beyond)")
		auditMax  = fs.Int("max-audit-bytes", api.DefaultMaxAuditBytes, "body limit of POST /v1/audit (413 beyond)")
		bodyMem   = fs.Int("max-body-memory", api.DefaultMaxBodyMemory, "bytes of request bodies buffered at once over all requests (503 beyond)")
		noVet     = fs.Bool("no-vet", false, "do not offer POST /v1/vet")
		vetMax    = fs.Int("vet-max-bytes", 32<<20, "body limit of POST /v1/vet (413 beyond)")
		vetScope  = fs.String("vet-scope", "vet", "API key scope required by POST /v1/vet (empty: no key needed)")
		accessLog = fs.Bool("access-log", false, "log route, status and duration of every request (never addresses or URIs)")
		logJSON   = fs.Bool("log-json", false, "log as JSON instead of text")
		verbose   = fs.Bool("v", false, "log debug messages")
		from      = fs.String("from", "", "serve the newest snapshot published at `URL` (s3://bucket/path?endpoint=...; see 'pwndex publish') instead of --index, and follow newer ones")
		cacheDir  = fs.String("cache", "./pwndex-cache", "with --from: local cache `directory` of downloaded snapshots")
		poll      = fs.Duration("poll", 10*time.Second, "how often to look for a newer snapshot (and on SIGHUP); default 10s with --from, 250ms with --index")
		trusted   proxyList
	)
	fs.Var(&trusted, "trusted-proxy", "trust X-Forwarded-For and X-Real-IP from reverse proxies at `CIDR|IP` (repeatable, comma-separated) for the per-client throttle of failed authentication; default: nobody (the TCP peer is the client)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pwndex serve: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return 2
	}
	if *padRows < 0 {
		fmt.Fprintln(stderr, "pwndex serve: --pad-rows must not be negative")
		return 2
	}
	lvl := slog.LevelInfo
	if *verbose {
		lvl = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})
	if *logJSON {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl})
	}
	log := slog.New(h)

	uploadsFor := func(ix *index.Index) map[string]api.Upload {
		uploads := make(map[string]api.Upload, len(uploadRoutes)+1)
		for p, u := range uploadRoutes {
			uploads[p] = u
		}
		if !*noVet {
			uploads["/v1/vet"] = vetUpload(ix, *vetMax, *vetScope)
		}
		return uploads
	}
	opts := api.Options{
		Addr:                 *addr,
		Logger:               log,
		AccessLog:            *accessLog,
		PadRows:              *padRows,
		AccountDecoys:        *decoys,
		NoAccountSearch:      *noAccount,
		DefaultRatePerMinute: *rate,
		ReadTimeout:          *readTO,
		WriteTimeout:         *writeTO,
		IdleTimeout:          *idleTO,
		MaxHeaderBytes:       *maxHeader,
		MaxInFlight:          *inflight,
		MaxConns:             *conns,
		MaxAuditBytes:        *auditMax,
		MaxBodyMemory:        *bodyMem,
		TrustedProxies:       trusted,
	}
	if *from != "" {
		ln, err := listenAddr(ctx, *addr)
		if err != nil {
			fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
			return 2
		}
		return serveReplica(ctx, replicaConfig{url: *from, cache: *cacheDir, poll: *poll}, ln, opts, uploadsFor, log, stderr)
	}
	localEvery := localPoll
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "poll" {
			localEvery = *poll
		}
	})
	if localEvery <= 0 {
		fmt.Fprintln(stderr, "pwndex serve: --poll must be positive")
		return 2
	}
	ln, err := listenAddr(ctx, *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 2
	}
	if ensureLocalSnapshot(*dir, log) {
		return serveLocal(ctx, *dir, ln, localEvery, opts, uploadsFor, log, stderr)
	}
	// The old way: the index itself, read-only (writers wait until serve stops).
	ix, err := index.Open(index.Options{Dir: *dir, ReadOnly: true, Logger: log})
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 2
	}
	defer ix.Close()
	opts.Uploads = uploadsFor(ix)
	srv, err := api.New(ix, opts)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 3
	}
	logServing(log, ln.Addr().String(), ix)
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 3
	}
	log.Info("stopped")
	return 0
}

// vetUpload is POST /v1/vet: the body is a contact file (CSV, any of vet's
// encodings and separators), vetted in memory against the served index;
// the answer is vet's report.json. Query: purpose=email|sms|postal,
// skip_consent=true, name=FILE (used in error messages). The file is never
// written to disk or logged.
func vetUpload(ix *index.Index, maxBytes int, scope string) api.Upload {
	return api.Upload{MaxBytes: maxBytes, Scope: scope, Handler: func(ctx context.Context, body []byte, q map[string]string) (int, string, []byte) {
		opts := quality.VetOptions{Index: ix, SkipConsent: q["skip_consent"] == "true"}
		var err error
		if opts.Purpose, err = quality.ParsePurpose(q["purpose"]); err != nil {
			return 400, "application/json", jsonMessage(err)
		}
		name := "upload"
		if n := q["name"]; n != "" {
			name = filepath.Base(n)
		}
		out, err := quality.VetBytes(ctx, body, name, opts)
		if err != nil {
			var ie *quality.InputError
			if errors.As(err, &ie) || errors.Is(err, quality.ErrNoColumns) {
				return 400, "application/json", jsonMessage(err)
			}
			return 500, "application/json", jsonMessage(errors.New("internal error while vetting"))
		}
		return 200, "application/json", out
	}}
}

// jsonMessage renders {"message": err}.
func jsonMessage(err error) []byte {
	b, _ := json.Marshal(map[string]string{"message": err.Error()})
	return b
}

// proxyList is the value of --trusted-proxy: CIDR prefixes or single
// addresses (a /32 or /128), repeatable and comma-separated.
type proxyList []netip.Prefix

func (l *proxyList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (l *proxyList) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		p, err := parseProxy(strings.TrimSpace(item))
		if err != nil {
			return err
		}
		*l = append(*l, p)
	}
	return nil
}

// parseProxy parses one --trusted-proxy item.
func parseProxy(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("%q is not an IP address or CIDR prefix (e.g. 172.28.0.10 or 172.28.0.0/16)", s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, bad
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, bad
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
