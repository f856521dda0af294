package api

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/cloudflare/circl/oprf"

	"github.com/pwndex/pwndex/index"
)

// binAnswer is a binary answer decoded by the test's own reader of the
// format documented in api/README.md.
type binAnswer struct {
	keyID   string
	bits    int
	evals   [][]byte
	proof   []byte
	buckets []map[string][]uint32 // value -> breach IDs
	names   map[uint32]string
}

func readBinAnswer(t *testing.T, b []byte) binAnswer {
	t.Helper()
	r := bytes.NewReader(b)
	next := func(n int) []byte {
		out := make([]byte, n)
		if _, err := r.Read(out); err != nil && n > 0 {
			t.Fatalf("answer truncated: %v", err)
		}
		return out
	}
	uv := func() uint64 {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			t.Fatalf("answer: bad uvarint: %v", err)
		}
		return v
	}
	var a binAnswer
	if v := next(1)[0]; v != 1 {
		t.Fatalf("version %d", v)
	}
	a.keyID = hex.EncodeToString(next(8))
	a.bits = int(next(1)[0])
	n := int(binary.BigEndian.Uint16(next(2)))
	for range n {
		a.evals = append(a.evals, next(33))
	}
	a.proof = next(64)
	nb := int(binary.BigEndian.Uint16(next(2)))
	for range nb {
		m := map[string][]uint32{}
		for range uv() {
			v := string(next(index.PrivateValueLen))
			var ids []uint32
			for range uv() {
				ids = append(ids, uint32(uv()))
			}
			m[v] = ids
		}
		a.buckets = append(a.buckets, m)
	}
	a.names = map[uint32]string{}
	for range uv() {
		id := uint32(uv())
		a.names[id] = string(next(int(uv())))
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes after the answer", r.Len())
	}
	return a
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}

// binRequest encodes a binary request by hand: groups of elements by prefix.
func binRequest(bits int, prefixes []uint32, groups [][][]byte) []byte {
	b := []byte{1, byte(bits)}
	b = binary.BigEndian.AppendUint16(b, uint16(len(groups)))
	for i, g := range groups {
		b = binary.BigEndian.AppendUint32(b, prefixes[i])
		b = binary.BigEndian.AppendUint16(b, uint16(len(g)))
		for _, e := range g {
			b = append(b, e...)
		}
	}
	return b
}

