package audit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pwndex/pwndex/index"
)

// Planning constants. A remote audit's lookup stage costs, per kind and
// prefix length d, requests(d) × (the key's interval between requests)
// plus the bytes of the buckets fetched over the network; the plan takes
// the cheapest length, among those keeping a response under
// maxPlanEntries identifiers and, when one does, the run under
// MaxPlanRequests requests.
const (
	// MaxPlanRequests bounds the requests of a remote audit whatever the
	// base size, when the server offers short prefixes: 70,000 requests
	// are under 2 hours at HIBP-like 600 requests a minute.
	MaxPlanRequests = 70_000
	// maxPlanEntries bounds one compact response (about 24 bytes an
	// identifier: 12 MB, under the client's 32 MB body limit). It lets
	// an index of a billion identifiers be audited in 3-hex prefixes.
	maxPlanEntries = 1 << 19
	// planEntryBytes is the size of one compact record, about.
	planEntryBytes = 24
	// planBandwidth is the bandwidth assumed for the range bodies (100
	// Mbit/s) and planRequestCost the cost of one request when the key is
	// not rate-limited (round trips shared by the connections in flight).
	planBandwidth   = 12.5e6
	planRequestCost = 2 * time.Millisecond
)

// identKinds are the kinds an audit looks up, in spill order.
var identKinds = [2]index.Kind{index.KindEmail, index.KindPhone}

func kindSlot(k index.Kind) int {
	if k == index.KindPhone {
		return 1
	}
	return 0
}

// Plan describes the lookup stage of a run before it starts: the prefix
// length per kind and the requests it needs. Report.Plan carries it, and
// a dry run (Config.DryRun) stops after computing it.
type Plan struct {
	// Digits is the prefix length per kind (e-mail, phone): 6 is the HIBP
	// route, shorter ones pwndex's compact route.
	Digits [2]int
	// Requests per kind at those lengths, for the partitions left to
	// resolve; Requests6 the same at 6 hex (the HIBP route).
	Requests, Requests6 [2]int64
	// RPM is the rate the requests are paced to, in requests per minute:
	// the key's announced rate less 2%, or the one learnt so far (0: none
	// known).
	RPM float64
	// Estimate is the time the requests need at RPM (0 when no rate is
	// known: then only the server's speed bounds the run).
	Estimate time.Duration
	// ShortRoute is set when the server offered its compact route (a
	// pwndex server and a key with the audit scope): every lookup then
	// uses it, 6-hex ones included, so an audit key needs no range scope.
	ShortRoute bool
}

// Total is the number of requests of the plan.
func (p *Plan) Total() int64 { return p.Requests[0] + p.Requests[1] }

// remoteLookup is implemented by Remote: what planning and short prefixes
// need from a server.
type remoteLookup interface {
	loadStatus(ctx context.Context) remoteStatus
	compactRange(ctx context.Context, k index.Kind, p index.Prefix, c *compactRange) error
	PacedRPM() float64
	Stats() RemoteStats
	hasPhoneRange() bool
}

// prefixCounts counts, for the partitions not resolved yet, the distinct
// (kind, prefix) pairs at every length from 1 to 6 hex: the requests each
// length needs. A prefix shorter than the partition bits spans several
// partitions and is asked once per partition, as resolve does.
func (a *auditor) prefixCounts(ck *checkpoint) (counts [2][RangeDigits + 1]int64, err error) {
	var seen [2][RangeDigits + 1][]uint64
	for s := range seen {
		for d := 1; d <= RangeDigits; d++ {
			seen[s][d] = make([]uint64, max(1, (1<<(4*d))/64))
		}
	}
	var recs []record
	n := 1 << uint(ck.Bits)
	for p := 0; p < n; p++ {
		if validHits(hitsName(a.work, p)) {
			continue
		}
		if err := a.ctx.Err(); err != nil {
			return counts, err
		}
		recs, err = readPartition(a.work, p, recs[:0])
		if err != nil {
			return counts, err
		}
		for d := 1; 4*d < ck.Bits; d++ { // per-partition lengths
			for s := range seen {
				clear(seen[s][d])
			}
		}
		for i := range recs {
			s := kindSlot(recs[i].kind)
			v := recs[i].prefix()
			for d := RangeDigits; d >= 1; d-- {
				x := v >> (4 * uint(RangeDigits-d))
				w, bit := x/64, uint64(1)<<(x%64)
				if seen[s][d][w]&bit != 0 {
					break // shorter prefixes of a seen prefix are seen too
				}
				seen[s][d][w] |= bit
				counts[s][d]++
			}
		}
	}
	return counts, nil
}

