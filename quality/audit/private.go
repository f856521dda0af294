package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

// Private looks identifiers up through a pwndex server's private (OPRF)
// API, POST /v1/private/{email|phone}: the server receives, per request, a
// short bucket prefix of SHA-256 of the hash and blinded elements, never a
// hash prefix (api/README.md, "Private lookups"). It answers whole hashes
// (it implements hashResolver) and has no ranges.
type Private struct {
	r    *Remote
	once sync.Once
	err  error
	info privateKeyInfo
	// client blinds and finalizes (index.PrivateClient, safe for
	// concurrent use).
	client *index.PrivateClient
	// Requests counts the POSTs made (for reports and benchmarks).
	Requests atomic.Int64
	// Bytes counts request and response body bytes.
	Bytes atomic.Int64
	// JSON, set before the first lookup, sends JSON bodies of one bucket
	// even to a server with the binary format (benchmarks compare them).
	JSON bool
}

// privateKeyInfo is the part of GET /v1/private/key the client uses.
type privateKeyInfo struct {
	Suite      string `json:"suite"`
	Mode       string `json:"mode"`
	KeyID      string `json:"keyID"`
	PublicKey  string `json:"publicKey"`
	ValueBytes int    `json:"valueBytes"`
	MaxBatch   int    `json:"maxBatch"`
	// MaxBuckets is the bucket bound of a binary request; 0 (an older
	// server) means JSON requests of one bucket.
	MaxBuckets int `json:"maxBuckets"`
	Kinds      map[string]struct {
		PrefixBits int `json:"prefixBits"`
	} `json:"kinds"`
}

// privateAnswer is the JSON answer of POST /v1/private/{kind}.
type privateAnswer struct {
	KeyID       string   `json:"keyID"`
	PrefixBits  int      `json:"prefixBits"`
	Evaluations []string `json:"evaluations"`
	Proof       string   `json:"proof"`
	Bucket      []struct {
		V string   `json:"v"`
		B []uint32 `json:"b"` // breach IDs, named in Breaches
	} `json:"bucket"`
	Breaches map[string]string `json:"breaches"` // decimal ID -> Name
}

// NewPrivate returns a private Lookup for the server at opts.BaseURL.
func NewPrivate(opts RemoteOptions) (*Private, error) {
	r, err := NewRemote(opts)
	if err != nil {
		return nil, err
	}
	if opts.UserAgent == "" {
		r.client.Name = "pwndex-audit-private"
	}
	return &Private{r: r}, nil
}

// Close releases idle connections.
func (p *Private) Close() { p.r.Close() }

// Parallelism implements Lookup.
func (p *Private) Parallelism() int { return p.r.Parallelism() }

// Describe implements Lookup.
func (p *Private) Describe() string { return "private " + p.r.Describe() }

// Catalog implements Lookup.
func (p *Private) Catalog(ctx context.Context) ([]index.Breach, error) { return p.r.Catalog(ctx) }

// Range implements Lookup: a private lookup never sends a range prefix.
func (p *Private) Range(context.Context, index.Kind, uint32, []RangeEntry) ([]RangeEntry, error) {
	return nil, errors.New("audit: private lookups have no ranges")
}

// init fetches and checks the server's key.
func (p *Private) init(ctx context.Context) error {
	p.once.Do(func() {
		body, err := p.r.get(ctx, "/v1/private/key", "private key", "application/json", min(3, p.r.opts.MaxAttempts))
		if err == nil && body == nil {
			err = errors.New("the server has no private lookups (GET /v1/private/key: 404)")
		}
		if err != nil {
			p.err = fmt.Errorf("audit: %s: %w", p.r.Describe(), err)
			return
		}
		if err := json.Unmarshal(body, &p.info); err != nil {
			p.err = fmt.Errorf("audit: %s: malformed private key: %w", p.r.Describe(), err)
			return
		}
		if p.info.Suite != index.PrivateSuite.Identifier() || p.info.Mode != "verifiable" || p.info.ValueBytes < 8 || p.info.ValueBytes > 32 {
			p.err = fmt.Errorf("audit: %s: unsupported private lookups (suite %q, mode %q)", p.r.Describe(), p.info.Suite, p.info.Mode)
			return
		}
		pk, err := base64.StdEncoding.DecodeString(p.info.PublicKey)
		if err == nil {
			p.client, err = index.NewPrivateClient(pk)
		}
		if err != nil {
			p.err = fmt.Errorf("audit: %s: bad private public key: %w", p.r.Describe(), err)
			return
		}
		if p.info.MaxBatch <= 0 {
			p.info.MaxBatch = 1
		}
		if p.JSON {
			p.info.MaxBuckets = 0
		}
	})
	return p.err
}

