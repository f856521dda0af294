package api

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// DefaultAddr is the address ListenAndServe uses when given none.
const DefaultAddr = "127.0.0.1:8080"

// Defaults applied by New to zero fields of Options.
const (
	DefaultReadTimeout    = 10 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultMaxHeaderBytes = 8 << 10
	// DefaultWriteBufferSize holds a whole dense password range response
	// (~37 KB of rows, up to ~45 KB padded, plus headers).
	DefaultWriteBufferSize = 64 << 10
	DefaultMaxInFlight     = 1024
	DefaultMaxConns        = 16384
	DefaultRatePerMinute   = 600
	DefaultMaxAuditBytes   = 8 << 20
	DefaultMaxAuditHashes  = 100_000
	DefaultUploadMaxBytes  = 16 << 20
	DefaultMaxBodyMemory   = 64 << 20
	DefaultShutdownTimeout = 10 * time.Second
	DefaultRefreshInterval = 5 * time.Second
)

// UploadFunc handles the body of a POST upload route. query holds the URL
// query arguments. It returns the response status, content type and body.
type UploadFunc func(ctx context.Context, body []byte, query map[string]string) (status int, contentType string, resp []byte)

// Upload is an extra POST route injected by the caller (e.g. "POST /v1/vet"
// from cmd), so that api needs no import of the package doing the work.
type Upload struct {
	// Handler answers the upload.
	Handler UploadFunc
	// MaxBytes limits the body; larger bodies get 413. Zero means
	// DefaultUploadMaxBytes.
	MaxBytes int
	// Scope, if set, requires an hibp-api-key carrying that scope.
	Scope string
}

// Options configures a Server. The zero value is usable.
type Options struct {
	// Addr is the listen address of ListenAndServe (default DefaultAddr).
	Addr string
	// Logger receives operational messages; nil means slog.Default().
	// Nothing logged carries a client address, URI, prefix or key.
	Logger *slog.Logger
	// AccessLog logs one line per request: route, status and duration only.
	AccessLog bool

	// PadRows, when positive, pads every password range response (with or
	// without Add-Padding) to exactly PadRows rows and to one fixed byte
	// length, PadRows*(suffix+11)+2*(PadRows-1), so that the response size
	// reveals nothing about the bucket: padding rows have count 0 written
	// with as many zeros (up to 32) as needed. Choose PadRows above the
	// largest bucket; a bucket with more real rows is served with its real
	// rows only. Padded responses are always identity-encoded.
	PadRows int
	// AccountDecoys adds random decoy entries to every e-mail and phone
	// range response, not only to those asking with Add-Padding: true.
	AccountDecoys bool
	// NoAccountSearch switches off GET /api/v3/breachedaccount/{account}
	// and /api/v3/pasteaccount/{account}, the routes that see plaintext
	// addresses (they answer 403); the k-anonymity ranges stay.
	NoAccountSearch bool

	// TrustedProxies are the reverse proxies (e.g. the nginx of deploy/)
	// whose X-Forwarded-For and X-Real-IP headers are believed when
	// throttling failed authentication per client: for a request from one
	// of them, the client is the rightmost X-Forwarded-For address that
	// is not itself a trusted proxy (else X-Real-IP), never an address
	// further left that the client could have written itself. Empty (the
	// default) trusts nobody: the client is the TCP peer. A single
	// address is a /32 or /128 prefix.
	TrustedProxies []netip.Prefix

	// DefaultRatePerMinute applies to API keys whose RatePerMinute is 0.
	DefaultRatePerMinute int

	// ReadTimeout, WriteTimeout and IdleTimeout bound connections.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes int
	// WriteBufferSize is each connection's write buffer (default
	// DefaultWriteBufferSize). A response that fits, headers included,
	// leaves in one write system call, which on loopback and LAN links
	// costs far more than copying the body into the buffer; a larger one
	// takes two or three. fasthttp keeps the buffer for the life of a
	// keep-alive connection: up to WriteBufferSize * MaxConns bytes.
	WriteBufferSize int
	// MaxInFlight caps requests being handled at once; beyond it the
	// server answers 503 with Retry-After instead of queueing.
	MaxInFlight int
	// MaxConns caps concurrent connections (fasthttp Concurrency); beyond
	// it fasthttp answers 503.
	MaxConns int

	// MaxAuditBytes and MaxAuditHashes bound one /v1/audit request (413).
	MaxAuditBytes, MaxAuditHashes int

	// MaxBodyMemory bounds the bytes of all request bodies buffered at
	// once, over all requests in flight (default DefaultMaxBodyMemory,
	// raised to the largest single body limit if below it). A request
	// whose body does not fit answers 503 with Retry-After.
	MaxBodyMemory int

	// Uploads maps a path (e.g. "/v1/vet") to an extra POST route.
	Uploads map[string]Upload

	// ShutdownTimeout bounds the graceful shutdown once ctx is cancelled.
	ShutdownTimeout time.Duration
	// RefreshInterval is how often Serve re-reads the index version for
	// validators (ETag, Last-Modified) and the catalog cache.
	RefreshInterval time.Duration
}

func (o *Options) setDefaults() {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.ShutdownTimeout, DefaultShutdownTimeout)
	def(&o.RefreshInterval, DefaultRefreshInterval)
	defInt(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	defInt(&o.WriteBufferSize, DefaultWriteBufferSize)
	defInt(&o.MaxInFlight, DefaultMaxInFlight)
	defInt(&o.MaxConns, DefaultMaxConns)
	defInt(&o.DefaultRatePerMinute, DefaultRatePerMinute)
	defInt(&o.MaxAuditBytes, DefaultMaxAuditBytes)
	defInt(&o.MaxAuditHashes, DefaultMaxAuditHashes)
	defInt(&o.MaxBodyMemory, DefaultMaxBodyMemory)
}
