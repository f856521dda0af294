package api

import (
	"bytes"
	"math/rand/v2"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Decoys added to a padded e-mail or phone range: [decoyMin, decoyMin+decoySpread).
const (
	decoyMin    = 3
	decoySpread = 14
)

// accountRow is one JSON row of an e-mail or phone range.
type accountRow struct {
	suffix [40]byte
	n      int
	ids    []index.BreachID
}

// serveAccountRange answers GET /api/v3/breachedaccount/range/{6 hex} and
// /api/v3/phone/range/{6 hex}: [{"hashSuffix":"..","websites":[".."]}].
func (s *Server) serveAccountRange(ctx *fasthttp.RequestCtx, kind index.Kind, raw []byte) {
	if ctx.IsOptions() {
		preflight(ctx, vAcctHeaders)
		return
	}
	ctx.Response.Header.SetCanonical(hACAO, vStar)
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, vRangeMethods)
		return
	}
	key, ok := s.authorize(ctx, ScopeRange)
	if !ok {
		return
	}
	p, err := index.ParsePrefix(raw, kind.RangeDigits())
	if err != nil {
		jsonError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	entries, err := s.ix.AppendRange(nil, kind, p)
	if err != nil {
		s.opts.Logger.Error("api: reading an identifier range failed", "kind", kind.String(), "err", err)
		jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
		return
	}
	sn := s.cache.Load()
	sensitive := key.HasScope(ScopeSensitive)
	rows := make([]accountRow, 0, len(entries)+decoyMin+decoySpread)
	for i := range entries {
		e := &entries[i]
		var ids []index.BreachID
		for _, id := range e.Breaches {
			if _, known := sn.names[id]; !known || (sn.sensitive[id] && !sensitive) {
				continue
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			continue
		}
		var r accountRow
		r.n = len(e.Hash.AppendSuffixHex(r.suffix[:0], kind, p.Digits))
		r.ids = ids
		rows = append(rows, r)
	}
	if (s.opts.AccountDecoys || isTrue(ctx.Request.Header.Peek("Add-Padding"))) && len(sn.public) > 0 {
		rows = appendDecoys(rows, sn.public, kind.HexLen()-p.Digits)
		slices.SortFunc(rows, func(a, b accountRow) int {
			return bytes.Compare(a.suffix[:a.n], b.suffix[:b.n])
		})
	}
	b := make([]byte, 0, 64*len(rows)+2)
	b = append(b, '[')
	for i := range rows {
		r := &rows[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"hashSuffix":"`...)
		b = append(b, r.suffix[:r.n]...)
		b = append(b, `","websites":[`...)
		for j, id := range r.ids {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, sn.names[id]...)
		}
		b = append(b, "]}"...)
	}
	b = append(b, ']')
	ctx.Response.Header.SetContentTypeBytes(vJSON)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.SetBodyRaw(b)
}

// appendDecoys adds rows with random suffixes naming random public
// breaches. A client matches only its own full hash, so decoys cost it
// nothing, while an observer cannot tell real rows from decoys.
func appendDecoys(rows []accountRow, public []index.BreachID, hexLen int) []accountRow {
	n := decoyMin + rand.IntN(decoySpread)
	for range n {
		var r accountRow
		r.n = len(appendRandomHex(r.suffix[:0], hexLen))
		k := 1 + rand.IntN(min(3, len(public)))
		for range k {
			id := public[rand.IntN(len(public))]
			if !slices.Contains(r.ids, id) {
				r.ids = append(r.ids, id)
			}
		}
		rows = append(rows, r)
	}
	return rows
}
