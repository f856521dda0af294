package api

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// HIBP-style padding: a random number of extra rows in [padMin, padMin+padSpread).
const (
	padMin    = 10
	padSpread = 200
	// padCountWidth is the average width of a count assumed when sizing
	// fixed-size padded responses (Options.PadRows).
	padCountWidth = 10
)

// serveRange answers GET /range/{prefix}, byte-compatible with
// api.pwnedpasswords.com. Unpadded responses do not allocate: the body is
// the index's precomputed slice.
func (s *Server) serveRange(ctx *fasthttp.RequestCtx, raw []byte) {
	h := &ctx.Response.Header
	h.SetCanonical(hACAO, vStar)
	if ctx.IsOptions() {
		preflight(ctx, vRangeHeaders)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		// api.pwnedpasswords.com's text (it names the verb).
		h.SetCanonical(hAllow, vRangeMethods)
		textError(ctx, fasthttp.StatusMethodNotAllowed,
			"Only GET requests can be used to query ranges, but this request used the "+string(ctx.Method())+" verb")
		return
	}
	p, err := index.ParsePrefix(raw, 5)
	if err != nil {
		if err == index.ErrPrefixHex {
			ctx.Response.SetStatusCode(fasthttp.StatusBadRequest)
			h.SetContentTypeBytes(vTextPlain)
			ctx.Response.SetBodyRaw(msgPrefixHex)
		} else {
			ctx.Response.SetStatusCode(fasthttp.StatusBadRequest)
			h.SetContentTypeBytes(vTextPlain)
			ctx.Response.SetBodyRaw(msgPrefixFormat)
		}
		return
	}
	kind := index.KindSHA1
	if string(ctx.QueryArgs().Peek("mode")) == "ntlm" {
		kind = index.KindNTLM
	}
	sn := s.cache.Load()
	padded := s.opts.PadRows > 0 || isTrue(ctx.Request.Header.Peek("Add-Padding"))
	h.SetContentTypeBytes(vTextPlain)
	h.SetCanonical(hCacheControl, vRangeCache)
	if sn.lastModified != nil {
		h.SetCanonical(hLastModified, sn.lastModified)
	}
	h.SetCanonical(hVary, vVaryRange)
	var body []byte
	enc := index.Identity
	etag := sn.etagPadded
	if !padded {
		var ok bool
		enc = pickEncoding(ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding))
		body, ok, err = s.ix.PasswordRangeChecked(kind, p.Value, enc)
		if err == nil && !ok && enc != index.Identity {
			enc = index.Identity
			body, ok, err = s.ix.PasswordRangeChecked(kind, p.Value, enc)
		}
		if err != nil {
			s.corruptRange(ctx, err)
			return
		}
		if !ok || len(body) == 0 {
			// An empty range (or a kind never built) has an empty body,
			// which no coding may wrap: an empty gzip or brotli body is
			// invalid.
			enc, body = index.Identity, nil
		}
		etag = sn.etag[enc]
	}
	h.SetCanonical(hETag, etag)
	if inm := ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch); len(inm) > 0 &&
		etagMatches(inm, sn.etag[index.Identity], sn.etag[index.Gzip], sn.etag[index.Brotli]) {
		ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if padded {
		s.writePadded(ctx, kind, p.Value)
		return
	}
	switch enc {
	case index.Gzip:
		h.SetContentEncodingBytes(vGzip)
	case index.Brotli:
		h.SetContentEncodingBytes(vBr)
	}
	ctx.Response.SetBodyRaw(body)
}

// padPool recycles the buffers fixed-size padding rows are generated in.
var padPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writePadded answers a padded range: the real rows, then rows with count
// 0 and random suffixes, as HIBP does.
//
// HIBP-style padding (Add-Padding: true) generates and copies nothing in
// the handler: the body is a stream of the precomputed real rows followed
// by a window of precomputed padding rows (see padTable), written to the
// connection's buffered writer. With a client accepting gzip, the body
// is the precomputed gzip member of the real rows followed by a second,
// stored (uncompressed) gzip member holding the padding: a multi-member
// gzip stream (RFC 1952 2.2), so nothing is compressed per request.
//
// Fixed-size padding (Options.PadRows) generates its rows per request and
// is always identity, since compression would make the size depend on
// the content again.
func (s *Server) writePadded(ctx *fasthttp.RequestCtx, kind index.Kind, prefix uint32) {
	body, _, err := s.ix.PasswordRangeChecked(kind, prefix, index.Identity)
	if err != nil {
		s.corruptRange(ctx, err)
		return
	}
	resp := &ctx.Response
	if s.opts.PadRows > 0 {
		bp := padPool.Get().(*[]byte)
		pad := s.appendPadding((*bp)[:0], kind, body)
		resp.AppendBody(body)
		resp.AppendBody(pad)
		*bp = pad
		padPool.Put(bp)
		return
	}
	pad := padTableOf(kind).window(len(body) == 0)
	pb := newPaddedBody()
	// Only where a precomputed member exists: wrapping small or empty
	// bodies in stored gzip would only add bytes.
	var gz []byte
	if _, ok := acceptedCodings(ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding)); ok && len(body) > 0 {
		if gz, _, err = s.ix.PasswordRangeChecked(kind, prefix, index.Gzip); err != nil {
			s.corruptRange(ctx, err)
			return
		}
	}
	if len(gz) > 0 {
		resp.Header.SetContentEncodingBytes(vGzip)
		pb.add(gz)
		pb.addStoredGzip(pad)
	} else {
		pb.add(body)
		pb.add(pad)
	}
	resp.SetBodyStream(pb, pb.Len())
}