// privateBucket returns the first bits of SHA-256 of h (the OPRF input).
func privateBucket(h *index.Hash, bits int) uint32 {
	if bits == 0 {
		return 0
	}
	s := sha256.Sum256(h[:])
	return binary.BigEndian.Uint32(s[:4]) >> (32 - bits)
}

// Lookup returns the breach names of each of hashes (of kind k: KindEmail
// or KindPhone; nil when not found), through private lookups.
func (p *Private) Lookup(ctx context.Context, k index.Kind, hashes []index.Hash) ([][]string, error) {
	return p.resolveHashes(ctx, k, hashes, p.Parallelism())
}

// resolveHashes implements hashResolver: the breach names of each of
// hashes (of kind k, distinct), nil for those not found.
func (p *Private) resolveHashes(ctx context.Context, k index.Kind, hashes []index.Hash, workers int) ([][]string, error) {
	if err := p.init(ctx); err != nil {
		return nil, err
	}
	kind, ok := p.info.Kinds[k.String()]
	if !ok {
		return nil, fmt.Errorf("audit: %s: no private lookups for %s", p.r.Describe(), k)
	}
	// Group the hashes by bucket, then cut groups into batches.
	order := make([]int, len(hashes))
	buckets := make([]uint32, len(hashes))
	for i := range hashes {
		order[i] = i
		buckets[i] = privateBucket(&hashes[i], kind.PrefixBits)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(buckets[a], buckets[b]) })
	// Elements a request: the server's bound, and in the binary format
	// privateBinaryBatch, past which the proof's share is already small.
	limit := p.info.MaxBatch
	if p.info.MaxBuckets > 0 {
		limit = min(limit, privateBinaryBatch)
	}
	var groups [][]int // one bucket's hashes, at most limit
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && buckets[order[j]] == buckets[order[i]] && j-i < limit {
			j++
		}
		groups = append(groups, order[i:j])
		i = j
	}
	// A binary request carries several buckets under one proof: up to
	// MaxBuckets groups and MaxBatch elements. JSON carries one group.
	var batches [][][]int
	for i := 0; i < len(groups); {
		j, n := i+1, len(groups[i])
		for p.info.MaxBuckets > 0 && j < len(groups) && j-i < p.info.MaxBuckets && n+len(groups[j]) <= limit {
			n += len(groups[j])
			j++
		}
		batches = append(batches, groups[i:j])
		i = j
	}
	out := make([][]string, len(hashes))
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range max(1, min(workers, len(batches))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				bi := int(next.Add(1) - 1)
				if bi >= len(batches) {
					return
				}
				b := batches[bi]
				var err error
				if p.info.MaxBuckets > 0 {
					err = p.lookupBinary(ctx, k, buckets, kind.PrefixBits, hashes, b, out)
				} else {
					err = p.lookupBatch(ctx, k, buckets[b[0][0]], kind.PrefixBits, hashes, b[0], out)
				}
				if err == nil {
					err = ctx.Err()
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// lookupBatch blinds the hashes of one bucket, sends them, verifies the
// proof, unblinds and matches the outputs against the bucket.
func (p *Private) lookupBatch(ctx context.Context, k index.Kind, bucket uint32, bits int, hashes []index.Hash, idx []int, out [][]string) error {
	inputs := make([][]byte, len(idx))
	for i, j := range idx {
		inputs[i] = hashes[j][:]
	}
	st, blinded, err := p.client.Blind(inputs)
	if err != nil {
		return fmt.Errorf("audit: OPRF blind: %w", err)
	}
	elems := make([]string, len(blinded))
	for i, b := range blinded {
		elems[i] = base64.StdEncoding.EncodeToString(b)
	}
	body, _ := json.Marshal(struct {
		Prefix     uint32   `json:"prefix"`
		PrefixBits int      `json:"prefixBits"`
		Elements   []string `json:"elements"`
	}{bucket, bits, elems})
	resp, err := p.post(ctx, "/v1/private/"+k.String(), body, k.String()+" private lookup")
	if err != nil {
		return err
	}
	var ans privateAnswer
	if err := json.Unmarshal(resp, &ans); err != nil {
		return fmt.Errorf("audit: %s: malformed private answer: %w", p.r.Describe(), err)
	}
	if ans.KeyID != p.info.KeyID {
		return fmt.Errorf("audit: %s: the server's key changed during the audit (run it again)", p.r.Describe())
	}
	if len(ans.Evaluations) != len(idx) {
		return fmt.Errorf("audit: %s: %d evaluations for %d elements", p.r.Describe(), len(ans.Evaluations), len(idx))
	}
	evals := make([][]byte, len(ans.Evaluations))
	for i, e := range ans.Evaluations {
		if evals[i], err = base64.StdEncoding.DecodeString(e); err != nil {
			return fmt.Errorf("audit: %s: bad evaluation: %w", p.r.Describe(), err)
		}
	}
	proof, err := base64.StdEncoding.DecodeString(ans.Proof)
	if err != nil {
		return fmt.Errorf("audit: %s: bad proof: %w", p.r.Describe(), err)
	}
	outs, err := p.client.Finalize(st, evals, proof)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", p.r.Describe(), err)
	}
	vb := p.info.ValueBytes
	for _, e := range ans.Bucket {
		v, err := base64.StdEncoding.DecodeString(e.V)
		if err != nil || len(v) != vb {
			continue
		}
		for i, o := range outs {
			if !bytes.Equal(o[:vb], v) {
				continue
			}
			names := make([]string, 0, len(e.B))
			for _, id := range e.B {
				n, ok := ans.Breaches[strconv.FormatUint(uint64(id), 10)]
				if !ok {
					return fmt.Errorf("audit: %s: breach ID %d not named in the answer", p.r.Describe(), id)
				}
				names = append(names, n)
			}
			out[idx[i]] = names
		}
	}
	return nil
}

// lookupBinary is lookupBatch for several buckets in one binary request
// (api/README.md, "Binary bodies"): groups[g] holds the indexes in hashes
// of bucket buckets[groups[g][0]].
func (p *Private) lookupBinary(ctx context.Context, k index.Kind, buckets []uint32, bits int, hashes []index.Hash, groups [][]int, out [][]string) error {
	var inputs [][]byte
	for _, g := range groups {
		for _, j := range g {
			inputs = append(inputs, hashes[j][:])
		}
	}
	st, blinded, err := p.client.Blind(inputs)
	if err != nil {
		return fmt.Errorf("audit: OPRF blind: %w", err)
	}
	body := make([]byte, 0, 4+6*len(groups)+33*len(blinded))
	body = append(body, privateBinaryVersion, byte(bits))
	body = binary.BigEndian.AppendUint16(body, uint16(len(groups)))
	e := 0
	for _, g := range groups {
		body = binary.BigEndian.AppendUint32(body, buckets[g[0]])
		body = binary.BigEndian.AppendUint16(body, uint16(len(g)))
		for range g {
			body = append(body, blinded[e]...)
			e++
		}
	}
	resp, err := p.postAs(ctx, "/v1/private/"+k.String(), body, k.String()+" private lookup", contentTypeBinary)
	if err != nil {
		return err
	}
	ans, err := decodePrivateBinary(resp, p.info.ValueBytes)
	if err != nil {
		return fmt.Errorf("audit: %s: malformed private answer: %w", p.r.Describe(), err)
	}
	if ans.keyID != p.info.KeyID {
		return fmt.Errorf("audit: %s: the server's key changed during the audit (run it again)", p.r.Describe())
	}
	if len(ans.evals) != len(inputs) || len(ans.buckets) != len(groups) {
		return fmt.Errorf("audit: %s: %d evaluations and %d buckets for %d elements in %d buckets", p.r.Describe(), len(ans.evals), len(ans.buckets), len(inputs), len(groups))
	}
	outs, err := p.client.Finalize(st, ans.evals, ans.proof)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", p.r.Describe(), err)
	}
	vb := p.info.ValueBytes
	e = 0
	for gi, g := range groups {
		for _, j := range g {
			// A group holds one or a few outputs: a scan of the bucket
			// is cheaper than indexing it.
			var ids []uint32
			ok := false
			for _, en := range ans.buckets[gi] {
				if bytes.Equal(en.value, outs[e][:vb]) {
					ids, ok = en.ids, true
					break
				}
			}
			e++
			if !ok {
				continue
			}
			names := make([]string, 0, len(ids))
			for _, id := range ids {
				n, ok := ans.names[id]
				if !ok {
					return fmt.Errorf("audit: %s: breach ID %d not named in the answer", p.r.Describe(), id)
				}
				names = append(names, n)
			}
			out[j] = names
		}
	}
	return nil
}

