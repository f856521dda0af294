package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Private (OPRF) lookups: POST /v1/private/{email|phone|credential} and
// GET /v1/private/key. The protocol is described in api/README.md.

// MaxPrivateBatch bounds the blinded elements of one private lookup.
const MaxPrivateBatch = 1000

// maxPrivateBody bounds a private lookup body: MaxPrivateBatch elements of
// 33 bytes in base64 (44 characters), quoted, plus the envelope.
const maxPrivateBody = MaxPrivateBatch*48 + 256

const (
	pathPrivate    = "/v1/private/"
	pathPrivateKey = "/v1/private/key"
)

var vPrivateMethods = []byte("POST, OPTIONS")

// PrivateRequest is the JSON body of POST /v1/private/{kind}.
type PrivateRequest struct {
	// Prefix is the first PrefixBits bits of SHA-256 of the OPRF input, as
	// an unsigned integer.
	Prefix uint32 `json:"prefix"`
	// PrefixBits is the bucket prefix length published by GET /v1/private/key.
	PrefixBits int `json:"prefixBits"`
	// Elements are the blinded elements, each a compressed P-256 point
	// (33 bytes, RFC 9497 SerializeElement) in standard base64.
	Elements []string `json:"elements"`
}

// PrivateEntry is one keyed value of a bucket and the breaches it is in.
type PrivateEntry struct {
	Value    string           `json:"v"` // base64 of the first index.PrivateValueLen bytes of the OPRF output
	Breaches []index.BreachID `json:"b"` // breach IDs, named in PrivateResponse.Breaches
}

// PrivateResponse is the JSON answer of POST /v1/private/{kind}.
type PrivateResponse struct {
	KeyID       string         `json:"keyID"`
	PrefixBits  int            `json:"prefixBits"`
	Evaluations []string       `json:"evaluations"` // base64 compressed points, in request order
	Proof       string         `json:"proof"`       // base64 of the 64-byte DLEQ proof (c, s)
	Bucket      []PrivateEntry `json:"bucket"`
	// Breaches names the breach IDs of the bucket (decimal ID -> Name).
	Breaches map[string]string `json:"breaches"`
}

// PrivateKind describes one kind in GET /v1/private/key.
type PrivateKind struct {
	PrefixBits int    `json:"prefixBits"`
	Records    uint64 `json:"records"`
}

// PrivateKeyResponse is the JSON answer of GET /v1/private/key.
type PrivateKeyResponse struct {
	Suite      string `json:"suite"` // "P256-SHA256"
	Mode       string `json:"mode"`  // "verifiable"
	KeyID      string `json:"keyID"`
	PublicKey  string `json:"publicKey"` // base64 compressed point
	ValueBytes int    `json:"valueBytes"`
	MaxBatch   int    `json:"maxBatch"`
	// MaxBuckets bounds the buckets of one binary request
	// (private_binary.go); its presence announces the binary format.
	MaxBuckets int                    `json:"maxBuckets"`
	Kinds      map[string]PrivateKind `json:"kinds"`
}

// errPrivateBody is the cause of every malformed private request.
var errPrivateBody = errors.New("malformed private lookup request")

// ParsePrivateRequest parses a private lookup body: JSON with 1 to
// MaxPrivateBatch elements, each the base64 of a 33-byte compressed point
// (prefix 0x02 or 0x03). Whether the point is on the curve is checked when
// it is evaluated (index.ErrBadElement).
func ParsePrivateRequest(body []byte) (PrivateRequest, [][]byte, error) {
	var r PrivateRequest
	if len(body) > maxPrivateBody {
		return r, nil, fmt.Errorf("%w: body larger than %d bytes", errPrivateBody, maxPrivateBody)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, nil, fmt.Errorf("%w: %v", errPrivateBody, err)
	}
	if r.PrefixBits < 0 || r.PrefixBits > 32 {
		return r, nil, fmt.Errorf("%w: prefixBits %d out of range", errPrivateBody, r.PrefixBits)
	}
	if len(r.Elements) == 0 || len(r.Elements) > MaxPrivateBatch {
		return r, nil, fmt.Errorf("%w: %d elements (want 1 to %d)", errPrivateBody, len(r.Elements), MaxPrivateBatch)
	}
	elems := make([][]byte, len(r.Elements))
	buf := make([]byte, 33*len(r.Elements))
	for i, s := range r.Elements {
		// base64 of 33 bytes is 44 characters; checked first, as Decode
		// needs room for all of s.
		e := buf[33*i : 33*i+33 : 33*i+33]
		if len(s) != 44 {
			return r, nil, fmt.Errorf("%w: element %d is not a base64 compressed point", errPrivateBody, i)
		}
		if n, err := base64.StdEncoding.Decode(e, []byte(s)); err != nil || n != 33 || (e[0] != 2 && e[0] != 3) {
			return r, nil, fmt.Errorf("%w: element %d is not a base64 compressed point", errPrivateBody, i)
		}
		elems[i] = e
	}
	return r, elems, nil
}

