package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pwndex/pwndex/quality/audit"
)

// printPlan prints a dry run: the requests the lookup stage needs.
func printPlan(w io.Writer, file string, r *audit.Report) {
	fmt.Fprintf(w, "pwndex audit: dry run of %s against %s (%s): nothing sent but the catalog and status\n", file, r.Source, r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "  records     %d read, %d e-mail addresses and %d phone numbers to check\n", r.Rows, r.Emails, r.Phones)
	if p := r.Plan; p != nil {
		for i, k := range []string{"e-mail", "phone"} {
			fmt.Fprintf(w, "  %-11s %d requests of %d-hex prefixes (%d at 6 hex)\n", k, p.Requests[i], p.Digits[i], p.Requests6[i])
		}
		fmt.Fprintf(w, "  requests    %d\n", p.Total())
		if p.RPM > 0 {
			fmt.Fprintf(w, "  time        %s at %.0f requests/minute (the key's rate)\n", p.Estimate.Round(time.Second), p.RPM)
		} else {
			fmt.Fprintln(w, "  time        no rate limit known: as fast as the server answers")
		}
		if !p.ShortRoute && p.Total() > audit.MaxPlanRequests {
			fmt.Fprintln(w, "  hint        on a pwndex server, a key with the audit scope lets the audit use shorter prefixes: far fewer requests")
		}
	}
	fmt.Fprintln(w, "  run the same command without --dry-run to audit (the file is not read again)")
}

// printSummary prints the summary of a finished audit.
func printSummary(w io.Writer, file string, r *audit.Report) {
	resumed := ""
	if r.Resumed {
		resumed = ", resumed"
	}
	fmt.Fprintf(w, "pwndex audit: %s against %s (%s%s)\n", file, r.Source, r.Duration.Round(time.Millisecond), resumed)
	fmt.Fprintf(w, "  records     %d read, %d with a usable e-mail or phone (%d malformed, %d without identifier)\n",
		r.Rows, r.Checked, r.MalformedRows, r.NoIdentifier)
	fmt.Fprintf(w, "  exposed     %d customers (%.2f%%), %d with passwords in a breach\n",
		r.ExposedCustomers, 100*r.ExposureRate, r.PasswordsExposed)
	if len(r.Breaches) > 0 {
		var top []string
		for _, b := range r.Breaches[:min(3, len(r.Breaches))] {
			top = append(top, fmt.Sprintf("%s %d", b.Name, b.Customers))
		}
		fmt.Fprintf(w, "  breaches    %d (%s)\n", len(r.Breaches), strings.Join(top, ", "))
	}
	fmt.Fprintf(w, "  bad rows    %d entries\n", r.BadRows)
	if secs := r.LookupTime.Seconds(); secs > 0 {
		fmt.Fprintf(w, "  lookups     %d range lookups in %s (%.0f/s)\n", r.Lookups, r.LookupTime.Round(time.Millisecond), float64(r.Lookups)/secs)
	}
	if st, p := r.Remote, r.Plan; st != nil && p != nil {
		fmt.Fprintf(w, "  remote      %d requests, %d bytes received, %d answered 429; prefixes of %d (e-mail) and %d (phone) hex\n",
			st.Requests, st.Bytes, st.RateLimited, p.Digits[0], p.Digits[1])
	}
	fmt.Fprintf(w, "  wrote       %s\n", strings.Join(r.Files, ", "))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws audit progress on a terminal, at most 10 times a
// second.
type progressBar struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (b *progressBar) update(p audit.Progress) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && (p.Total == 0 || p.Done < p.Total) {
		return
	}
	b.last = now
	const width = 30
	frac := 0.0
	if p.Total > 0 {
		frac = min(1, float64(p.Done)/float64(p.Total))
	}
	n := int(frac * width)
	extra := ""
	if p.RPM > 0 {
		extra += fmt.Sprintf("  %.0f req/min", p.RPM)
	}
	if p.ETA > 0 {
		extra += fmt.Sprintf("  ETA %s", p.ETA.Round(time.Second))
	}
	fmt.Fprintf(b.w, "\r%-14s [%s%s] %3.0f%%  %d rows  %s%s\x1b[K", p.Stage, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		100*frac, p.Rows, p.Elapsed.Round(time.Second), extra)
	b.drawn = true
}

func (b *progressBar) finish() {
	if b != nil && b.drawn {
		fmt.Fprintln(b.w)
	}
}