// The binary private lookup format (api/README.md, "Binary bodies").
const (
	contentTypeBinary    = "application/octet-stream"
	privateBinaryVersion = 1
	// privateBinaryBatch bounds the elements of a binary request: the
	// proof then costs the server ~3% of the batch's evaluations, and a
	// request takes no more than 64 of the key's per-minute tokens.
	privateBinaryBatch = 64
)

// privateBinaryAnswer is a decoded binary answer.
type privateBinaryAnswer struct {
	keyID   string // 16 hex digits
	bits    int
	evals   [][]byte
	proof   []byte
	buckets [][]privateBinaryEntry
	names   map[uint32]string
}

type privateBinaryEntry struct {
	value []byte
	ids   []uint32
}

// decodePrivateBinary parses a binary answer with values of vb bytes. It
// checks the structure only (lengths, counts, no trailing bytes); the
// proof check is Finalize's.
func decodePrivateBinary(b []byte, vb int) (privateBinaryAnswer, error) {
	var a privateBinaryAnswer
	short := errors.New("truncated")
	if len(b) < 12 {
		return a, short
	}
	if b[0] != privateBinaryVersion {
		return a, fmt.Errorf("format version %d", b[0])
	}
	a.keyID = hex.EncodeToString(b[1:9])
	a.bits = int(b[9])
	n := int(binary.BigEndian.Uint16(b[10:]))
	b = b[12:]
	if len(b) < 33*n+64+2 {
		return a, short
	}
	for i := range n {
		a.evals = append(a.evals, b[33*i:33*i+33:33*i+33])
	}
	b = b[33*n:]
	a.proof, b = b[:64:64], b[64:]
	nb := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	uv := func() (uint64, error) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, short
		}
		b = b[k:]
		return v, nil
	}
	for range nb {
		cnt, err := uv()
		if err != nil {
			return a, err
		}
		if cnt > uint64(len(b)/(vb+1)) {
			return a, short
		}
		entries := make([]privateBinaryEntry, cnt)
		all := make([]uint32, 0, cnt+cnt/2) // the bucket's IDs, one backing array
		for i := range entries {
			if len(b) < vb {
				return a, short
			}
			entries[i].value, b = b[:vb:vb], b[vb:]
			k, err := uv()
			if err != nil {
				return a, err
			}
			if k > uint64(len(b)) {
				return a, short
			}
			start := len(all)
			for range k {
				id, err := uv()
				if err != nil {
					return a, err
				}
				if id > 1<<32-1 {
					return a, errors.New("breach ID out of range")
				}
				all = append(all, uint32(id))
			}
			entries[i].ids = all[start:len(all):len(all)]
		}
		a.buckets = append(a.buckets, entries)
	}
	cnt, err := uv()
	if err != nil {
		return a, err
	}
	if cnt > uint64(len(b)/2) {
		return a, short
	}
	a.names = make(map[uint32]string, cnt)
	for range cnt {
		id, err := uv()
		if err != nil {
			return a, err
		}
		l, err := uv()
		if err != nil {
			return a, err
		}
		if id > 1<<32-1 || l > uint64(len(b)) {
			return a, short
		}
		a.names[uint32(id)] = string(b[:l])
		b = b[l:]
	}
	if len(b) != 0 {
		return a, fmt.Errorf("%d bytes after the end", len(b))
	}
	return a, nil
}

