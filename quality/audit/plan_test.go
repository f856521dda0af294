package audit

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// expectedDistinct is the expected number of distinct prefixes among n
// random hashes at d hex digits: B(1 - e^(-n/B)), B = 16^d.
func expectedDistinct(n float64, d int) int64 {
	b := math.Pow(16, float64(d))
	return int64(b * (1 - math.Exp(-n/b)))
}

func TestChooseDigits(t *testing.T) {
	counts := func(n float64) []int64 {
		c := make([]int64, RangeDigits+1)
		for d := 1; d <= RangeDigits; d++ {
			c[d] = expectedDistinct(n, d)
		}
		return c
	}
	for _, tc := range []struct {
		name          string
		n, corpus     float64
		rpm           float64
		lo, hi        int
		wantMin, want int // accepted range of digits
	}{
		// The case: 1M customers against 7.5M indexed addresses.
		{"1M base, 600/min", 1e6, 7.5e6, 600, 1, 6, 1, 3},
		{"1M base, unlimited", 1e6, 7.5e6, 0, 1, 6, 1, 3},
		// A handful of customers: a few 6-hex requests beat any download.
		{"10 customers, 600/min", 10, 7.5e6, 600, 1, 6, 6, 6},
		{"10 customers, unlimited", 10, 7.5e6, 0, 1, 6, 6, 6},
		// A small index: one request per first hex digit is cheapest.
		{"5k base, small index, 3000/min", 5000, 3000, 3000, 1, 6, 1, 1},
		// A server offering only 3..4 hex: within the offer, or 6.
		{"1M base, offer 3-4", 1e6, 7.5e6, 600, 3, 4, 3, 3},
		// A huge index: responses stay under maxPlanEntries.
		{"1M base, 1e9 index", 1e6, 1e9, 600, 1, 6, 3, 3},
	} {
		c := counts(tc.n)
		got := chooseDigits(c, tc.corpus, tc.lo, tc.hi, tc.rpm)
		if got < tc.wantMin || got > tc.want {
			t.Errorf("%s: %d digits, want %d..%d", tc.name, got, tc.wantMin, tc.want)
			continue
		}
		if got != RangeDigits && tc.corpus/math.Pow(16, float64(got)) > maxPlanEntries {
			t.Errorf("%s: %d digits: %.0f identifiers a response", tc.name, got, tc.corpus/math.Pow(16, float64(got)))
		}
		if c[got] > MaxPlanRequests/2 {
			t.Errorf("%s: %d digits: %d requests for one kind", tc.name, got, c[got])
		}
	}
}

// TestDryRunPlan: a dry run against an HIBP-like server (no short route)
// plans one request per distinct 6-hex prefix per kind, as counted here
// with crypto/sha1, and at the announced rate; it sends no prefix.
func TestDryRunPlan(t *testing.T) {
	srv := newHIBPServer(t)
	srv.statusRPM = 600
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id;email;tel\n")
	prefixes := map[string]bool{}
	for i := range 3000 {
		e := fmt.Sprintf("c%d@example.org", i)
		fmt.Fprintf(&b, "%d;%s;\n", i, e)
		prefixes[fmt.Sprintf("%X", sha1Hash(e))[:6]] = true
	}
	in := writeFile(t, dir, "crm.csv", b.String())
	rep, err := Run(context.Background(), Config{Path: in, OutDir: filepath.Join(dir, "out"), Lookup: srv.remote(t, nil), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Plan
	if p == nil || p.Digits != [2]int{6, 6} || p.Requests[0] != int64(len(prefixes)) || p.Requests6[0] != int64(len(prefixes)) || p.Requests[1] != 0 {
		t.Fatalf("plan %+v, want %d e-mail requests at 6 hex", p, len(prefixes))
	}
	if p.RPM != 588 || p.Estimate != time.Duration(float64(len(prefixes))/588*float64(time.Minute)) {
		t.Errorf("plan at %v/min, %v", p.RPM, p.Estimate)
	}
	for _, r := range srv.requests {
		if rangePath.MatchString(r.path) {
			t.Errorf("dry run sent %s", r.path)
		}
	}
}

// TestHIBPPhones: HIBP has no phone range (it would answer 404, which
// reads as "not found"), so a base with phone numbers is refused before
// any prefix is sent, rather than reported clean.
func TestHIBPPhones(t *testing.T) {
	srv := newHIBPServer(t)
	r := srv.remote(t, nil)
	r.hibp = true // as for https://haveibeenpwned.com/api/v3
	dir := t.TempDir()
	in := writeFile(t, dir, "crm.csv", crmCSV)
	_, err := Run(context.Background(), Config{Path: in, OutDir: filepath.Join(dir, "out"), Lookup: r})
	if err == nil || !strings.Contains(err.Error(), "no phone range") {
		t.Fatalf("err = %v", err)
	}
	for _, q := range srv.requests {
		if rangePath.MatchString(q.path) {
			t.Errorf("sent %s", q.path)
		}
	}
	if u, err := NewRemote(RemoteOptions{BaseURL: "https://haveibeenpwned.com/api/v3", APIKey: "k"}); err != nil || !u.hibp || u.base != "https://haveibeenpwned.com" {
		t.Errorf("HIBP base URL: %+v, %v", u, err)
	}
}