// servePrivateKey answers GET /v1/private/key.
func (s *Server) servePrivateKey(ctx *fasthttp.RequestCtx) {
	if ctx.IsOptions() {
		preflight(ctx, vAcctHeaders)
		return
	}
	ctx.Response.Header.SetCanonical(hACAO, vStar)
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, vGetHeadOption)
		return
	}
	info, err := s.ix.PrivateKeyInfo()
	if err != nil {
		s.privateError(ctx, err)
		return
	}
	resp := PrivateKeyResponse{Suite: info.Suite, Mode: "verifiable", KeyID: info.KeyID,
		PublicKey: base64.StdEncoding.EncodeToString(info.PublicKey), ValueBytes: index.PrivateValueLen,
		MaxBatch: MaxPrivateBatch, MaxBuckets: MaxPrivateBuckets, Kinds: map[string]PrivateKind{}}
	for _, k := range index.PrivateKinds {
		resp.Kinds[k.String()] = PrivateKind{PrefixBits: info.Bits[k], Records: info.Records[k]}
	}
	noStoreJSON(ctx, resp)
}

// servePrivate answers POST /v1/private/{email|phone|credential}.
func (s *Server) servePrivate(ctx *fasthttp.RequestCtx, name []byte) {
	if ctx.IsOptions() {
		preflight(ctx, vAcctHeaders)
		ctx.Response.Header.SetCanonical(hACAM, vPrivateMethods)
		return
	}
	ctx.Response.Header.SetCanonical(hACAO, vStar)
	var kind index.Kind
	switch string(name) {
	case "email":
		kind = index.KindEmail
	case "phone":
		kind = index.KindPhone
	case "credential":
		kind = index.KindCredential
	default:
		jsonError(ctx, fasthttp.StatusNotFound, "Not found: want /v1/private/email, phone, credential or key")
		return
	}
	if !ctx.IsPost() {
		methodNotAllowed(ctx, vPrivateMethods)
		return
	}
	key, ok := s.authorize(ctx, ScopeRange)
	if !ok {
		return
	}
	body, release, err := s.readBody(ctx, maxPrivateBody)
	defer release()
	if err != nil {
		bodyFailed(ctx, err, jsonError)
		return
	}
	// The body's Content-Type selects JSON or the binary format
	// (private_binary.go); the answer has the same format.
	bin := isPrivateBinary(ctx.Request.Header.ContentType())
	var (
		prefixes []uint32
		bits     int
		elems    [][]byte
	)
	if bin {
		br, err := ParsePrivateBinary(body)
		if err != nil {
			jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		prefixes, bits, elems = br.Prefixes, br.PrefixBits, br.Elements
	} else {
		pr, el, err := ParsePrivateRequest(body)
		if err != nil {
			jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		prefixes, bits, elems = []uint32{pr.Prefix}, pr.PrefixBits, el
	}
	// authorize took one token; the further evaluations take one each,
	// all at once or none (allowN), so that a client told to wait
	// Retry-After then finds the whole batch's tokens.
	rate := s.keyRate(&key)
	if n := len(elems) - 1; n > 0 {
		wait, ok, never := s.limiter.allowN(key.Name, rate, n, time.Now())
		if never {
			jsonError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("A batch of %d evaluations is more than this key's %d a minute: send smaller batches.", n+1, rate))
			return
		}
		if !ok {
			secs := max(1, int(math.Ceil(wait.Seconds())))
			ctx.Response.Header.SetCanonical(hRetryAfter, []byte(strconv.Itoa(secs)))
			jsonError(ctx, fasthttp.StatusTooManyRequests, "Rate limit is exceeded (one token per evaluation). Try again in "+strconv.Itoa(secs)+" seconds.")
			return
		}
	}
	ans, err := s.ix.PrivateEvaluateBuckets(kind, prefixes, bits, elems)
	if err != nil {
		s.privateError(ctx, err)
		return
	}
	if bin {
		s.privateBinaryAnswer(ctx, &key, &ans)
		return
	}
	resp := PrivateResponse{KeyID: ans.KeyID, PrefixBits: ans.Bits,
		Evaluations: make([]string, len(ans.Evaluated)), Bucket: []PrivateEntry{},
		Proof: base64.StdEncoding.EncodeToString(ans.Proof)}
	for i, e := range ans.Evaluated {
		resp.Evaluations[i] = base64.StdEncoding.EncodeToString(e)
	}
	sn := s.cache.Load()
	sensitive := key.HasScope(ScopeSensitive)
	resp.Breaches = map[string]string{}
	for _, e := range ans.Bucket {
		var ids []index.BreachID
		for _, id := range e.Breaches {
			q, known := sn.names[id]
			if !known || (sn.sensitive[id] && !sensitive) {
				continue
			}
			key := strconv.FormatUint(uint64(id), 10)
			if _, done := resp.Breaches[key]; !done {
				resp.Breaches[key], _ = strconv.Unquote(string(q))
			}
			ids = append(ids, id)
		}
		if len(ids) > 0 {
			resp.Bucket = append(resp.Bucket, PrivateEntry{base64.StdEncoding.EncodeToString(e.Value[:]), ids})
		}
	}
	noStoreJSON(ctx, resp)
}

// privateBinaryAnswer writes ans in the binary format, hiding sensitive
// breaches from keys without that scope as the JSON answer does.
func (s *Server) privateBinaryAnswer(ctx *fasthttp.RequestCtx, key *index.APIKey, ans *index.PrivateAnswer) {
	sn := s.cache.Load()
	sensitive := key.HasScope(ScopeSensitive)
	names := map[index.BreachID]string{}
	buckets := make([][]PrivateBinaryEntry, len(ans.Buckets))
	for i, b := range ans.Buckets {
		buckets[i] = make([]PrivateBinaryEntry, 0, len(b))
		for _, e := range b {
			// The visible IDs, filtered in place: the entry's slice is
			// this answer's own (PrivateEvaluateBuckets decodes afresh).
			ids := e.Breaches[:0]
			for _, id := range e.Breaches {
				q, known := sn.names[id]
				if !known || (sn.sensitive[id] && !sensitive) {
					continue
				}
				if _, done := names[id]; !done {
					names[id], _ = strconv.Unquote(string(q))
				}
				ids = append(ids, id)
			}
			if len(ids) > 0 {
				buckets[i] = append(buckets[i], PrivateBinaryEntry{e.Value, ids})
			}
		}
	}
	b, err := appendPrivateBinary(nil, ans, buckets, names)
	if err != nil {
		s.privateError(ctx, err)
		return
	}
	ctx.Response.Header.SetContentTypeBytes(vOctetStream)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.SetBodyRaw(b)
}

func (s *Server) privateError(ctx *fasthttp.RequestCtx, err error) {
	var pe *index.PrefixError
	switch {
	case errors.Is(err, index.ErrBadElement):
		jsonError(ctx, fasthttp.StatusBadRequest, "A blinded element is not a point of P256-SHA256.")
	case errors.As(err, &pe):
		jsonError(ctx, fasthttp.StatusBadRequest, pe.Error())
	case errors.Is(err, index.ErrNoPrivate):
		jsonError(ctx, fasthttp.StatusServiceUnavailable, "Private lookups are not built for this index yet.")
	default:
		s.opts.Logger.Error("api: private lookup failed", "err", err)
		jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
	}
}

// allowN takes n tokens from name's bucket at once, or none (the weighted
// cost of a private lookup; allow takes one). When fewer are left it
// returns how long until n are; never reports an n above the bucket's
// capacity (perMinute), which no wait can satisfy.
func (l *rateLimiter) allowN(name string, perMinute, n int, now time.Time) (wait time.Duration, ok, never bool) {
	capacity := float64(perMinute)
	if float64(n) > capacity {
		return 0, false, true
	}
	perSec := capacity / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[name]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		l.buckets[name] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(capacity, b.tokens+el*perSec)
		b.last = now
	}
	if b.tokens >= float64(n) {
		b.tokens -= float64(n)
		return 0, true, false
	}
	return time.Duration((float64(n) - b.tokens) / perSec * float64(time.Second)), false, false
}