// appendPadding appends the padding rows for a range whose identity body
// is body, each preceded by CRLF unless it starts an empty body.
func (s *Server) appendPadding(dst []byte, kind index.Kind, body []byte) []byte {
	hexLen := kind.HexLen() - 5
	rowMin := hexLen + 2 // "SUFFIX:0" without its CRLF separator
	rows := 0
	if len(body) > 0 {
		// Rows end with CRLF and hold no bare LF: counting the single
		// byte uses the vectorised path.
		rows = bytes.Count(body, lf) + 1
	}
	var pad, extra int
	if s.opts.PadRows > 0 {
		// Fixed mode: exactly PadRows rows and a fixed byte length.
		pad = s.opts.PadRows - rows
		target := s.opts.PadRows*(hexLen+1+padCountWidth) + 2*(s.opts.PadRows-1)
		if pad > 0 {
			minLen := len(body) + pad*rowMin
			if len(body) > 0 {
				minLen += 2 * pad
			} else {
				minLen += 2 * (pad - 1)
			}
			extra = max(target-minLen, 0)
		}
	} else {
		pad = padMin + rand.IntN(padSpread)
	}
	sep := len(body) > 0
	for i := range pad {
		// Spread extra zeros over the rows: the count of a padding row is
		// "0", "00", ... which every client parses as 0.
		zeros := 1
		if extra > 0 {
			share := min(extra/(pad-i), maxPadZeros-1)
			zeros += share
			extra -= share
		}
		need := 2 + hexLen + 1 + zeros
		if cap(dst)-len(dst) < need {
			dst = slices.Grow(dst, max(need, cap(dst)))
		}
		n := len(dst)
		dst = dst[:n+need]
		if sep {
			dst[n], dst[n+1] = '\r', '\n'
			n += 2
		} else {
			dst = dst[:len(dst)-2]
		}
		sep = true
		fillRandomHex(dst[n : n+hexLen])
		n += hexLen
		dst[n] = ':'
		n++
		for j := range zeros {
			dst[n+j] = '0'
		}
	}
	return dst
}

// maxPadZeros bounds the digits of a padding row's count.
const maxPadZeros = 32

var (
	crlf            = []byte("\r\n")
	lf              = []byte("\n")
	msgPrefixFormat = []byte(index.ErrPrefixFormat.Error())
	msgPrefixHex    = []byte(index.ErrPrefixHex.Error())
)

const upperHex = "0123456789ABCDEF"

// appendRandomHex appends n random upper-case hex digits.
func appendRandomHex(dst []byte, n int) []byte {
	l := len(dst)
	dst = append(dst, make([]byte, n)...)
	fillRandomHex(dst[l:])
	return dst
}

// hexPairs maps a byte to its two upper-case hex digits.
var hexPairs = func() (t [256][2]byte) {
	for i := range t {
		t[i] = [2]byte{upperHex[i>>4], upperHex[i&15]}
	}
	return t
}()

// fillRandomHex fills dst with random upper-case hex digits.
func fillRandomHex(dst []byte) {
	for len(dst) >= 16 {
		r := rand.Uint64()
		for j := 0; j < 16; j += 2 {
			p := hexPairs[byte(r)]
			dst[j], dst[j+1] = p[0], p[1]
			r >>= 8
		}
		dst = dst[16:]
	}
	r := rand.Uint64()
	for j := range dst {
		dst[j] = upperHex[r&15]
		r >>= 4
	}
}

// preflight answers a CORS preflight request as HIBP does: 200, an empty
// body, Access-Control-Max-Age 1728000.
func preflight(ctx *fasthttp.RequestCtx, allowHeaders []byte) {
	h := &ctx.Response.Header
	h.SetCanonical(hACAO, vStar)
	h.SetCanonical(hACAM, vGetHeadOption)
	h.SetCanonical(hACAH, allowHeaders)
	h.SetCanonical(hACMA, vMaxAge)
	ctx.Response.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.ResetBody()
}

// corruptRange answers 500 for a range bucket that failed its checksum,
// never its bytes. The log line names the file (err does), not the prefix.
func (s *Server) corruptRange(ctx *fasthttp.RequestCtx, err error) {
	s.metrics.corruptBodies.Add(1)
	s.opts.Logger.Error("api: refusing to serve a corrupt range body; run pwndex check, then pwndex repair", "err", err)
	ctx.Response.Reset() // no validator, coding or cache header of the range
	h := &ctx.Response.Header
	h.SetCanonical(hACAO, vStar)
	h.SetCanonical(hCacheControl, vNoStore)
	textError(ctx, fasthttp.StatusInternalServerError, "Internal error")
}
