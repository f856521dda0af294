package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Mozilla Monitor's variant of the k-anonymity e-mail range, HIBP's
// enterprise API (see api/README.md for the contract and its source):
//
//	GET  /range/search/{6 hex}  header Hibp-Enterprise-Api-Key
//	POST /range/subscribe       {"hashPrefix":"ABCDEF"}: 201 new, 200 known
//
// Keys are pwndex API keys (scope range) sent in Hibp-Enterprise-Api-Key.

const hEnterpriseKey = "Hibp-Enterprise-Api-Key"

// maxSubscriptions bounds the subscriptions a server remembers.
const maxSubscriptions = 1 << 20

// subscriptions remembers the range subscriptions taken since start, per
// key name, so that a repeated subscription gets 200 as on HIBP. pwndex
// sends no callbacks: a subscription changes nothing else.
type subscriptions struct {
	mu  sync.Mutex
	set map[string]struct{} // key name + "\x00" + prefix
}

// add records a subscription and reports whether it is new. Beyond
// maxSubscriptions nothing more is remembered and every one is new.
func (s *subscriptions) add(key string, p index.Prefix) bool {
	k := key + "\x00" + p.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = make(map[string]struct{})
	}
	if _, ok := s.set[k]; ok {
		return false
	}
	if len(s.set) < maxSubscriptions {
		s.set[k] = struct{}{}
	}
	return true
}

// enterpriseKey moves the Hibp-Enterprise-Api-Key header into hibp-api-key
// so that authorize checks it like any key; a request without it is
// answered as one without a key, whatever hibp-api-key it carries.
func enterpriseKey(ctx *fasthttp.RequestCtx) {
	v := ctx.Request.Header.Peek(hEnterpriseKey)
	if len(v) == 0 {
		ctx.Request.Header.Del(hAPIKey)
		return
	}
	ctx.Request.Header.SetBytesV(hAPIKey, append([]byte(nil), v...))
}

// serveEnterpriseSearch answers GET /range/search/{6 hex} exactly as the
// e-mail range: [{"hashSuffix":"..","websites":[".."]}].
func (s *Server) serveEnterpriseSearch(ctx *fasthttp.RequestCtx, raw []byte) {
	enterpriseKey(ctx)
	s.serveAccountRange(ctx, index.KindEmail, raw)
}

// errSubscribeBody is the 400 message of a malformed subscription body.
var errSubscribeBody = errors.New(`the body must be {"hashPrefix":"<6 hex digits of the SHA-1>"}`)

// parseSubscribe decodes a POST /range/subscribe body.
func parseSubscribe(body []byte) (index.Prefix, error) {
	var req struct {
		HashPrefix string `json:"hashPrefix"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return index.Prefix{}, errSubscribeBody
	}
	p, err := index.ParsePrefix([]byte(req.HashPrefix), index.KindEmail.RangeDigits())
	if err != nil {
		return index.Prefix{}, errSubscribeBody
	}
	return p, nil
}

// maxSubscribeBytes bounds a POST /range/subscribe body: its JSON carries one
// 6-hex prefix.
const maxSubscribeBytes = 1024

// serveRangeSubscribe answers POST /range/subscribe: 201 for a new
// subscription, 200 for one the key already holds.
func (s *Server) serveRangeSubscribe(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hACAO, vStar)
	if !ctx.IsPost() {
		methodNotAllowed(ctx, []byte("POST"))
		return
	}
	enterpriseKey(ctx)
	key, ok := s.authorize(ctx, ScopeRange)
	if !ok {
		return
	}
	body, release, err := s.readBody(ctx, maxSubscribeBytes)
	defer release()
	if err != nil {
		bodyFailed(ctx, err, jsonError)
		return
	}
	p, err := parseSubscribe(body)
	if err != nil {
		jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	status := fasthttp.StatusOK
	if s.subs.add(key.Name, p) {
		status = fasthttp.StatusCreated
	}
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	b := append([]byte(`{"hashPrefix":"`), p.String()...)
	ctx.Response.SetBodyRaw(append(b, `"}`...))
}
