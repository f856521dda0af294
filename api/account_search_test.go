package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	hibp "github.com/wneessen/go-hibp"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// The account-search fixture: a small dump (who appears in which breach,
// written as the dump wrote it) ingested into its own index. Expected
// answers are computed from these tables by acctExpect, never by the server.

func strp(s string) *string { return &s }

var acctBreaches = []index.Breach{
	{Name: "VerifiedCo", Title: "Verified Co", Domain: "verified.example", BreachDate: "2019-03-01",
		AddedDate: time.Date(2020, 1, 2, 3, 4, 0, 0, time.UTC), PwnCount: 1000,
		DataClasses: []string{"Passwords", "Email addresses"}, IsVerified: true,
		Attribution: strp("Jane Researcher"), DisclosureUrl: strp("https://verified.example/disclosure")},
	{Name: "UnverifiedCo", Title: "Unverified Co", Domain: "unverified.example", BreachDate: "2018-05-05",
		AddedDate: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), PwnCount: 500,
		DataClasses: []string{"Email addresses", "Usernames"}},
	{Name: "SensitiveCo", Title: "Sensitive Co", Domain: "sensitive.example", BreachDate: "2017-07-07",
		AddedDate: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), PwnCount: 300,
		DataClasses: []string{"Email addresses", "Sexual preferences"}, IsVerified: true, IsSensitive: true},
	{Name: "PhoneCo", Title: "Phone Co", Domain: "phone.example", BreachDate: "2021-04-03",
		AddedDate: time.Date(2025, 2, 3, 4, 5, 0, 0, time.UTC), PwnCount: 2,
		DataClasses: []string{"Phone numbers"}, IsVerified: true, IsSubscriptionFree: true},
	{Name: "SpamCo", Title: "Spam Co", Domain: "spam.example", BreachDate: "2022-02-02",
		AddedDate: time.Date(2022, 3, 3, 0, 0, 0, 0, time.UTC), PwnCount: 10,
		DataClasses: []string{"Email addresses", "names"}, IsVerified: true, IsSpamList: true},
	{Name: "RetiredCo", Title: "Retired Co", Domain: "verified.example", BreachDate: "2015-01-01",
		AddedDate: time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC), PwnCount: 7,
		DataClasses: []string{"Email addresses"}, IsVerified: true, IsRetired: true},
}

// acctDump is the dump: person, the identifier as the dump wrote it, breach.
var acctDump = []struct {
	person, written string
	kind            index.Kind
	breach          string
}{
	{"alice", "Alice.Martin@Example.COM", index.KindEmail, "VerifiedCo"},
	{"alice", "alice.martin@example.com", index.KindEmail, "UnverifiedCo"},
	{"alice", "ALICE.MARTIN@example.com", index.KindEmail, "SpamCo"},
	{"jean", "jean.dupont@BÜCHER.de", index.KindEmail, "VerifiedCo"},
	{"jean", "Jean.Dupont@xn--bcher-kva.de", index.KindEmail, "SensitiveCo"},
	{"paul", "+33 6 98 76 54 32", index.KindPhone, "PhoneCo"},
	{"rita", "rita@example.org", index.KindEmail, "RetiredCo"},
	{"sam", "sam@example.net", index.KindEmail, "SensitiveCo"},
}

// acctQuery is one account as a client sends it, and whose it is ("" for
// an address in no breach).
type acctQuery struct{ account, person string }

var acctQueries = []acctQuery{
	{"alice.martin@example.com", "alice"},
	{"ALICE.Martin@EXAMPLE.com", "alice"}, // mixed case
	{"Jean.Dupont@bücher.de", "jean"},     // IDN domain, Unicode
	{"jean.dupont@xn--bcher-kva.de", "jean"},
	{"JEAN.DUPONT@BÜCHER.DE", "jean"}, // IDN domain, upper case
	{"+33698765432", "paul"},
	{"06 98 76 54 32", "paul"},      // national format, spaces
	{"sam@example.net", "sam"},      // only a sensitive breach
	{"rita@example.org", "rita"},    // only a retired breach
	{"nobody@example.com", ""},      // in no breach
	{"not-an-address", ""},          // a username: pwndex holds none
	{"nobody@verified.example", ""}, // in no breach, on a breached domain
}

