package api

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// AuditResult is one found hash in a /v1/audit response.
type AuditResult struct {
	Hash     string   `json:"hash"`               // upper-case hex, as sent
	Count    uint64   `json:"count,omitempty"`    // password kinds: times seen
	Breaches []string `json:"breaches,omitempty"` // identifier kinds: breach Names
}

// AuditResponse is the body of a /v1/audit response.
type AuditResponse struct {
	Kind    string        `json:"kind"`
	Checked int           `json:"checked"`
	Found   []AuditResult `json:"found"`
}

// serveAudit answers POST /v1/audit?kind=email|phone|sha1|ntlm, a trusted
// batch endpoint for audits inside a company network: the body holds full
// hashes in hex, one per line (blank lines ignored). Each hash is tested
// against the kind's filter first; only possible members touch Badger.
// The key needs the audit scope; sensitive breaches need the sensitive
// scope too.
func (s *Server) serveAudit(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		methodNotAllowed(ctx, []byte("POST"))
		return
	}
	key, ok := s.authorize(ctx, ScopeAudit)
	if !ok {
		return
	}
	kind, err := index.ParseKind(string(ctx.QueryArgs().Peek("kind")))
	if err != nil {
		jsonError(ctx, fasthttp.StatusBadRequest, "kind: "+err.Error())
		return
	}
	if kind == index.KindCredential {
		// E-mail+password pairs are answered only through private
		// lookups, whose evaluations are rate limited one by one.
		jsonError(ctx, fasthttp.StatusBadRequest, "kind: credential pairs are checked through POST /v1/private/credential only")
		return
	}
	body, release, err := s.readBody(ctx, s.opts.MaxAuditBytes)
	defer release()
	if err != nil {
		bodyFailed(ctx, err, jsonError)
		return
	}
	hashes, status, err := parseAuditBody(body, kind, s.opts.MaxAuditHashes)
	if err != nil {
		jsonError(ctx, status, err.Error())
		return
	}
	sn := s.cache.Load()
	sensitive := key.HasScope(ScopeSensitive)
	resp := AuditResponse{Kind: kind.String(), Checked: len(hashes), Found: []AuditResult{}}
	for i := range hashes {
		h := &hashes[i]
		if !s.ix.MayContain(kind, h) {
			continue
		}
		e, found, err := s.ix.Lookup(kind, h)
		if err != nil {
			s.opts.Logger.Error("api: audit lookup failed", "kind", kind.String(), "err", err)
			jsonError(ctx, fasthttp.StatusInternalServerError, "Internal error")
			return
		}
		if !found {
			continue
		}
		r := AuditResult{Hash: h.Hex(kind)}
		if kind.IsPassword() {
			if e.Count == 0 {
				continue
			}
			r.Count = e.Count
		} else {
			for _, id := range e.Breaches {
				if _, known := sn.names[id]; !known || (sn.sensitive[id] && !sensitive) {
					continue
				}
				b, _ := s.ix.BreachByID(id)
				r.Breaches = append(r.Breaches, b.Name)
			}
			if len(r.Breaches) == 0 {
				continue
			}
		}
		resp.Found = append(resp.Found, r)
	}
	noStoreJSON(ctx, resp)
}

// parseAuditBody parses one hex hash of kind k per line (LF or CRLF). It
// returns the HTTP status to answer with on error; errors name the line.
func parseAuditBody(body []byte, k index.Kind, maxHashes int) ([]index.Hash, int, error) {
	hashes := make([]index.Hash, 0, min(len(body)/(k.HexLen()+1)+1, maxHashes))
	line := 0
	for len(body) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			l, body = body[:i], body[i+1:]
		} else {
			l, body = body, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		h, err := index.ParseHash(k, l)
		if err != nil {
			return nil, fasthttp.StatusBadRequest, fmt.Errorf("line %d: %w", line, err)
		}
		if len(hashes) == maxHashes {
			return nil, fasthttp.StatusRequestEntityTooLarge,
				fmt.Errorf("line %d: more than %s hashes in one request", line, strconv.Itoa(maxHashes))
		}
		hashes = append(hashes, h)
	}
	return hashes, fasthttp.StatusOK, nil
}
