// Package api serves a pwndex index over HTTP with fasthttp.
//
// Routes:
//
//	GET  /range/{5 hex}                         password range, byte-compatible with api.pwnedpasswords.com
//	GET  /api/v3/breachedaccount/range/{6 hex}  e-mail range (hibp-api-key with scope "range")
//	GET  /api/v3/phone/range/{6 hex}            phone range (hibp-api-key with scope "range")
//	GET  /api/v3/breachedaccount/{account}      HIBP account search (scope "search" or "range"; sees the address)
//	GET  /api/v3/pasteaccount/{account}         404: pwndex holds no pastes
//	GET  /api/v3/breaches[?domain=&isSpamList=] breach catalog, HIBP field names
//	GET  /api/v3/breach/{name}                  one breach
//	GET  /api/v3/latestbreach, /api/v3/dataclasses
//	GET  /range/search/{6 hex}                  Mozilla Monitor's enterprise e-mail range (Hibp-Enterprise-Api-Key)
//	POST /range/subscribe                       its range subscription (201 new, 200 known; no callbacks)
//	POST /v1/audit?kind=email|phone|sha1|ntlm   full hashes, one per line (scope "audit")
//	GET  /v1/range/{email|phone}/{1..6 hex}     compact binary range for audits (scope "audit")
//	GET  /api/v3/subscription/status            the key's plan, HIBP's shape (Rpm)
//	POST /v1/private/{email|phone|credential}   private lookup, RFC 9497 VOPRF (scope "range"; api/README.md)
//	GET  /v1/private/key                        the OPRF public key and bucket prefix lengths
//	POST (Options.Uploads)                      upload hooks injected by the caller
//	GET  /healthz /readyz /metrics              operations (Prometheus text format)
//	GET  /                                      the check page (hashing in the browser)
//
// Password range bodies are precomputed by the index (identity, and gzip
// and brotli when the index was built with copies: `ingest --compress`);
// the range handler picks one by Accept-Encoding, falling back to identity
// when the copy does not exist, and hands the index's read-only slice to
// fasthttp without copying or allocating. Nothing is compressed per request.
// Padded responses (Add-Padding: true) append 10-209 rows with count 0 and
// random suffixes: a random window of a table of random rows formatted
// once per process, so nothing is generated per request; to a client
// accepting gzip they are served as the precomputed gzip member of the
// real rows followed by a stored (not compressed) gzip member of the
// padding, so nothing is compressed per request. Options.PadRows pads
// every response to one fixed row count and size instead (identity only,
// generated per request).
//
// The only copy of a range body is fasthttp's, into the connection's
// write buffer (Options.WriteBufferSize, 64 KiB), sized so that a whole
// dense range response, headers and padding included, leaves in one
// write system call.
//
// The contract, route by route, with HIBP's texts and their sources, is in
// api/README.md.
//
// Privacy: the server never logs client addresses, request URIs, hash
// prefixes, accounts or API keys. fasthttp's own logger is replaced by a redacting
// one that keeps only the message and a coarse error class.
package api
