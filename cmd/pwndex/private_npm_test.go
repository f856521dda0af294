package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// TestPrivateNodeClient ingests a combo list and a CSV dump with
// `pwndex ingest`, serves the index, and runs @cloudflare/voprf-ts (an
// independent RFC 9497 implementation, testdata/private_client.mjs) as the
// client: it must find exactly the ingested addresses, phone numbers and
// e-mail+password pairs, and none of a control set. Inputs are computed in
// the script with node:crypto from normal forms written here by hand.
// PWNDEX_NPM_DIR must name a directory where `npm install
// @cloudflare/voprf-ts@1.0.0` was run (.ci/run does).
func TestPrivateNodeClient(t *testing.T) {
	npm := os.Getenv("PWNDEX_NPM_DIR")
	if npm == "" {
		skipMissingDep(t, "PWNDEX_NPM_DIR is not set: the voprf-ts interop test did not run")
	}
	if _, err := os.Stat(filepath.Join(npm, "node_modules", "@cloudflare", "voprf-ts", "package.json")); err != nil {
		t.Fatalf("PWNDEX_NPM_DIR=%s has no node_modules/@cloudflare/voprf-ts: %v", npm, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("PWNDEX_NPM_DIR is set but node is not installed: %v", err)
	}
	dir := t.TempDir()
	ixDir := filepath.Join(dir, "index")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	combo := write("combo.txt", "Alice@Example.com:hunter2\nbob@example.org:mot:de:passe\nZoé@Exemple.fr:soleil\n")
	comboM := write("combo.json", `{"Name":"ComboList","Title":"Combo list","BreachDate":"2024-01-02","DataClasses":["Email addresses","Passwords"]}`)
	dump := write("dump.csv", "Nom;Adresse e-mail;Téléphone;Mot de passe\n"+
		"Dupont; Elodie.Dupont@Exemple.FR ;06 12 34 56 78;soleil\n"+
		"Martin;alice@example.com;;correct horse\n")
	dumpM := write("dump.json", `{"Name":"ShopDump","Title":"Shop dump","BreachDate":"2023-05-06","DataClasses":["Email addresses","Phone numbers","Passwords"]}`)
	for _, in := range [][2]string{{comboM, combo}, {dumpM, dump}} {
		var o, e bytes.Buffer
		if code := run(context.Background(), []string{"ingest", "--index", ixDir, "--quiet", "--manifest", in[0], in[1]}, strings.NewReader(""), &o, &e); code != 0 {
			t.Fatalf("ingest %s: exit %d: %s", in[1], code, e.String())
		}
	}
	ix, err := index.Open(index.Options{Dir: ixDir})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	key, err := ix.CreateAPIKey(index.APIKey{Name: "node", Scopes: []string{"range"}, RatePerMinute: 100000})
	if err != nil {
		t.Fatal(err)
	}
	srv := audStartAPI(t, ix)

	type query struct {
		Kind     string `json:"kind"`
		ID       string `json:"id"`
		Password string `json:"password,omitempty"`
	}
	type tc struct {
		q    query
		want []string
	}
	cases := []tc{
		{query{"email", "alice@example.com", ""}, []string{"ComboList", "ShopDump"}},
		{query{"email", "bob@example.org", ""}, []string{"ComboList"}},
		{query{"email", "zoé@exemple.fr", ""}, []string{"ComboList"}},
		{query{"email", "elodie.dupont@exemple.fr", ""}, []string{"ShopDump"}},
		{query{"phone", "+33612345678", ""}, []string{"ShopDump"}},
		{query{"credential", "alice@example.com", "hunter2"}, []string{"ComboList"}},
		{query{"credential", "alice@example.com", "correct horse"}, []string{"ShopDump"}},
		{query{"credential", "bob@example.org", "mot:de:passe"}, []string{"ComboList"}},
		{query{"credential", "zoé@exemple.fr", "soleil"}, []string{"ComboList"}},
		{query{"credential", "elodie.dupont@exemple.fr", "soleil"}, []string{"ShopDump"}},
		// The control set: near misses of every stored value.
		{query{"email", "Alice@Example.com", ""}, nil}, // not normalised: another input
		{query{"email", "alice@example.co", ""}, nil},
		{query{"email", "carol@example.org", ""}, nil},
		{query{"phone", "+33612345679", ""}, nil},
		{query{"phone", "0612345678", ""}, nil},
		{query{"credential", "alice@example.com", "hunter3"}, nil},
		{query{"credential", "alice@example.com", "soleil"}, nil},
		{query{"credential", "bob@example.org", "mot"}, nil},
		{query{"credential", "elodie.dupont@exemple.fr", "hunter2"}, nil},
		{query{"credential", "zoé@exemple.fr", ""}, nil},
	}
	var req struct {
		BaseURL string  `json:"baseUrl"`
		APIKey  string  `json:"apiKey"`
		Queries []query `json:"queries"`
	}
	req.BaseURL, req.APIKey = srv.url, key
	for _, c := range cases {
		req.Queries = append(req.Queries, c.q)
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(node, filepath.Join("testdata", "private_client.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "PWNDEX_NPM_DIR="+npm)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node private_client.mjs: %v\n%s", err, stderr.String())
	}
	var got struct {
		Results  [][]string `json:"results"`
		Elements [][]string `json:"elements"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	if len(got.Results) != len(cases) {
		t.Fatalf("%d results for %d queries", len(got.Results), len(cases))
	}
	for i, c := range cases {
		if !slices.Equal(got.Results[i], c.want) {
			t.Errorf("%s %q %q: voprf-ts client found %v, want %v", c.q.Kind, c.q.ID, c.q.Password, got.Results[i], c.want)
		}
	}
	// Alice's address was queried twice (normalised and not): different
	// inputs aside, no element is ever repeated.
	seen := map[string]bool{}
	for _, es := range got.Elements {
		for _, e := range es {
			if seen[e] {
				t.Errorf("element %s sent twice", e)
			}
			seen[e] = true
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, r := range srv.reqs {
		for _, c := range cases {
			h := fmt.Sprintf("%x", sha1.Sum([]byte(c.q.ID)))
			for _, leak := range []string{c.q.ID, h[:6], strings.ToUpper(h[:6])} {
				if strings.Contains(r, leak) {
					t.Errorf("request leaks %q:\n%.300s", leak, r)
				}
			}
			if c.q.Password != "" && strings.Contains(r, c.q.Password) {
				t.Errorf("request leaks a password:\n%.300s", r)
			}
		}
	}
}
