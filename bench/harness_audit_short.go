package bench

import (
	"fmt"
	"strings"

	"github.com/pwndex/pwndex/quality/audit"
)

// Rows of the short-prefix audit benchmark: the CRM of the audit case
// (--crm-rows; the figure is --crm-rows 1000000, a 1M-customer
// base against a 7.5M-person, ~10M-identifier index) audited locally and
// through the compact short-prefix route on 127.0.0.1, with an unlimited
// audit key, then planned (--dry-run) with a 600-a-minute key.
const (
	rowShortRemote   = "audit CRM, remote short prefixes"
	rowShortRatio    = "audit short-prefix remote / local speed"
	rowShortRequests = "audit short-prefix requests"
	rowShortBytes    = "audit short-prefix bytes received"
	rowShort600      = "audit short-prefix time at 600/min"
	rowShortServe    = "audit short-prefix route, 2-hex e-mail buckets"
)

// Targets of the short-prefix audit benchmark (issue 9).
const (
	benchTargetShortRatio  = 0.5                   // remote speed / local speed
	benchTarget600Minutes  = 120                   // minutes at 600 requests a minute
	benchTargetShortReqMax = audit.MaxPlanRequests // requests, whatever the base size
)

// runAuditShortBench measures the short-prefix remote audit side by side
// with the local one.
func runAuditShortBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.auditData()
	if err != nil {
		return nil, err
	}
	local, dl, _, err := e.runAudit(f, f.key, "--index", f.dir)
	if err != nil {
		return nil, fmt.Errorf("local audit: %w", err)
	}
	srv, err := e.startServer("serve-api", &f.benchFixture, "")
	if err != nil {
		return nil, err
	}
	// The route alone: bodies streamed from the generation per request
	// (not precomputed), 2-hex e-mail buckets in turn.
	served, err := Load(e.ctx, LoadOptions{Addr: srv.addr, Conns: e.conns, Duration: e.loadDur,
		URI: func(dst []byte, i int64) []byte {
			return fmt.Appendf(append(dst, "/v1/range/email/"...), "%02X", i%256)
		},
		Header: [][2]string{{"hibp-api-key", f.auditKey}}})
	if err == nil && served.Requests == 0 {
		err = fmt.Errorf("no successful short-prefix request (%d errors)", served.Errors)
	}
	if err != nil {
		srv.stop()
		return nil, fmt.Errorf("short-prefix route load: %w", err)
	}
	remote, dr, summary, err := e.runAudit(f, f.auditKey, "--remote", "http://"+srv.addr)
	var plan string
	if err == nil {
		_, _, plan, err = e.runAudit(f, f.audit600, "--remote", "http://"+srv.addr, "--dry-run")
		fmt.Fprintf(e.log, "bench: dry run at 600/min:\n%s", plan)
	}
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("short-prefix remote audit: %w", err)
	}
	if err := checkAudit(f, remote); err != nil {
		return nil, fmt.Errorf("short-prefix remote audit: %w", err)
	}
	if remote.ExposedCustomers != local.ExposedCustomers || remote.EmailExposed != local.EmailExposed {
		return nil, fmt.Errorf("short-prefix remote audit: %d customers exposed, local %d", remote.ExposedCustomers, local.ExposedCustomers)
	}
	reqs, bytes, d1, d2, ok := parseRemoteLine(summary)
	if !ok {
		return nil, fmt.Errorf("short-prefix remote audit: no remote line in the summary:\n%s", summary)
	}
	n600, n6, ok600 := parsePlanRequests(plan)
	if !ok600 {
		return nil, fmt.Errorf("dry run at 600/min: no request count in:\n%s", plan)
	}
	ids := float64(remote.Emails + remote.Phones)
	localRate, remoteRate := ids/dl.Seconds(), ids/dr.Seconds()
	res := map[string]benchMeasure{
		rowShortRemote: {value: remoteRate, note: fmt.Sprintf("%d rows, %.0f identifiers in %.1fs (local %.1fs); prefixes of %d (e-mail) and %d (phone) hex",
			remote.Rows, ids, dr.Seconds(), dl.Seconds(), d1, d2)},
		rowShortRatio:    {value: remoteRate / localRate},
		rowShortRequests: {value: float64(reqs), note: "unlimited key, status and catalog included"},
		rowShortBytes:    {value: float64(bytes) / (1 << 20), note: fmt.Sprintf("%.1f bytes per identifier audited", float64(bytes)/ids)},
		rowShortServe: {value: float64(served.BodyBytes) / (1 << 20) / served.Elapsed.Seconds(),
			note: fmt.Sprintf("%.0f req/s of %.0f KiB, p99 %.1f ms, %d connections", served.ReqPerSec,
				float64(served.BodyBytes)/float64(max(1, served.Requests))/1024, float64(served.P99.Microseconds())/1000, e.conns)},
		rowShort600: {value: float64(n600) / 600, note: fmt.Sprintf("%d requests planned by --dry-run with a 600/min key; at 6 hex %d requests, %.1f h",
			n600, n6, float64(n6)/600/60)},
	}
	return res, nil
}

// parseRemoteLine reads the "remote" line of the audit summary.
func parseRemoteLine(summary string) (reqs, bytes int64, d1, d2 int, ok bool) {
	for _, line := range strings.Split(summary, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "remote ") {
			continue
		}
		var limited int64
		_, err := fmt.Sscanf(line, "remote %d requests, %d bytes received, %d answered 429; prefixes of %d (e-mail) and %d (phone) hex",
			&reqs, &bytes, &limited, &d1, &d2)
		return reqs, bytes, d1, d2, err == nil
	}
	return 0, 0, 0, 0, false
}

// parsePlanRequests reads a dry run: the requests planned, and those the
// 6-hex route would need (the sum of the "N at 6 hex" of each kind).
func parsePlanRequests(out string) (n, n6 int64, ok bool) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if _, err := fmt.Sscanf(line, "requests %d", &n); err == nil {
			ok = true
		}
		if i := strings.Index(line, "("); i >= 0 {
			var k int64
			if _, err := fmt.Sscanf(line[i:], "(%d at 6 hex)", &k); err == nil {
				n6 += k
			}
		}
	}
	return n, n6, ok
}
