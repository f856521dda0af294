package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/ingest"
	"github.com/pwndex/pwndex/quality/audit"
)

// Row names of the audit benchmark.
const (
	rowAuditLocal  = "audit CRM, local index"
	rowAuditRemote = "audit CRM, remote range API"
	rowAccountRPS  = "serve /api/v3/breachedaccount/{e-mail}"
)

// benchSeedPeople seeds the synthetic population of the dump and the CRM.
const benchSeedPeople = 5

// benchAuditData is a breach index (a generated dump ingested with the ingest
// package), an API key for its range API, and a CRM file overlapping it.
type benchAuditData struct {
	benchFixture
	crm     string
	exposed int    // CRM rows drawn from the dump population
	key     string // API key with the range scope
	// auditKey has the audit scope and no practical limit; audit600 the
	// audit scope at HIBP-like 600 requests a minute.
	auditKey, audit600 string
}

// auditData builds (once) the audit benchmark's data.
func (e *benchEnv) auditData() (*benchAuditData, error) {
	if e.audit != nil {
		return e.audit, e.audit.open()
	}
	// The ratio: a 1M-customer base against a 10M-identifier
	// index. A generated person has 1.3 identifiers (every one an e-mail
	// address, some a phone number), so 7.5 people per CRM row.
	f, err := e.buildAuditData("", max(1000, e.crmRows*15/2))
	if err != nil {
		return nil, err
	}
	e.audit = f
	return f, nil
}

// buildAuditData generates a dump of dumpN people, ingests it into an
// index, creates its API keys and writes a CRM of e.crmRows rows drawn 30%
// from it; tag keeps the files of several such fixtures apart.
func (e *benchEnv) buildAuditData(tag string, dumpN int) (*benchAuditData, error) {
	f := &benchAuditData{benchFixture: benchFixture{dir: filepath.Join(e.dir, "breach"+tag), kind: index.KindEmail}}
	src := filepath.Join(e.dir, "dump"+tag)
	fmt.Fprintf(e.log, "bench: generating and ingesting a dump of %d people, a CRM of %d rows\n", dumpN, e.crmRows)
	files, err := WriteDump(src, DumpOptions{Name: "BenchBreach", N: dumpN, Seed: benchSeedPeople})
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(src) // plaintext inputs live only as long as needed
	ix, err := index.Open(index.Options{Dir: f.dir})
	if err != nil {
		return nil, err
	}
	f.ix = ix
	if _, err := ingest.Run(e.ctx, ix, ingest.Config{Inputs: []string{files.CSV, files.Combo}, Manifest: files.Manifest}, nil); err != nil {
		f.close()
		return nil, fmt.Errorf("ingest dump: %w", err)
	}
	f.key, err = ix.CreateAPIKey(index.APIKey{Name: "bench", Scopes: []string{"range"}, RatePerMinute: 1 << 30})
	if err == nil {
		f.auditKey, err = ix.CreateAPIKey(index.APIKey{Name: "bench-audit", Scopes: []string{"range", "audit"}, RatePerMinute: 1 << 30})
	}
	if err == nil {
		f.audit600, err = ix.CreateAPIKey(index.APIKey{Name: "bench-audit-600", Scopes: []string{"range", "audit"}, RatePerMinute: 600})
	}
	if err != nil {
		f.close()
		return nil, err
	}
	f.crm = filepath.Join(e.dir, "crm"+tag+".csv")
	err = WriteFileAtomic(f.crm, func(w io.Writer) error {
		f.exposed, err = WriteCRM(w, CRMOptions{N: e.crmRows, Seed: benchSeedPeople, DumpN: dumpN, ExposedPercent: 30, Windows1252: true})
		return err
	})
	if err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// runAuditBench audits the CRM against the local index, then through the
// range API of a server on the same index.
func runAuditBench(e *benchEnv) (map[string]benchMeasure, error) {
	f, err := e.auditData()
	if err != nil {
		return nil, err
	}
	res := map[string]benchMeasure{}
	local, d, _, err := e.runAudit(f, f.key, "--index", f.dir)
	if err != nil {
		return nil, fmt.Errorf("local audit: %w", err)
	}
	if err := checkAudit(f, local); err != nil {
		return nil, fmt.Errorf("local audit: %w", err)
	}
	ids := float64(local.Emails + local.Phones)
	res[rowAuditLocal] = benchMeasure{value: ids / d.Seconds(), note: fmt.Sprintf("%d rows, %.0f identifiers in %.1fs", local.Rows, ids, d.Seconds())}

	srv, err := e.startServer("serve-api", &f.benchFixture, "")
	if err != nil {
		return nil, err
	}
	// The server's ceiling for identifier ranges, in the same run: a load
	// client spreading requests over all e-mail prefixes.
	ceiling, err := Load(e.ctx, LoadOptions{Addr: srv.addr, Conns: e.conns, Duration: e.loadDur,
		URI: benchIdentRangeURI, Header: [][2]string{{"hibp-api-key", f.key}}})
	if err == nil && ceiling.Requests == 0 {
		err = fmt.Errorf("no successful range request (%d errors)", ceiling.Errors)
	}
	if err != nil {
		srv.stop()
		return nil, fmt.Errorf("range ceiling: %w", err)
	}
	// Account search on the same server, right after: plaintext addresses of
	// the dump (even person indices are in its CSV), URIs built beforehand
	// so the load client does the same work as for ranges.
	uris := make([][]byte, 4096)
	for i := range uris {
		p := NewPerson(benchSeedPeople, uint64(2*(i%max(1, e.crmRows*15/4))))
		uris[i] = []byte("/api/v3/breachedaccount/" + p.Email)
	}
	acct, err := Load(e.ctx, LoadOptions{Addr: srv.addr, Conns: e.conns, Duration: e.loadDur,
		URI:    func(dst []byte, i int64) []byte { return append(dst, uris[i%int64(len(uris))]...) },
		Header: [][2]string{{"hibp-api-key", f.key}}})
	if err == nil && (acct.Requests == 0 || acct.Errors > 0) {
		err = fmt.Errorf("%d account searches failed, %d answered", acct.Errors, acct.Requests)
	}
	if err != nil {
		srv.stop()
		return nil, fmt.Errorf("account search: %w", err)
	}
	res[rowAccountRPS] = benchMeasure{value: acct.ReqPerSec, note: fmt.Sprintf("p99 %.2f ms; %.2fx the e-mail range's %.0f req/s in the same run",
		float64(acct.P99.Microseconds())/1000, acct.ReqPerSec/ceiling.ReqPerSec, ceiling.ReqPerSec)}
	remote, d, summary, err := e.runAudit(f, f.key, "--remote", "http://"+srv.addr)
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("remote audit: %w", err)
	}
	if err := checkAudit(f, remote); err != nil {
		return nil, fmt.Errorf("remote audit: %w", err)
	}
	ids = float64(remote.Emails + remote.Phones)
	note := fmt.Sprintf("%d rows, %.0f identifiers in %.1fs", remote.Rows, ids, d.Seconds())
	if n, secs, ok := parseAuditLookups(summary); ok && secs > 0 {
		note += fmt.Sprintf("; %d range requests at %.0f/s, server ceiling %.0f/s (%.0f%%)",
			n, float64(n)/secs, ceiling.ReqPerSec, 100*float64(n)/secs/ceiling.ReqPerSec)
	}
	res[rowAuditRemote] = benchMeasure{value: ids / d.Seconds(), note: note}
	return res, nil
}

