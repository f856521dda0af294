package api

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// TestNPMHIBPClient runs the npm package `hibp` (pwnedPassword and
// pwnedPasswordRange with its baseUrl option) against the server, through
// testdata/hibp_client.mjs. PWNDEX_NPM_DIR must name a directory where
// `npm install hibp@15.2.1` was run (.ci/run sets it).
func TestNPMHIBPClient(t *testing.T) {
	dir := os.Getenv("PWNDEX_NPM_DIR")
	if dir == "" {
		skipMissingDep(t, "PWNDEX_NPM_DIR is not set: the npm hibp client test did not run (run `npm install hibp@15.2.1` in a directory and point PWNDEX_NPM_DIR at it)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hibp", "package.json")); err != nil {
		t.Fatalf("PWNDEX_NPM_DIR=%s has no node_modules/hibp: %v", dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("PWNDEX_NPM_DIR is set but node is not installed: %v", err)
	}
	f := getFixture(t)
	_, base := startServer(t, Options{})

	type pwReq struct {
		Password   string `json:"password"`
		AddPadding bool   `json:"addPadding"`
	}
	type rangeReq struct {
		Prefix     string `json:"prefix"`
		Mode       string `json:"mode"`
		AddPadding bool   `json:"addPadding"`
	}
	type want struct {
		kind   index.Kind
		pw     string
		suffix string
	}
	var req struct {
		BaseURL   string     `json:"baseUrl"`
		Passwords []pwReq    `json:"passwords"`
		Ranges    []rangeReq `json:"ranges"`
	}
	req.BaseURL = base
	var pwWant []uint64
	var rangeWant []want
	for _, pad := range []bool{false, true} {
		for _, pw := range append(clientPasswords(), "zx81-spectrum-€", "ünïcødé-🔑", "Pa$$w0rd!") {
			req.Passwords = append(req.Passwords, pwReq{pw, pad})
			pwWant = append(pwWant, f.counts[index.KindSHA1][pw])
			for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
				h, mode := sha1Hex(pw), "sha1"
				if k == index.KindNTLM {
					h, mode = ntlmHex(pw), "ntlm"
				}
				req.Ranges = append(req.Ranges, rangeReq{h[:5], mode, pad})
				rangeWant = append(rangeWant, want{k, pw, h[5:]})
			}
		}
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(node, filepath.Join("testdata", "hibp_client.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "PWNDEX_NPM_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node hibp_client.mjs: %v\n%s", err, stderr.String())
	}
	var got struct {
		Passwords []uint64            `json:"passwords"`
		Ranges    []map[string]uint64 `json:"ranges"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	if len(got.Passwords) != len(pwWant) || len(got.Ranges) != len(rangeWant) {
		t.Fatalf("got %d/%d answers, want %d/%d", len(got.Passwords), len(got.Ranges), len(pwWant), len(rangeWant))
	}
	for i, w := range pwWant {
		if got.Passwords[i] != w {
			t.Errorf("pwnedPassword(%q, addPadding=%v) = %d, want %d",
				req.Passwords[i].Password, req.Passwords[i].AddPadding, got.Passwords[i], w)
		}
	}
	for i, w := range rangeWant {
		if g := got.Ranges[i][w.suffix]; g != f.counts[w.kind][w.pw] {
			t.Errorf("pwnedPasswordRange(%s, %s, addPadding=%v)[%q] = %d, want %d",
				req.Ranges[i].Prefix, req.Ranges[i].Mode, req.Ranges[i].AddPadding, w.pw, g, f.counts[w.kind][w.pw])
		}
		real := len(f.rows[w.kind][req.Ranges[i].Prefix])
		if n := len(got.Ranges[i]); !req.Ranges[i].AddPadding && n != real {
			t.Errorf("range %s %s: client saw %d suffixes, want %d", req.Ranges[i].Prefix, req.Ranges[i].Mode, n, real)
		}
	}
}
