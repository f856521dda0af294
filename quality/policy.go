package quality

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// Policy decides vet's verdict. Rates are fractions of data rows in
// [0, 1]; a rate of 1 never fails. Load a policy from JSON with
// LoadPolicy: absent fields keep DefaultPolicy's values.
type Policy struct {
	// MaxRejectRate fails the file when more rows are rejected.
	MaxRejectRate float64 `json:"max_reject_rate"`
	// MaxDuplicateRate fails the file when more rows are duplicates
	// (exact or near).
	MaxDuplicateRate float64 `json:"max_duplicate_rate"`
	// MaxExposedRate fails the file when more rows have an e-mail or phone
	// in a known breach (only with an index).
	MaxExposedRate float64 `json:"max_exposed_rate"`
	// FailOnBreachSource fails the file when it is likely derived from a
	// breach (see VetOptions.ProvenanceThreshold).
	FailOnBreachSource bool `json:"fail_on_breach_source"`
	// MaxReasonRates caps individual reasons, by code:
	// {"consent.expired": 0.05}.
	MaxReasonRates map[string]float64 `json:"max_reason_rates,omitempty"`
	// MinRows fails files with fewer data rows.
	MinRows int `json:"min_rows"`
}

// DefaultPolicy: at most 20% rejected rows, 10% duplicates, no limit on
// exposure share, fail a file likely derived from a breach, at least one row.
func DefaultPolicy() Policy {
	return Policy{MaxRejectRate: 0.2, MaxDuplicateRate: 0.1, MaxExposedRate: 1, FailOnBreachSource: true, MinRows: 1}
}

// LoadPolicy reads a JSON policy over DefaultPolicy and validates it.
func LoadPolicy(r io.Reader, name string) (Policy, error) {
	p := DefaultPolicy()
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, &InputError{File: name, Err: fmt.Errorf("policy: %w", err)}
	}
	if err := p.Validate(); err != nil {
		return p, &InputError{File: name, Err: err}
	}
	return p, nil
}

// Validate checks rates are in [0, 1] and reason codes exist.
func (p *Policy) Validate() error {
	for name, v := range map[string]float64{"max_reject_rate": p.MaxRejectRate, "max_duplicate_rate": p.MaxDuplicateRate, "max_exposed_rate": p.MaxExposedRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("policy: %s = %v, want a fraction in [0, 1]", name, v)
		}
	}
	for code, v := range p.MaxReasonRates {
		if _, ok := ParseReason(code); !ok {
			return fmt.Errorf("policy: unknown reason code %q", code)
		}
		if v < 0 || v > 1 {
			return fmt.Errorf("policy: max_reason_rates[%s] = %v, want a fraction in [0, 1]", code, v)
		}
	}
	if p.MinRows < 0 {
		return fmt.Errorf("policy: min_rows = %d", p.MinRows)
	}
	return nil
}

// Verdict is the policy's decision.
type Verdict struct {
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures"`
	Policy   Policy   `json:"policy"`
}

// decide applies the policy to a finished report.
func (p Policy) decide(r *Report) Verdict {
	v := Verdict{Policy: p, Failures: []string{}}
	rate := func(n int) float64 {
		if r.Rows == 0 {
			return 0
		}
		return float64(n) / float64(r.Rows)
	}
	if r.Rows < p.MinRows {
		v.Failures = append(v.Failures, fmt.Sprintf("%d data rows, policy requires at least %d", r.Rows, p.MinRows))
	}
	if x := rate(r.Rejected); x > p.MaxRejectRate {
		v.Failures = append(v.Failures, fmt.Sprintf("reject rate %.1f%% exceeds %.1f%%", 100*x, 100*p.MaxRejectRate))
	}
	if x := rate(r.Duplicates.Exact + r.Duplicates.Near); x > p.MaxDuplicateRate {
		v.Failures = append(v.Failures, fmt.Sprintf("duplicate rate %.1f%% exceeds %.1f%%", 100*x, 100*p.MaxDuplicateRate))
	}
	if r.Exposure != nil {
		if x := rate(r.Exposure.Exposed); x > p.MaxExposedRate {
			v.Failures = append(v.Failures, fmt.Sprintf("breach exposure %.1f%% exceeds %.1f%%", 100*x, 100*p.MaxExposedRate))
		}
		if p.FailOnBreachSource && r.Exposure.LikelySource != "" {
			v.Failures = append(v.Failures, fmt.Sprintf("file is likely derived from breach %q", r.Exposure.LikelySource))
		}
	}
	codes := make([]string, 0, len(p.MaxReasonRates))
	for c := range p.MaxReasonRates {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		n := 0
		for _, rc := range r.Reasons {
			if rc.Code == c {
				n = rc.Count
			}
		}
		if x := rate(n); x > p.MaxReasonRates[c] {
			v.Failures = append(v.Failures, fmt.Sprintf("%s rate %.1f%% exceeds %.1f%%", c, 100*x, 100*p.MaxReasonRates[c]))
		}
	}
	v.Pass = len(v.Failures) == 0
	return v
}
