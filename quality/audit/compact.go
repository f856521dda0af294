package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/pwndex/pwndex/index"
)

// compactMagic starts a compact range body (pwndex's GET /v1/range/...):
//
//	"PXR1" uvarint(N) N×(uvarint(len) name)
//	records in strictly increasing hash order:
//	    hash (HashLen bytes) uvarint(n ≥ 1) n×uvarint(index < N)
const compactMagic = "PXR1"

// compactRange is a parsed compact range body: entry i has hash hashes[i]
// and the breach names names[refs[ends[i-1]:ends[i]]].
type compactRange struct {
	names  []string
	hashes []index.Hash
	refs   []uint32
	ends   []uint32
}

func (c *compactRange) reset() {
	c.names, c.hashes, c.refs, c.ends = c.names[:0], c.hashes[:0], c.refs[:0], c.ends[:0]
}

// breaches returns the name indices of entry i.
func (c *compactRange) breaches(i int) []uint32 {
	start := uint32(0)
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.refs[start:c.ends[i]]
}

// parseCompactRange parses a compact range body of kind k for prefix p
// into c (reset first). Every hash must start with p and come after the
// one before it; every name index must name a breach of the table.
func parseCompactRange(body []byte, k index.Kind, p index.Prefix, c *compactRange) error {
	c.reset()
	if !bytes.HasPrefix(body, []byte(compactMagic)) {
		return fmt.Errorf("%w: not a compact range body", ErrBadResponse)
	}
	body = body[len(compactMagic):]
	n, w := binary.Uvarint(body)
	if w <= 0 || n > uint64(len(body)) {
		return fmt.Errorf("%w: bad name count", ErrBadResponse)
	}
	body = body[w:]
	for i := uint64(0); i < n; i++ {
		l, w := binary.Uvarint(body)
		if w <= 0 || l > uint64(len(body)-w) {
			return fmt.Errorf("%w: name %d: bad length", ErrBadResponse, i+1)
		}
		name := body[w : w+int(l)]
		if l == 0 || !utf8.Valid(name) {
			return fmt.Errorf("%w: name %d: empty or not UTF-8", ErrBadResponse, i+1)
		}
		c.names = append(c.names, string(name))
		body = body[w+int(l):]
	}
	hl := k.HashLen()
	for row := 1; len(body) > 0; row++ {
		if len(body) < hl {
			return fmt.Errorf("%w: record %d: truncated hash", ErrBadResponse, row)
		}
		var h index.Hash
		copy(h[:], body[:hl])
		body = body[hl:]
		if !p.Matches(&h) {
			return fmt.Errorf("%w: record %d: hash outside the prefix asked for", ErrBadResponse, row)
		}
		if last := len(c.hashes) - 1; last >= 0 && bytes.Compare(c.hashes[last][:hl], h[:hl]) >= 0 {
			return fmt.Errorf("%w: record %d: hashes not in increasing order", ErrBadResponse, row)
		}
		m, w := binary.Uvarint(body)
		if w <= 0 || m == 0 || m > uint64(len(body)) {
			return fmt.Errorf("%w: record %d: bad breach count", ErrBadResponse, row)
		}
		body = body[w:]
		for j := uint64(0); j < m; j++ {
			x, w := binary.Uvarint(body)
			if w <= 0 || x >= n {
				return fmt.Errorf("%w: record %d: bad breach index", ErrBadResponse, row)
			}
			body = body[w:]
			c.refs = append(c.refs, uint32(x))
		}
		c.hashes = append(c.hashes, h)
		c.ends = append(c.ends, uint32(len(c.refs)))
	}
	return nil
}
