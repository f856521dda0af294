package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/oprf"

	"github.com/pwndex/pwndex/index"
)

// TestAuditPrivate runs `pwndex audit --remote URL --private` against a
// real server behind a recording wrapper. It checks the findings against
// the hand-written expectation, then what the server received: only the
// key, the catalog and private lookups whose bodies hold a short bucket
// number and blinded elements; no identifier, no hash or hash prefix; and
// two audits of the same file send unrelated elements. Finally the bucket
// values of a stored address differ between two index keys.
func TestAuditPrivate(t *testing.T) {
	ixDir := t.TempDir()
	if err := audBuildIndex(ixDir); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.DerivePrivate(context.Background()); err != nil {
		t.Fatal(err)
	}
	key, err := ix.CreateAPIKey(index.APIKey{Name: "private-audit", Scopes: []string{"range", "sensitive"}, RatePerMinute: 100000})
	if err != nil {
		t.Fatal(err)
	}
	srv := audStartAPI(t, ix)
	dir := t.TempDir()
	in := filepath.Join(dir, "crm.csv")
	os.WriteFile(in, []byte(audCSV), 0o644)

	var runs [][]string // recorded requests per run
	for i := range 2 {
		srv.mu.Lock()
		srv.reqs = nil
		srv.mu.Unlock()
		out := filepath.Join(dir, fmt.Sprint("private", i))
		code, stdout, stderr := audRun(t, "--remote", srv.url, "--private", "--api-key", key, "--out", out, in)
		if code != 0 {
			t.Fatalf("private audit: exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "private remote http://127.0.0.1") {
			t.Errorf("summary does not name the private source:\n%s", stdout)
		}
		got := audReadOut(t, out)
		if got["exposed.csv"] != audWantExposed {
			t.Errorf("exposed.csv:\n%s\nwant:\n%s", got["exposed.csv"], audWantExposed)
		}
		srv.mu.Lock()
		runs = append(runs, slices.Clone(srv.reqs))
		srv.mu.Unlock()
	}

	// What the server saw.
	var leaks []string
	for _, n := range []string{"alice@example.com", "bob@example.com", "carol@example.fr", "frank@example.net", "+33612345678"} {
		raw := audSHA1(n)
		h := fmt.Sprintf("%X", raw)
		s := sha256.Sum256(raw[:])
		leaks = append(leaks, n, h[:6], strings.ToLower(h[:6]), h[6:14], fmt.Sprintf("%x", s[:3]))
	}
	leaks = append(leaks, "Alice", "alice", "bob", "carol", "frank", "06 12", "0612345678")
	var rawLeaks [][]byte // raw hash bytes, for binary bodies
	for _, n := range []string{"alice@example.com", "bob@example.com", "carol@example.fr", "frank@example.net", "+33612345678"} {
		raw := audSHA1(n)
		s := sha256.Sum256(raw[:])
		rawLeaks = append(rawLeaks, raw[:8], s[:4])
	}
	elements := make([]map[string]bool, 2)
	for i, reqs := range runs {
		elements[i] = map[string]bool{}
		posts := 0
		for _, r := range reqs {
			uri, rest, _ := strings.Cut(r, "\n")
			switch uri {
			case "/api/v3/breaches", "/v1/private/key":
				continue
			case "/v1/private/email", "/v1/private/phone":
			default:
				t.Errorf("unexpected request %q", uri)
				continue
			}
			posts++
			low := strings.ToLower(r)
			for _, l := range leaks {
				if strings.Contains(low, strings.ToLower(l)) {
					t.Errorf("request leaks %q:\n%s", l, r)
				}
			}
			// The audit client sends the binary format (api/README.md):
			// version, prefix bits, buckets, then per bucket its prefix,
			// a count and the 33-byte blinded elements.
			if !strings.Contains(rest, "Content-Type: application/octet-stream") {
				t.Fatalf("private lookup not in the binary format:\n%s", r)
			}
			cl := 0
			for _, line := range strings.Split(rest, "\n") {
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					cl, _ = strconv.Atoi(v)
				}
			}
			body := []byte(r[len(r)-cl:])
			for _, l := range rawLeaks {
				if bytes.Contains(body, l) {
					t.Errorf("body holds raw hash bytes %x", l)
				}
			}
			if len(body) < 4 || body[0] != 1 {
				t.Fatalf("body %x", body)
			}
			bits := int(body[1])
			groups := int(binary.BigEndian.Uint16(body[2:]))
			body = body[4:]
			for range groups {
				if len(body) < 6 {
					t.Fatalf("truncated body")
				}
				prefix, n := binary.BigEndian.Uint32(body), int(binary.BigEndian.Uint16(body[4:]))
				body = body[6:]
				if bits > 4 || prefix >= 1<<bits {
					t.Errorf("bucket prefix %d of %d bits: more than the short prefix of a 3,000-record index", prefix, bits)
				}
				for range n {
					if len(body) < 33 || (body[0] != 2 && body[0] != 3) {
						t.Fatalf("element %x is not a compressed point", body[:min(33, len(body))])
					}
					elements[i][string(body[:33])] = true
					body = body[33:]
				}
			}
			if len(body) != 0 {
				t.Errorf("%d bytes after the last bucket", len(body))
			}
		}
		if len(elements[i]) != 5 { // alice, bob, carol, frank and one phone
			t.Errorf("run %d: %d private requests with %d distinct elements, want 5 (4 e-mails, 1 phone)", i, posts, len(elements[i]))
		}
	}
	for e := range elements[0] {
		if elements[1][e] {
			t.Errorf("two audits of the same file sent the same element %x", e)
		}
	}

	// The bucket of a stored address under two keys.
	alice := audSHA1("alice@example.com")
	before := privateBucketValues(t, srv.url, key, alice)
	if err := ix.RotatePrivateKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the server re-reads oprf.key at most once a second
	after := privateBucketValues(t, srv.url, key, alice)
	if len(before) == 0 || len(before) != len(after) {
		t.Fatalf("bucket sizes %d and %d", len(before), len(after))
	}
	for v := range before {
		if after[v] {
			t.Errorf("value %s is in the bucket under both keys", v)
		}
	}
}

