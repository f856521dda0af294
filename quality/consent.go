package quality

import (
	"strings"
	"time"
)

// consentLayouts are the date formats accepted for consent dates, French
// day-first forms before ISO 8601. Go's "2" and "1" accept one or two digits.
var consentLayouts = []string{
	"2/1/2006", "2/1/2006 15:04", "2/1/2006 15:04:05", "2/1/2006 15h04",
	"2-1-2006", "2-1-2006 15:04", "2-1-2006 15:04:05",
	"2.1.2006", "2.1.2006 15:04", "2.1.2006 15:04:05",
	"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05",
	time.RFC3339, time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05.000",
	"2006/01/02", "2006/01/02 15:04:05", "2/1/06",
}

// ParseConsentDate parses a consent date written dd/mm/yyyy (also with -
// or . separators, a two-digit year and an optional time), in ISO 8601
// (with or without time and zone), yyyy/mm/dd, or as a spreadsheet serial
// day number (5 digits, days since 1899-12-30, optional fraction of a day
// after '.' or ','). Dates without a zone are read in loc.
func ParseConsentDate(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return time.Time{}, false
	}
	if t, ok := parseSerialDay(s, loc); ok {
		return t, t.Year() >= 1990 && t.Year() <= 2200
	}
	if t, ok := parseDateFast(s, loc); ok {
		if t.Year() < 1990 || t.Year() > 2200 {
			return time.Time{}, false
		}
		return t, true
	}
	for _, l := range consentLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			if t.Year() < 1990 || t.Year() > 2200 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// parseSerialDay reads a spreadsheet serial day: five digits (1927 to
// 2173), optionally followed by '.' or ',' and a fraction of a day.
func parseSerialDay(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 5 || !isDigits(s[:5]) || len(s) > 5 && (len(s) < 7 || s[5] != '.' && s[5] != ',' || !isDigits(s[6:])) {
		return time.Time{}, false
	}
	days := 0
	for i := 0; i < 5; i++ {
		days = days*10 + int(s[i]-'0')
	}
	if days < 10000 {
		return time.Time{}, false
	}
	var secs float64
	if len(s) > 6 {
		frac := s[6:]
		if len(frac) > 9 {
			frac = frac[:9]
		}
		f, scale := 0, 1
		for i := 0; i < len(frac); i++ {
			f, scale = f*10+int(frac[i]-'0'), scale*10
		}
		secs = float64(f) / float64(scale) * 86400
	}
	t := time.Date(1899, 12, 30, 0, 0, 0, 0, loc).AddDate(0, 0, days).Add(time.Duration(secs+0.5) * time.Second)
	return t, true
}

// placeholderSources are source cells that say nothing (keys as
// NormalizeHeader gives them).
var placeholderSources = map[string]bool{
	"": true, "n a": true, "na": true, "n c": true, "nc": true, "inconnue": true, "inconnu": true, "aucune": true,
	"aucun": true, "none": true, "unknown": true, "null": true, "nil": true, "non renseigne": true,
	"non renseignee": true, "nr": true, "n r": true, "sans": true, "vide": true, "neant": true, "na n": true,
	"nd": true, "n d": true, "non communique": true, "non communiquee": true, "undefined": true, "x": true,
	"xx": true, "xxx": true, "0": true,
}

// IsPlaceholderSource reports consent-source cells that name no source:
// blank, punctuation only ("?", "-", "/"), or a placeholder word (N/A,
// inconnue, n/c, aucune...).
func IsPlaceholderSource(s string) bool {
	if len(strings.TrimSpace(s)) > 18 {
		return false // longer than any placeholder ("non communiquée")
	}
	var buf [128]byte
	return placeholderSources[headerKey(&buf, s)]
}

// ConsentResult is the outcome of CheckConsent.
type ConsentResult struct {
	Date    time.Time
	AgeDays int
	Reason  Reason // valid only if Bad
	Bad     bool
}

// optinNo are opt-in cell values meaning refusal.
var optinNo = map[string]bool{"non": true, "no": true, "n": true, "0": true, "false": true, "faux": true, "refus": true, "optout": true, "opt out": true, "desinscrit": true}

// CheckConsent checks the consent of one row for a purpose (GDPR / CNIL):
// the opt-in cell for the purpose, when the file has one, must not say no;
// the consent date must be present, readable, not in the future (one day
// of clock skew is tolerated) and no older than retention; the source
// (means of collection) must be present when the file has a source column
// or when requireSource is set.
func CheckConsent(date, source, optin string, now time.Time, retention time.Duration, requireSource bool) ConsentResult {
	var oldest time.Time
	if retention > 0 {
		oldest = now.Add(-retention)
	}
	return checkConsent(date, source, optin, now, oldest, requireSource)
}

// RetentionLimit returns the oldest consent date inside a retention of
// years (and months) before now, in calendar terms: a consent dated
// exactly that many years before now's day is inside, the day before is
// outside; February 29 goes back to February 28 in a common year.
func RetentionLimit(now time.Time, years, months int) time.Time {
	y, m, d := now.Date()
	total := y*12 + int(m) - 1 - years*12 - months
	y, m = total/12, time.Month(total%12+1)
	if last := daysIn(int(m), y); d > last {
		d = last
	}
	return time.Date(y, m, d, 0, 0, 0, 0, now.Location())
}

