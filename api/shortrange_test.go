package api

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// decodeCompact decodes a compact range body as its format is documented
// (written here independently of the server): full upper-case hex hash ->
// breach names.
func decodeCompact(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	if !strings.HasPrefix(string(body), "PXR1") {
		t.Fatalf("body does not start with PXR1: %q", body[:min(len(body), 8)])
	}
	b := body[4:]
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			t.Fatalf("bad uvarint")
		}
		b = b[n:]
		return v
	}
	names := make([]string, uv())
	for i := range names {
		l := uv()
		names[i], b = string(b[:l]), b[l:]
	}
	out := map[string][]string{}
	for len(b) > 0 {
		h := fmt.Sprintf("%X", b[:20])
		b = b[20:]
		n := uv()
		for range n {
			out[h] = append(out[h], names[uv()])
		}
		slices.Sort(out[h])
	}
	return out
}

func TestShortRange(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	// Expected rows, from the fixture's own table and crypto/sha1.
	want := func(kind string, prefix string, sensitive bool) map[string][]string {
		src := fixtureEmails
		if kind == "phone" {
			src = fixturePhones
		}
		out := map[string][]string{}
		for id, names := range src {
			h := idHex(id)
			if !strings.HasPrefix(h, prefix) {
				continue
			}
			var keep []string
			for _, n := range names {
				if n != "AshleyMadison" || sensitive {
					keep = append(keep, n)
				}
			}
			if len(keep) > 0 {
				out[h] = keep
			}
		}
		return out
	}
	alice, phone := idHex("alice@example.com"), idHex("+33612345678")
	for d := 1; d <= 6; d++ {
		for _, tc := range []struct {
			kind, hash, key string
			sensitive       bool
		}{
			{"email", alice, f.keys.auditor, false},
			{"email", alice, f.keys.auditSensitive, true},
			{"email", idHex("carol@example.fr"), f.keys.auditor, false},
			{"phone", phone, f.keys.auditor, false},
		} {
			prefix := tc.hash[:d]
			url := base + "/v1/range/" + tc.kind + "/" + strings.ToLower(prefix)
			resp, body := get(t, "GET", url, "hibp-api-key: "+tc.key)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != CompactRangeType {
				t.Fatalf("%s: status %d, type %q: %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			got, exp := decodeCompact(t, body), want(tc.kind, prefix, tc.sensitive)
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("%s (sensitive %v):\n got %v\nwant %v", url, tc.sensitive, got, exp)
			}
		}
	}
	for _, tc := range []struct {
		name, path, key string
		status          int
	}{
		{"range key", "/v1/range/email/" + alice[:3], f.keys.ranger, 403},
		{"no key", "/v1/range/email/" + alice[:3], "", 401},
		{"7 hex", "/v1/range/email/" + alice[:7], f.keys.auditor, 400},
		{"empty prefix", "/v1/range/email/", f.keys.auditor, 400},
		{"non-hex", "/v1/range/email/ABZ", f.keys.auditor, 400},
		{"password kind", "/v1/range/sha1/ABC", f.keys.auditor, 404},
	} {
		var hdr []string
		if tc.key != "" {
			hdr = append(hdr, "hibp-api-key: "+tc.key)
		}
		if resp, body := get(t, "GET", base+tc.path, hdr...); resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
}

func TestSubscriptionStatus(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{DefaultRatePerMinute: 900})
	for _, tc := range []struct {
		name, key string
		status    int
		rpm       int
		ranges    bool
	}{
		{"default rate", f.keys.ranger, 200, 900, false},
		{"own rate", f.keys.slow, 200, 2, false},
		{"audit key", f.keys.auditor, 200, 900, true},
		{"bad key", "pwx_nope", 401, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, "GET", base+"/api/v3/subscription/status", "hibp-api-key: "+tc.key)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			var st map[string]any
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"SubscriptionName", "Description", "SubscribedUntil", "Rpm", "DomainSearchMaxBreachedAccounts"} {
				if _, ok := st[field]; !ok {
					t.Errorf("no %s in %s", field, body)
				}
			}
			if st["Rpm"] != float64(tc.rpm) {
				t.Errorf("Rpm %v, want %d", st["Rpm"], tc.rpm)
			}
			r, ok := st["PwndexRanges"].(map[string]any)
			if ok != tc.ranges {
				t.Fatalf("PwndexRanges %v, want present=%v", st["PwndexRanges"], tc.ranges)
			}
			if ok {
				counts := r["Counts"].(map[string]any)
				if counts["email"] != float64(len(fixtureEmails)) || counts["phone"] != float64(len(fixturePhones)) || r["MinDigits"] != 1.0 || r["MaxDigits"] != 6.0 {
					t.Errorf("PwndexRanges %v", r)
				}
			}
		})
	}
}

// TestRateLimitRetryAfter: a 429 says, in Retry-After and in HIBP's
// words, the real number of seconds until the key may send again (a key
// of 2 a minute refills one request in 30 s), and the client that waits
// that long is served.
func TestRateLimitRetryAfter(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	url := base + "/api/v3/subscription/status"
	for range 2 {
		get(t, "GET", url, "hibp-api-key: "+f.keys.slow)
	}
	resp, body := get(t, "GET", url, "hibp-api-key: "+f.keys.slow)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After %q, want 30 (one request per 30 s)", ra)
	}
	if want := `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 30 seconds."}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
}
