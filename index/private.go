package index

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/cloudflare/circl/oprf"
)

// Private (OPRF) lookups.
//
// An index carries one OPRF key (RFC 9497, suite P256-SHA256, verifiable
// mode) and, per private kind (e-mail, phone, credential), a derived
// artefact holding the keyed value of every record of the kind's live
// generation:
//
//	<dir>/oprf.key                            the key and the list of live artefacts (JSON, mode 0600)
//	<dir>/private/<gen>-<keyID>.opr           one artefact per kind, named after its generation
//	<dir>/private/<gen>-<keyID>.vals          its sidecar: (hash, value) pairs in hash order
//
// A derivation after an ingest reuses the values the previous artefact's
// sidecar holds under the same key and evaluates only new records; a
// rotation evaluates every record.
//
// The OPRF input of a record is its stored hash (the 20 bytes of SHA-1 of
// the normalised identifier, or of ident.Credential), so keyed values are
// computed from stored records alone: ingest needs no plaintext for them
// and a key rotation re-derives every artefact without the sources. A
// record's keyed value is the first PrivateValueLen bytes of the RFC 9497
// Finalize output; records are bucketed by the first bits of SHA-256 of the
// same 20 bytes, with the bit count chosen so that a bucket holds
// 250-500 records on average (PrivateBits).
//
// oprf.key is the commit point: it is replaced atomically (write, fsync,
// rename) only after every artefact it names is written and synced, so an
// interrupted derivation or rotation leaves the previous key and
// artefacts live, and files it does not name are leftovers that the next
// derivation removes.
//
// Artefact layout (little-endian):
//
//	header  64 bytes: magic "PWXPRIV1", kind u8, bits u8, 6 zero bytes,
//	        records u64, body length u64, key ID [8], xxhash64 of the
//	        body, xxhash64 of the offset table, xxhash64 of bytes 0-55
//	offsets (2^bits + 1) x u64, body offsets of the buckets
//	body    per bucket, records sorted by value:
//	        value [PrivateValueLen]byte, uvarint(n), uvarint(breach ID) x n

// PrivateSuite is the RFC 9497 ciphersuite of private lookups.
var PrivateSuite = oprf.SuiteP256

// PrivateValueLen is the length of a stored keyed value: a prefix of the
// 32-byte OPRF output, long enough that no two of 2^32 values collide by
// chance (birthday bound 2^-64).
const PrivateValueLen = 16

// PrivateKinds lists the kinds that private lookups serve.
var PrivateKinds = []Kind{KindEmail, KindPhone, KindCredential}

// ErrNoPrivate is returned when an index has no OPRF key or no artefact for
// a kind's live generation (an index written before private lookups, or a
// derivation interrupted after a commit: 'pwndex ingest' completes it).
var ErrNoPrivate = errors.New("index: private lookups not built")

const (
	privMagic     = "PWXPRIV1"
	privHeaderLen = 64
	privKeyFile   = "oprf.key"
	privDir       = "private"
	maxPrivBits   = 24
)

// PrivateBits returns the bucket prefix length in bits for n records: the
// smallest b such that a bucket holds at most 500 records on average, so
// buckets hold 250-500 (0 bits below 500 records).
func PrivateBits(n uint64) int {
	b := 0
	for b < maxPrivBits && n > uint64(500)<<b {
		b++
	}
	return b
}

// PrivateBucket returns the bucket of an OPRF input (a stored 20-byte hash)
// for a prefix of b bits: the first b bits of SHA-256 of the input.
func PrivateBucket(input []byte, b int) uint32 {
	if b == 0 {
		return 0
	}
	s := sha256.Sum256(input)
	return binary.BigEndian.Uint32(s[:4]) >> (32 - b)
}

// keyFile is the JSON content of oprf.key.
type keyFile struct {
	Suite   string            `json:"suite"`
	KeyID   string            `json:"keyID"`
	Secret  string            `json:"secret"`  // hex of the private scalar
	Files   map[string]string `json:"files"`   // kind name -> artefact file name
	Created time.Time         `json:"created"` // of the key

	summed bool // read from a file with a checksum line (splitKeySum)
}

