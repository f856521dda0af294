package api

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Compact range bodies (GET /v1/range/{email|phone}/{1..6 hex}, scope
// "audit"): every identifier of the kind under a prefix of 1 to 6 hex
// digits, for audits of large bases. The body is binary:
//
//	"PXR1"                           magic and version
//	uvarint(N)                       breach names referenced below
//	N × (uvarint(len) name)          the names
//	records, in hash order:          full hash (20 bytes), uvarint(n),
//	                                 n × uvarint(index into the names)
//
// Full hashes are sent (the client checks each against the prefix it
// asked for). Random hashes do not compress: gzip at level 6 shrinks a
// 29,000-record body (a 2-hex e-mail bucket of a 7.5M-address index) by
// 2.3%, so no gzip or brotli form is offered. The body is streamed from
// the generation's memory-mapped records (one contiguous slice per
// prefix), not precomputed: sensitive breaches are left out for keys
// without the "sensitive" scope, and records left with no breach are
// dropped.
const (
	pathShortRange = "/v1/range/"
	// CompactRangeMagic starts every compact range body.
	CompactRangeMagic = "PXR1"
	// CompactRangeType is the Content-Type of a compact range body.
	CompactRangeType = "application/x-pwndex-range"
	// ShortRangeMinDigits and ShortRangeMaxDigits bound the prefix length
	// of the compact range route.
	ShortRangeMinDigits = 1
	ShortRangeMaxDigits = 6
)

var vCompactRange = []byte(CompactRangeType)

// shortRangeBuf recycles the record buffers of compact range responses.
var shortRangeBuf = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// serveShortRange answers GET /v1/range/{kind}/{1..6 hex}.
func (s *Server) serveShortRange(ctx *fasthttp.RequestCtx, rest []byte) {
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, []byte("GET, HEAD"))
		return
	}
	key, ok := s.authorize(ctx, ScopeAudit)
	if !ok {
		return
	}
	var kind index.Kind
	var raw []byte
	switch {
	case len(rest) >= 6 && string(rest[:6]) == "email/":
		kind, raw = index.KindEmail, rest[6:]
	case len(rest) >= 6 && string(rest[:6]) == "phone/":
		kind, raw = index.KindPhone, rest[6:]
	default:
		jsonError(ctx, fasthttp.StatusNotFound, "Unknown range kind: want /v1/range/email/{prefix} or /v1/range/phone/{prefix}")
		return
	}
	if len(raw) < ShortRangeMinDigits || len(raw) > ShortRangeMaxDigits {
		jsonError(ctx, fasthttp.StatusBadRequest, index.ErrPrefixFormat.Error())
		return
	}
	p, err := index.ParsePrefix(raw, len(raw))
	if err != nil {
		jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	q := p // the records are read by a prefix of at most 5 digits
	if q.Digits > 5 {
		q = index.Prefix{Value: p.Value >> 4, Digits: 5}
	}
	body, err := s.ix.IdentifierRecords(kind, q)
	if err != nil {
		s.opts.Logger.Error("api: reading identifier records failed", "kind", kind.String(), "err", err)
		jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
		return
	}
	sn := s.cache.Load()
	sensitive := key.HasScope(ScopeSensitive)
	bp := shortRangeBuf.Get().(*[]byte)
	recs := (*bp)[:0]
	slot := map[index.BreachID]uint64{}
	var names []index.BreachID
	var ids []index.BreachID
	hl := kind.HashLen()
	for len(body) > 0 {
		var h index.Hash
		h, ids, body, err = index.DecodeIdentifierRecord(kind, body, ids[:0])
		if err != nil {
			shortRangeBuf.Put(bp)
			s.opts.Logger.Error("api: reading identifier records failed", "kind", kind.String(), "err", err)
			jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
			return
		}
		if p.Digits > 5 && !p.Matches(&h) {
			continue
		}
		n := 0
		for _, id := range ids {
			if _, known := sn.names[id]; known && (!sn.sensitive[id] || sensitive) {
				ids[n] = id
				n++
			}
		}
		if n == 0 {
			continue
		}
		recs = append(recs, h[:hl]...)
		recs = binary.AppendUvarint(recs, uint64(n))
		for _, id := range ids[:n] {
			i, seen := slot[id]
			if !seen {
				i = uint64(len(names))
				slot[id] = i
				names = append(names, id)
			}
			recs = binary.AppendUvarint(recs, i)
		}
	}
	out := make([]byte, 0, len(recs)+len(CompactRangeMagic)+32*len(names)+8)
	out = append(out, CompactRangeMagic...)
	out = binary.AppendUvarint(out, uint64(len(names)))
	for _, id := range names {
		b, _ := s.ix.BreachByID(id)
		out = binary.AppendUvarint(out, uint64(len(b.Name)))
		out = append(out, b.Name...)
	}
	out = append(out, recs...)
	if cap(recs) <= 8<<20 {
		*bp = recs[:0]
		shortRangeBuf.Put(bp)
	}
	ctx.Response.Header.SetContentTypeBytes(vCompactRange)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.Header.SetCanonical(hXCTO, vNoSniff)
	ctx.Response.SetBodyRaw(out)
}

// SubscriptionStatus is the body of GET /api/v3/subscription/status, in
// HIBP's shape (Rpm is the key's requests per minute), with pwndex's
// compact range route described for keys with the "audit" scope.
type SubscriptionStatus struct {
	SubscriptionName                string       `json:"SubscriptionName"`
	Description                     string       `json:"Description"`
	SubscribedUntil                 time.Time    `json:"SubscribedUntil"`
	Rpm                             int          `json:"Rpm"`
	DomainSearchMaxBreachedAccounts int          `json:"DomainSearchMaxBreachedAccounts"`
	IncludesKAnon                   bool         `json:"IncludesKAnon"`
	PwndexRanges                    *ShortRanges `json:"PwndexRanges,omitempty"`
}

// ShortRanges advertises the compact range route to audit keys: its path
// template, the prefix lengths it accepts and the number of identifiers
// per kind, from which a client sizes its prefixes.
type ShortRanges struct {
	Path      string            `json:"Path"`
	MinDigits int               `json:"MinDigits"`
	MaxDigits int               `json:"MaxDigits"`
	Counts    map[string]uint64 `json:"Counts"`
}

// subscriptionUntil stands for "no expiry": pwndex keys do not expire.
var subscriptionUntil = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// serveSubscription answers GET /api/v3/subscription/status for any valid
// key (the request counts against the key's rate, as on HIBP).
func (s *Server) serveSubscription(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, []byte("GET, HEAD"))
		return
	}
	key, ok := s.authorize(ctx, "")
	if !ok {
		return
	}
	st := SubscriptionStatus{
		SubscriptionName: "pwndex",
		Description:      "pwndex API key " + key.Name,
		SubscribedUntil:  subscriptionUntil,
		Rpm:              s.keyRate(&key),
		IncludesKAnon:    key.HasScope(ScopeRange),
	}
	if key.HasScope(ScopeAudit) {
		m := s.cache.Load().meta
		st.PwndexRanges = &ShortRanges{Path: pathShortRange + "{kind}/{prefix}", MinDigits: ShortRangeMinDigits, MaxDigits: ShortRangeMaxDigits,
			Counts: map[string]uint64{"email": m.Counts[index.KindEmail], "phone": m.Counts[index.KindPhone]}}
	}
	noStoreJSON(ctx, st)
}
