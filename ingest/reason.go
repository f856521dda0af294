package ingest

import (
	"fmt"
	"strconv"
)

// Reason says why a line (or a field of a line) was rejected.
type Reason uint8

// Rejection reasons. ReasonNone means the line was accepted.
const (
	ReasonNone       Reason = iota
	ReasonEmpty             // blank line or empty identifier
	ReasonTooLong           // line longer than MaxLineLen
	ReasonBadHash           // wrong length or non-hexadecimal hash
	ReasonBadCount          // missing, non-decimal, zero or above index.MaxCount (10^19-1)
	ReasonDuplicate         // hash repeated in a sorted download: a note, counts are summed
	ReasonBadEmail          // e-mail address that does not normalise
	ReasonBadPhone          // phone number that does not parse or is invalid
	ReasonBadQuoting        // CSV field with unbalanced double quotes
	ReasonFieldCount        // CSV row too short to hold the identifier column
	ReasonBinary            // NUL byte in a text line
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:       "ok",
	ReasonEmpty:      "empty",
	ReasonTooLong:    "line too long",
	ReasonBadHash:    "bad hash",
	ReasonBadCount:   "bad count",
	ReasonDuplicate:  "duplicate (summed)",
	ReasonBadEmail:   "bad e-mail syntax",
	ReasonBadPhone:   "bad phone number",
	ReasonBadQuoting: "bad quoting",
	ReasonFieldCount: "missing column",
	ReasonBinary:     "binary data",
}

// String returns the reason's human name, as used in summaries.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText encodes the reason as its name (for JSON summaries).
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a reason name.
func (r *Reason) UnmarshalText(b []byte) error {
	for i, n := range reasonNames {
		if n == string(b) {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("unknown rejection reason %q", b)
}

// MaxFirstLines is how many first locations a ReasonStat keeps.
const MaxFirstLines = 10

// Location is a line of an input. File is empty for a single-file input and
// is the prefix file's name (e.g. "00A1F.txt") inside a Pwned Passwords
// directory.
type Location struct {
	File string `json:"file,omitempty"`
	Line int64  `json:"line"`
}

// String formats the location as "line 12" or "00A1F.txt:12".
func (l Location) String() string {
	if l.File == "" {
		return "line " + strconv.FormatInt(l.Line, 10)
	}
	return l.File + ":" + strconv.FormatInt(l.Line, 10)
}

// ReasonStat counts the lines rejected for one reason and keeps the first
// MaxFirstLines locations.
type ReasonStat struct {
	Reason Reason     `json:"reason"`
	Count  int64      `json:"count"`
	First  []Location `json:"first"`
}

// rejects accumulates ReasonStats without allocating after the first
// MaxFirstLines occurrences of each reason.
type rejects [numReasons]ReasonStat

func (rs *rejects) add(r Reason, file string, line int64) {
	s := &rs[r]
	s.Count++
	if len(s.First) < MaxFirstLines {
		s.First = append(s.First, Location{File: file, Line: line})
	}
}

// list returns the non-zero stats in reason order.
func (rs *rejects) list() []ReasonStat {
	var out []ReasonStat
	for i := range rs {
		if rs[i].Count > 0 {
			s := rs[i]
			s.Reason = Reason(i)
			out = append(out, s)
		}
	}
	return out
}