// benchIdentRangeURI spreads identifier range requests over the e-mail
// prefixes (an odd multiplier visits every 6-hex prefix once per cycle).
func benchIdentRangeURI(dst []byte, i int64) []byte {
	p := uint32(uint64(i)*0x9E3779B1) & (1<<24 - 1)
	dst = append(dst, "/api/v3/breachedaccount/range/"...)
	return index.Prefix{Value: p, Digits: audit.RangeDigits}.AppendHex(dst)
}

// parseAuditLookups reads the "lookups" line of the audit summary: the
// number of range lookups and the seconds they took.
func parseAuditLookups(summary string) (n int64, secs float64, ok bool) {
	for _, line := range strings.Split(summary, "\n") {
		f := strings.Fields(line)
		// "lookups N range lookups in DURATION (R/s)"
		if len(f) < 6 || f[0] != "lookups" || f[4] != "in" {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		d, derr := time.ParseDuration(f[5])
		if err != nil || derr != nil {
			return 0, 0, false
		}
		return v, d.Seconds(), true
	}
	return 0, 0, false
}

// checkAudit checks a report against what the generator knows: every CRM
// row drawn from the dump population is exposed through its e-mail.
func checkAudit(f *benchAuditData, r audit.Report) error {
	if r.EmailExposed != int64(f.exposed) || r.ExposedCustomers < int64(f.exposed) {
		return fmt.Errorf("%d customers exposed (%d by e-mail), the generator put %d in the dump", r.ExposedCustomers, r.EmailExposed, f.exposed)
	}
	return nil
}

// runAudit runs `pwndex audit` with the lookup flags given, in a child
// process in full runs or in-process with --quick, and returns its report
// and its summary (standard output).
func (e *benchEnv) runAudit(f *benchAuditData, key string, lookup ...string) (audit.Report, time.Duration, string, error) {
	out, err := os.MkdirTemp(e.dir, "audit-")
	if err != nil {
		return audit.Report{}, 0, "", err
	}
	defer os.RemoveAll(out)
	args := append([]string{"audit", "--out", out, "--no-resume", "--quiet"}, lookup...)
	args = append(args, f.crm)
	var (
		stdout, stderr strings.Builder
		start          = time.Now()
	)
	if e.exe == "" {
		os.Setenv("PWNDEX_API_KEY", key)
		defer os.Unsetenv("PWNDEX_API_KEY")
		if f.ix != nil && lookup[0] == "--index" {
			f.close() // audit opens the index itself
		}
		if code := e.runCommand(args, &stdout, &stderr); code != 0 {
			return audit.Report{}, 0, "", fmt.Errorf("exit %d: %s", code, strings.TrimSpace(stderr.String()))
		}
	} else {
		f.close()
		cmd := exec.CommandContext(e.ctx, e.exe, args...)
		cmd.Env = append(os.Environ(), "PWNDEX_API_KEY="+key) // not on the command line
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return audit.Report{}, 0, "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
	}
	d := time.Since(start)
	if slices.Contains(lookup, "--dry-run") {
		return audit.Report{}, d, stdout.String(), nil
	}
	data, err := os.ReadFile(filepath.Join(out, audit.FileJSON))
	if err != nil {
		return audit.Report{}, d, "", err
	}
	var r audit.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return r, d, "", fmt.Errorf("%s: %w", audit.FileJSON, err)
	}
	return r, d, stdout.String(), nil
}
