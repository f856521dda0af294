// Package ident is pwndex's one normaliser and hasher of identifiers and
// passwords. Ingest, vet and audit all call it, so the same person always
// hashes the same way.
//
// E-mail: trimmed, lower-cased, the domain converted from IDN to ASCII
// (punycode, IDNA2008 lookup profile), then SHA-1 of the result, as Have I
// Been Pwned does for its e-mail ranges. Phone: parsed with
// github.com/nyaruka/phonenumbers (region from a country hint, default FR),
// formatted E.164 ("+33612345678"), then SHA-1 of that string. Passwords:
// SHA-1 of the UTF-8 bytes and NTLM (MD4 of UTF-16LE), as Pwned Passwords.
package ident

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	//lint:ignore SA1019 NTLM is MD4 of UTF-16LE by definition.
	"golang.org/x/crypto/md4"
	"golang.org/x/net/idna"

	"github.com/pwndex/pwndex/index"
)

// DefaultRegion is the region assumed for phone numbers without a country
// hint or an international prefix.
const DefaultRegion = "FR"

// Errors returned by the normalisers. Callers map them to reason codes.
var (
	ErrEmpty       = errors.New("empty")
	ErrEmailSyntax = errors.New("invalid e-mail syntax")
	ErrEmailDomain = errors.New("invalid e-mail domain")
	ErrPhoneParse  = errors.New("unparseable phone number")
	ErrPhoneValid  = errors.New("invalid phone number")
)

var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.StrictDomainName(false))

// NormalizeEmail returns the canonical form of an e-mail address: trimmed of
// spaces and angle brackets, lower-cased, with an ASCII (punycode) domain.
// It checks only what canonicalisation needs (one local part, one domain
// with a dot, no spaces); quality applies the stricter vetting rules.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmpty
	}
	if !utf8.ValidString(s) {
		return "", ErrEmailSyntax
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrEmailSyntax
	}
	local, domain := s[:at], s[at+1:]
	if strings.ContainsAny(local, " \t\r\n\"<>,;") || strings.ContainsRune(local, '@') || len(local) > 64 {
		return "", ErrEmailSyntax
	}
	domain = strings.TrimSuffix(domain, ".")
	ascii := domain
	if needsIDNA(domain) {
		var err error
		ascii, err = idnaProfile.ToASCII(domain)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrEmailDomain, err)
		}
	}
	ascii = strings.ToLower(ascii)
	if !validASCIIDomain(ascii) {
		return "", ErrEmailDomain
	}
	return strings.ToLower(local) + "@" + ascii, nil
}

func needsIDNA(d string) bool {
	for i := 0; i < len(d); i++ {
		if d[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// validASCIIDomain checks labels of letters, digits and inner hyphens, at
// least two labels, total length <= 253.
func validASCIIDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := 0
	for _, l := range strings.Split(d, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
		labels++
	}
	return labels >= 2
}

// Phone is a parsed, valid phone number.
type Phone struct {
	E164   string // "+33612345678"
	Region string // region the number belongs to, e.g. "FR", "BE"
	Type   phonenumbers.PhoneNumberType
}

// ParsePhone parses a phone number written nationally for region (an ISO
// 3166 alpha-2 code; empty means DefaultRegion) or internationally, and
// checks it is a valid number. Region hints are upper-cased.
func ParsePhone(s, region string) (Phone, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Phone{}, ErrEmpty
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		region = DefaultRegion
	}
	// "0033 6 .." and "+33 (0)6 .." are common in French files.
	s = strings.Replace(s, "(0)", "", 1)
	if c, ok := compactPhone(s); ok {
		if p, ok := fastPhone(c, region); ok {
			return p, nil
		}
		// Same number, fewer bytes: phonenumbers' extension regexp
		// backtracks over the whole input, so separators cost time.
		s = c
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return Phone{}, fmt.Errorf("%w: %v", ErrPhoneParse, err)
	}
	// GetNumberType != UNKNOWN is IsValidNumber's own test (both match the
	// national number against the region's patterns); calling it once
	// instead of both halves the metadata work.
	typ := phonenumbers.GetNumberType(num)
	if typ == phonenumbers.UNKNOWN {
		return Phone{}, ErrPhoneValid
	}
	return Phone{
		E164:   phonenumbers.Format(num, phonenumbers.E164),
		Region: phonenumbers.GetRegionCodeForNumber(num),
		Type:   typ,
	}, nil
}

// compactPhone removes the usual separators (spaces, no-break spaces, dots,
// dashes, slashes, parentheses) from a number made only of digits, those
// separators and a leading '+'. Anything else (letters, "ext.", "poste")
// is left to phonenumbers: ok is false.
func compactPhone(s string) (string, bool) {
	if len(s) > 64 { // phonenumbers refuses over-long inputs (250 bytes)
		return "", false
	}
	var buf [32]byte
	b := buf[:0]
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if len(b) == len(buf) {
				return "", false
			}
			b = append(b, byte(r))
		case r == '+' && len(b) == 0 && i == strings.IndexByte(s, '+'):
			b = append(b, '+')
		case r == ' ' || r == '.' || r == '-' || r == '/' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", false
		}
	}
	return string(b), len(b) > 0
}

