package api

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"

	"github.com/pwndex/pwndex/index"
)

// The private fixture: its own index (built through the Builder API, hashes
// computed here with crypto/sha1) with e-mail addresses, phone numbers and
// e-mail+password pairs in two breaches, and its private artefacts derived.
type privFixture struct {
	ix         *index.Index
	key, slow  string              // API keys: generous rate, 5 a minute
	auditor    string              // API key with the audit scope
	emails     map[string][]string // normalised address -> breach Names
	phones     map[string][]string
	creds      map[[2]string][]string // (normalised address, password) -> breach Names
	ctlEmails  []string
	ctlCreds   [][2]string
	fillerSize int
	// Breach3 is sensitive: sensitive lists its e-mail addresses (with
	// every breach they are in), shown only to keys with that scope.
	sensitive    map[string][]string
	sensitiveKey string // scopes range and sensitive
}

var (
	privOnce sync.Once
	privFix  *privFixture
	privErr  error
)

func getPrivateFixture(t testing.TB) *privFixture {
	t.Helper()
	privOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pwndex-private-*")
		if err != nil {
			privErr = err
			return
		}
		privFix, privErr = buildPrivateFixture(dir)
	})
	if privErr != nil {
		t.Fatalf("private fixture: %v", privErr)
	}
	return privFix
}

func credHash(email, pw string) index.Hash {
	return index.Hash(sha1.Sum([]byte(email + "\x00" + pw)))
}

func buildPrivateFixture(dir string) (*privFixture, error) {
	f := &privFixture{
		emails: map[string][]string{
			"alice@example.com": {"Breach1", "Breach2"},
			"bob@example.org":   {"Breach1"},
			"zoé@exemple.fr":    {"Breach2"},
		},
		phones: map[string][]string{"+33612345678": {"Breach2"}},
		creds: map[[2]string][]string{
			{"alice@example.com", "hunter2"}:  {"Breach1"},
			{"bob@example.org", "motdepasse"}: {"Breach1", "Breach2"},
		},
		ctlEmails:  []string{"carol@example.com", "alice@example.co", "bob@example.org."},
		ctlCreds:   [][2]string{{"alice@example.com", "hunter3"}, {"bob@example.org", "hunter2"}, {"carol@example.com", "hunter2"}},
		fillerSize: 1100,
		sensitive: map[string][]string{
			"alice@example.com":   {"Breach1", "Breach2", "Breach3"}, // also in public breaches
			"dora@example.com":    {"Breach3"},                       // only in the sensitive one
			"eve+tag@example.com": {"Breach3"},
		},
	}
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	f.ix = ix
	for _, name := range []string{"Breach1", "Breach2", "Breach3"} {
		b, err := ix.NewBreachBuilder(index.Breach{Name: name, Title: name, BreachDate: "2020-01-01", IsSensitive: name == "Breach3"}, index.BuildOptions{SourceID: name})
		if err != nil {
			return nil, err
		}
		add := func(k index.Kind, h index.Hash) {
			if err == nil {
				err = b.AddIdentifier(k, &h)
			}
		}
		for e, bs := range f.emails {
			if slices.Contains(bs, name) {
				add(index.KindEmail, index.Hash(sha1.Sum([]byte(e))))
			}
		}
		for p, bs := range f.phones {
			if slices.Contains(bs, name) {
				add(index.KindPhone, index.Hash(sha1.Sum([]byte(p))))
			}
		}
		for c, bs := range f.creds {
			if slices.Contains(bs, name) {
				add(index.KindCredential, credHash(c[0], c[1]))
			}
		}
		if name == "Breach3" {
			for e := range f.sensitive {
				add(index.KindEmail, index.Hash(sha1.Sum([]byte(e))))
			}
		}
		if name == "Breach1" { // fill the e-mail kind past one bucket
			for i := range f.fillerSize {
				add(index.KindEmail, index.Hash(sha1.Sum(fmt.Appendf(nil, "filler%d@example.net", i))))
			}
		}
		if err != nil {
			return nil, err
		}
		if _, err := b.Commit(context.Background()); err != nil {
			return nil, err
		}
	}
	if err := ix.DerivePrivate(context.Background()); err != nil {
		return nil, err
	}
	if f.key, err = ix.CreateAPIKey(index.APIKey{Name: "private", Scopes: []string{ScopeRange}, RatePerMinute: 1_000_000}); err != nil {
		return nil, err
	}
	if f.auditor, err = ix.CreateAPIKey(index.APIKey{Name: "auditor", Scopes: []string{ScopeAudit}, RatePerMinute: 1000}); err != nil {
		return nil, err
	}
	if f.sensitiveKey, err = ix.CreateAPIKey(index.APIKey{Name: "private-sensitive", Scopes: []string{ScopeRange, ScopeSensitive}, RatePerMinute: 1_000_000}); err != nil {
		return nil, err
	}
	if f.slow, err = ix.CreateAPIKey(index.APIKey{Name: "slow", Scopes: []string{ScopeRange}, RatePerMinute: 5}); err != nil {
		return nil, err
	}
	return f, nil
}

