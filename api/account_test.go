package api

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

type accountRowJSON struct {
	HashSuffix string   `json:"hashSuffix"`
	Websites   []string `json:"websites"`
}

// idHex is the SHA-1 of an already normalised identifier, upper-case.
func idHex(norm string) string {
	s := sha1.Sum([]byte(norm))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func TestAccountRanges(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	alice := idHex("alice@example.com")
	phone := idHex("+33612345678")
	for _, tc := range []struct {
		name, path, key string
		status          int
		match           string   // full hash expected among the rows
		websites        []string // its websites
	}{
		{"no key", "/api/v3/breachedaccount/range/" + alice[:6], "", 401, "", nil},
		{"bad key", "/api/v3/breachedaccount/range/" + alice[:6], "pwx_nope", 401, "", nil},
		{"no scope", "/api/v3/breachedaccount/range/" + alice[:6], f.keys.none, 403, "", nil},
		{"audit key is not a range key", "/api/v3/breachedaccount/range/" + alice[:6], f.keys.auditor, 403, "", nil},
		{"range key hides sensitive", "/api/v3/breachedaccount/range/" + alice[:6], f.keys.ranger, 200, alice, []string{"Adobe"}},
		{"lower-case prefix", "/api/v3/breachedaccount/range/" + strings.ToLower(alice[:6]), f.keys.ranger, 200, alice, []string{"Adobe"}},
		{"sensitive scope", "/api/v3/breachedaccount/range/" + alice[:6], f.keys.sensitive, 200, alice, []string{"Adobe", "AshleyMadison"}},
		{"only sensitive", "/api/v3/breachedaccount/range/" + idHex("carol@example.fr")[:6], f.keys.ranger, 200, "", nil},
		{"only sensitive, allowed", "/api/v3/breachedaccount/range/" + idHex("carol@example.fr")[:6], f.keys.sensitive, 200, idHex("carol@example.fr"), []string{"AshleyMadison"}},
		{"phone", "/api/v3/phone/range/" + phone[:6], f.keys.ranger, 200, phone, []string{"LinkedOut"}},
		{"absent", "/api/v3/breachedaccount/range/" + idHex("nobody@example.com")[:6], f.keys.ranger, 200, "", nil},
		{"short prefix", "/api/v3/breachedaccount/range/ABCDE", f.keys.ranger, 400, "", nil},
		{"5 hex is not 6", "/api/v3/phone/range/ABCDE", f.keys.ranger, 400, "", nil},
		{"non-hex", "/api/v3/breachedaccount/range/ABCDEZ", f.keys.ranger, 400, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.key != "" {
				hdr = append(hdr, "hibp-api-key: "+tc.key)
			}
			resp, body := get(t, "GET", base+tc.path, hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.status == 401 {
				// HIBP's text/plain 401 body, written out independently.
				want := `Your request to the API couldn't be authorised. Check you have the right value in the "hibp-api-key" header, refer to the documentation for more: https://haveibeenpwned.com/API/v3#Authorisation`
				if string(body) != want || resp.Header.Get("Content-Type") != "text/plain" {
					t.Errorf("401: %q %q, want text/plain %q", resp.Header.Get("Content-Type"), body, want)
				}
				return
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			if tc.status != 200 {
				var e struct {
					StatusCode int    `json:"statusCode"`
					Message    string `json:"message"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.StatusCode != tc.status || e.Message == "" {
					t.Errorf("error body %q", body)
				}
				return
			}
			var rows []accountRowJSON
			if err := json.Unmarshal(body, &rows); err != nil {
				t.Fatalf("decoding %q: %v", body, err)
			}
			if rows == nil {
				t.Fatalf("body %q: want a JSON array", body)
			}
			suffixRE := regexp.MustCompile(`^[0-9A-F]{34}$`)
			prefix := strings.ToUpper(tc.path[strings.LastIndexByte(tc.path, '/')+1:])
			var found *accountRowJSON
			for i, r := range rows {
				if !suffixRE.MatchString(r.HashSuffix) {
					t.Errorf("hashSuffix %q is not 34 upper-case hex digits", r.HashSuffix)
				}
				if tc.match != "" && prefix+r.HashSuffix == tc.match {
					found = &rows[i]
				}
			}
			if tc.match == "" {
				if len(rows) != 0 {
					t.Fatalf("rows %v, want none", rows)
				}
				return
			}
			if found == nil {
				t.Fatalf("no row for %s in %s", tc.match, body)
			}
			if !slices.Equal(found.Websites, tc.websites) {
				t.Errorf("websites %v, want %v", found.Websites, tc.websites)
			}
		})
	}
}

func TestAccountRangeDecoys(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	alice := idHex("alice@example.com")
	public := map[string]bool{}
	for _, b := range fixtureBreaches {
		if !b.IsSensitive {
			public[b.Name] = true
		}
	}
	for range 4 {
		resp, body := get(t, "GET", base+"/api/v3/breachedaccount/range/"+alice[:6],
			"hibp-api-key: "+f.keys.ranger, "Add-Padding: true")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var rows []accountRowJSON
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) < 1+decoyMin {
			t.Fatalf("%d rows, want the real one and at least %d decoys", len(rows), decoyMin)
		}
		if !sort.SliceIsSorted(rows, func(i, j int) bool { return rows[i].HashSuffix < rows[j].HashSuffix }) {
			t.Errorf("rows are not sorted by suffix: decoys would stand out")
		}
		real := 0
		for _, r := range rows {
			if alice[:6]+r.HashSuffix == alice {
				real++
				if !slices.Equal(r.Websites, []string{"Adobe"}) {
					t.Errorf("real row websites %v", r.Websites)
				}
				continue
			}
			for _, w := range r.Websites {
				if !public[w] {
					t.Errorf("decoy names %q, not a public breach", w)
				}
			}
		}
		if real != 1 {
			t.Fatalf("real row found %d times", real)
		}
	}
}

func TestAccountRateLimit(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	url := base + "/api/v3/breachedaccount/range/" + idHex("alice@example.com")[:6]
	// The "slow" key allows 2 requests a minute.
	for i := range 2 {
		if resp, _ := get(t, "GET", url, "hibp-api-key: "+f.keys.slow); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	resp, body := get(t, "GET", url, "hibp-api-key: "+f.keys.slow)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429", resp.StatusCode)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After %q, want 1..60 seconds", resp.Header.Get("Retry-After"))
	}
	if !bytes.Contains(body, []byte("Rate limit")) {
		t.Errorf("body %q", body)
	}
	// Another key is not affected.
	if resp, _ := get(t, "GET", url, "hibp-api-key: "+f.keys.ranger); resp.StatusCode != 200 {
		t.Fatalf("other key: status %d", resp.StatusCode)
	}
}

func TestRateLimiterRefill(t *testing.T) {
	l := newRateLimiter()
	now := time.Unix(1000, 0)
	for i := range 60 {
		if _, ok := l.allow("k", 60, now); !ok {
			t.Fatalf("request %d of a full bucket refused", i)
		}
	}
	wait, ok := l.allow("k", 60, now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("empty bucket: ok=%v wait=%v, want refused with wait <= 1s", ok, wait)
	}
	if _, ok := l.allow("k", 60, now.Add(1100*time.Millisecond)); !ok {
		t.Fatalf("one token should have refilled after 1.1s at 60/min")
	}
}

func TestBreachCatalog(t *testing.T) {
	_, base := startServer(t, Options{})
	resp, body := get(t, "GET", base+"/api/v3/breaches")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(fixtureBreaches) {
		t.Fatalf("%d breaches, want %d", len(raw), len(fixtureBreaches))
	}
	fields := []string{"Name", "Title", "Domain", "BreachDate", "AddedDate", "ModifiedDate", "PwnCount",
		"Description", "LogoPath", "DataClasses", "IsVerified", "IsFabricated", "IsSensitive", "IsRetired",
		"IsSpamList", "IsMalware"}
	dateRE := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	for _, b := range raw {
		for _, k := range fields {
			if _, ok := b[k]; !ok {
				t.Errorf("breach %v lacks field %s", b["Name"], k)
			}
		}
		if !dateRE.MatchString(b["BreachDate"].(string)) {
			t.Errorf("BreachDate %q is not YYYY-MM-DD", b["BreachDate"])
		}
		for _, k := range []string{"AddedDate", "ModifiedDate"} {
			s := b[k].(string)
			if _, err := time.Parse(time.RFC3339, s); err != nil || !(strings.HasSuffix(s, "Z") || strings.Contains(s[10:], "+") || strings.Contains(s[10:], "-")) {
				t.Errorf("%s %q is not RFC 3339 with a zone", k, s)
			}
		}
	}
	// The zone is kept: LinkedOut was added at 10:30 CEST.
	resp, body = get(t, "GET", base+"/api/v3/breach/linkedout")
	var one map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &one) != nil || one["Name"] != "LinkedOut" {
		t.Fatalf("breach/linkedout: %d %s", resp.StatusCode, body)
	}
	if at, _ := time.Parse(time.RFC3339, one["AddedDate"].(string)); !at.Equal(fixtureBreaches[2].AddedDate) {
		t.Errorf("AddedDate %v, want %v", one["AddedDate"], fixtureBreaches[2].AddedDate)
	}
	if resp, _ := get(t, "GET", base+"/api/v3/breach/NoSuchBreach"); resp.StatusCode != 404 {
		t.Errorf("unknown breach: status %d, want 404", resp.StatusCode)
	}
	resp, body = get(t, "GET", base+"/api/v3/breaches?domain=ASHLEYMADISON.COM")
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 || raw[0]["Name"] != "AshleyMadison" {
		t.Errorf("domain filter: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, "GET", base+"/api/v3/breaches?domain=nowhere.example")
	if strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("unknown domain: %d %s, want []", resp.StatusCode, body)
	}
}
