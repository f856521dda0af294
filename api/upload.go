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
		ctx.SetConnectionClose()
		textError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("Request body of %d bytes exceeds the limit of %d", cl, limit))
		return
	}
	// The key is checked on the headers, before any body byte is read.
	if u.Scope != "" {
		if _, ok := s.authorize(ctx, u.Scope); !ok {
			return
		}
	}
	body, release, err := s.readBody(ctx, limit)
	defer release()
	if err != nil {
		bodyFailed(ctx, err, textError)
		return
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
