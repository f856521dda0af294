package api

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/pwndex/pwndex/index"
)

// The binary body of POST /v1/private/{kind} (api/README.md, "Binary
// bodies"): a request with Content-Type application/octet-stream is read
// in this format and answered in it. It carries raw points instead of
// base64 and may hold the elements of several buckets, which then share
// one DLEQ proof.

// ContentTypePrivateBinary selects the binary private lookup format.
const ContentTypePrivateBinary = "application/octet-stream"

// PrivateBinaryVersion is the first byte of binary requests and answers.
const PrivateBinaryVersion = 1

// MaxPrivateBuckets bounds the buckets (groups) of one binary request.
const MaxPrivateBuckets = 64

var vOctetStream = []byte(ContentTypePrivateBinary)

// PrivateBinaryRequest is a parsed binary request: Elements[i] belongs to
// bucket Prefixes[Group[i]].
type PrivateBinaryRequest struct {
	PrefixBits int
	Prefixes   []uint32
	Group      []int
	Elements   [][]byte // 33-byte compressed points (0x02 or 0x03 first)
}

// ParsePrivateBinary parses a binary request:
//
//	version     1 byte, PrivateBinaryVersion
//	prefixBits  1 byte, 0..32
//	groups      uint16, 1..MaxPrivateBuckets
//	per group:  prefix uint32, count uint16 (>= 1), count × 33-byte element
//
// Integers are big-endian; 1 to MaxPrivateBatch elements in all; nothing
// may follow the last group. Whether a point is on the curve is checked
// when it is evaluated (index.ErrBadElement).
func ParsePrivateBinary(body []byte) (PrivateBinaryRequest, error) {
	var r PrivateBinaryRequest
	bad := func(format string, a ...any) (PrivateBinaryRequest, error) {
		return PrivateBinaryRequest{}, fmt.Errorf("%w: "+format, append([]any{errPrivateBody}, a...)...)
	}
	if len(body) > maxPrivateBody {
		return bad("body larger than %d bytes", maxPrivateBody)
	}
	if len(body) < 4 {
		return bad("binary body of %d bytes is too short", len(body))
	}
	if body[0] != PrivateBinaryVersion {
		return bad("binary format version %d (want %d)", body[0], PrivateBinaryVersion)
	}
	r.PrefixBits = int(body[1])
	if r.PrefixBits > 32 {
		return bad("prefixBits %d out of range", r.PrefixBits)
	}
	groups := int(binary.BigEndian.Uint16(body[2:]))
	if groups == 0 || groups > MaxPrivateBuckets {
		return bad("%d buckets (want 1 to %d)", groups, MaxPrivateBuckets)
	}
	rest := body[4:]
	r.Prefixes = make([]uint32, 0, groups)
	for g := range groups {
		if len(rest) < 6 {
			return bad("bucket %d: truncated header", g)
		}
		prefix := binary.BigEndian.Uint32(rest)
		count := int(binary.BigEndian.Uint16(rest[4:]))
		rest = rest[6:]
		if count == 0 {
			return bad("bucket %d has no element", g)
		}
		if len(r.Elements)+count > MaxPrivateBatch {
			return bad("more than %d elements", MaxPrivateBatch)
		}
		if len(rest) < 33*count {
			return bad("bucket %d: %d elements announced, %d bytes left", g, count, len(rest))
		}
		for i := range count {
			e := rest[33*i : 33*i+33 : 33*i+33]
			if e[0] != 2 && e[0] != 3 {
				return bad("bucket %d element %d is not a compressed point", g, i)
			}
			r.Elements = append(r.Elements, e)
			r.Group = append(r.Group, g)
		}
		rest = rest[33*count:]
		r.Prefixes = append(r.Prefixes, prefix)
	}
	if len(rest) != 0 {
		return bad("%d bytes after the last bucket", len(rest))
	}
	return r, nil
}

// appendPrivateBinary encodes an answer:
//
//	version     1 byte, PrivateBinaryVersion
//	keyID       8 bytes (the 16 hex digits of GET /v1/private/key, raw)
//	prefixBits  1 byte
//	n           uint16, then n × 33-byte evaluated elements, request order
//	proof       64 bytes (c, s)
//	buckets     uint16, one per request bucket, in order; each:
//	            uvarint count, then count × (value, uvarint k, k × uvarint breach ID)
//	names       uvarint count, then count × (uvarint ID, uvarint len, UTF-8 name)
//
// Values have index.PrivateValueLen bytes (valueBytes in GET
// /v1/private/key). buckets[i] lists the visible entries of bucket i (see
// PrivateEntry); names covers every ID they carry.
func appendPrivateBinary(dst []byte, ans *index.PrivateAnswer, buckets [][]PrivateBinaryEntry, names map[index.BreachID]string) ([]byte, error) {
	kid, err := hex.DecodeString(ans.KeyID)
	if err != nil || len(kid) != 8 {
		return nil, fmt.Errorf("api: key ID %q is not 16 hex digits", ans.KeyID)
	}
	dst = append(dst, PrivateBinaryVersion)
	dst = append(dst, kid...)
	dst = append(dst, byte(ans.Bits))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(ans.Evaluated)))
	for _, e := range ans.Evaluated {
		if len(e) != 33 {
			return nil, fmt.Errorf("api: evaluated element of %d bytes", len(e))
		}
		dst = append(dst, e...)
	}
	if len(ans.Proof) != 64 {
		return nil, fmt.Errorf("api: proof of %d bytes", len(ans.Proof))
	}
	dst = append(dst, ans.Proof...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(buckets)))
	for _, b := range buckets {
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		for _, e := range b {
			dst = append(dst, e.Value[:]...)
			dst = binary.AppendUvarint(dst, uint64(len(e.Breaches)))
			for _, id := range e.Breaches {
				dst = binary.AppendUvarint(dst, uint64(id))
			}
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, id := range slices.Sorted(maps.Keys(names)) {
		n := names[id]
		dst = binary.AppendUvarint(dst, uint64(id))
		dst = binary.AppendUvarint(dst, uint64(len(n)))
		dst = append(dst, n...)
	}
	return dst, nil
}

// PrivateBinaryEntry is one visible keyed value of a binary answer.
type PrivateBinaryEntry struct {
	Value    [index.PrivateValueLen]byte
	Breaches []index.BreachID
}

// isPrivateBinary reports whether a Content-Type selects the binary format.
func isPrivateBinary(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), vOctetStream)
}