// privClient is a test client built on circl's verifiable client only.
type privClient struct {
	t    testing.TB
	base string
	key  string
	info PrivateKeyResponse
	c    oprf.VerifiableClient
}

func newPrivClient(t testing.TB, base, key string) *privClient {
	t.Helper()
	resp, body := get(t, "GET", base+"/v1/private/key")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/private/key: %d %s", resp.StatusCode, body)
	}
	pc := &privClient{t: t, base: base, key: key}
	if err := json.Unmarshal(body, &pc.info); err != nil {
		t.Fatal(err)
	}
	pkb, _ := base64.StdEncoding.DecodeString(pc.info.PublicKey)
	pk := new(oprf.PublicKey)
	if err := pk.UnmarshalBinary(oprf.SuiteP256, pkb); err != nil {
		t.Fatal(err)
	}
	pc.c = oprf.NewVerifiableClient(oprf.SuiteP256, pk)
	return pc
}

// blind blinds one OPRF input and returns the finalize data, the
// compressed blinded element, and the kind's prefix length and the
// input's bucket (the first bits of SHA-256 of the input).
func (pc *privClient) blind(kind string, input []byte) (*oprf.FinalizeData, []byte, int, uint32) {
	pc.t.Helper()
	fd, req, err := pc.c.Blind([][]byte{input})
	if err != nil {
		pc.t.Fatal(err)
	}
	bits := pc.info.Kinds[kind].PrefixBits
	sum := sha256.Sum256(input)
	prefix := uint32(0)
	if bits > 0 {
		prefix = binary.BigEndian.Uint32(sum[:4]) >> (32 - bits)
	}
	return fd, must(req.Elements[0].MarshalBinaryCompress()), bits, prefix
}

// lookup returns the breach names of one OPRF input (nil if absent).
func (pc *privClient) lookup(kind string, input []byte) []string {
	t := pc.t
	t.Helper()
	fd, el, bits, prefix := pc.blind(kind, input)
	body, _ := json.Marshal(map[string]any{"prefix": prefix, "prefixBits": bits, "elements": []string{base64.StdEncoding.EncodeToString(el)}})
	resp, rb := post(t, pc.base+"/v1/private/"+kind, body, "hibp-api-key: "+pc.key)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/private/%s: %d %s", kind, resp.StatusCode, rb)
	}
	var ans PrivateResponse
	if err := json.Unmarshal(rb, &ans); err != nil {
		t.Fatal(err)
	}
	g := oprf.SuiteP256.Group()
	ev := &oprf.Evaluation{}
	for _, s := range ans.Evaluations {
		b, _ := base64.StdEncoding.DecodeString(s)
		e := g.NewElement()
		if err := e.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		ev.Elements = append(ev.Elements, e)
	}
	pb, _ := base64.StdEncoding.DecodeString(ans.Proof)
	ev.Proof = newProof(t, pb)
	outs, err := pc.c.Finalize(fd, ev)
	if err != nil {
		t.Fatalf("finalize (proof check): %v", err)
	}
	want := base64.StdEncoding.EncodeToString(outs[0][:index.PrivateValueLen])
	for _, e := range ans.Bucket {
		if e.Value == want {
			var names []string
			for _, id := range e.Breaches {
				n, ok := ans.Breaches[fmt.Sprint(id)]
				if !ok {
					t.Fatalf("breach ID %d not named in %v", id, ans.Breaches)
				}
				names = append(names, n)
			}
			slices.Sort(names)
			return names
		}
	}
	return nil
}

