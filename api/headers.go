package api

import (
	"bytes"

	"github.com/pwndex/pwndex/index"
)

// Header parsers for outside input. None of them allocates.

// trimOWS trims HTTP optional white space (spaces and tabs).
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextItem splits a comma-separated header value.
func nextItem(h []byte) (item, rest []byte) {
	if i := bytes.IndexByte(h, ','); i >= 0 {
		return h[:i], h[i+1:]
	}
	return h, nil
}

// qualityZero reports whether the parameters of an Accept-Encoding item
// carry q=0 (the coding is refused).
func qualityZero(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, nil
		}
		p = trimOWS(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') {
			continue
		}
		v := trimOWS(p[1:])
		if len(v) == 0 || v[0] != '=' {
			continue
		}
		v = trimOWS(v[1:])
		if len(v) == 0 {
			return false
		}
		for _, c := range v {
			if c != '0' && c != '.' {
				return false
			}
		}
		return true
	}
	return false
}

// pickEncoding chooses the response encoding from an Accept-Encoding value:
// br if accepted, else gzip, else identity. "*" accepts both.
func pickEncoding(h []byte) index.Encoding {
	br, gz := acceptedCodings(h)
	switch {
	case br:
		return index.Brotli
	case gz:
		return index.Gzip
	}
	return index.Identity
}

// acceptedCodings reports whether an Accept-Encoding value accepts brotli
// and gzip (q > 0, or "*").
func acceptedCodings(h []byte) (br, gz bool) {
	for len(h) > 0 {
		var item []byte
		item, h = nextItem(h)
		name, params := item, []byte(nil)
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			name, params = item[:i], item[i+1:]
		}
		name = trimOWS(name)
		if qualityZero(params) {
			continue
		}
		switch {
		case bytes.EqualFold(name, vBr):
			br = true
		case bytes.EqualFold(name, vGzip), bytes.EqualFold(name, []byte("x-gzip")):
			gz = true
		case len(name) == 1 && name[0] == '*':
			br, gz = true, true
		}
	}
	return br, gz
}

// etagMatches reports whether an If-None-Match value matches any of the
// given entity tags, using the weak comparison of RFC 9110 13.1.2.
func etagMatches(h []byte, tags ...[]byte) bool {
	h = trimOWS(h)
	if len(h) == 1 && h[0] == '*' {
		return true
	}
	for len(h) > 0 {
		var item []byte
		item, h = nextItem(h)
		item = bytes.TrimPrefix(trimOWS(item), []byte("W/"))
		if len(item) == 0 {
			continue
		}
		for _, t := range tags {
			if bytes.Equal(item, bytes.TrimPrefix(t, []byte("W/"))) {
				return true
			}
		}
	}
	return false
}

// isTrue reports whether a header value is "true" (case-insensitive).
func isTrue(v []byte) bool { return bytes.EqualFold(trimOWS(v), []byte("true")) }