// privateBucketValues fetches the bucket of an e-mail hash with one
// blinded element (circl client) and returns its values.
func privateBucketValues(t *testing.T, base, key string, h index.Hash) map[string]bool {
	t.Helper()
	var info struct {
		PublicKey string `json:"publicKey"`
		Kinds     map[string]struct {
			PrefixBits int `json:"prefixBits"`
		} `json:"kinds"`
	}
	resp, err := httpGetJSON(base+"/v1/private/key", &info)
	if err != nil || resp != 200 {
		t.Fatalf("GET key: %d %v", resp, err)
	}
	pk, _ := base64.StdEncoding.DecodeString(info.PublicKey)
	pub := new(oprf.PublicKey)
	if err := pub.UnmarshalBinary(oprf.SuiteP256, pk); err != nil {
		t.Fatal(err)
	}
	c := oprf.NewVerifiableClient(oprf.SuiteP256, pub)
	_, req, err := c.Blind([][]byte{h[:]})
	if err != nil {
		t.Fatal(err)
	}
	el, _ := req.Elements[0].MarshalBinaryCompress()
	bits := info.Kinds["email"].PrefixBits
	s := sha256.Sum256(h[:])
	prefix := binary.BigEndian.Uint32(s[:4]) >> (32 - bits)
	body, _ := json.Marshal(map[string]any{"prefix": prefix, "prefixBits": bits, "elements": []string{base64.StdEncoding.EncodeToString(el)}})
	var ans struct {
		Bucket []struct {
			V string `json:"v"`
		} `json:"bucket"`
	}
	status, err := httpPostJSON(base+"/v1/private/email", key, body, &ans)
	if err != nil || status != 200 {
		t.Fatalf("POST: %d %v", status, err)
	}
	out := map[string]bool{}
	for _, e := range ans.Bucket {
		out[e.V] = true
	}
	return out
}

func httpGetJSON(url string, v any) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

func httpPostJSON(url, key string, body []byte, v any) (int, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("hibp-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

// TestKeysOPRFRotateCLI runs `pwndex keys oprf-rotate` twice on a real
// index: each run draws a new key (the published key ID changes), keeps
// oprf.key at mode 0600 and leaves exactly one artefact (and its sidecar)
// per kind.
func TestKeysOPRFRotateCLI(t *testing.T) {
	dir := t.TempDir()
	if err := audBuildIndex(dir); err != nil {
		t.Fatal(err)
	}
	keyID := func() string {
		b, err := os.ReadFile(filepath.Join(dir, "oprf.key"))
		if err != nil {
			t.Fatal(err)
		}
		var kf struct {
			KeyID string            `json:"keyID"`
			Files map[string]string `json:"files"`
		}
		// The JSON, without the file's last line: "#sha256 <hex of the bytes before>".
		body, sum, ok := bytes.Cut(b, []byte("\n#sha256 "))
		if h := sha256.Sum256(append(body, '\n')); !ok || strings.TrimSpace(string(sum)) != hex.EncodeToString(h[:]) {
			t.Errorf("oprf.key does not end with the SHA-256 line of its bytes")
		}
		if err := json.Unmarshal(body, &kf); err != nil {
			t.Fatal(err)
		}
		if len(kf.Files) != 2 || kf.Files["email"] == "" || kf.Files["phone"] == "" {
			t.Errorf("oprf.key names %v, want the e-mail and phone artefacts", kf.Files)
		}
		return kf.KeyID
	}
	var ids []string
	for range 2 {
		var o, e bytes.Buffer
		if code := run(context.Background(), []string{"keys", "oprf-rotate", "--index", dir}, strings.NewReader(""), &o, &e); code != 0 {
			t.Fatalf("keys oprf-rotate: exit %d: %s", code, e.String())
		}
		id := keyID()
		if !strings.Contains(e.String(), "new OPRF key "+id) {
			t.Errorf("stderr %q does not name the new key %s", e.String(), id)
		}
		ids = append(ids, id)
		st, err := os.Stat(filepath.Join(dir, "oprf.key"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("oprf.key: %v, mode %v", err, st.Mode().Perm())
		}
		ents, _ := os.ReadDir(filepath.Join(dir, "private"))
		if len(ents) != 4 {
			t.Errorf("private/ holds %d files, want 4 (two artefacts and their sidecars)", len(ents))
		}
	}
	if ids[0] == ids[1] {
		t.Error("two rotations kept the same key")
	}
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"keys", "oprf-rotate", "--index", dir, "extra"}, strings.NewReader(""), &o, &e); code != 2 {
		t.Errorf("oprf-rotate with an argument: exit %d, want 2", code)
	}
}
