package quality

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxExamples is the number of example rows the report gives per reason.
const maxExamples = 5

// maxSources bounds the per-source table; further sources are pooled.
const maxSources = 200

// Example is one row showing a finding: its source line and the offending
// value, partly masked (e-mail local parts, phone digits, names), with
// the suggested correction of a typo.
type Example struct {
	Line       int    `json:"line"`
	Value      string `json:"value"`
	Suggestion string `json:"suggestion,omitempty"`
}

// SourceStats is the quality of one consent source (the file's Source
// column): purchased files often merge several suppliers' collections.
type SourceStats struct {
	Source        string  `json:"source"`
	Rows          int     `json:"rows"`
	Rejected      int     `json:"rejected"`
	RejectRate    float64 `json:"rejectRate"`
	Duplicates    int     `json:"duplicates"`
	DuplicateRate float64 `json:"duplicateRate"`
	// MedianConsentDays is the median consent age of the source's rows
	// with a readable date (-1: none).
	MedianConsentDays int `json:"medianConsentDays"`
}

// maskEmail keeps an address's domain and the first and last characters
// of its local part: "jean.dupont@gmail.com" -> "j*********t@gmail.com".
func maskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return maskText(s)
	}
	return maskText(s[:at]) + s[at:]
}

// maskText keeps the first and last characters of s and stars the rest
// (everything but the first character when s is short).
func maskText(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return s
	}
	var b strings.Builder
	i := 0
	for _, r := range s {
		switch {
		case i == 0, i == n-1 && n > 3:
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
		i++
	}
	return b.String()
}

// maskPhone keeps the first two and last two digits of a phone cell and
// masks the others with x, keeping the layout: "06 12 34 56 78" ->
// "06 xx xx xx 78".
func maskPhone(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	b := []byte(s)
	d := 0
	for i, c := range b {
		if c >= '0' && c <= '9' {
			if d >= 2 && d < digits-2 {
				b[i] = 'x'
			}
			d++
		}
	}
	return string(b)
}

// exampleValue is the offending value of reason r on row c, masked.
func (w *rowWriter) exampleValue(c *checked, r Reason) string {
	t, f := w.v.t, c.row
	switch r {
	case RowMalformed, RowColumns:
		return firstNonEmpty(c.detail, c.parseErr)
	case EmailMissing, PhoneMissing, PostalMissing, ConsentMissing, NameMissing:
		return ""
	case EmailSyntax, EmailTypo, EmailDisposable, EmailRole, EmailUnwrapped, EmailNonASCIILocal, EmailMultiple, SharedEmail:
		return maskEmail(t.Get(f, FieldEmail))
	case PhoneInvalid, PhonePremium, PhoneNotMobile, PhoneSpecialRate, SharedPhone:
		raw := t.Get(f, FieldMobile)
		if raw == "" {
			raw = t.Get(f, FieldPhone)
		}
		if r == PhoneSpecialRate {
			return maskPhone(raw) + " (" + c.phone.Type.String() + ")"
		}
		return maskPhone(raw)
	case NameGarbage, NameSwapped:
		return maskText(t.Get(f, FieldFirstName)) + " / " + maskText(t.Get(f, FieldLastName))
	case PostalFormat, PostalUnknown, PostalCityMismatch:
		return t.Get(f, FieldPostcode) + " " + t.Get(f, FieldCity)
	case ConsentInvalid, ConsentFuture, ConsentExpired:
		return t.Get(f, FieldConsentDate)
	case ConsentNoSource:
		return t.Get(f, FieldConsentSource)
	case ConsentRefused:
		return "opt-in refused"
	case DupExact, DupNear:
		if c.dupOf > 0 {
			return "duplicate of line " + strconv.Itoa(c.dupOf)
		}
	case Suppressed:
		return "on the opt-out list"
	case TextMojibake:
		return "mis-decoded accents"
	case CommentSensitive:
		return "(comment withheld)"
	}
	return ""
}

// collectExamples keeps up to maxExamples rows per reason of c.
func (w *rowWriter) collectExamples(c *checked) {
	for r := Reason(0); r < numReasons; r++ {
		if !c.reasons.has(r) || len(w.examples[r]) >= maxExamples {
			continue
		}
		ex := Example{Line: c.row.Line, Value: w.exampleValue(c, r)}
		if r == EmailTypo && c.email.Suggestion != "" {
			ex.Suggestion = maskEmail(c.email.Suggestion)
		}
		w.examples[r] = append(w.examples[r], ex)
	}
}

// sourceAcc accumulates one source's statistics.
type sourceAcc struct {
	rows, rejected, dups int
	ages                 []int32 // consent ages in days, for the median
}

// maxSourceAges bounds the ages kept per source for its median.
const maxSourceAges = 1 << 16

// sourceStats accumulates row c into its consent source's statistics.
func (w *rowWriter) sourceStats(c *checked, rejected bool) {
	if !w.v.t.Has(FieldConsentSource) || c.reasons.has(RowMalformed) || c.reasons.has(RowColumns) {
		return
	}
	src := c.source
	if c.noSource || w.v.opts.SkipConsent && IsPlaceholderSource(src) {
		src = "(none)"
	}
	a := w.sources[src]
	if a == nil {
		if len(w.sources) >= maxSources {
			src = "(other sources)"
			a = w.sources[src]
		}
		if a == nil {
			a = &sourceAcc{}
			w.sources[src] = a
		}
	}
	a.rows++
	if rejected {
		a.rejected++
	}
	if c.reasons.has(DupExact) || c.reasons.has(DupNear) {
		a.dups++
	}
	if !c.consent.Date.IsZero() && len(a.ages) < maxSourceAges {
		a.ages = append(a.ages, int32(c.consent.AgeDays))
	}
}

// sourceTable returns the per-source statistics, most rows first.
func (w *rowWriter) sourceTable() []SourceStats {
	out := make([]SourceStats, 0, len(w.sources))
	for src, a := range w.sources {
		s := SourceStats{Source: src, Rows: a.rows, Rejected: a.rejected, Duplicates: a.dups, MedianConsentDays: -1}
		s.RejectRate = float64(a.rejected) / float64(a.rows)
		s.DuplicateRate = float64(a.dups) / float64(a.rows)
		if len(a.ages) > 0 {
			sort.Slice(a.ages, func(i, j int) bool { return a.ages[i] < a.ages[j] })
			s.MedianConsentDays = int(a.ages[len(a.ages)/2])
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rows != out[j].Rows {
			return out[i].Rows > out[j].Rows
		}
		return out[i].Source < out[j].Source
	})
	return out
}
