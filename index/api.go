package index

import (
	"context"
	"log/slog"
	"time"
)

// FormatVersion is the on-disk format version written in the metadata and in
// every range and filter file header. Open refuses other versions.
const FormatVersion = 1

// DefaultFalsePositiveRate is the membership filters' false-positive rate
// when Options leaves it zero, as sized: at 1e-3 a filter costs 14.4 bits
// a key. The blocked filters of current generations (blockfilter.go) then
// let about 1.5 absent lookups in a thousand through to a lookup in the
// range file or Badger (~1-2 µs): a few ns on average, while 1e-6 would
// double the filter's memory.
const DefaultFalsePositiveRate = 1e-3

// Options configures Open.
type Options struct {
	// Dir is the index directory (created if missing unless ReadOnly).
	Dir string
	// FalsePositiveRate sizes the Bloom filters built by later commits.
	FalsePositiveRate float64
	// ReadOnly opens the index for serving and auditing only.
	ReadOnly bool
	// Logger receives operational messages (never hashes or identifiers).
	Logger *slog.Logger
	// Kinds, when not empty, limits a ReadOnly open to these kinds: the
	// others' filters and range files are not loaded (an audit needs only
	// e-mail and phone), and reads of them find nothing.
	Kinds []Kind
	// Lenient, with ReadOnly, opens an index whose generations are damaged:
	// a generation that fails to open is left out, and Check reports why,
	// instead of Open failing. For `pwndex check`; readers leave it false.
	Lenient bool
}

// Meta describes the committed state of an index.
type Meta struct {
	FormatVersion int             `json:"formatVersion"`
	Version       uint64          `json:"version"` // incremented by every commit
	BuiltAt       time.Time       `json:"builtAt"` // time of the last commit
	Counts        map[Kind]uint64 `json:"counts"`  // records per kind
	Breaches      int             `json:"breaches"`
}

// Encoding selects a precomputed representation of a password range body.
type Encoding uint8

// Encodings of precomputed password range bodies.
const (
	Identity Encoding = iota
	Gzip
	Brotli
)

// APIKey is an API key's public description. The secret itself is never
// stored, only its SHA-256.
type APIKey struct {
	Name          string    `json:"name"`
	Scopes        []string  `json:"scopes"`        // e.g. "range", "sensitive", "audit"
	RatePerMinute int       `json:"ratePerMinute"` // 0 means the server default
	Created       time.Time `json:"created"`
}

// HasScope reports whether the key carries scope s.
func (k *APIKey) HasScope(s string) bool {
	for _, x := range k.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// BuildOptions configures a Builder.
type BuildOptions struct {
	// SourceID fingerprints the input (e.g. "hibp-sha1:<sha256 of file>").
	// Commit records it; HasSource reports it afterwards, so callers can make
	// a re-run of the same input a no-op.
	SourceID string
	// TempDir holds sort runs; defaults to a directory inside the index.
	TempDir string
	// MemoryBudget bounds the in-memory sort buffer in bytes (default 256 MiB).
	MemoryBudget int
	// Sorted promises that SetBase calls come in strictly increasing hash
	// order (Pwned Passwords downloads are sorted); records then stream
	// straight to the store without a sort. Out-of-order input is an error.
	Sorted bool
	// ExpectedKeys, when known, sizes the filter of a Sorted base build.
	ExpectedKeys int
	// Compress precomputes gzip and brotli password range bodies (about
	// 22 bytes per hash each at real bucket density, beside the 40 of the
	// identity text: off by default in the CLI, see README "Disk").
	Compress bool
	// KeepCompressed precomputes them also when Compress is false if the
	// kind's current generation has them: an index built with copies
	// keeps them through later ingests until one asks for neither.
	KeepCompressed bool
	// Progress, if set, is called from time to time during Commit with the
	// number of records written so far.
	Progress func(written int64)
}

// CommitStats reports what a commit wrote.
type CommitStats struct {
	Records  map[Kind]uint64 // records per rewritten kind after the commit
	Duration time.Duration
}

var _ = context.Background