func TestPrivateLookups(t *testing.T) {
	f := getPrivateFixture(t)
	_, base := serveIndex(t, f.ix, Options{})
	pc := newPrivClient(t, base, f.key)
	if pc.info.Suite != "P256-SHA256" || pc.info.Kinds["email"].PrefixBits != 2 || pc.info.Kinds["credential"].PrefixBits != 0 {
		t.Fatalf("key info %+v", pc.info)
	}
	sha := func(s string) []byte { h := sha1.Sum([]byte(s)); return h[:] }
	for e, want := range f.emails {
		if got := pc.lookup("email", sha(e)); !slices.Equal(got, want) {
			t.Errorf("email %q: %v, want %v", e, got, want)
		}
	}
	for _, e := range f.ctlEmails {
		if got := pc.lookup("email", sha(e)); got != nil {
			t.Errorf("control email %q found in %v", e, got)
		}
	}
	for p, want := range f.phones {
		if got := pc.lookup("phone", sha(p)); !slices.Equal(got, want) {
			t.Errorf("phone %q: %v, want %v", p, got, want)
		}
	}
	for c, want := range f.creds {
		h := credHash(c[0], c[1])
		if got := pc.lookup("credential", h[:]); !slices.Equal(got, want) {
			t.Errorf("credential %q: %v, want %v", c, got, want)
		}
	}
	for _, c := range f.ctlCreds {
		h := credHash(c[0], c[1])
		if got := pc.lookup("credential", h[:]); got != nil {
			t.Errorf("control credential %q found in %v", c, got)
		}
	}
}

