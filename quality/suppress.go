package quality

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// OptOutList is a buyer's suppression list: SHA-1 hashes of normalised
// e-mail addresses and E.164 phone numbers, as index/ident computes them
// (ident.Email, ident.PhoneHash). Vet checks rows against it without the
// plaintext ever being exchanged.
type OptOutList struct {
	set map[index.Hash]struct{}
}

// LoadOptOut reads an opt-out list: one 40-hex-digit SHA-1 a line (either
// case), optionally prefixed by "email:" or "phone:"; blank lines and lines
// starting with '#' are ignored. Errors name the file and line.
func LoadOptOut(r io.Reader, name string) (*OptOutList, error) {
	l := &OptOutList{set: make(map[index.Hash]struct{})}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if i := strings.IndexByte(s, ':'); i >= 0 {
			switch strings.ToLower(s[:i]) {
			case "email", "phone":
				s = s[i+1:]
			}
		}
		h, err := index.ParseHash(index.KindEmail, []byte(s))
		if err != nil {
			return nil, &InputError{File: name, Line: line, Err: fmt.Errorf("opt-out entry: %w (want a SHA-1 in hex)", err)}
		}
		l.set[h] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{File: name, Line: line + 1, Err: fmt.Errorf("reading opt-out list: %w", err)}
	}
	return l, nil
}

// NewOptOutList builds a list from hashes.
func NewOptOutList(hashes ...index.Hash) *OptOutList {
	l := &OptOutList{set: make(map[index.Hash]struct{}, len(hashes))}
	for _, h := range hashes {
		l.set[h] = struct{}{}
	}
	return l
}

// Len returns the number of hashes in the list.
func (l *OptOutList) Len() int { return len(l.set) }

// Contains reports whether h is on the list.
func (l *OptOutList) Contains(h *index.Hash) bool {
	_, ok := l.set[*h]
	return ok
}

// OptOutLine returns the opt-out list line for a normalised identifier
// (e-mail or E.164), for buyers building their list.
func OptOutLine(normalized string) string {
	h := ident.HashNormalized(normalized)
	return h.Hex(index.KindEmail)
}

// ExposureIndex is what vet needs of an index (satisfied by *index.Index
// opened read-only).
type ExposureIndex interface {
	Lookup(k index.Kind, h *index.Hash) (index.Entry, bool, error)
	BreachByID(id index.BreachID) (index.Breach, bool)
}