// TestPrivateBinaryLookups sends one binary request holding the fixture's
// addresses and controls spread over several buckets, blinded by circl:
// one proof covers them all and verifies with circl, each bucket is the
// one the JSON API answers for its prefix, and exactly the stored
// addresses are found with their breaches.
func TestPrivateBinaryLookups(t *testing.T) {
	f := getPrivateFixture(t)
	_, base := serveIndex(t, f.ix, Options{})
	pc := newPrivClient(t, base, f.key)
	if pc.info.MaxBuckets != MaxPrivateBuckets {
		t.Fatalf("maxBuckets %d", pc.info.MaxBuckets)
	}
	bits := pc.info.Kinds["email"].PrefixBits
	bucketOf := func(in []byte) uint32 {
		s := sha256.Sum256(in)
		return binary.BigEndian.Uint32(s[:4]) >> (32 - bits)
	}
	type item struct {
		addr string
		in   []byte
		want []string
	}
	byBucket := map[uint32][]item{}
	for e, want := range f.emails {
		h := sha1.Sum([]byte(e))
		byBucket[bucketOf(h[:])] = append(byBucket[bucketOf(h[:])], item{e, h[:], want})
	}
	for _, e := range f.ctlEmails {
		h := sha1.Sum([]byte(e))
		byBucket[bucketOf(h[:])] = append(byBucket[bucketOf(h[:])], item{e, h[:], nil})
	}
	if len(byBucket) < 2 {
		t.Fatalf("the fixture's addresses fall in %d bucket(s); the test needs several", len(byBucket))
	}
	prefixes := slices.Sorted(func(yield func(uint32) bool) {
		for p := range byBucket {
			if !yield(p) {
				return
			}
		}
	})
	var items []item
	var inputs [][]byte
	for _, p := range prefixes {
		for _, it := range byBucket[p] {
			items = append(items, it)
			inputs = append(inputs, it.in)
		}
	}
	fd, req, err := pc.c.Blind(inputs)
	if err != nil {
		t.Fatal(err)
	}
	groups := make([][][]byte, len(prefixes))
	e := 0
	for gi, p := range prefixes {
		for range byBucket[p] {
			groups[gi] = append(groups[gi], must(req.Elements[e].MarshalBinaryCompress()))
			e++
		}
	}
	resp, body := post(t, base+"/v1/private/email", binRequest(bits, prefixes, groups),
		"hibp-api-key: "+f.key, "Content-Type: application/octet-stream")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentTypePrivateBinary {
		t.Fatalf("status %d, type %q: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	a := readBinAnswer(t, body)
	if a.keyID != pc.info.KeyID || a.bits != bits || len(a.evals) != len(inputs) || len(a.buckets) != len(prefixes) {
		t.Fatalf("answer: key %s bits %d, %d evaluations, %d buckets", a.keyID, a.bits, len(a.evals), len(a.buckets))
	}
	g := oprf.SuiteP256.Group()
	ev := &oprf.Evaluation{Proof: newProof(t, a.proof)}
	for _, b := range a.evals {
		el := g.NewElement()
		if err := el.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		ev.Elements = append(ev.Elements, el)
	}
	outs, err := pc.c.Finalize(fd, ev)
	if err != nil {
		t.Fatalf("circl rejects the batch's proof: %v", err)
	}
	e = 0
	for gi, p := range prefixes {
		for range byBucket[p] {
			it := items[e]
			ids, found := a.buckets[gi][string(outs[e][:index.PrivateValueLen])]
			e++
			names := a.sortedNames(t, ids)
			if !slices.Equal(names, it.want) || found != (it.want != nil) {
				t.Errorf("%q: found %v %v, want %v", it.addr, found, names, it.want)
			}
		}
		// The same bucket through the JSON API.
		js, _ := json.Marshal(map[string]any{"prefix": p, "prefixBits": bits, "elements": []string{base64.StdEncoding.EncodeToString(groups[gi][0])}})
		resp, jb := post(t, base+"/v1/private/email", js, "hibp-api-key: "+f.key)
		var ja PrivateResponse
		if resp.StatusCode != 200 || json.Unmarshal(jb, &ja) != nil {
			t.Fatalf("JSON lookup: %d %.200s", resp.StatusCode, jb)
		}
		if len(ja.Bucket) != len(a.buckets[gi]) {
			t.Fatalf("bucket %d: %d values in binary, %d in JSON", p, len(a.buckets[gi]), len(ja.Bucket))
		}
		for _, en := range ja.Bucket {
			v, _ := base64.StdEncoding.DecodeString(en.Value)
			ids, ok := a.buckets[gi][string(v)]
			if !ok || len(ids) != len(en.Breaches) {
				t.Fatalf("bucket %d: JSON value %s missing or different in binary", p, en.Value)
			}
		}
	}
}

// TestPrivateBinaryBadRequests: malformed binary bodies get 400 (never a
// panic), and evaluations are rate limited as in JSON.
func TestPrivateBinaryBadRequests(t *testing.T) {
	f := getPrivateFixture(t)
	slow, err := f.ix.CreateAPIKey(index.APIKey{Name: "slow-binary-" + hex.EncodeToString(must(randomBytes(4))), Scopes: []string{ScopeRange}, RatePerMinute: 5})
	if err != nil {
		t.Fatal(err)
	}
	newKey := func(rate int) string {
		k, err := f.ix.CreateAPIKey(index.APIKey{Name: "binary-" + hex.EncodeToString(must(randomBytes(4))), Scopes: []string{ScopeRange}, RatePerMinute: rate})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	small, perSecond := newKey(5), newKey(60)
	_, base := serveIndex(t, f.ix, Options{})
	good := must(oprf.SuiteP256.Group().HashToElement([]byte("x"), []byte("test")).MarshalBinaryCompress())
	batch := func(n int) [][][]byte {
		g := make([][]byte, n)
		for i := range g {
			g[i] = good
		}
		return [][][]byte{g}
	}
	offCurve := append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)
	uncompressed := must(oprf.SuiteP256.Group().HashToElement([]byte("x"), []byte("test")).MarshalBinary())
	one := [][][]byte{{good}}
	many := make([][]byte, MaxPrivateBatch+1)
	for i := range many {
		many[i] = good
	}
	tooManyGroups := make([][][]byte, MaxPrivateBuckets+1)
	groupPrefixes := make([]uint32, MaxPrivateBuckets+1)
	for i := range tooManyGroups {
		tooManyGroups[i] = [][]byte{good}
		groupPrefixes[i] = uint32(i % 4)
	}
	maxGroups := tooManyGroups[:MaxPrivateBuckets]
	ok := binRequest(2, []uint32{1}, one)
	for _, tc := range []struct {
		name string
		body []byte
		key  string
		want int
	}{
		{"ok", ok, f.key, 200},
		{"max buckets, repeated prefixes", binRequest(2, groupPrefixes[:MaxPrivateBuckets], maxGroups), f.key, 200},
		{"empty", nil, f.key, 400},
		{"version 2", append([]byte{2}, ok[1:]...), f.key, 400},
		{"prefixBits 33", binRequest(33, []uint32{1}, one), f.key, 400},
		{"wrong prefixBits", binRequest(3, []uint32{1}, one), f.key, 400},
		{"prefix too large", binRequest(2, []uint32{4}, one), f.key, 400},
		{"no bucket", binRequest(2, nil, nil), f.key, 400},
		{"too many buckets", binRequest(2, groupPrefixes, tooManyGroups), f.key, 400},
		{"empty bucket", binRequest(2, []uint32{1, 2}, [][][]byte{{good}, {}}), f.key, 400},
		{"oversized batch", binRequest(2, []uint32{1}, [][][]byte{many}), f.key, 400},
		{"truncated element", ok[:len(ok)-1], f.key, 400},
		{"trailing byte", append(bytes.Clone(ok), 0), f.key, 400},
		{"count beyond the body", append(binRequest(2, []uint32{1}, one)[:8], 0, 9), f.key, 400},
		{"off-curve point", binRequest(2, []uint32{1}, [][][]byte{{offCurve}}), f.key, 400},
		{"x without a point", binRequest(2, []uint32{1}, [][][]byte{{nonResidueX()}}), f.key, 400},
		{"uncompressed prefix byte", binRequest(2, []uint32{1}, [][][]byte{{append([]byte{4}, uncompressed[1:33]...)}}), f.key, 400},
		{"no key", ok, "", 401},
		// A fresh 5/min key: 5 evaluations in 2 buckets pass, the next
		// one is refused (one token per evaluation, not per request).
		{"rate: 5 evaluations in 2 buckets on a 5/min key", binRequest(2, []uint32{1, 2}, [][][]byte{{good, good, good}, {good, good}}), slow, 200},
		{"rate: a 6th evaluation", ok, slow, 429},
		// A batch beyond the key's whole budget can never pass: 400, not
		// a 429 the client would retry forever.
		{"rate: 7 evaluations on a 5/min key", binRequest(2, []uint32{1}, batch(7)), small, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := []string{"Content-Type: application/octet-stream"}
			if tc.key != "" {
				hs = append(hs, "hibp-api-key: "+tc.key)
			}
			resp, body := post(t, base+"/v1/private/email", tc.body, hs...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%.200s), want %d", resp.StatusCode, body, tc.want)
			}
		})
	}

	// Tokens are taken per batch, all or none, and Retry-After covers the
	// whole batch: 50 of 60 tokens spent, a batch of 21 needs 11 more
	// (the request's first token is taken first), 11 s at 1 a second.
	hs := []string{"Content-Type: application/octet-stream", "hibp-api-key: " + perSecond}
	if resp, body := post(t, base+"/v1/private/email", binRequest(2, []uint32{1}, batch(50)), hs...); resp.StatusCode != 200 {
		t.Fatalf("50 evaluations on a 60/min key: %d %.200s", resp.StatusCode, body)
	}
	resp, body := post(t, base+"/v1/private/email", binRequest(2, []uint32{1}, batch(21)), hs...)
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || ra < 10 || ra > 12 {
		t.Fatalf("21 more evaluations: %d, Retry-After %q (want 429, 10-12 s): %.200s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// The refused batch took no token but the request's own: 9 are left.
	if resp, body := post(t, base+"/v1/private/email", binRequest(2, []uint32{1}, batch(8)), hs...); resp.StatusCode != 200 {
		t.Fatalf("8 evaluations after the refusal: %d %.200s", resp.StatusCode, body)
	}
}

// FuzzParsePrivateBinary: the binary parser never panics, and what it
// accepts respects the documented bounds and re-encodes to the same body.
func FuzzParsePrivateBinary(f *testing.F) {
	good := must(oprf.SuiteP256.Group().HashToElement([]byte("x"), []byte("test")).MarshalBinaryCompress())
	f.Add(binRequest(2, []uint32{1}, [][][]byte{{good}}))
	f.Add(binRequest(11, []uint32{1, 7}, [][][]byte{{good, good}, {good}}))
	f.Add(binRequest(40, nil, nil))
	f.Add([]byte{1, 2, 0, 1, 0, 0, 0, 0, 255, 255})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParsePrivateBinary(body)
		if err != nil {
			return
		}
		if len(r.Elements) == 0 || len(r.Elements) > MaxPrivateBatch || len(r.Prefixes) == 0 || len(r.Prefixes) > MaxPrivateBuckets ||
			r.PrefixBits > 32 || len(r.Group) != len(r.Elements) {
			t.Fatalf("accepted %x", body)
		}
		groups := make([][][]byte, len(r.Prefixes))
		for i, e := range r.Elements {
			if len(e) != 33 || (e[0] != 2 && e[0] != 3) {
				t.Fatalf("accepted element %x", e)
			}
			groups[r.Group[i]] = append(groups[r.Group[i]], e)
		}
		if again := binRequest(r.PrefixBits, r.Prefixes, groups); !bytes.Equal(again, body) {
			t.Fatalf("%x re-encodes to %x", body, again)
		}
	})
}

