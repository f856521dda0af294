package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"
)

// serveBreaches answers GET /api/v3/breaches[?domain=example.com][&isSpamList=true|false]
// with the catalog in HIBP's JSON shape: domain keeps the breaches of that
// domain (any case), isSpamList those that are (true) or are not (false)
// spam lists. Like HIBP, it needs no API key.
func (s *Server) serveBreaches(ctx *fasthttp.RequestCtx) {
	if !s.catalogPreamble(ctx) {
		return
	}
	sn := s.cache.Load()
	domain := queryArg(ctx, "domain")
	spam := bytes.ToLower(bytes.TrimSpace(queryArg(ctx, "isSpamList")))
	filterSpam := string(spam) == "true" || string(spam) == "false"
	if len(domain) == 0 && !filterSpam {
		ctx.Response.SetBodyRaw(sn.breachesJSON)
		return
	}
	d := strings.TrimSuffix(string(bytes.TrimSpace(domain)), ".")
	var out []json.RawMessage
	for i := range sn.breaches {
		b := &sn.breaches[i]
		if (len(domain) == 0 || strings.EqualFold(b.Domain, d)) &&
			(!filterSpam || b.IsSpamList == (string(spam) == "true")) {
			out = append(out, sn.breachJSON[strings.ToLower(b.Name)])
		}
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	b, _ := json.Marshal(out)
	ctx.Response.SetBody(b)
}

// serveBreach answers GET /api/v3/breach/{name}; 404 "Not found" when
// unknown.
func (s *Server) serveBreach(ctx *fasthttp.RequestCtx, name []byte) {
	if !s.catalogPreamble(ctx) {
		return
	}
	j, ok := s.cache.Load().breachJSON[strings.ToLower(string(name))]
	if !ok {
		textError(ctx, fasthttp.StatusNotFound, msgNotFound)
		return
	}
	ctx.Response.SetBodyRaw(j)
}

// catalogPreamble handles methods and common headers of catalog routes.
func (s *Server) catalogPreamble(ctx *fasthttp.RequestCtx) bool {
	ctx.Response.Header.SetCanonical(hACAO, vStar)
	if ctx.IsOptions() {
		preflight(ctx, vAcctHeaders)
		return false
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, vRangeMethods)
		return false
	}
	sn := s.cache.Load()
	ctx.Response.Header.SetContentTypeBytes(vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, []byte("public, max-age=300"))
	ctx.Response.Header.SetCanonical(hETag, sn.etag[0])
	if inm := ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch); len(inm) > 0 && etagMatches(inm, sn.etag[0]) {
		ctx.Response.SetStatusCode(fasthttp.StatusNotModified)
		return false
	}
	return true
}
