package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pwndex/pwndex/index"
)

// ErrBadResponse is wrapped by errors about a malformed range response.
var ErrBadResponse = errors.New("malformed range response")

// rangeRow is one element of an identifier range response:
// {"hashSuffix":"<34 upper hex>","websites":["<breach Name>",...]}.
type rangeRow struct {
	HashSuffix string   `json:"hashSuffix"`
	Websites   []string `json:"websites"`
}

// ParseRange parses the JSON body of an identifier range response for the
// 6-hex prefix and appends its entries to dst. Suffixes must be 34 hex
// digits (either case); an empty body, "null" or "[]" means no entry.
func ParseRange(body []byte, k index.Kind, prefix uint32, dst []RangeEntry) ([]RangeEntry, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return dst, nil
	}
	var rows []rangeRow
	if err := json.Unmarshal(body, &rows); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	want := k.HexLen() - RangeDigits
	var hexbuf [40]byte
	pre := index.Prefix{Value: prefix & (1<<24 - 1), Digits: RangeDigits}.AppendHex(hexbuf[:0])
	for i := range rows {
		s := rows[i].HashSuffix
		if len(s) != want {
			return dst, fmt.Errorf("%w: row %d: hash suffix of %d characters, want %d", ErrBadResponse, i+1, len(s), want)
		}
		h, err := index.ParseHash(k, append(pre[:RangeDigits], s...))
		if err != nil {
			return dst, fmt.Errorf("%w: row %d: hash suffix: %v", ErrBadResponse, i+1, err)
		}
		dst = append(dst, RangeEntry{Hash: h, Breaches: rows[i].Websites})
	}
	return dst, nil
}