// keySumPrefix starts the last line of oprf.key: the hex SHA-256 of every
// byte before that line, so a flipped byte anywhere in the file is found
// (the JSON decoder would accept a flip in white space or in a field
// name's case). Files written before it existed have no such line.
const keySumPrefix = "#sha256 "

// splitKeySum separates a key file's JSON from its checksum line; ok is
// false when the file has a checksum line that does not match.
func splitKeySum(b []byte) (body []byte, summed, ok bool) {
	i := bytes.LastIndex(b, []byte("\n"+keySumPrefix))
	if i < 0 {
		return b, false, true
	}
	body = b[:i+1]
	h := sha256.Sum256(body)
	line := strings.TrimSpace(string(b[i+1+len(keySumPrefix):]))
	return body, true, line == hex.EncodeToString(h[:])
}

// privState is the loaded key and artefacts.
type privState struct {
	kf      keyFile
	key     *oprf.PrivateKey
	pub     []byte
	server  *fastServer // immutable: safe for concurrent evaluations
	sets    map[Kind]*privSet
	stamp   string    // oprf.key size, mtime and inode when loaded
	retired time.Time // when a newer state replaced it
}

// privSet is one mapped artefact.
type privSet struct {
	kind    Kind
	bits    int
	records uint64
	data    []byte
	offsets []byte
	body    []byte
}

func (ix *Index) keyPath() string { return filepath.Join(ix.dir, privKeyFile) }

func newKeyFile() (keyFile, *oprf.PrivateKey, error) {
	k, err := oprf.GenerateKey(PrivateSuite, rand.Reader)
	if err != nil {
		return keyFile{}, nil, fmt.Errorf("generate OPRF key: %w", err)
	}
	sk, err := k.MarshalBinary()
	if err != nil {
		return keyFile{}, nil, fmt.Errorf("encode OPRF key: %w", err)
	}
	pk, err := k.Public().MarshalBinary()
	if err != nil {
		return keyFile{}, nil, fmt.Errorf("encode OPRF public key: %w", err)
	}
	id := sha256.Sum256(pk)
	return keyFile{Suite: PrivateSuite.Identifier(), KeyID: hex.EncodeToString(id[:8]),
		Secret: hex.EncodeToString(sk), Files: map[string]string{},
		Created: time.Now().UTC().Truncate(time.Second)}, k, nil
}

