package index

import (
	"errors"
	"fmt"
	"slices"
)

// Hash is a fixed-size digest. A hash of kind k occupies the first
// k.HashLen() bytes; the remaining bytes are zero. Comparing two Hashes of
// the same kind with == or bytes.Compare orders them as their hex forms.
type Hash [20]byte

// Errors returned when parsing hexadecimal hashes and prefixes.
var (
	ErrHashLength = errors.New("wrong hash length")
	ErrHashHex    = errors.New("not hexadecimal")
)

// hexVal maps an ASCII byte to its hexadecimal value, or 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
		t[c-'a'+'A'] = byte(c - 'a' + 10)
	}
	return t
}()

// HexValue returns the value of the hexadecimal digit c and whether c is one.
func HexValue(c byte) (byte, bool) {
	v := hexVal[c]
	return v, v != 0xff
}

const upperHex = "0123456789ABCDEF"

// ParseHash parses a full hash of kind k from hex (either case). It does not
// allocate.
func ParseHash(k Kind, s []byte) (Hash, error) {
	var h Hash
	if len(s) != k.HexLen() {
		return h, fmt.Errorf("%w: %d hex digits, want %d for %s", ErrHashLength, len(s), k.HexLen(), k)
	}
	for i := 0; i < len(s); i += 2 {
		a, b := hexVal[s[i]], hexVal[s[i+1]]
		if a|b == 0xff || a > 15 || b > 15 {
			return Hash{}, ErrHashHex
		}
		h[i/2] = a<<4 | b
	}
	return h, nil
}

// AppendHex appends the upper-case hex form of the first k.HashLen() bytes.
func (h *Hash) AppendHex(dst []byte, k Kind) []byte {
	for _, b := range h[:k.HashLen()] {
		dst = append(dst, upperHex[b>>4], upperHex[b&15])
	}
	return dst
}

// AppendSuffixHex appends the upper-case hex digits of h after the first
// `digits` hex digits (the range prefix), as range responses show them.
func (h *Hash) AppendSuffixHex(dst []byte, k Kind, digits int) []byte {
	n := k.HexLen()
	if digits >= n {
		return dst
	}
	l := len(dst)
	dst = slices.Grow(dst, n-digits)[:l+n-digits]
	out := dst[l:]
	i := digits
	if i%2 == 1 {
		out[0] = upperHex[h[i/2]&15]
		out = out[1:]
		i++
	}
	for j := i / 2; j < n/2; j++ {
		p := &hexPairs[h[j]]
		out[0], out[1] = p[0], p[1]
		out = out[2:]
	}
	return dst
}

// hexPairs maps a byte to its two upper-case hex digits.
var hexPairs = func() (t [256][2]byte) {
	for i := range t {
		t[i] = [2]byte{upperHex[i>>4], upperHex[i&15]}
	}
	return t
}()

// Hex returns the upper-case hex form of h for kind k.
func (h Hash) Hex(k Kind) string { return string(h.AppendHex(nil, k)) }

// Prefix returns the value of the first `digits` hex digits of h (digits <= 8).
func (h *Hash) Prefix(digits int) uint32 {
	v := uint32(h[0])<<24 | uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
	return v >> (32 - 4*uint(digits))
}

// Prefix is a range prefix: the first Digits hex digits of a hash, as the
// integer Value. Password ranges use 5 digits, identifier ranges 6.
type Prefix struct {
	Value  uint32
	Digits int
}

// Errors for prefixes, worded as api.pwnedpasswords.com words them.
var (
	//lint:ignore ST1005 worded exactly as api.pwnedpasswords.com words it.
	ErrPrefixFormat = errors.New("The hash prefix was not in a valid format")
	//lint:ignore ST1005 worded exactly as api.pwnedpasswords.com words it.
	ErrPrefixHex = errors.New("The hash prefix was not valid hexadecimal")
)

// ParsePrefix parses a prefix of exactly `digits` hex digits (either case).
// It does not allocate.
func ParsePrefix(s []byte, digits int) (Prefix, error) {
	if len(s) != digits || digits < 1 || digits > 8 {
		return Prefix{}, ErrPrefixFormat
	}
	var v uint32
	for _, c := range s {
		x := hexVal[c]
		if x > 15 {
			return Prefix{}, ErrPrefixHex
		}
		v = v<<4 | uint32(x)
	}
	return Prefix{Value: v, Digits: digits}, nil
}

// AppendHex appends the upper-case hex form of the prefix.
func (p Prefix) AppendHex(dst []byte) []byte {
	for i := p.Digits - 1; i >= 0; i-- {
		dst = append(dst, upperHex[(p.Value>>(4*uint(i)))&15])
	}
	return dst
}

// String returns the upper-case hex form of the prefix.
func (p Prefix) String() string { return string(p.AppendHex(nil)) }

// Matches reports whether h starts with the prefix.
func (p Prefix) Matches(h *Hash) bool { return h.Prefix(p.Digits) == p.Value }
