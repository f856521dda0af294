// Package index holds pwndex's breach index: the domain types shared by
// every other package (kinds, fixed-size hashes, prefixes, breaches) and the
// on-disk store that keeps only hashes of identifiers and passwords.
//
// No type in this package can hold a plaintext identifier or password: a
// Hash is a fixed-size digest and a Breach describes an incident, never a
// person. Normalisation and hashing of identifiers live in index/ident.
package index

import (
	"errors"
	"fmt"
)

// Kind is the kind of hashed value a record holds. The numbering is part of
// the on-disk format and never changes.
type Kind uint8

// Kinds of records. Do not renumber: the values are stored on disk.
const (
	KindSHA1  Kind = 1 // password, SHA-1 of the UTF-8 password (Pwned Passwords).
	KindNTLM  Kind = 2 // password, MD4 of the UTF-16LE password (Pwned Passwords NTLM).
	KindEmail Kind = 3 // e-mail address, SHA-1 of the normalised address.
	KindPhone Kind = 4 // phone number, SHA-1 of the E.164 form.
	// KindCredential is an e-mail+password pair seen together in a breach
	// dump: SHA-1 of the normalised address, a zero byte and the password
	// (ident.Credential). It is served only through the private (OPRF)
	// lookups, never as a range.
	KindCredential Kind = 5
)

// Kinds lists every valid kind in numeric order.
var Kinds = []Kind{KindSHA1, KindNTLM, KindEmail, KindPhone, KindCredential}

// ErrBadKind is returned by ParseKind for an unknown kind name.
var ErrBadKind = errors.New("unknown kind")

// String returns the kind's stable name: sha1, ntlm, email, phone or
// credential.
func (k Kind) String() string {
	switch k {
	case KindSHA1:
		return "sha1"
	case KindNTLM:
		return "ntlm"
	case KindEmail:
		return "email"
	case KindPhone:
		return "phone"
	case KindCredential:
		return "credential"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return k >= KindSHA1 && k <= KindCredential }

// IsPassword reports whether records of kind k are password hashes with
// occurrence counts (as opposed to identifiers with breach lists).
func (k Kind) IsPassword() bool { return k == KindSHA1 || k == KindNTLM }

// HashLen returns the number of meaningful bytes in a Hash of kind k:
// 16 for NTLM, 20 for the SHA-1 based kinds.
func (k Kind) HashLen() int {
	if k == KindNTLM {
		return 16
	}
	return 20
}

// HexLen returns the length of a full hash of kind k in hexadecimal.
func (k Kind) HexLen() int { return 2 * k.HashLen() }

// RangeDigits returns the number of hex digits in a range prefix for kind k:
// 5 for passwords (api.pwnedpasswords.com), 6 for e-mail and phone ranges
// (HIBP's breachedaccount/range).
func (k Kind) RangeDigits() int {
	if k.IsPassword() {
		return 5
	}
	return 6
}

// ParseKind parses a kind name as returned by Kind.String.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want sha1, ntlm, email, phone or credential)", ErrBadKind, s)
}