func TestPrivateBadRequests(t *testing.T) {
	f := getPrivateFixture(t)
	_, base := serveIndex(t, f.ix, Options{})
	g := oprf.SuiteP256.Group()
	good := g.HashToElement([]byte("x"), []byte("test"))
	gb, _ := good.MarshalBinaryCompress()
	ge := base64.StdEncoding.EncodeToString(gb)
	offCurve := append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)
	notPoint := nonResidueX()
	many := make([]string, MaxPrivateBatch+1)
	for i := range many {
		many[i] = ge
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, tc := range []struct {
		name, method, path, body, key string
		want                          int
	}{
		{"ok", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{ge}}), f.key, 200},
		{"no key", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{ge}}), "", 401},
		{"get", "GET", "/v1/private/email", "", f.key, 405},
		{"unknown kind", "POST", "/v1/private/sha1", "{}", f.key, 404},
		{"not json", "POST", "/v1/private/email", "prefix=1", f.key, 400},
		{"no elements", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{}}), f.key, 400},
		{"oversized batch", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": many}), f.key, 400},
		{"off-curve point", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{base64.StdEncoding.EncodeToString(offCurve)}}), f.key, 400},
		{"x without a point", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{base64.StdEncoding.EncodeToString(notPoint)}}), f.key, 400},
		{"uncompressed point", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{base64.StdEncoding.EncodeToString(must(good.MarshalBinary()))}}), f.key, 400},
		{"identity", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{"AA=="}}), f.key, 400},
		{"bad base64", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{"!!"}}), f.key, 400},
		{"wrong prefix length", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 6, "elements": []string{ge}}), f.key, 400},
		{"prefix too large", "POST", "/v1/private/email", js(map[string]any{"prefix": 4, "prefixBits": 2, "elements": []string{ge}}), f.key, 400},
		{"negative prefix", "POST", "/v1/private/email", `{"prefix":-1,"prefixBits":2,"elements":["` + ge + `"]}`, f.key, 400},
		{"no credential pairs through /v1/audit", "POST", "/v1/audit?kind=credential", fmt.Sprintf("%X\n", credHash("alice@example.com", "hunter2")), f.auditor, 400},
		{"rate: 6 evaluations on a 5/min key", "POST", "/v1/private/email", js(map[string]any{"prefix": 1, "prefixBits": 2, "elements": []string{ge, ge, ge, ge, ge, ge}}), f.slow, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hs []string
			if tc.key != "" {
				hs = append(hs, "hibp-api-key: "+tc.key)
			}
			resp, body := request(t, tc.method, base+tc.path, strings.NewReader(tc.body), hs...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%.200s), want %d", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// nonResidueX returns a compressed encoding whose x coordinate has no
// point on P-256 (x^3 - 3x + b is not a square mod p), found with math/big.
func nonResidueX() []byte {
	par := elliptic.P256().Params()
	for x := int64(1); ; x++ {
		bx := big.NewInt(x)
		y2 := new(big.Int).Exp(bx, big.NewInt(3), par.P)
		y2.Sub(y2, new(big.Int).Mul(bx, big.NewInt(3)))
		y2.Add(y2, par.B)
		y2.Mod(y2, par.P)
		if big.Jacobi(y2, par.P) == -1 {
			out := make([]byte, 33)
			out[0] = 0x02
			bx.FillBytes(out[1:])
			return out
		}
	}
}

func newProof(t testing.TB, b []byte) *dleq.Proof {
	t.Helper()
	p := new(dleq.Proof)
	if err := p.UnmarshalBinary(oprf.SuiteP256.Group(), b); err != nil {
		t.Fatal(err)
	}
	return p
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPrivateKeyEndpoint(t *testing.T) {
	f := getPrivateFixture(t)
	_, base := serveIndex(t, f.ix, Options{})
	resp, body := get(t, "GET", base+"/v1/private/key")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	var k PrivateKeyResponse
	if err := json.Unmarshal(body, &k); err != nil {
		t.Fatal(err)
	}
	pk, _ := base64.StdEncoding.DecodeString(k.PublicKey)
	id := sha256.Sum256(pk)
	if k.Mode != "verifiable" || len(pk) != 33 || fmt.Sprintf("%x", id[:8]) != k.KeyID || k.Kinds["email"].Records != uint64(len(f.emails)+f.fillerSize+2) {
		t.Fatalf("key answer %s", body)
	}
}

func FuzzParsePrivateRequest(f *testing.F) {
	g := oprf.SuiteP256.Group()
	e := g.HashToElement([]byte("x"), []byte("test"))
	b, _ := e.MarshalBinaryCompress()
	f.Add([]byte(`{"prefix":3,"prefixBits":2,"elements":["` + base64.StdEncoding.EncodeToString(b) + `"]}`))
	f.Add([]byte(`{"prefix":3,"prefixBits":40,"elements":[]}`))
	f.Add([]byte(`{"elements":["AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF"]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, elems, err := ParsePrivateRequest(body)
		if err != nil {
			return
		}
		if len(elems) == 0 || len(elems) > MaxPrivateBatch || len(elems) != len(r.Elements) || r.PrefixBits < 0 || r.PrefixBits > 32 {
			t.Fatalf("accepted %q", body)
		}
		for _, el := range elems {
			if len(el) != 33 || (el[0] != 2 && el[0] != 3) {
				t.Fatalf("accepted element %x in %q", el, body)
			}
		}
	})
}

// TestPrivateConcurrent runs lookups from several goroutines at once (the
// race detector checks the shared evaluation state).
func TestPrivateConcurrent(t *testing.T) {
	f := getPrivateFixture(t)
	_, base := serveIndex(t, f.ix, Options{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc := newPrivClient(t, base, f.key)
			for range 3 {
				if got := pc.lookup("email", must(sha1Bytes("alice@example.com"))); !slices.Equal(got, f.emails["alice@example.com"]) {
					t.Errorf("concurrent lookup: %v", got)
				}
			}
		}()
	}
	wg.Wait()
}

func sha1Bytes(s string) ([]byte, error) {
	h := sha1.Sum([]byte(s))
	return h[:], nil
}
