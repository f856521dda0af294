package index

import (
	"context"
	"errors"
)

var errTODO = errors.New("index: not implemented yet")

// Index is an open pwndex index. All read methods are safe for concurrent
// use; at most one Builder commits at a time.
type Index struct{}

// Open opens (creating if needed) the index in opts.Dir, removing leftovers
// of interrupted commits.
func Open(opts Options) (*Index, error) { return nil, errTODO }

// Close releases the index.
func (ix *Index) Close() error { return nil }

// Dir returns the index directory.
func (ix *Index) Dir() string { return "" }

// Meta returns the committed state.
func (ix *Index) Meta() Meta { return Meta{} }

// ETag returns a strong validator for responses derived from the index
// (quoted, changes with every commit).
func (ix *Index) ETag() string { return "" }

// MayContain tests kind k's membership filter only: false means h is
// certainly absent. It does not touch Badger and does not allocate.
func (ix *Index) MayContain(k Kind, h *Hash) bool { return false }

// Lookup returns the record for h: the filter first (a negative answer does
// not touch Badger), then Badger.
func (ix *Index) Lookup(k Kind, h *Hash) (Entry, bool, error) { return Entry{}, false, errTODO }

// PasswordRange returns the precomputed body of the password range for a
// 5-hex prefix (SUFFIX:COUNT lines, CRLF-separated, no trailing newline) in
// the given encoding. The slice aliases read-only memory: do not modify it.
// It is empty for an empty range; ok is false if the encoding was not built.
func (ix *Index) PasswordRange(k Kind, prefix uint32, enc Encoding) (body []byte, ok bool) {
	return nil, false
}

// AppendRange appends all entries of kind k whose hash starts with p, in
// hash order, and returns the extended slice.
func (ix *Index) AppendRange(dst []Entry, k Kind, p Prefix) ([]Entry, error) { return dst, errTODO }

// Breaches returns the catalog sorted by Name.
func (ix *Index) Breaches() []Breach { return nil }

// BreachByName finds a breach by Name, case-insensitively.
func (ix *Index) BreachByName(name string) (Breach, bool) { return Breach{}, false }

// BreachByID finds a breach by ID.
func (ix *Index) BreachByID(id BreachID) (Breach, bool) { return Breach{}, false }

// HasSource reports whether a commit recorded the source ID.
func (ix *Index) HasSource(id string) bool { return false }

// CreateAPIKey stores a new key and returns its secret (shown once).
func (ix *Index) CreateAPIKey(k APIKey) (secret string, err error) { return "", errTODO }

// AuthAPIKey returns the key whose secret is given.
func (ix *Index) AuthAPIKey(secret string) (APIKey, bool) { return APIKey{}, false }

// APIKeys lists the stored keys, sorted by name.
func (ix *Index) APIKeys() []APIKey { return nil }

// DeleteAPIKey removes the key with the given name.
func (ix *Index) DeleteAPIKey(name string) error { return errTODO }

// CheckReport is the result of Check.
type CheckReport struct {
	Kinds    map[Kind]KindCheck
	Problems []string
}

// KindCheck is Check's result for one kind.
type KindCheck struct {
	Records      uint64 // records in Badger
	MetaCount    uint64 // count recorded in the metadata
	RangeRecords uint64 // records found in the range files
	FilterMisses uint64 // records the filter wrongly rejects (must be 0)
	FilterBits   uint64
	FilterKeys   uint64
}

// Check validates the index: counts, filters against records and range
// files against records. Problems lists every inconsistency found.
func (ix *Index) Check(ctx context.Context) (CheckReport, error) { return CheckReport{}, errTODO }

// Builder accumulates records for one commit. Records are staged outside
// the live index; nothing is visible until Commit returns.
type Builder struct{}

// NewBaseBuilder starts a build that replaces every base count of password
// kind k (a Pwned Passwords download) with the counts given to SetBase.
// Counts added from breach dumps are kept.
func (ix *Index) NewBaseBuilder(k Kind, opts BuildOptions) (*Builder, error) { return nil, errTODO }

// NewBreachBuilder starts a build that adds one breach's records: the
// breach is upserted in the catalog by Name, identifiers gain its ID and
// password counts are increased.
func (ix *Index) NewBreachBuilder(b Breach, opts BuildOptions) (*Builder, error) {
	return nil, errTODO
}

// SetBase sets the base count of h (base builders only).
func (b *Builder) SetBase(h *Hash, count uint64) error { return errTODO }

// AddPassword adds n occurrences of password hash h of kind k (breach
// builders only).
func (b *Builder) AddPassword(k Kind, h *Hash, n uint64) error { return errTODO }

// AddIdentifier records that identifier hash h of kind k is in the breach
// (breach builders only). Adding the same hash twice is harmless.
func (b *Builder) AddIdentifier(k Kind, h *Hash) error { return errTODO }

// Commit merges the staged records into the index atomically: after a crash
// at any point the index is either as before or as after.
func (b *Builder) Commit(ctx context.Context) (CommitStats, error) { return CommitStats{}, errTODO }

// Abort discards the staged records.
func (b *Builder) Abort() error { return nil }