// post sends body through the Remote's paced request loop (429 waits for
// Retry-After, 5xx and network errors back off). Messages never include
// the body or the key.
func (p *Private) post(ctx context.Context, path string, body []byte, what string) ([]byte, error) {
	return p.postAs(ctx, path, body, what, "application/json")
}

// postAs is post with a body (and answer) of content type ct.
func (p *Private) postAs(ctx context.Context, path string, body []byte, what, ct string) ([]byte, error) {
	resp, err := p.r.do(ctx, fasthttp.MethodPost, path, what, ct, body, p.r.opts.MaxAttempts)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("audit: %s: %s: HTTP 404 (no private lookups on this server?)", p.r.Describe(), what)
	}
	p.Requests.Add(1)
	p.Bytes.Add(int64(len(body) + len(resp)))
	return resp, nil
}

// hashResolver is implemented by lookups that resolve whole hashes rather
// than ranges (Private): resolve then asks it for every distinct hash of a
// partition at once.
type hashResolver interface {
	resolveHashes(ctx context.Context, k index.Kind, hashes []index.Hash, workers int) ([][]string, error)
}

// resolveByHash is resolve for a hashResolver: recs sorted by kind and
// hash; one call per kind with the distinct hashes.
func (a *auditor) resolveByHash(hr hashResolver, recs []record) ([]hit, error) {
	slices.SortFunc(recs, compareRecords)
	var all []hit
	for i := 0; i < len(recs); {
		k := recs[i].kind
		j := i
		var hashes []index.Hash
		for ; j < len(recs) && recs[j].kind == k; j++ {
			if len(hashes) == 0 || hashes[len(hashes)-1] != recs[j].hash {
				hashes = append(hashes, recs[j].hash)
			}
		}
		names, err := hr.resolveHashes(a.ctx, k, hashes, a.cfg.Concurrency)
		if err != nil {
			return nil, err
		}
		a.lookups += int64(len(hashes))
		h := 0
		for r := i; r < j; r++ {
			for hashes[h] != recs[r].hash {
				h++
			}
			if len(names[h]) == 0 {
				continue
			}
			ids := make([]uint32, 0, len(names[h]))
			for _, n := range names[h] {
				ids = append(ids, a.cat.index(n))
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			all = append(all, hit{line: recs[r].line, kinds: kindBit(k), breaches: ids})
		}
		i = j
	}
	sortHits(all)
	return all, nil
}