// makePlan chooses the prefix lengths of the lookup stage.
func (a *auditor) makePlan(ck *checkpoint) (*Plan, error) {
	pl := &Plan{Digits: [2]int{RangeDigits, RangeDigits}}
	rl, remote := a.cfg.Lookup.(remoteLookup)
	if !remote {
		return pl, nil // local: 6-hex ranges, no request
	}
	counts, err := a.prefixCounts(ck)
	if err != nil {
		return nil, err
	}
	if n := counts[1][RangeDigits]; n > 0 && !rl.hasPhoneRange() {
		return nil, fmt.Errorf("audit: %s has no phone range API: the phone numbers of this file cannot be checked there; audit them against a pwndex server, or remove the phone column from the file", a.cfg.Lookup.Describe())
	}
	st := rl.loadStatus(a.ctx)
	pl.RPM = rl.PacedRPM()
	pl.ShortRoute = st.PwndexRanges != nil
	forced := 0
	if r, ok := a.cfg.Lookup.(*Remote); ok {
		forced = r.opts.PrefixDigits
	}
	for s, k := range identKinds {
		pl.Requests6[s] = counts[s][RangeDigits]
		d := RangeDigits
		switch {
		case st.PwndexRanges == nil:
		case forced > 0:
			d = min(max(forced, st.PwndexRanges.MinDigits), st.PwndexRanges.MaxDigits)
		default:
			// Every lookup takes the compact route (the key may lack the
			// range scope), so never longer than it offers.
			d = min(st.PwndexRanges.MaxDigits, chooseDigits(counts[s][:], float64(st.PwndexRanges.Counts[k.String()]),
				st.PwndexRanges.MinDigits, st.PwndexRanges.MaxDigits, pl.RPM))
		}
		pl.Digits[s] = d
		pl.Requests[s] = counts[s][d]
	}
	if pl.RPM > 0 {
		pl.Estimate = time.Duration(float64(pl.Total()) / pl.RPM * float64(time.Minute))
	}
	return pl, nil
}

// chooseDigits returns the cheapest prefix length for one kind: counts[d]
// requests of corpus/16^d identifiers each, d in [lo, hi] or 6, at rpm
// requests a minute (0: unlimited). A length is eligible when its
// responses stay under maxPlanEntries and its requests under half of
// MaxPlanRequests (the other half is the other kind's); when none is,
// the cheapest one within maxPlanEntries; when none is, 6 hex.
func chooseDigits(counts []int64, corpus float64, lo, hi int, rpm float64) int {
	per := planRequestCost.Seconds()
	if rpm > 0 {
		per = max(per, 60/rpm)
	}
	for _, budget := range []bool{true, false} {
		best, bestCost := 0, math.Inf(1)
		for d := lo; d <= RangeDigits; d++ {
			if d > hi && d != RangeDigits {
				continue
			}
			entries := corpus / math.Pow(16, float64(d))
			if (entries > maxPlanEntries && d != RangeDigits) || (budget && counts[d] > MaxPlanRequests/2) {
				continue
			}
			req := float64(counts[d])
			if cost := req*per + req*entries*planEntryBytes/planBandwidth; cost < bestCost {
				best, bestCost = d, cost
			}
		}
		if best > 0 {
			return best
		}
	}
	return RangeDigits
}
