package api

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// HIBP's texts, written out here independently of the server's constants.
const (
	hibp401      = `Your request to the API couldn't be authorised. Check you have the right value in the "hibp-api-key" header, refer to the documentation for more: https://haveibeenpwned.com/API/v3#Authorisation`
	hibpPost405  = "Only GET requests can be used to query ranges, but this request used the POST verb"
	hibpInvalidQ = "Invalid API query"
)

// syncBuffer collects log output from the server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHIBPContract checks status codes, bodies and headers route by route
// (the table in api/README.md) with a plain HTTP client.
func TestHIBPContract(t *testing.T) {
	ix, keys := buildAcctIndex(t)
	var logs syncBuffer
	_, base := serveIndex(t, ix, Options{AccessLog: true, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	k := "hibp-api-key: " + keys.search
	for _, tc := range []struct {
		name, method, path string
		headers            []string
		status             int
		body               string // exact body; "*" for any
		ctype              string // Content-Type prefix; "" for none
	}{
		{"401 missing key", "GET", "/api/v3/breachedaccount/alice.martin@example.com", nil, 401, hibp401, "text/plain"},
		{"401 invalid key", "GET", "/api/v3/breachedaccount/alice.martin@example.com", []string{"hibp-api-key: nope"}, 401, hibp401, "text/plain"},
		{"401 on ranges too", "GET", "/api/v3/breachedaccount/range/ABCDEF", nil, 401, hibp401, "text/plain"},
		{"403 no scope", "GET", "/api/v3/breachedaccount/alice.martin@example.com", []string{"hibp-api-key: " + keys.none}, 403, "*", "application/json"},
		{"truncated", "GET", "/api/v3/breachedaccount/ALICE.MARTIN%40EXAMPLE.COM", []string{k}, 200,
			`[{"Name":"VerifiedCo"},{"Name":"UnverifiedCo"},{"Name":"SpamCo"}]`, "application/json"},
		{"not pwned: 404, empty body", "GET", "/api/v3/breachedaccount/nobody@example.com", []string{k}, 404, "", ""},
		{"filtered to nothing: 404", "GET", "/api/v3/breachedaccount/alice.martin@example.com?domain=phone.example", []string{k}, 404, "", ""},
		{"includeUnverified=False", "GET", "/api/v3/breachedaccount/alice.martin@example.com?includeUnverified=False", []string{k}, 200,
			`[{"Name":"VerifiedCo"},{"Name":"SpamCo"}]`, "application/json"},
		{"parameter names in any case", "GET", "/api/v3/breachedaccount/alice.martin@example.com?IncludeUnverified=false&Domain=spam.example", []string{k}, 200,
			`[{"Name":"SpamCo"}]`, "application/json"},
		{"empty account: 400", "GET", "/api/v3/breachedaccount/%20", []string{k}, 400, "", ""},
		{"paste: 404", "GET", "/api/v3/pasteaccount/alice.martin@example.com", []string{k}, 404, "", ""},
		{"paste needs a key", "GET", "/api/v3/pasteaccount/alice.martin@example.com", nil, 401, hibp401, "text/plain"},
		{"unknown breach", "GET", "/api/v3/breach/NoSuchBreach", nil, 404, "Not found", "text/plain"},
		{"unknown path", "GET", "/api/v3/nosuchroute", nil, 404, "Not found", "text/plain"},
		{"/range", "GET", "/range", nil, 400, hibpInvalidQ, "text/plain"},
		{"/rangeXYZ", "GET", "/rangeXYZ/ABCDE", nil, 400, hibpInvalidQ, "text/plain"},
		{"POST /range/", "POST", "/range/ABCDE", nil, 405, hibpPost405, "text/plain"},
		{"POST /range/ bad prefix: 405 first", "POST", "/range/XYZ", nil, 405, hibpPost405, "text/plain"},
		{"spam lists only", "GET", "/api/v3/breaches?isSpamList=true", nil, 200, "*", "application/json"},
		{"enterprise search needs its header", "GET", "/range/search/ABCDEF", []string{k}, 401, hibp401, "text/plain"},
		{"subscribe is POST", "GET", "/range/subscribe", []string{"Hibp-Enterprise-Api-Key: " + keys.ranger}, 405, "*", "text/plain"},
		{"subscribe bad body", "POST", "/range/subscribe", []string{"Hibp-Enterprise-Api-Key: " + keys.ranger}, 400, "*", "application/json"},
	} {
		resp, body := get(t, tc.method, base+tc.path, tc.headers...)
		if resp.StatusCode != tc.status || (tc.body != "*" && string(body) != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) || (tc.ctype == "" && ct != "") {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, ct, tc.ctype)
		}
	}

	// OPTIONS on any path: 200, empty body, HIBP's max-age.
	for _, p := range []string{"/range/ABCDE", "/api/v3/breachedaccount/a@b.cd", "/api/v3/breaches", "/no/such/path", "/range/search/ABCDEF"} {
		resp, body := get(t, "OPTIONS", base+p, "Origin: https://example.org", "Access-Control-Request-Method: GET")
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Access-Control-Max-Age") != "1728000" ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("OPTIONS %s: %d %q %v", p, resp.StatusCode, body, resp.Header)
		}
	}

	// isSpamList filters both ways; the full model has every HIBP field.
	_, body := get(t, "GET", base+"/api/v3/breaches?IsSpamList=true")
	var bs []map[string]any
	if err := json.Unmarshal(body, &bs); err != nil || len(bs) != 1 || bs[0]["Name"] != "SpamCo" {
		t.Errorf("isSpamList=true: %s", body)
	}
	_, body = get(t, "GET", base+"/api/v3/breaches?isSpamList=false&domain=verified.example")
	if err := json.Unmarshal(body, &bs); err != nil || len(bs) != 2 {
		t.Errorf("isSpamList=false&domain=verified.example: %s", body)
	}
	_, body = get(t, "GET", base+"/api/v3/breach/UnverifiedCo")
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Name", "Title", "Domain", "BreachDate", "AddedDate", "ModifiedDate", "PwnCount",
		"Description", "LogoPath", "DataClasses", "IsVerified", "IsFabricated", "IsSensitive", "IsRetired",
		"IsSpamList", "IsMalware", "IsSubscriptionFree", "IsStealerLog", "Attribution", "DisclosureUrl"} {
		if _, ok := m[f]; !ok {
			t.Errorf("breach object lacks %s: %s", f, body)
		}
	}
	if m["Attribution"] != nil || m["DisclosureUrl"] != nil {
		t.Errorf("unset Attribution and DisclosureUrl must be null: %s", body)
	}
	_, body = get(t, "GET", base+"/api/v3/breach/VerifiedCo")
	if !bytes.Contains(body, []byte(`"Attribution":"Jane Researcher"`)) {
		t.Errorf("Attribution lost: %s", body)
	}

	// The plaintext account never reaches logs or metrics.
	get(t, "GET", base+"/api/v3/breachedaccount/Secret.Person@Example.COM", k)
	get(t, "GET", base+"/api/v3/pasteaccount/Secret.Person@Example.COM", k)
	_, metrics := get(t, "GET", base+"/metrics")
	for _, out := range []string{logs.String(), string(metrics)} {
		if strings.Contains(strings.ToLower(out), "secret.person") || strings.Contains(out, "alice") {
			t.Errorf("an account reached logs or metrics:\n%s", out)
		}
	}
	if !strings.Contains(string(metrics), `route="account"`) {
		t.Errorf("metrics lack the account route:\n%s", metrics)
	}
}