// NormalizePhone returns the E.164 form of a valid phone number.
func NormalizePhone(s, region string) (string, error) {
	p, err := ParsePhone(s, region)
	return p.E164, err
}

// HashNormalized returns the SHA-1 of an already normalised identifier.
func HashNormalized(norm string) index.Hash {
	return index.Hash(sha1.Sum([]byte(norm)))
}

// Email normalises an e-mail address and returns its hash and normal form.
func Email(s string) (index.Hash, string, error) {
	n, err := NormalizeEmail(s)
	if err != nil {
		return index.Hash{}, "", err
	}
	return HashNormalized(n), n, nil
}

// Credential returns the hash of an e-mail+password pair as stored in
// index.KindCredential records: SHA-1 of the normalised address (see
// NormalizeEmail), one zero byte, and the password's bytes as given.
func Credential(normEmail string, password []byte) index.Hash {
	h := sha1.New()
	h.Write([]byte(normEmail))
	h.Write([]byte{0})
	h.Write(password)
	var out index.Hash
	h.Sum(out[:0])
	return out
}

// PhoneHash normalises a phone number and returns its hash and E.164 form.
func PhoneHash(s, region string) (index.Hash, string, error) {
	n, err := NormalizePhone(s, region)
	if err != nil {
		return index.Hash{}, "", err
	}
	return HashNormalized(n), n, nil
}

// PasswordSHA1 returns the SHA-1 of the password's bytes (Pwned Passwords).
func PasswordSHA1(pw []byte) index.Hash { return index.Hash(sha1.Sum(pw)) }

// PasswordNTLM returns the NTLM hash (MD4 of UTF-16LE) of a UTF-8 password,
// in the first 16 bytes of the Hash. Invalid UTF-8 bytes map to U+FFFD.
func PasswordNTLM(pw []byte) index.Hash {
	var buf [256]byte
	u := buf[:0]
	for len(pw) > 0 {
		r, n := utf8.DecodeRune(pw)
		pw = pw[n:]
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			u = append(u, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		u = append(u, byte(r), byte(r>>8))
	}
	m := md4.New()
	m.Write(u)
	var h index.Hash
	m.Sum(h[:0])
	return h
}

// fastRegions are the regions whose numbers fastPhone may build without
// phonenumbers.Parse: each has the national (trunk) prefix "0", no
// national-prefix transform rule, and national numbers that never start
// with 0. For them Parse reduces to "strip one leading 0" (national form)
// or "split the country code" (international form), which fastPhone does
// by hand; FuzzFastPhone checks it against Parse.
var fastRegions = map[string]int32{
	"FR": 33, "GP": 590, "MQ": 596, "GF": 594, "RE": 262, "YT": 262,
	"BE": 32, "CH": 41, "DE": 49, "NL": 31, "GB": 44,
}

// fastCodes are the country codes of fastRegions.
var fastCodes = map[int32]bool{33: true, 590: true, 596: true, 594: true, 262: true, 32: true, 41: true, 49: true, 31: true, 44: true}

// fastPhone parses a compacted number (digits with an optional leading
// '+') for the common cases without phonenumbers.Parse, which costs most
// of a validation (regexps over the raw input). It answers only for valid
// numbers; ok is false otherwise and the caller takes the library path, so
// errors are always the library's.
func fastPhone(c, region string) (Phone, bool) {
	var cc int32
	var nsn string
	switch {
	case strings.HasPrefix(c, "+") || strings.HasPrefix(c, "00") && fastRegions[region] != 0:
		// "00" is the international call prefix of every fastRegions
		// region, not of others (the US dials 011).
		d := strings.TrimPrefix(c, "+")
		if d == c {
			d = c[2:]
		}
		if d == "" || d[0] == '0' { // country codes never start with 0
			return Phone{}, false
		}
		for l := 1; l <= 3 && l < len(d); l++ {
			v := int32(0)
			for _, ch := range d[:l] {
				v = v*10 + int32(ch-'0')
			}
			if phonenumbers.GetRegionCodeForCountryCode(int(v)) != "ZZ" {
				cc, nsn = v, d[l:]
				break
			}
		}
		if !fastCodes[cc] {
			return Phone{}, false
		}
	default:
		var ok bool
		if cc, ok = fastRegions[region]; !ok || len(c) < 2 || c[0] != '0' {
			return Phone{}, false
		}
		nsn = c[1:]
	}
	if len(nsn) < 4 || len(nsn) > 15 || nsn[0] == '0' {
		return Phone{}, false
	}
	region, typ, ok := typeOf(cc, nsn)
	if !ok || typ == phonenumbers.UNKNOWN {
		return Phone{}, false
	}
	return Phone{E164: "+" + strconv.Itoa(int(cc)) + nsn, Region: region, Type: typ}, true
}
