package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

// TestServeNoAccountSearch runs `pwndex serve` over an index ingested from
// the ingest fixtures, with and without --no-account-search, and asks for
// an address of the dump (written differently) and for its range.
func TestServeNoAccountSearch(t *testing.T) {
	fixtures := filepath.Join("..", "..", "ingest", "testdata")
	dir := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	if code := cmdIngest(context.Background(), []string{"--index", dir, "--manifest", filepath.Join(fixtures, "manifest.json"),
		filepath.Join(fixtures, "dump-fr.csv")}, nil, &out, &errb); code != 0 {
		t.Fatalf("ingest: %d %s", code, errb.String())
	}
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ix.CreateAPIKey(index.APIKey{Name: "t", Scopes: []string{api.ScopeSearch, api.ScopeRange}})
	ix.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags  []string
		status int
		body   string
	}{
		{nil, 200, `[{"Name":"ExempleFR"}]`},
		{[]string{"--no-account-search"}, 403, "Account search is disabled"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- cmdServe(ctx, append([]string{"--index", dir, "--addr", addr}, tc.flags...), nil, io.Discard, io.Discard)
		}()
		var resp *http.Response
		for i := 0; i < 100; i++ {
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/v3/breachedaccount/ELODIE.DUPONT%40exemple.fr", nil)
			req.Header.Set("hibp-api-key", key)
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("serve %v: %v", tc.flags, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
			t.Errorf("serve %v: %d %s, want %d %s", tc.flags, resp.StatusCode, b, tc.status, tc.body)
		}
		// The range route stays on either way.
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v3/breachedaccount/range/ABCDEF", nil)
		req.Header.Set("hibp-api-key", key)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("serve %v: range: %v %v", tc.flags, resp, err)
		} else {
			resp.Body.Close()
		}
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve %v exited %d", tc.flags, code)
		}
	}
}