// acctOpts are a query's options and key.
type acctOpts struct {
	full, noUnverified, sensitive bool
	domain                        string
}

var acctOptions = []acctOpts{
	{},
	{full: true},
	{noUnverified: true},
	{sensitive: true},
	{sensitive: true, full: true, noUnverified: true},
	{domain: "verified.example"},
	{domain: "SENSITIVE.example", sensitive: true},
}

func acctBreach(name string) index.Breach {
	for _, b := range acctBreaches {
		if b.Name == name {
			return b
		}
	}
	panic(name)
}

// acctExpect is HIBP's answer for person with o, from the tables: sorted
// breach names, nil when HIBP answers 404.
func acctExpect(person string, o acctOpts) []string {
	var names []string
	for _, r := range acctDump {
		if r.person != person || person == "" {
			continue
		}
		b := acctBreach(r.breach)
		if b.IsRetired || (b.IsSensitive && !o.sensitive) || (!b.IsVerified && o.noUnverified) ||
			(o.domain != "" && !strings.EqualFold(o.domain, b.Domain)) {
			continue
		}
		if !slices.Contains(names, b.Name) {
			names = append(names, b.Name)
		}
	}
	sort.Strings(names)
	return names
}

type acctKeys struct{ search, sensitive, ranger, none string }

