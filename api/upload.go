package api

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"
)

// serveUpload answers a POST route injected through Options.Uploads,
// enforcing its body size limit (413) and scope.
func (s *Server) serveUpload(ctx *fasthttp.RequestCtx, u *Upload) {
	if !ctx.IsPost() {
		methodNotAllowed(ctx, []byte("POST"))
		return
	}
	limit := u.MaxBytes
	if limit <= 0 {
		limit = DefaultUploadMaxBytes
	}
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		textError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("Request body of %d bytes exceeds the limit of %d", cl, limit))
		return
	}
	body := ctx.Request.Body()
	if len(body) > limit {
		textError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("Request body of %d bytes exceeds the limit of %d", len(body), limit))
		return
	}
	if u.Scope != "" {
		if _, ok := s.authorize(ctx, u.Scope); !ok {
			return
		}
	}
	query := make(map[string]string)
	for k, v := range ctx.QueryArgs().All() {
		query[string(k)] = string(v)
	}
	status, ctype, resp := u.Handler(context.Context(ctx), body, query)
	if status == 0 {
		status = fasthttp.StatusOK
	}
	ctx.Response.SetStatusCode(status)
	if ctype != "" {
		ctx.Response.Header.SetContentType(ctype)
	}
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.SetBodyRaw(resp)
}
