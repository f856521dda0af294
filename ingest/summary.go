package ingest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Job statuses in a JobSummary.
const (
	StatusIngested = "ingested"         // committed by this run
	StatusSkipped  = "already ingested" // the index already recorded the source
	StatusFailed   = "failed"           // stopped by an error; the index is unchanged by this job
)

// Summary reports what Run did, job by job. A job is one commit: one Pwned
// Passwords input, or all the breach inputs of the run.
// SummaryVersion is the format of `pwndex ingest --json`.
const SummaryVersion = 1

type Summary struct {
	// Version is the format of the JSON summary (SummaryVersion); keys
	// are camelCase, as in every pwndex report.
	Version  int           `json:"version"`
	Jobs     []JobSummary  `json:"jobs"`
	Duration time.Duration `json:"durationNs"`
}

// JobSummary reports one job.
type JobSummary struct {
	// Target is "pwned-passwords sha1", "pwned-passwords ntlm" or
	// "breach <Name>".
	Target   string         `json:"target"`
	SourceID string         `json:"sourceId"`
	Status   string         `json:"status"`
	Inputs   []InputSummary `json:"inputs"`
	// Sorted tells whether a Pwned Passwords input streamed in hash order
	// (false after falling back to an unsorted build).
	Sorted bool `json:"sorted,omitempty"`
	// Identifiers and Passwords count the identifier hashes and password
	// occurrences a breach job added (duplicates included).
	Identifiers int64 `json:"identifiers,omitempty"`
	Passwords   int64 `json:"passwords,omitempty"`
	// Records is the number of records per kind after the commit.
	Records  map[string]uint64 `json:"records,omitempty"`
	Duration time.Duration     `json:"durationNs"`
}

// InputSummary reports one input file or directory.
type InputSummary struct {
	Path   string `json:"path"`
	Format Format `json:"format"`
	Kind   string `json:"kind"`
	Bytes  int64  `json:"bytes"`
	// Directory inputs: prefix files read, prefixes without a file and
	// other files ignored.
	Files        int `json:"files,omitempty"`
	MissingFiles int `json:"missingFiles,omitempty"`
	IgnoredFiles int `json:"ignoredFiles,omitempty"`
	// Lines read (a CSV header included), accepted and rejected. A rejected
	// line contributes one reason; an accepted CSV row may contribute a
	// reason for a bad secondary field (e.g. a bad phone beside a good
	// e-mail), so Reasons can add up to more than Rejected.
	Lines    int64        `json:"lines"`
	Accepted int64        `json:"accepted"`
	Rejected int64        `json:"rejected"`
	Reasons  []ReasonStat `json:"reasons,omitempty"`

	rej rejects
}

func (in *InputSummary) reject(r Reason, file string, line int64) {
	in.Rejected++
	in.rej.add(r, file, line)
}

func (in *InputSummary) finish() { in.Reasons = in.rej.list() }

// WriteText writes the summary for people, one block per job.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, j := range s.Jobs {
		fmt.Fprintf(&b, "%s: %s", j.Target, j.Status)
		if j.Status == StatusIngested {
			fmt.Fprintf(&b, " in %s", j.Duration.Round(time.Millisecond))
		}
		b.WriteByte('\n')
		for _, in := range j.Inputs {
			fmt.Fprintf(&b, "  %s (%s, %s, %s)\n", in.Path, in.Format, in.Kind, byteSize(in.Bytes))
			if in.Format == FormatHIBPDir {
				fmt.Fprintf(&b, "    prefix files: %d read, %d missing, %d other files ignored\n",
					in.Files, in.MissingFiles, in.IgnoredFiles)
			}
			if j.Status == StatusSkipped || in.Lines == 0 {
				continue
			}
			fmt.Fprintf(&b, "    lines read: %d, accepted: %d, rejected: %d\n", in.Lines, in.Accepted, in.Rejected)
			for _, r := range in.Reasons {
				locs := make([]string, len(r.First))
				for i, l := range r.First {
					if l.File == "" {
						locs[i] = fmt.Sprint(l.Line)
					} else {
						locs[i] = l.String()
					}
				}
				more := ""
				if r.Count > int64(len(r.First)) {
					more = ", ..."
				}
				fmt.Fprintf(&b, "      %-18s %d (first at line %s%s)\n", r.Reason.String()+":", r.Count, strings.Join(locs, ", "), more)
			}
		}
		if j.Status != StatusIngested {
			continue
		}
		if strings.HasPrefix(j.Target, "breach") {
			fmt.Fprintf(&b, "  identifiers added: %d, password occurrences added: %d\n", j.Identifiers, j.Passwords)
		} else if !j.Sorted {
			b.WriteString("  input was not in hash order: built with an external sort\n")
		}
		if len(j.Records) > 0 {
			ks := make([]string, 0, len(j.Records))
			for k := range j.Records {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			b.WriteString("  index records:")
			for _, k := range ks {
				fmt.Fprintf(&b, " %s %d", k, j.Records[k])
			}
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// byteSize formats n bytes with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
