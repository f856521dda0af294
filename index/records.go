package index

import "fmt"

// IdentifierRecords returns the binary records of identifier kind k whose
// hashes start with p, for prefixes of 1 to 5 hex digits: a contiguous
// slice of the generation's range file, without copying or allocating.
// Records are hash[HashLen] uvarint(n) uvarint(breachID)*n, in hash
// order. The slice aliases read-only memory that stays valid until the
// index is closed; use DecodeIdentifierRecord to walk it. A bucket that
// fails its checksum gives an error wrapping ErrRangeCorrupt, never bytes.
func (ix *Index) IdentifierRecords(k Kind, p Prefix) ([]byte, error) {
	if k.IsPassword() || !k.Valid() {
		return nil, fmt.Errorf("index: %s is not an identifier kind", k)
	}
	if p.Digits < 1 || p.Digits > 5 || p.Value>>(4*uint(p.Digits)) != 0 {
		return nil, fmt.Errorf("index: identifier records prefix of %d digits, want 1 to 5", p.Digits)
	}
	g := ix.gen(k)
	if g == nil {
		return nil, nil
	}
	shift := 4 * uint(5-p.Digits)
	lo, hi := p.Value<<shift, (p.Value+1)<<shift
	return g.records().span(lo, hi)
}

// DecodeIdentifierRecord splits the first record of a records slice of
// kind k: its hash, the breach IDs appended to ids, and the rest.
func DecodeIdentifierRecord(k Kind, body []byte, ids []BreachID) (h Hash, out []BreachID, rest []byte, err error) {
	hl := k.HashLen()
	if len(body) < hl {
		return h, ids, nil, fmt.Errorf("index: corrupt range body")
	}
	copy(h[:], body[:hl])
	out, rest, err = decodeIDs(ids, body[hl:])
	if err != nil {
		return h, out, nil, fmt.Errorf("index: corrupt range body: %w", err)
	}
	return h, out, rest, nil
}
