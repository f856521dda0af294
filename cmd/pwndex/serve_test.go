package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/api"
)

// TestServeNoAccountSearch runs `pwndex serve` over an index ingested from
// the ingest fixtures, with and without --no-account-search, and asks for
// an address of the dump (written differently) and for its range.
func TestServeNoAccountSearch(t *testing.T) {
	dir, key := fixtureIndex(t, api.ScopeSearch, api.ScopeRange)
	for _, tc := range []struct {
		flags  []string
		status int
		body   string
	}{
		{nil, 200, `[{"Name":"ExempleFR"}]`},
		{[]string{"--no-account-search"}, 403, "Account search is disabled"},
	} {
		t.Run(fmt.Sprint(tc.flags), func(t *testing.T) {
			base := serveCmd(t, dir, tc.flags...)
			req, _ := http.NewRequest("GET", base+"/api/v3/breachedaccount/ELODIE.DUPONT%40exemple.fr", nil)
			req.Header.Set("hibp-api-key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("serve %v: %v", tc.flags, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Errorf("serve %v: %d %s, want %d %s", tc.flags, resp.StatusCode, b, tc.status, tc.body)
			}
			// The range route stays on either way.
			req, _ = http.NewRequest("GET", base+"/api/v3/breachedaccount/range/ABCDEF", nil)
			req.Header.Set("hibp-api-key", key)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("serve %v: range: %v %v", tc.flags, resp, err)
			} else {
				resp.Body.Close()
			}
			// serveCmd's cleanup stops serve and wants exit code 0.
		})
	}
}