// writeKeyFile replaces oprf.key atomically with mode 0600.
func (ix *Index) writeKeyFile(kf keyFile) error {
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	tmp := ix.keyPath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write OPRF key: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // an existing tmp may have other bits
		f.Close()
		return fmt.Errorf("write OPRF key: %w", err)
	}
	b = append(b, '\n')
	h := sha256.Sum256(b)
	b = append(append(b, keySumPrefix...), hex.EncodeToString(h[:])+"\n"...)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write OPRF key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write OPRF key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write OPRF key: %w", err)
	}
	if err := os.Rename(tmp, ix.keyPath()); err != nil {
		return fmt.Errorf("write OPRF key: %w", err)
	}
	return syncDir(ix.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// readKeyFile reads and validates oprf.key.
func (ix *Index) readKeyFile() (keyFile, *oprf.PrivateKey, error) {
	return readKeyFileAt(ix.keyPath())
}

// readKeyFileAt reads and validates the oprf.key file at path. An error
// about its content (checksum, JSON, suite, secret, a key ID that is not
// the key's) is a *KeyDamagedError: the key is lost, unlike an error
// reading the file.
func readKeyFileAt(path string) (keyFile, *oprf.PrivateKey, error) {
	var kf keyFile
	b, err := os.ReadFile(path)
	if err != nil {
		return kf, nil, err
	}
	damaged := func(format string, a ...any) (keyFile, *oprf.PrivateKey, error) {
		return kf, nil, &KeyDamagedError{Path: path, Err: fmt.Errorf(format, a...)}
	}
	b, summed, ok := splitKeySum(b)
	if !ok {
		return damaged("checksum mismatch (corrupt)")
	}
	kf.summed = summed
	if err := json.Unmarshal(b, &kf); err != nil {
		return damaged("%w", err)
	}
	if kf.Suite != PrivateSuite.Identifier() {
		return damaged("suite %q, want %s", kf.Suite, PrivateSuite.Identifier())
	}
	sk, err := hex.DecodeString(kf.Secret)
	if err != nil {
		return damaged("bad secret: %w", err)
	}
	k := new(oprf.PrivateKey)
	if err := k.UnmarshalBinary(PrivateSuite, sk); err != nil {
		return damaged("bad secret: %w", err)
	}
	pk, err := k.Public().MarshalBinary()
	if err != nil {
		return damaged("bad secret: %w", err)
	}
	if id := sha256.Sum256(pk); kf.KeyID != hex.EncodeToString(id[:8]) {
		return damaged("key ID %q does not match the key", kf.KeyID)
	}
	if kf.Files == nil {
		kf.Files = map[string]string{}
	}
	return kf, k, nil
}

// KeyDamagedError reports an oprf.key whose content is damaged: the key is
// lost. Repair and derivations never replace it by a new key on their own
// (every client would have to fetch the new public key): 'pwndex keys
// oprf-rotate' does (RotatePrivateKey).
type KeyDamagedError struct {
	Path string // the key file
	Err  error  // what is wrong with it
}

func (e *KeyDamagedError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }

// Unwrap returns what is wrong with the key file.
func (e *KeyDamagedError) Unwrap() error { return e.Err }

// ErrPrivateKeyLost is returned by DerivePrivate when oprf.key is damaged,
// or missing while private/ holds artefacts made with it.
var ErrPrivateKeyLost = errors.New("index: OPRF key lost (run 'pwndex keys oprf-rotate': a new key, whose public key clients must fetch again)")

// privKeyLost says why the OPRF key of the index at root is lost, given
// the error reading oprf.key gave: the file is damaged (a
// *KeyDamagedError), or missing while private/ holds artefacts made with
// it. "" when the key is not lost; a missing key without artefacts is an
// index written before private lookups, whose next derivation makes one.
// Check, repair and the derivation report a lost key the same way, and
// none of them replaces it.
func privKeyLost(root string, err error) string {
	if errors.As(err, new(*KeyDamagedError)) {
		return err.Error()
	}
	if !errors.Is(err, os.ErrNotExist) {
		return ""
	}
	pdir := filepath.Join(root, privDir)
	ents, _ := os.ReadDir(pdir)
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".opr") && e.Type().IsRegular() {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s is missing but %s holds %d artefact(s) made with it", filepath.Join(root, privKeyFile), pdir, n)
}

// artefactName is the file name, in private/, of the artefact of
// generation gname under this key.
func (kf *keyFile) artefactName(gname string) string { return gname + "-" + kf.KeyID + ".opr" }

// prevSidecar is the sidecar of the artefact oprf.key names for kind k in
// pdir when it was made under this key (its values can be reused), "" when
// there is none.
func (kf *keyFile) prevSidecar(k Kind, pdir string) string {
	old := kf.Files[k.String()]
	if old == "" || !strings.HasSuffix(old, "-"+kf.KeyID+".opr") || strings.ContainsAny(old, `/\`) {
		return ""
	}
	return filepath.Join(pdir, valsName(old))
}

// removePrivLeftovers removes from pdir every entry that is neither one of
// the artefacts of files (kind name -> artefact) nor its sidecar:
// temporary files of an interrupted write, artefacts of other generations
// or keys. It returns the names removed, relative to the index directory,
// sorted, and the first error.
func removePrivLeftovers(pdir string, files map[string]string) ([]string, error) {
	live := map[string]bool{}
	for _, n := range files {
		live[n] = true
		live[valsName(n)] = true
	}
	ents, err := os.ReadDir(pdir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range ents {
		if live[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(pdir, e.Name())); err != nil {
			return removed, fmt.Errorf("remove leftover %s: %w", filepath.Join(pdir, e.Name()), err)
		}
		removed = append(removed, filepath.Join(privDir, e.Name()))
	}
	slices.Sort(removed)
	return removed, nil
}

// privReload makes this process read the private-lookup state again at its
// next lookup, not after the once-a-second check.
func (ix *Index) privReload() {
	ix.privMu.Lock()
	ix.privChecked = time.Time{}
	ix.privMu.Unlock()
}

// ensureKey creates oprf.key if the index has none (index creation, or an
// index written before private lookups). It creates none when private/
// holds artefacts: their key is lost, and a new one made silently would
// invalidate the public key every client holds ('pwndex keys oprf-rotate'
// replaces it knowingly; repair and check report it).
func (ix *Index) ensureKey() error {
	_, err := os.Stat(ix.keyPath())
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if privKeyLost(ix.dir, err) != "" {
		return nil
	}
	kf, _, err := newKeyFile()
	if err != nil {
		return err
	}
	return ix.writeKeyFile(kf)
}

// privateState returns the loaded key and artefacts, reloading them when
// oprf.key changed (a derivation or rotation by another process). It checks
// the file at most once a second.
func (ix *Index) privateState() (*privState, error) {
	ix.privMu.Lock()
	defer ix.privMu.Unlock()
	now := time.Now()
	if ix.priv != nil && now.Sub(ix.privChecked) < time.Second {
		return ix.priv, nil
	}
	ix.privChecked = now
	st, err := os.Stat(ix.keyPath())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: no OPRF key (run 'pwndex keys oprf-rotate')", ErrNoPrivate)
		}
		return nil, fmt.Errorf("index: %w", err)
	}
	stamp := fmt.Sprint(st.Size(), st.ModTime().UnixNano())
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		stamp += fmt.Sprint(" ", sys.Ino) // a rename replaces the inode
	}
	if ix.priv != nil && ix.priv.stamp == stamp {
		return ix.priv, nil
	}
	kf, key, err := ix.readKeyFile()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	ps := &privState{kf: kf, key: key, sets: map[Kind]*privSet{}, stamp: stamp}
	if ps.server, err = newFastServer(key); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if ps.pub, err = key.Public().MarshalBinary(); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	for _, k := range PrivateKinds {
		name := kf.Files[k.String()]
		if name == "" {
			continue
		}
		s, err := openPrivSet(filepath.Join(ix.dir, privDir, name), k)
		if err != nil {
			ps.close()
			return nil, fmt.Errorf("index: %w", err)
		}
		ps.sets[k] = s
	}
	// A lookup may still be reading the previous state's mappings (it
	// copies what it returns): they are unmapped at a later reload, once
	// retired for a minute, or when the index closes.
	kept := ix.privOld[:0]
	for _, p := range ix.privOld {
		if now.Sub(p.retired) > time.Minute {
			p.close()
		} else {
			kept = append(kept, p)
		}
	}
	ix.privOld = kept
	if ix.priv != nil {
		ix.priv.retired = now
		ix.privOld = append(ix.privOld, ix.priv)
	}
	ix.priv = ps
	return ps, nil
}

func (ps *privState) close() {
	for _, s := range ps.sets {
		if s.data != nil {
			syscall.Munmap(s.data)
			s.data = nil
		}
	}
}

func (ix *Index) closePrivate() {
	ix.privMu.Lock()
	defer ix.privMu.Unlock()
	if ix.priv != nil {
		ix.priv.close()
		ix.priv = nil
	}
	for _, p := range ix.privOld {
		p.close()
	}
	ix.privOld = nil
}

// PrivateKey describes the published OPRF key.
type PrivateKey struct {
	Suite     string       // "P256-SHA256"
	KeyID     string       // 16 hex digits of SHA-256 of PublicKey
	PublicKey []byte       // compressed point (SerializeElement)
	Bits      map[Kind]int // bucket prefix length per kind with data
	Records   map[Kind]uint64
}

// PrivateKeyInfo returns the public key and the bucket prefix lengths.
func (ix *Index) PrivateKeyInfo() (PrivateKey, error) {
	ps, err := ix.privateState()
	if err != nil {
		return PrivateKey{}, err
	}
	pk := PrivateKey{Suite: ps.kf.Suite, KeyID: ps.kf.KeyID, PublicKey: slices.Clone(ps.pub),
		Bits: map[Kind]int{}, Records: map[Kind]uint64{}}
	for k, s := range ps.sets {
		pk.Bits[k] = s.bits
		pk.Records[k] = s.records
	}
	return pk, nil
}

// PrivateEntry is one record of a private bucket: the keyed value and the
// breaches the record is in.
type PrivateEntry struct {
	Value    [PrivateValueLen]byte
	Breaches []BreachID
}

// PrivateAnswer is the server's side of one private lookup.
type PrivateAnswer struct {
	KeyID     string   // the key that evaluated
	Evaluated [][]byte // compressed points, in request order
	Proof     []byte   // the DLEQ proof, c || s (64 bytes)
	Bits      int
	Bucket    []PrivateEntry // the bucket of the first prefix
	// Buckets holds the bucket of each prefix, in order
	// (PrivateEvaluateBuckets); Buckets[0] is Bucket.
	Buckets [][]PrivateEntry
}

// ErrBadElement is returned by PrivateEvaluate for a blinded element that
// is not a compressed point of P-256.
var ErrBadElement = errors.New("index: blinded element is not a compressed P-256 point")

// PrivateEvaluate evaluates a batch of blinded elements (compressed P-256
// points, 33 bytes) with the index key, with a DLEQ proof, and returns
// bucket `prefix` of kind k. The prefix has the bit length PrivateKeyInfo
// publishes; a wrong one is a *PrefixError, a bad element ErrBadElement.
// An empty batch returns the bucket alone.
func (ix *Index) PrivateEvaluate(k Kind, prefix uint32, bits int, blinded [][]byte) (PrivateAnswer, error) {
	return ix.PrivateEvaluateBuckets(k, []uint32{prefix}, bits, blinded)
}

// PrivateEvaluateBuckets is PrivateEvaluate for the elements of several
// buckets at once: one DLEQ proof covers the whole batch, so its cost
// (two scalar multiplications and a composite) is shared by every
// element, and the answer carries the bucket of each prefix
// (PrivateAnswer.Buckets, in order; a prefix may repeat).
func (ix *Index) PrivateEvaluateBuckets(k Kind, prefixes []uint32, bits int, blinded [][]byte) (PrivateAnswer, error) {
	if len(prefixes) == 0 {
		return PrivateAnswer{}, errors.New("index: private lookup without a bucket")
	}
	ps, err := ix.privateState()
	if err != nil {
		return PrivateAnswer{}, err
	}
	s := ps.sets[k]
	if s == nil {
		// A kind with no records: the only bucket is empty, with 0 bits.
		if g := ix.gen(k); g != nil {
			return PrivateAnswer{}, fmt.Errorf("%w for %s (run 'pwndex ingest' again)", ErrNoPrivate, k)
		}
		s = &privSet{kind: k}
	}
	if bits != s.bits {
		return PrivateAnswer{}, &PrefixError{Want: s.bits}
	}
	for _, prefix := range prefixes {
		if bits < 32 && prefix>>bits != 0 {
			return PrivateAnswer{}, &PrefixError{Want: s.bits}
		}
	}
	ans := PrivateAnswer{KeyID: ps.kf.KeyID, Bits: s.bits}
	if len(blinded) > 0 {
		ans.Evaluated, ans.Proof, err = ps.server.evaluate(blinded, nil)
		if errors.Is(err, errBadPoint) {
			return PrivateAnswer{}, ErrBadElement
		}
		if err != nil {
			return PrivateAnswer{}, fmt.Errorf("index: OPRF evaluation: %w", err)
		}
	}
	ans.Buckets = make([][]PrivateEntry, len(prefixes))
	if s.data != nil {
		for i, prefix := range prefixes {
			if ans.Buckets[i], err = s.entries(prefix); err != nil {
				return PrivateAnswer{}, err
			}
		}
	}
	ans.Bucket = ans.Buckets[0]
	return ans, nil
}

// PrefixError reports a private lookup prefix of the wrong bit length.
type PrefixError struct{ Want int }

func (e *PrefixError) Error() string {
	return fmt.Sprintf("the prefix must have %d bits (see GET /v1/private/key)", e.Want)
}

func (s *privSet) entries(b uint32) ([]PrivateEntry, error) {
	lo := binary.LittleEndian.Uint64(s.offsets[8*b:])
	hi := binary.LittleEndian.Uint64(s.offsets[8*b+8:])
	body := s.body[lo:hi]
	var out []PrivateEntry
	// One backing array for the bucket's breach IDs (each entry's slice
	// is capped, so an append to one never spills into the next).
	all := make([]BreachID, 0, len(body)/PrivateValueLen+8)
	for len(body) > 0 {
		if len(body) < PrivateValueLen {
			return nil, errors.New("index: corrupt private artefact")
		}
		var e PrivateEntry
		copy(e.Value[:], body)
		var err error
		start := len(all)
		all, body, err = decodeIDs(all, body[PrivateValueLen:])
		if err != nil {
			return nil, fmt.Errorf("index: corrupt private artefact: %w", err)
		}
		e.Breaches = all[start:len(all):len(all)]
		out = append(out, e)
	}
	return out, nil
}

func openPrivSet(path string, k Kind) (*privSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open private artefact: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open private artefact: %w", err)
	}
	if st.Size() < privHeaderLen+16 {
		return nil, fmt.Errorf("%s: truncated", path)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap private artefact: %w", err)
	}
	bad := func(why string) (*privSet, error) {
		syscall.Munmap(data)
		return nil, fmt.Errorf("%s: corrupt private artefact: %s", path, why)
	}
	if string(data[:8]) != privMagic || xxhash.Sum64(data[:56]) != binary.LittleEndian.Uint64(data[56:]) {
		return bad("bad header")
	}
	b := int(data[9])
	if Kind(data[8]) != k || b > maxPrivBits {
		return bad("wrong kind or prefix length")
	}
	n := 1 << b
	offEnd := privHeaderLen + 8*(n+1)
	bodyLen := binary.LittleEndian.Uint64(data[24:])
	if int64(offEnd) > st.Size() || uint64(st.Size()-int64(offEnd)) != bodyLen {
		return bad("size does not match header")
	}
	offsets := data[privHeaderLen:offEnd]
	if xxhash.Sum64(offsets) != binary.LittleEndian.Uint64(data[48:]) {
		return bad("offset table checksum mismatch")
	}
	var prev uint64
	for i := 0; i <= n; i++ {
		o := binary.LittleEndian.Uint64(offsets[8*i:])
		if o < prev || o > bodyLen {
			return bad("offset table not monotonic")
		}
		prev = o
	}
	if prev != bodyLen {
		return bad("offset table does not end at body length")
	}
	// The body is verified once, at open (an xxhash pass over a mapped
	// file): a flipped value would otherwise report a stored identifier as
	// absent. Zero is the field of artefacts written before it existed.
	if want := binary.LittleEndian.Uint64(data[40:]); want != 0 && xxhash.Sum64(data[offEnd:]) != want {
		return bad("body checksum mismatch")
	}
	return &privSet{kind: k, bits: b, records: binary.LittleEndian.Uint64(data[16:]),
		data: data, offsets: offsets, body: data[offEnd:]}, nil
}

// privRec is a record staged for an artefact: its breach IDs are
// ids[off:off+n] of the build's shared arena (28 bytes a record).
type privRec struct {
	bucket uint32
	off, n uint32
	value  [PrivateValueLen]byte
}

// DerivePrivate writes the private artefacts missing for the live
// generations under the current OPRF key (creating the key if the index
// has none and private/ holds no artefact), then commits them in oprf.key
// and removes stale artefacts. Ingest calls it after every commit; it is a
// no-op when nothing changed. A damaged oprf.key, or a missing one with
// artefacts left, is ErrPrivateKeyLost: it never makes a new key in their
// place (RotatePrivateKey does).
func (ix *Index) DerivePrivate(ctx context.Context) error {
	return ix.derivePrivate(ctx, false)
}

// RotatePrivateKey replaces the OPRF key with a new random one and
// recomputes every artefact from the stored records. Until it returns, the
// old key and artefacts stay live; after a crash, running it again
// completes a rotation.
func (ix *Index) RotatePrivateKey(ctx context.Context) error {
	return ix.derivePrivate(ctx, true)
}

func (ix *Index) derivePrivate(ctx context.Context, rotate bool) error {
	if ix.opts.ReadOnly || ix.metaRO {
		return ErrReadOnly
	}
	if !ix.building.TryLock() {
		return ErrBusy
	}
	defer ix.building.Unlock()
	return ix.derivePrivateLocked(ctx, rotate)
}

// derivePrivateLocked is derivePrivate for a caller holding ix.building.
//
// A rotation does not read the old key: it replaces a damaged or missing
// one. A derivation refuses a damaged key, and a missing one when private/
// holds artefacts (the key is lost: ErrPrivateKeyLost), instead of making
// a new key silently.
func (ix *Index) derivePrivateLocked(ctx context.Context, rotate bool) error {
	var kf keyFile
	var key *oprf.PrivateKey
	var err error
	if !rotate {
		kf, key, err = ix.readKeyFile()
		if why := privKeyLost(ix.dir, err); why != "" {
			return fmt.Errorf("%w: %s", ErrPrivateKeyLost, why)
		}
	}
	switch {
	case rotate || errors.Is(err, os.ErrNotExist):
		if kf, key, err = newKeyFile(); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("index: %w", err)
	}
	dir := filepath.Join(ix.dir, privDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	v := ix.view.Load()
	files := map[string]string{}
	changed := rotate
	for _, k := range PrivateKinds {
		gname := v.st.Gens[k]
		if gname == "" || v.gens[k] == nil {
			if kf.Files[k.String()] != "" {
				changed = true
			}
			continue
		}
		name := kf.artefactName(gname)
		files[k.String()] = name
		if kf.Files[k.String()] == name {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				continue
			}
		}
		changed = true
		// Values of records already in the previous artefact under this
		// key are reused (its .vals sidecar); a rotation has none.
		if err := ix.writePrivSet(ctx, filepath.Join(dir, name), v.gens[k], key, kf.prevSidecar(k, dir)); err != nil {
			return fmt.Errorf("index: private %s: %w", k, err)
		}
	}
	if changed {
		kf.Files = files
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if err := ix.writeKeyFile(kf); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		ix.privReload()
	}
	// Best effort: a leftover that stays is removed by the next
	// derivation or repair.
	removePrivLeftovers(dir, files)
	return nil
}

// privateValues computes the keyed values of inputs with key (FullEvaluate,
// private_fast.go), in parallel over GOMAXPROCS workers taking chunks of
// 256 inputs, each hashed to the curve as one batch: the ingest-side cost
// of private lookups.
func privateValues(ctx context.Context, key *oprf.PrivateKey, n int, input func(i int) []byte, out func(i int, v []byte)) error {
	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	const chunk = 256
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fe, err := newFullEvaluator(key)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			h := newH2G()
			ins := make([][]byte, 0, chunk)
			vals := make([][32]byte, chunk)
			for {
				if ctx.Err() != nil {
					once.Do(func() { firstErr = ctx.Err() })
					return
				}
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				ins = ins[:0]
				for i := lo; i < min(lo+chunk, n); i++ {
					ins = append(ins, input(i))
				}
				if err := fe.evaluateBatch(h, ins, vals[:len(ins)]); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("OPRF evaluation: %w", err) })
					return
				}
				for j := range ins {
					out(lo+j, vals[j][:])
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// writePrivSet derives the artefact of generation g under key into path,
// and its sidecar of (hash, value) pairs in hash order. prev, if not empty,
// is the sidecar of the previous artefact under the same key: the values
// of the records it holds are reused, and only new records are evaluated.
func (ix *Index) writePrivSet(ctx context.Context, path string, g *generation, key *oprf.PrivateKey, prev string) error {
	var hashes []Hash
	var recs []privRec
	var ids []BreachID
	err := forEachRecord(g.dir, g.kind, func(e *Entry) {
		hashes = append(hashes, e.Hash)
		recs = append(recs, privRec{off: uint32(len(ids)), n: uint32(len(e.Breaches))})
		ids = append(ids, e.Breaches...)
	})
	if err != nil {
		return err
	}
	if uint64(len(ids)) > 1<<32-1 {
		return errors.New("too many breach memberships for one artefact")
	}
	b := PrivateBits(uint64(len(recs)))
	for i := range recs {
		recs[i].bucket = PrivateBucket(hashes[i][:], b)
	}
	// Merge the previous sidecar (both in hash order).
	todo := make([]int, 0, len(recs))
	old := readVals(prev)
	for i, j := 0, 0; i < len(recs); i++ {
		for j < len(old) && bytes.Compare(old[j][:20], hashes[i][:]) < 0 {
			j += 1
		}
		if j < len(old) && [20]byte(old[j][:20]) == hashes[i] {
			copy(recs[i].value[:], old[j][20:])
			continue
		}
		todo = append(todo, i)
	}
	old = nil
	err = privateValues(ctx, key, len(todo), func(i int) []byte { return hashes[todo[i]][:] },
		func(i int, v []byte) { copy(recs[todo[i]].value[:], v) })
	if err != nil {
		return err
	}
	ix.privEvaluated.Add(int64(len(todo)))
	if err := writeVals(valsName(path), hashes, recs); err != nil {
		return err
	}
	hashes = nil
	slices.SortFunc(recs, func(x, y privRec) int {
		if c := cmp.Compare(x.bucket, y.bucket); c != 0 {
			return c
		}
		return bytes.Compare(x.value[:], y.value[:])
	})
	return writePrivFile(path, g.kind, b, recs, ids, key)
}

// Sidecar of an artefact, <name>.vals: magic "PWXPVAL1", count u64, then
// count x (hash [20]byte, value [PrivateValueLen]byte) in hash order,
// then xxhash64 of everything before (little-endian).
const valsMagic = "PWXPVAL1"

func valsName(artefact string) string { return strings.TrimSuffix(artefact, ".opr") + ".vals" }

// readVals returns the pairs of a sidecar, or nil if it is missing or
// damaged (its values are then recomputed).
func readVals(path string) [][20 + PrivateValueLen]byte {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	const rec = 20 + PrivateValueLen
	if err != nil || len(data) < 24 || string(data[:8]) != valsMagic {
		return nil
	}
	n := binary.LittleEndian.Uint64(data[8:])
	if uint64(len(data)) != 24+n*rec || xxhash.Sum64(data[:len(data)-8]) != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return nil
	}
	out := make([][rec]byte, n)
	for i := range out {
		copy(out[i][:], data[16+i*rec:])
	}
	return out
}

func writeVals(path string, hashes []Hash, recs []privRec) error {
	const rec = 20 + PrivateValueLen
	buf := make([]byte, 16, 24+len(recs)*rec)
	copy(buf, valsMagic)
	binary.LittleEndian.PutUint64(buf[8:], uint64(len(recs)))
	for i := range recs {
		buf = append(buf, hashes[i][:]...)
		buf = append(buf, recs[i].value[:]...)
	}
	buf = binary.LittleEndian.AppendUint64(buf, xxhash.Sum64(buf))
	return writeSynced(path, buf)
}

// writeSynced writes parts, in order, to path through a synced temporary
// file (mode 0600) renamed over it.
func writeSynced(path string, parts ...[]byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	for _, part := range parts {
		if _, err := f.Write(part); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", tmp, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writePrivFile(path string, k Kind, b int, recs []privRec, ids []BreachID, key *oprf.PrivateKey) error {
	n := 1 << b
	offsets := make([]byte, 8*(n+1))
	var body []byte
	j := 0
	for bk := 0; bk < n; bk++ {
		binary.LittleEndian.PutUint64(offsets[8*bk:], uint64(len(body)))
		for ; j < len(recs) && recs[j].bucket == uint32(bk); j++ {
			body = append(body, recs[j].value[:]...)
			body = encodeIDs(body, ids[recs[j].off:recs[j].off+recs[j].n])
		}
	}
	binary.LittleEndian.PutUint64(offsets[8*n:], uint64(len(body)))
	hdr := make([]byte, privHeaderLen)
	copy(hdr, privMagic)
	hdr[8], hdr[9] = byte(k), byte(b)
	binary.LittleEndian.PutUint64(hdr[16:], uint64(len(recs)))
	binary.LittleEndian.PutUint64(hdr[24:], uint64(len(body)))
	pk, _ := key.Public().MarshalBinary()
	id := sha256.Sum256(pk)
	copy(hdr[32:40], id[:8])
	binary.LittleEndian.PutUint64(hdr[40:], xxhash.Sum64(body))
	binary.LittleEndian.PutUint64(hdr[48:], xxhash.Sum64(offsets))
	binary.LittleEndian.PutUint64(hdr[56:], xxhash.Sum64(hdr[:56]))
	return writeSynced(path, hdr, offsets, body)
}