// TestMonitorEnterpriseRange drives the routes with Mozilla Monitor's
// request shapes (src/utils/hibp.ts: kAnonReq and getBreachesForEmail):
// GET {root}/range/search/{6 upper hex} with Content-Type: application/json,
// Accept: */*, Hibp-Enterprise-Api-Key and User-Agent monitor/1.0.0; the
// match is the row whose prefix+hashSuffix equals the e-mail's SHA-1.
func TestMonitorEnterpriseRange(t *testing.T) {
	ix, keys := buildAcctIndex(t)
	_, base := serveIndex(t, ix, Options{})
	hdr := func(key string) []string {
		return []string{"Content-Type: application/json", "Accept: */*", "User-Agent: monitor/1.0.0", "Hibp-Enterprise-Api-Key: " + key}
	}
	sha := func(s string) string { h := sha1.Sum([]byte(s)); return strings.ToUpper(hex.EncodeToString(h[:])) }
	for _, tc := range []struct {
		email, key string
		want       []string // Monitor's match: nil when no row matches
	}{
		{"alice.martin@example.com", keys.ranger, []string{"VerifiedCo", "UnverifiedCo", "SpamCo"}},
		{"jean.dupont@xn--bcher-kva.de", keys.ranger, []string{"VerifiedCo"}},
		{"jean.dupont@xn--bcher-kva.de", keys.sensitive + "-not-a-key", nil},
		{"nobody@example.com", keys.ranger, nil},
	} {
		h := sha(tc.email) // Monitor hashes the lower-cased address itself
		resp, body := get(t, "GET", base+"/range/search/"+h[:6], hdr(tc.key)...)
		if strings.HasSuffix(tc.key, "-not-a-key") {
			if resp.StatusCode != 401 {
				t.Errorf("%s with a wrong key: %d", tc.email, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.email, resp.StatusCode, body)
		}
		var rows []struct {
			HashSuffix string   `json:"hashSuffix"`
			Websites   []string `json:"websites"`
		}
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatalf("%s: %q: %v", tc.email, body, err)
		}
		var got []string
		for _, r := range rows {
			if h == h[:6]+r.HashSuffix {
				got = r.Websites
			}
		}
		if strings.Join(got, ",") != strings.Join(sortedLike(got, tc.want), ",") || len(got) != len(tc.want) {
			t.Errorf("%s: websites %v, want %v", tc.email, got, tc.want)
		}
	}
	// POST /range/subscribe {"hashPrefix"}: 201 new, 200 already held.
	p := sha("alice.martin@example.com")[:6]
	for i, want := range []int{201, 200} {
		resp, body := post(t, base+"/range/subscribe", []byte(`{"hashPrefix":"`+p+`"}`), hdr(keys.ranger)...)
		if resp.StatusCode != want {
			t.Errorf("subscribe #%d: %d %s, want %d", i+1, resp.StatusCode, body, want)
		}
		var echo struct{ HashPrefix string }
		if err := json.Unmarshal(body, &echo); err != nil || echo.HashPrefix != p {
			t.Errorf("subscribe #%d body %q", i+1, body)
		}
	}
	if resp, _ := post(t, base+"/range/subscribe", []byte(`{"hashPrefix":"`+p+`"}`), hdr(keys.none)...); resp.StatusCode != 403 {
		t.Errorf("subscribe without scope: %d, want 403", resp.StatusCode)
	}
}

// sortedLike returns want when got holds the same names in any order, so
// that the comparison above ignores order.
func sortedLike(got, want []string) []string {
	if len(got) != len(want) {
		return want
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return want
		}
	}
	return got
}