// CheckConsentCalendar is CheckConsent with the retention given as the
// oldest acceptable calendar day (see RetentionLimit; zero: no limit):
// the consent's day, in oldest's location, must not be before it.
func CheckConsentCalendar(date, source, optin string, now, oldest time.Time, requireSource bool) ConsentResult {
	if !oldest.IsZero() {
		y, m, d := oldest.Date()
		oldest = time.Date(y, m, d, 0, 0, 0, 0, oldest.Location())
	}
	return checkConsent(date, source, optin, now, oldest, requireSource)
}

// checkConsent is CheckConsentCalendar with oldest already a midnight (or
// an instant, for CheckConsent's duration).
func checkConsent(date, source, optin string, now, oldest time.Time, requireSource bool) ConsentResult {
	var res ConsentResult
	var buf [128]byte
	if optin != "" && optinNo[headerKey(&buf, optin)] {
		res.Bad, res.Reason = true, ConsentRefused
		return res
	}
	if strings.TrimSpace(date) == "" {
		res.Bad, res.Reason = true, ConsentMissing
		return res
	}
	t, ok := ParseConsentDate(date, now.Location())
	if !ok {
		res.Bad, res.Reason = true, ConsentInvalid
		return res
	}
	res.Date = t
	res.AgeDays = int(now.Sub(t).Hours() / 24)
	switch {
	case t.After(now.Add(24 * time.Hour)):
		res.Bad, res.Reason = true, ConsentFuture
	case !oldest.IsZero() && t.Before(oldest):
		// For calendar limits oldest is a midnight: t is before it exactly
		// when t's day (in oldest's location) is before oldest's day.
		res.Bad, res.Reason = true, ConsentExpired
	case requireSource && IsPlaceholderSource(source):
		res.Bad, res.Reason = true, ConsentNoSource
	}
	return res
}

// num reads up to max digits at s[i:], at least min; it returns the value
// and the index after the digits.
func num(s string, i, min, max int) (int, int, bool) {
	v, n := 0, 0
	for i < len(s) && n < max && s[i] >= '0' && s[i] <= '9' {
		v = v*10 + int(s[i]-'0')
		i++
		n++
	}
	return v, i, n >= min
}

// parseDateFast parses the two dominant shapes without time.Parse's
// layout search: d/m/yyyy (separators / - .) and yyyy-mm-dd, each with an
// optional hh:mm[:ss] time, ISO with an optional fraction and zone. Other
// shapes return false and go through the layout list.
func parseDateFast(s string, loc *time.Location) (time.Time, bool) {
	var y, mo, d, h, mi, sec, nsec int
	var i int
	var ok bool
	iso := len(s) >= 10 && s[4] == '-'
	if iso {
		if y, i, ok = num(s, 0, 4, 4); !ok || s[i] != '-' {
			return time.Time{}, false
		}
		if mo, i, ok = num(s, i+1, 2, 2); !ok || i >= len(s) || s[i] != '-' {
			return time.Time{}, false
		}
		if d, i, ok = num(s, i+1, 2, 2); !ok {
			return time.Time{}, false
		}
	} else {
		if d, i, ok = num(s, 0, 1, 2); !ok || i >= len(s) {
			return time.Time{}, false
		}
		sep := s[i]
		if sep != '/' && sep != '-' && sep != '.' {
			return time.Time{}, false
		}
		if mo, i, ok = num(s, i+1, 1, 2); !ok || i >= len(s) || s[i] != sep {
			return time.Time{}, false
		}
		if y, i, ok = num(s, i+1, 4, 4); !ok {
			return time.Time{}, false
		}
	}
	zone := loc
	if i < len(s) {
		if s[i] != ' ' && !(iso && s[i] == 'T') {
			return time.Time{}, false
		}
		if h, i, ok = num(s, i+1, 1, 2); !ok || i >= len(s) || s[i] != ':' && (iso || s[i] != 'h') {
			return time.Time{}, false
		}
		if mi, i, ok = num(s, i+1, 2, 2); !ok {
			return time.Time{}, false
		}
		if i < len(s) && s[i] == ':' {
			if sec, i, ok = num(s, i+1, 2, 2); !ok {
				return time.Time{}, false
			}
			if iso && i < len(s) && s[i] == '.' {
				start := i + 1
				var f int
				if f, i, ok = num(s, start, 1, 9); !ok {
					return time.Time{}, false
				}
				for n := i - start; n < 9; n++ {
					f *= 10
				}
				nsec = f
			}
		}
		if i < len(s) {
			if !iso {
				return time.Time{}, false
			}
			switch s[i] {
			case 'Z':
				if i+1 != len(s) {
					return time.Time{}, false
				}
				zone = time.UTC
			case '+', '-':
				var zh, zm int
				if zh, i, ok = num(s, i+1, 2, 2); !ok || i >= len(s) || s[i] != ':' {
					return time.Time{}, false
				}
				if zm, i, ok = num(s, i+1, 2, 2); !ok || i != len(s) || zh > 23 || zm > 59 {
					return time.Time{}, false
				}
				off := zh*3600 + zm*60
				if s[len(s)-6] == '-' {
					off = -off
				}
				zone = time.FixedZone("", off)
			default:
				return time.Time{}, false
			}
		}
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, nsec, zone), true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
