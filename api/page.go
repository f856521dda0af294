package api

import (
	"embed"

	"github.com/valyala/fasthttp"
)

// webFS holds the check page. Everything it needs is embedded: it loads no
// outside asset, and its Content-Security-Policy forbids any.
//
//go:embed web/index.html web/app.js web/app.css
var webFS embed.FS

type pageAsset struct {
	contentType string
	body        []byte
}

// pageAssets maps a request path to an embedded file.
var pageAssets = func() map[string]pageAsset {
	load := func(name string) []byte {
		b, err := webFS.ReadFile(name)
		if err != nil {
			panic("api: embedded page asset missing: " + name)
		}
		return b
	}
	return map[string]pageAsset{
		"/":           {"text/html; charset=utf-8", load("web/index.html")},
		"/index.html": {"text/html; charset=utf-8", load("web/index.html")},
		"/app.js":     {"text/javascript; charset=utf-8", load("web/app.js")},
		"/app.css":    {"text/css; charset=utf-8", load("web/app.css")},
	}
}()

const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

func isPagePath(path []byte) bool {
	_, ok := pageAssets[string(path)]
	return ok
}

// servePage serves the embedded check page and its assets.
func servePage(ctx *fasthttp.RequestCtx, path []byte) {
	if !ctx.IsGet() && !ctx.IsHead() {
		methodNotAllowed(ctx, []byte("GET, HEAD"))
		return
	}
	a := pageAssets[string(path)]
	h := &ctx.Response.Header
	h.SetContentType(a.contentType)
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.SetCanonical(hXCTO, vNoSniff)
	h.Set("X-Frame-Options", "DENY")
	h.SetCanonical(hCacheControl, []byte("no-cache"))
	ctx.Response.SetBodyRaw(a.body)
}
