package api

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// HIBP v3 account routes: GET /api/v3/breachedaccount/{account} and
// GET /api/v3/pasteaccount/{account}. Unlike the range routes, these see
// the plaintext account: it is normalised and hashed in memory and never
// logged, used as a metric label or written anywhere. Options.NoAccountSearch
// switches both off.

// errEmptyAccount is returned by parseAccount for an account that is empty
// once trimmed (HIBP answers 400).
var errEmptyAccount = errors.New("empty account")

// maxAccountLen bounds the account accepted from a path: longer input is
// no e-mail (at most 254 bytes) nor phone number.
const maxAccountLen = 512

// msgAccountSearchOff is the 403 body of the account routes when
// Options.NoAccountSearch is set. It is deliberately not a 404, which
// every HIBP client reads as "not pwned".
const msgAccountSearchOff = "Account search is disabled on this server: use the k-anonymity range /api/v3/breachedaccount/range/{first 6 hex of the SHA-1}"

// parseAccount normalises a decoded path segment as HIBP clients send it:
// trimmed, then an e-mail address (any case, Unicode or punycode domain)
// if it holds an '@', else a phone number in any common format (national
// numbers default to ident.DefaultRegion). ok is false for an account
// pwndex cannot hold (a username, a malformed address): HIBP answers those
// 404 like any account in no breach.
func parseAccount(raw []byte) (kind index.Kind, h index.Hash, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, h, false, errEmptyAccount
	}
	if len(raw) > maxAccountLen || !utf8.Valid(raw) {
		return 0, h, false, nil
	}
	s := string(raw)
	if strings.IndexByte(s, '@') >= 0 {
		h, _, err := ident.Email(s)
		return index.KindEmail, h, err == nil, nil
	}
	h, _, perr := ident.PhoneHash(s, "")
	return index.KindPhone, h, perr == nil, nil
}

// accountPreamble handles what both account routes share: the switch,
// methods, CORS and the key (scope range or search). It returns the key
// and false when it has answered.
func (s *Server) accountPreamble(ctx *fasthttp.RequestCtx) (index.APIKey, bool) {
	ctx.Response.Header.SetCanonical(hACAO, vStar)
	if s.opts.NoAccountSearch {
		textError(ctx, fasthttp.StatusForbidden, msgAccountSearchOff)
		return index.APIKey{}, false
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, vRangeMethods)
		return index.APIKey{}, false
	}
	key, ok := s.authorize(ctx, "")
	if !ok {
		return key, false
	}
	if !key.HasScope(ScopeRange) && !key.HasScope(ScopeSearch) {
		s.authFailed(ctx)
		jsonError(ctx, fasthttp.StatusForbidden, "Access denied: the hibp-api-key lacks the "+ScopeSearch+" scope.")
		return key, false
	}
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	return key, true
}

// notPwned answers HIBP's 404 with an empty body.
func notPwned(ctx *fasthttp.RequestCtx) {
	ctx.Response.SetStatusCode(fasthttp.StatusNotFound)
	ctx.Response.ResetBody()
}

// queryArg returns the first query argument named name in any case, as
// HIBP's parameter names are case-insensitive (?IncludeUnverified=false).
func queryArg(ctx *fasthttp.RequestCtx, name string) []byte {
	for k, v := range ctx.QueryArgs().All() {
		if strings.EqualFold(string(k), name) {
			return v
		}
	}
	return nil
}

// queryFalse reports whether query argument name is "false" (any case):
// HIBP's truncateResponse and includeUnverified default to true.
func queryFalse(ctx *fasthttp.RequestCtx, name string) bool {
	return bytes.EqualFold(bytes.TrimSpace(queryArg(ctx, name)), []byte("false"))
}

// serveBreachedAccount answers GET /api/v3/breachedaccount/{account} as
// HIBP does: [{"Name":..}] (truncateResponse=false: full breach objects),
// unverified breaches unless includeUnverified=false, only breaches on
// domain= when given, sensitive breaches only for keys with scope
// sensitive, retired breaches never; 404 with an empty body when none.
func (s *Server) serveBreachedAccount(ctx *fasthttp.RequestCtx, raw []byte) {
	key, ok := s.accountPreamble(ctx)
	if !ok {
		return
	}
	kind, h, ok, err := parseAccount(raw)
	if err != nil {
		ctx.Response.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	if !ok {
		notPwned(ctx)
		return
	}
	e, found, err := s.ix.Lookup(kind, &h)
	if err != nil {
		s.opts.Logger.Error("api: account lookup failed", "kind", kind.String(), "err", err)
		jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
		return
	}
	if !found {
		notPwned(ctx)
		return
	}
	sn := s.cache.Load()
	sensitive := key.HasScope(ScopeSensitive)
	unverified := !queryFalse(ctx, "includeUnverified")
	full := queryFalse(ctx, "truncateResponse")
	domain := strings.TrimSuffix(string(bytes.TrimSpace(queryArg(ctx, "domain"))), ".")
	b := make([]byte, 0, 256)
	b = append(b, '[')
	n := 0
	for _, id := range e.Breaches {
		i, known := sn.byID[id]
		if !known {
			continue
		}
		br := &sn.breaches[i]
		if br.IsRetired || (br.IsSensitive && !sensitive) || (!br.IsVerified && !unverified) ||
			(domain != "" && !strings.EqualFold(br.Domain, domain)) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		if full {
			b = append(b, sn.breachJSON[strings.ToLower(br.Name)]...)
		} else {
			b = append(b, `{"Name":`...)
			b = append(b, sn.names[id]...)
			b = append(b, '}')
		}
	}
	if n == 0 {
		notPwned(ctx)
		return
	}
	b = append(b, ']')
	ctx.Response.Header.SetContentTypeBytes(vJSON)
	ctx.Response.SetBodyRaw(b)
}

// servePasteAccount answers GET /api/v3/pasteaccount/{account}: pwndex
// holds no pastes, so every account gets HIBP's answer for an account in
// no paste (404, empty body) once the key is checked.
func (s *Server) servePasteAccount(ctx *fasthttp.RequestCtx, raw []byte) {
	if _, ok := s.accountPreamble(ctx); !ok {
		return
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		ctx.Response.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	notPwned(ctx)
}

// serveDataClasses answers GET /api/v3/dataclasses: every data class of
// the catalog, alphabetically, like HIBP's list (no key needed).
func (s *Server) serveDataClasses(ctx *fasthttp.RequestCtx) {
	if !s.catalogPreamble(ctx) {
		return
	}
	ctx.Response.SetBodyRaw(s.cache.Load().dataClassesJSON)
}

// serveLatestBreach answers GET /api/v3/latestbreach: the breach with the
// latest AddedDate (no key needed); 404 on an empty catalog.
func (s *Server) serveLatestBreach(ctx *fasthttp.RequestCtx) {
	if !s.catalogPreamble(ctx) {
		return
	}
	sn := s.cache.Load()
	if sn.latestJSON == nil {
		textError(ctx, fasthttp.StatusNotFound, msgNotFound)
		return
	}
	ctx.Response.SetBodyRaw(sn.latestJSON)
}