// buildAcctIndex ingests acctDump into a fresh index.
func buildAcctIndex(t *testing.T) (*index.Index, acctKeys) {
	t.Helper()
	ix, err := index.Open(index.Options{Dir: t.TempDir(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	ctx := context.Background()
	for _, br := range acctBreaches {
		b, err := ix.NewBreachBuilder(br, index.BuildOptions{SourceID: "acct-" + br.Name})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range acctDump {
			if r.breach != br.Name {
				continue
			}
			var h index.Hash
			if r.kind == index.KindEmail {
				h, _, err = ident.Email(r.written)
			} else {
				h, _, err = ident.PhoneHash(r.written, "")
			}
			if err != nil {
				t.Fatalf("%q: %v", r.written, err)
			}
			if err := b.AddIdentifier(r.kind, &h); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(name string, scopes ...string) string {
		s, err := ix.CreateAPIKey(index.APIKey{Name: name, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return ix, acctKeys{
		search:    mk("search", ScopeSearch),
		sensitive: mk("search-sensitive", ScopeSearch, ScopeSensitive),
		ranger:    mk("range", ScopeRange),
		none:      mk("none"),
	}
}

// acctCase is one client call and its expected names (nil: not pwned).
type acctCase struct {
	q    acctQuery
	o    acctOpts
	want []string
}

func acctCases() []acctCase {
	var cs []acctCase
	for _, q := range acctQueries {
		for _, o := range acctOptions {
			cs = append(cs, acctCase{q, o, acctExpect(q.person, o)})
		}
	}
	return cs
}

func (c acctCase) String() string {
	return c.q.account + " " + strings.TrimSpace(strings.Join([]string{
		map[bool]string{true: "full"}[c.o.full], map[bool]string{true: "noUnverified"}[c.o.noUnverified],
		map[bool]string{true: "sensitive"}[c.o.sensitive], c.o.domain}, " "))
}

// checkFull compares a full breach object's fields with the catalog's.
func checkFull(name, title, domain string, verified, sensitive bool, attribution *string) string {
	b := acctBreach(name)
	if title != b.Title || domain != b.Domain || verified != b.IsVerified || sensitive != b.IsSensitive {
		return "full object differs from the catalog for " + name
	}
	if (attribution == nil) != (b.Attribution == nil) || (attribution != nil && *attribution != *b.Attribution) {
		return "Attribution differs for " + name
	}
	return ""
}

// npmAccountCalls runs calls through the npm hibp client against base.
func npmAccountCalls(t *testing.T, base string, calls []map[string]any) []struct {
	OK    json.RawMessage `json:"ok"`
	Error *string         `json:"error"`
} {
	t.Helper()
	dir := os.Getenv("PWNDEX_NPM_DIR")
	if dir == "" {
		skipMissingDep(t, "PWNDEX_NPM_DIR is not set: the npm hibp client test did not run")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("PWNDEX_NPM_DIR is set but node is not installed: %v", err)
	}
	in, _ := json.Marshal(map[string]any{"baseUrl": base + "/api/v3", "calls": calls})
	cmd := exec.Command(node, filepath.Join("testdata", "hibp_account_client.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "PWNDEX_NPM_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node hibp_account_client.mjs: %v\n%s", err, stderr.String())
	}
	var res []struct {
		OK    json.RawMessage `json:"ok"`
		Error *string         `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(calls) {
		t.Fatalf("decoding %d answers from %q: %v", len(calls), out, err)
	}
	return res
}

type npmBreach struct {
	Name, Title, Domain     string
	IsVerified, IsSensitive bool
	Attribution             *string
}

// npmBreachedAccount calls breachedAccount for every case and returns one
// mismatch description per case that differs from HIBP's answer ("" when
// it matches).
func npmBreachedAccount(t *testing.T, base string, keys acctKeys, cases []acctCase) []string {
	var calls []map[string]any
	for _, c := range cases {
		opts := map[string]any{"apiKey": keys.search}
		if c.o.sensitive {
			opts["apiKey"] = keys.sensitive
		}
		if c.o.full {
			opts["truncate"] = false
		}
		if c.o.noUnverified {
			opts["includeUnverified"] = false
		}
		if c.o.domain != "" {
			opts["domain"] = c.o.domain
		}
		calls = append(calls, map[string]any{"fn": "breachedAccount", "args": []any{c.q.account, opts}})
	}
	res := npmAccountCalls(t, base, calls)
	diffs := make([]string, len(cases))
	for i, c := range cases {
		if res[i].Error != nil {
			diffs[i] = "error: " + *res[i].Error
			continue
		}
		var got []npmBreach
		if err := json.Unmarshal(res[i].OK, &got); err != nil {
			diffs[i] = "undecodable " + string(res[i].OK)
			continue
		}
		if (got == nil) != (c.want == nil) {
			diffs[i] = "got " + string(res[i].OK)
			continue
		}
		var names []string
		for _, b := range got {
			names = append(names, b.Name)
			if c.o.full {
				if d := checkFull(b.Name, b.Title, b.Domain, b.IsVerified, b.IsSensitive, b.Attribution); d != "" {
					diffs[i] = d
				}
			} else if b.Title != "" {
				diffs[i] = "truncated answer carries a Title"
			}
		}
		sort.Strings(names)
		if !slices.Equal(names, c.want) {
			diffs[i] = "names " + strings.Join(names, ",")
		}
	}
	return diffs
}

func TestNPMHIBPAccountSearch(t *testing.T) {
	ix, keys := buildAcctIndex(t)
	_, base := serveIndex(t, ix, Options{})
	cases := acctCases()
	for i, d := range npmBreachedAccount(t, base, keys, cases) {
		if d != "" {
			t.Errorf("breachedAccount(%s): %s, want %v", cases[i], d, cases[i].want)
		}
	}

	// Catalog calls, expected values from acctBreaches.
	var classes []string
	for _, b := range acctBreaches {
		for _, c := range b.DataClasses {
			if !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	sort.Slice(classes, func(i, j int) bool { return strings.ToLower(classes[i]) < strings.ToLower(classes[j]) })
	res := npmAccountCalls(t, base, []map[string]any{
		{"fn": "dataClasses"},
		{"fn": "breaches", "args": []any{map[string]any{"domain": "verified.example"}}},
		{"fn": "breaches", "args": []any{map[string]any{"domain": "nowhere.example"}}},
		{"fn": "breach", "args": []any{"verifiedco", map[string]any{}}},
		{"fn": "breach", "args": []any{"NoSuchBreach", map[string]any{}}},
		{"fn": "latestBreach"},
		{"fn": "pasteAccount", "args": []any{"alice.martin@example.com", map[string]any{"apiKey": keys.search}}},
		{"fn": "breachedAccount", "args": []any{"alice.martin@example.com", map[string]any{"apiKey": "wrong"}}},
		{"fn": "breachedAccount", "args": []any{"alice.martin@example.com", map[string]any{"apiKey": keys.none}}},
		{"fn": "breachedAccount", "args": []any{"alice.martin@example.com", map[string]any{"apiKey": keys.ranger}}},
	})
	for i, r := range res {
		if r.Error != nil && i != 7 && i != 8 {
			t.Fatalf("call %d: %s", i, *r.Error)
		}
	}
	var gotClasses []string
	json.Unmarshal(res[0].OK, &gotClasses)
	if !slices.Equal(gotClasses, classes) {
		t.Errorf("dataClasses() = %v, want %v", gotClasses, classes)
	}
	var bs []npmBreach
	json.Unmarshal(res[1].OK, &bs)
	if len(bs) != 2 || bs[0].Name != "RetiredCo" || bs[1].Name != "VerifiedCo" {
		t.Errorf("breaches(domain verified.example) = %s", res[1].OK)
	}
	if string(res[2].OK) != "[]" {
		t.Errorf("breaches(domain nowhere.example) = %s, want []", res[2].OK)
	}
	var one npmBreach
	json.Unmarshal(res[3].OK, &one)
	if d := checkFull("VerifiedCo", one.Title, one.Domain, one.IsVerified, one.IsSensitive, one.Attribution); one.Name != "VerifiedCo" || d != "" {
		t.Errorf("breach(verifiedco) = %s %s", res[3].OK, d)
	}
	if string(res[4].OK) != "null" {
		t.Errorf("breach(NoSuchBreach) = %s, want null (404)", res[4].OK)
	}
	json.Unmarshal(res[5].OK, &one)
	if one.Name != "PhoneCo" {
		t.Errorf("latestBreach() = %s, want PhoneCo (latest AddedDate)", res[5].OK)
	}
	if string(res[6].OK) != "null" {
		t.Errorf("pasteAccount = %s, want null (404)", res[6].OK)
	}
	want401 := `Your request to the API couldn't be authorised. Check you have the right value in the "hibp-api-key" header, refer to the documentation for more: https://haveibeenpwned.com/API/v3#Authorisation`
	if res[7].Error == nil || *res[7].Error != want401 {
		t.Errorf("breachedAccount with a wrong key: %+v, want error %q", res[7], want401)
	}
	if res[8].Error == nil {
		t.Errorf("breachedAccount with a key without scope: %s, want an error (403)", res[8].OK)
	}
	if !strings.Contains(string(res[9].OK), `"VerifiedCo"`) {
		t.Errorf("breachedAccount with a range key: %s", res[9].OK)
	}
}

// TestNPMHIBPAccountSearchOff is the negative control: with the route off
// the same calls must not give HIBP's answers, so the test above cannot
// pass vacuously.
func TestNPMHIBPAccountSearchOff(t *testing.T) {
	ix, keys := buildAcctIndex(t)
	_, base := serveIndex(t, ix, Options{NoAccountSearch: true})
	cases := acctCases()
	for i, d := range npmBreachedAccount(t, base, keys, cases) {
		if d == "" {
			t.Errorf("breachedAccount(%s) with account search off matched %v", cases[i], cases[i].want)
		}
	}
}

// goHIBPBreachedAccount runs every case through go-hibp v1.1.0 (a new
// client per case: its options persist in the client) and returns one
// mismatch description per case ("" when it matches HIBP's answer).
func goHIBPBreachedAccount(t *testing.T, base string, keys acctKeys, cases []acctCase) []string {
	diffs := make([]string, len(cases))
	for i, c := range cases {
		rt := &rewriteTransport{host: strings.TrimPrefix(base, "http://")}
		key := keys.search
		if c.o.sensitive {
			key = keys.sensitive
		}
		cl := hibp.New(hibp.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}), hibp.WithAPIKey(key))
		var opts []hibp.BreachOption
		if c.o.full {
			opts = append(opts, hibp.WithoutTruncate())
		}
		if c.o.noUnverified {
			opts = append(opts, hibp.WithoutUnverified())
		}
		if c.o.domain != "" {
			opts = append(opts, hibp.WithDomain(c.o.domain))
		}
		// go-hibp pastes the account into the URL unescaped; escape it as
		// a path segment like a careful caller.
		bs, _, err := cl.BreachAPI.BreachedAccount(url.PathEscape(c.q.account), opts...)
		if err != nil {
			diffs[i] = "error: " + err.Error()
			continue
		}
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
			if c.o.full {
				if d := checkFull(b.Name, b.Title, b.Domain, b.IsVerified, b.IsSensitive, acctBreach(b.Name).Attribution); d != "" {
					diffs[i] = d
				}
				if want := acctBreach(b.Name); b.BreachDate == nil || b.BreachDate.Format("2006-01-02") != want.BreachDate ||
					!b.AddedDate.Equal(want.AddedDate) || b.PwnCount != int(want.PwnCount) {
					diffs[i] = "dates or count differ for " + b.Name
				}
			} else if b.Title != "" {
				diffs[i] = "truncated answer carries a Title"
			}
		}
		sort.Strings(names)
		if !slices.Equal(names, c.want) {
			diffs[i] = "names " + strings.Join(names, ",")
		}
	}
	return diffs
}

func TestGoHIBPAccountSearch(t *testing.T) {
	ix, keys := buildAcctIndex(t)
	_, base := serveIndex(t, ix, Options{})
	cases := acctCases()
	for i, d := range goHIBPBreachedAccount(t, base, keys, cases) {
		if d != "" {
			t.Errorf("BreachedAccount(%s): %s, want %v", cases[i], d, cases[i].want)
		}
	}
	rt := &rewriteTransport{host: strings.TrimPrefix(base, "http://")}
	cl := hibp.New(hibp.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}), hibp.WithAPIKey(keys.search))
	dc, _, err := cl.BreachAPI.DataClasses()
	if err != nil || len(dc) != 6 || dc[0] != "Email addresses" || dc[1] != "names" || dc[len(dc)-1] != "Usernames" {
		t.Errorf("DataClasses() = %v, %v", dc, err)
	}
	lb, _, err := cl.BreachAPI.LatestBreach()
	if err != nil || lb.Name != "PhoneCo" || !lb.AddedDate.Equal(acctBreach("PhoneCo").AddedDate) {
		t.Errorf("LatestBreach() = %+v, %v", lb, err)
	}
	ps, _, err := cl.PasteAPI.PastedAccount("alice.martin@example.com")
	if err != nil || ps != nil {
		t.Errorf("PastedAccount = %v, %v; want none", ps, err)
	}
}

// TestGoHIBPAccountSearchOff is go-hibp's negative control.
func TestGoHIBPAccountSearchOff(t *testing.T) {
	ix, keys := buildAcctIndex(t)
	_, base := serveIndex(t, ix, Options{NoAccountSearch: true})
	cases := acctCases()
	for i, d := range goHIBPBreachedAccount(t, base, keys, cases) {
		if d == "" {
			t.Errorf("BreachedAccount(%s) with account search off matched %v", cases[i], cases[i].want)
		}
	}
}