// binLookup looks one OPRF input up in the binary format (circl client)
// and returns its breach names, sorted (nil when absent).
func (pc *privClient) binLookup(kind string, input []byte) []string {
	t := pc.t.(*testing.T)
	t.Helper()
	fd, el, bits, prefix := pc.blind(kind, input)
	resp, body := post(t, pc.base+"/v1/private/"+kind, binRequest(bits, []uint32{prefix}, [][][]byte{{el}}),
		"hibp-api-key: "+pc.key, "Content-Type: application/octet-stream")
	if resp.StatusCode != 200 {
		t.Fatalf("binary lookup: %d %.200s", resp.StatusCode, body)
	}
	a := readBinAnswer(t, body)
	g := oprf.SuiteP256.Group()
	e := g.NewElement()
	if err := e.UnmarshalBinary(a.evals[0]); err != nil {
		t.Fatal(err)
	}
	outs, err := pc.c.Finalize(fd, &oprf.Evaluation{Elements: []oprf.Evaluated{e}, Proof: newProof(t, a.proof)})
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	ids, ok := a.buckets[0][string(outs[0][:index.PrivateValueLen])]
	if !ok {
		return nil
	}
	return a.sortedNames(t, ids)
}

// sortedNames returns the answer's names of breach IDs, sorted; an ID
// missing from the answer's table fails the test.
func (a binAnswer) sortedNames(t *testing.T, ids []uint32) []string {
	t.Helper()
	var names []string
	for _, id := range ids {
		n, ok := a.names[id]
		if !ok {
			t.Fatalf("breach ID %d not named", id)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestPrivateSensitive: a sensitive breach is listed only for keys with
// the sensitive scope, in JSON and in binary answers; an address only in
// it is not found without that scope, and one also in public breaches is
// found with those alone.
func TestPrivateSensitive(t *testing.T) {
	f := getPrivateFixture(t)
	_, base := serveIndex(t, f.ix, Options{})
	plain, sens := newPrivClient(t, base, f.key), newPrivClient(t, base, f.sensitiveKey)
	for addr, all := range f.sensitive {
		h := sha1.Sum([]byte(addr))
		var public []string
		for _, b := range all {
			if b != "Breach3" {
				public = append(public, b)
			}
		}
		for _, tc := range []struct {
			name string
			got  []string
			want []string
		}{
			{"JSON, sensitive key", sens.lookup("email", h[:]), all},
			{"binary, sensitive key", sens.binLookup("email", h[:]), all},
			{"JSON, plain key", plain.lookup("email", h[:]), public},
			{"binary, plain key", plain.binLookup("email", h[:]), public},
		} {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("%s: %s: %v, want %v", addr, tc.name, tc.got, tc.want)
			}
		}
	}
}
