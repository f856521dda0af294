package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// emailIndex builds, in a temp dir, one breach "Corpus" holding n random
// e-mail identifier hashes and an audit key, and returns the directory,
// the hashes in upper-case hex (generated here, independently of the
// index) and the key.
func emailIndex(t testing.TB, n int) (string, []string, string) {
	t.Helper()
	dir := t.TempDir()
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ix.NewBreachBuilder(index.Breach{Name: "Corpus", Title: "Corpus", BreachDate: "2020-01-01"},
		index.BuildOptions{SourceID: "corpus"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	hexes := make([]string, n)
	for i := range hexes {
		var h index.Hash
		for j := range 20 {
			h[j] = byte(rng.Uint32())
		}
		if err := b.AddIdentifier(index.KindEmail, &h); err != nil {
			t.Fatal(err)
		}
		hexes[i] = strings.ToUpper(hex.EncodeToString(h[:20]))
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	key, err := ix.CreateAPIKey(index.APIKey{Name: "a", Scopes: []string{ScopeAudit}, RatePerMinute: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, hexes, key
}

// storeFlipRun flips nflips random bytes in the first half (the data
// blocks) of the e-mail generation's Badger tables, serves the index and
// audits every hash in batches. It restores the bytes before returning and
// reports whether the server survived (every answer 200 or 500, /healthz
// 200 at the end) and how many answers were 500 and how many 200 answers
// missed present hashes.
func storeFlipRun(t *testing.T, dir string, hexes []string, key string, rng *rand.Rand, nflips int) (survived, opened bool, n500, missed int) {
	t.Helper()
	ssts, _ := filepath.Glob(filepath.Join(dir, "gens", "*", "db", "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("no Badger table in the e-mail generation")
	}
	type flip struct {
		path string
		at   int64
		bit  byte
	}
	var flips []flip
	toggle := func(f flip) {
		fh, err := os.OpenFile(f.path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		var b [1]byte
		fh.ReadAt(b[:], f.at)
		b[0] ^= f.bit
		fh.WriteAt(b[:], f.at)
	}
	for range nflips {
		p := ssts[rng.IntN(len(ssts))]
		st, err := os.Stat(p)
		if err != nil || st.Size() < 2 {
			continue
		}
		f := flip{p, rng.Int64N(st.Size() / 2), 1 << rng.IntN(8)}
		toggle(f)
		flips = append(flips, f)
	}
	defer func() {
		for _, f := range flips {
			toggle(f)
		}
	}()
	ix, err := index.Open(index.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		return true, false, 0, 0 // refused at open: nothing served
	}
	defer ix.Close()
	_, base, done, cancel := serveStoppable(t, ix, Options{})
	defer func() { cancel(); <-done }()
	survived, opened = true, true
	for i := 0; i < len(hexes); i += 500 {
		batch := hexes[i:min(i+500, len(hexes))]
		resp, body := post(t, base+"/v1/audit?kind=email", []byte(strings.Join(batch, "\n")), "hibp-api-key: "+key)
		switch resp.StatusCode {
		case 500:
			n500++
		case 200:
			var r AuditResponse
			if err := json.Unmarshal(body, &r); err != nil {
				t.Errorf("audit answer is not JSON: %v", err)
				survived = false
			}
			missed += len(batch) - len(r.Found)
		default:
			t.Errorf("audit over a corrupt store: status %d %s", resp.StatusCode, bytes.TrimSpace(body))
			survived = false
		}
	}
	if resp, _ := get(t, "GET", base+"/healthz"); resp.StatusCode != 200 {
		survived = false
	}
	return survived, opened, n500, missed
}

// TestAuditCorruptStore: audits over Badger tables with flipped bytes
// never take the server down; each answers 200 or 500.
func TestAuditCorruptStore(t *testing.T) {
	dir, hexes, key := emailIndex(t, 3000)
	rng := rand.New(rand.NewPCG(11, 12))
	for run := range 4 {
		survived, _, _, _ := storeFlipRun(t, dir, hexes, key, rng, 20)
		if !survived {
			t.Errorf("run %d: the server did not survive audits over a corrupt store", run)
		}
	}
}
