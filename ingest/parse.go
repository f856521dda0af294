package ingest

import (
	"bytes"

	"github.com/pwndex/pwndex/index"
)

// maxCountDigits bounds a count's decimal digits: 19 digits hold every
// count up to index.MaxCount (10^19-1) and cannot overflow a uint64. A
// longer count is out of range and the line is rejected as ReasonBadCount.
const maxCountDigits = 19

// hexTab maps an ASCII byte to its hexadecimal value, or 0xff; built from
// index.HexValue so that both packages agree on what hex is.
var hexTab = func() (t [256]byte) {
	for i := range t {
		v, ok := index.HexValue(byte(i))
		if !ok {
			v = 0xff
		}
		t[i] = v
	}
	return t
}()

// decodeHex decodes 2*len(dst) hex digits of src into dst and reports
// whether they were all hex. It checks once at the end, without branches in
// the loop.
func decodeHex(dst, src []byte) bool {
	if len(src) < 2*len(dst) {
		return false
	}
	src = src[:2*len(dst)]
	var bad byte
	for i := range dst {
		a, b := hexTab[src[2*i]], hexTab[src[2*i+1]]
		bad |= a | b
		dst[i] = a<<4 | b
	}
	return bad&0xf0 == 0
}

// trimEOL removes a trailing "\n", "\r\n" or "\r".
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// parseCount parses a positive decimal count of at most maxCountDigits
// digits (so at most index.MaxCount) without allocating.
func parseCount(s []byte) (uint64, bool) {
	if len(s) == 0 || len(s) > maxCountDigits {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	return n, n > 0 && n <= index.MaxCount
}

// ParseHashCount parses one line of a Pwned Passwords download of kind k
// (index.KindSHA1 or index.KindNTLM): the full hash in hex (either case), a
// colon and a positive decimal count, optionally followed by "\r" and/or
// "\n". It does not allocate.
func ParseHashCount(k index.Kind, line []byte) (h index.Hash, count uint64, r Reason) {
	line = trimEOL(line)
	if len(line) == 0 {
		return h, 0, ReasonEmpty
	}
	n := k.HexLen()
	if len(line) <= n || line[n] != ':' {
		return h, 0, ReasonBadHash
	}
	if !decodeHex(h[:n/2], line[:n]) {
		return index.Hash{}, 0, ReasonBadHash
	}
	count, ok := parseCount(line[n+1:])
	if !ok {
		return index.Hash{}, 0, ReasonBadCount
	}
	return h, count, ReasonNone
}

// ParseSuffixCount parses one line of a Pwned Passwords per-prefix file of
// kind k: the hash's hex digits after the 5-digit prefix (35 for SHA-1, 27
// for NTLM, either case), a colon and a positive decimal count, optionally
// followed by "\r" and/or "\n". prefix is the file's prefix (< 1<<20); the
// returned hash is the full hash. It does not allocate.
func ParseSuffixCount(k index.Kind, prefix uint32, line []byte) (h index.Hash, count uint64, r Reason) {
	line = trimEOL(line)
	if len(line) == 0 {
		return h, 0, ReasonEmpty
	}
	n := k.HexLen() - 5
	if len(line) <= n || line[n] != ':' {
		return h, 0, ReasonBadHash
	}
	d0 := hexTab[line[0]]
	h[0] = byte(prefix >> 12)
	h[1] = byte(prefix >> 4)
	h[2] = byte(prefix&15)<<4 | d0&15
	if !decodeHex(h[3:3+(n-1)/2], line[1:n]) || d0 > 15 {
		return index.Hash{}, 0, ReasonBadHash
	}
	count, ok := parseCount(line[n+1:])
	if !ok {
		return index.Hash{}, 0, ReasonBadCount
	}
	return h, count, ReasonNone
}

// ParseHashLine parses one line of a pre-hashed identifier list: 40 hex
// digits of SHA-1 (either case), optionally surrounded by spaces or tabs and
// followed by "\r" and/or "\n". It does not allocate.
func ParseHashLine(line []byte) (index.Hash, Reason) {
	line = trimEOL(line)
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
	}
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	var h index.Hash
	if len(line) == 0 {
		return h, ReasonEmpty
	}
	if len(line) != 40 || !decodeHex(h[:], line) {
		return index.Hash{}, ReasonBadHash
	}
	return h, ReasonNone
}

// comboSeps are the separators accepted between the e-mail and the password
// of a combo line. None can occur in an e-mail domain.
const comboSeps = ":;\t|,"

// SplitCombo splits a combo-list line "email:password" (or with ';', tab,
// '|' or ',') at the first separator after the e-mail's '@'; the password
// may contain separators. A line without a separator is an e-mail without a
// password. The returned slices alias line; "\r\n" is removed. It does not
// allocate.
func SplitCombo(line []byte) (email, password []byte, r Reason) {
	line = trimEOL(line)
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, nil, ReasonEmpty
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return nil, nil, ReasonBinary
	}
	at := bytes.IndexByte(line, '@')
	if at < 0 || bytes.ContainsAny(line[:at], comboSeps) {
		return nil, nil, ReasonBadEmail
	}
	sep := bytes.IndexAny(line[at:], comboSeps)
	if sep < 0 {
		return line, nil, ReasonNone
	}
	return line[:at+sep], line[at+sep+1:], ReasonNone
}
