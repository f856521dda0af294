package quality

import (
	"fmt"
	"strings"
)

// Reason is a stable finding code attached to a row. Its String form (e.g.
// "email.typo") is part of vet's output contract: rejects.csv, clean.csv's
// warnings column, report.json and policies use it.
type Reason uint8

// Reasons. Do not rename the codes; add new ones at the end.
const (
	RowMalformed       Reason = iota // a bare or unbalanced quote
	RowColumns                       // more or fewer cells than the header
	EmailMissing                     // no e-mail
	EmailSyntax                      // not a deliverable address syntax
	EmailTypo                        // domain one edit from a common one (suggestion given)
	EmailDisposable                  // disposable (throw-away) domain
	EmailRole                        // role account: contact@, info@, ...
	PhoneMissing                     // no phone
	PhoneInvalid                     // not a valid number for its region
	PhonePremium                     // premium-rate number (089x in France)
	PhoneNotMobile                   // not a mobile (sms purpose)
	NameMissing                      // neither first nor last name nor company
	NameGarbage                      // test or placeholder value in a name
	PostalMissing                    // no address or postcode (postal purpose)
	PostalFormat                     // postcode is not 5 digits
	PostalUnknown                    // postcode not in the French postcode base
	PostalCityMismatch               // city does not belong to the postcode
	ConsentMissing                   // no consent date
	ConsentInvalid                   // consent date unparseable
	ConsentFuture                    // consent date in the future
	ConsentExpired                   // consent older than the retention limit
	ConsentNoSource                  // no consent source / means of collection
	ConsentRefused                   // opt-in column for the purpose says no
	DupExact                         // same person as an earlier row, after normalisation
	DupNear                          // near duplicate of an earlier row
	Suppressed                       // on the buyer's opt-out list
	EmailUnwrapped                   // address taken out of a wrapper (mailto:, Name <addr>, quotes)
	EmailNonASCIILocal               // accented local part (SMTPUTF8 not assumed)
	EmailMultiple                    // two or more addresses in one cell
	PhoneSpecialRate                 // toll-free, shared-cost or service number
	SharedEmail                      // same e-mail as an earlier row of another person
	SharedPhone                      // same mobile as an earlier row of another person
	TextMojibake                     // UTF-8 read as Windows-1252 in a text field (repaired)
	NameSwapped                      // surname in the first-name column
	CommentSensitive                 // comment mentions special-category data (GDPR art. 9/10)
	numReasons
)

var reasonCodes = [numReasons]string{
	RowMalformed:       "row.malformed",
	RowColumns:         "row.columns",
	EmailMissing:       "email.missing",
	EmailSyntax:        "email.syntax",
	EmailTypo:          "email.typo",
	EmailDisposable:    "email.disposable",
	EmailRole:          "email.role",
	PhoneMissing:       "phone.missing",
	PhoneInvalid:       "phone.invalid",
	PhonePremium:       "phone.premium",
	PhoneNotMobile:     "phone.not_mobile",
	NameMissing:        "name.missing",
	NameGarbage:        "name.garbage",
	PostalMissing:      "postal.missing",
	PostalFormat:       "postal.format",
	PostalUnknown:      "postal.unknown",
	PostalCityMismatch: "postal.city_mismatch",
	ConsentMissing:     "consent.missing",
	ConsentInvalid:     "consent.invalid",
	ConsentFuture:      "consent.future",
	ConsentExpired:     "consent.expired",
	ConsentNoSource:    "consent.no_source",
	ConsentRefused:     "consent.refused",
	DupExact:           "dup.exact",
	DupNear:            "dup.near",
	Suppressed:         "optout.match",
	EmailUnwrapped:     "email.unwrapped",
	EmailNonASCIILocal: "email.non_ascii_local",
	EmailMultiple:      "email.multiple",
	PhoneSpecialRate:   "phone.special_rate",
	SharedEmail:        "shared.email",
	SharedPhone:        "shared.phone",
	TextMojibake:       "text.mojibake",
	NameSwapped:        "name.swapped",
	CommentSensitive:   "comment.sensitive",
}

var reasonTexts = [numReasons]string{
	RowMalformed:       "malformed CSV record (stray double quote)",
	RowColumns:         "record has a different number of cells than the header",
	EmailMissing:       "no e-mail address",
	EmailSyntax:        "invalid e-mail address syntax",
	EmailTypo:          "e-mail domain looks mistyped",
	EmailDisposable:    "disposable e-mail domain",
	EmailRole:          "role account, not a person",
	PhoneMissing:       "no phone number",
	PhoneInvalid:       "invalid phone number",
	PhonePremium:       "premium-rate phone number",
	PhoneNotMobile:     "not a mobile number (SMS purpose)",
	NameMissing:        "no name",
	NameGarbage:        "test or placeholder name",
	PostalMissing:      "no postal address",
	PostalFormat:       "postcode is not 5 digits",
	PostalUnknown:      "postcode does not exist",
	PostalCityMismatch: "city does not match the postcode",
	ConsentMissing:     "no consent date",
	ConsentInvalid:     "unreadable consent date",
	ConsentFuture:      "consent date in the future",
	ConsentExpired:     "consent older than the retention limit",
	ConsentNoSource:    "no consent source",
	ConsentRefused:     "opt-in refused for this purpose",
	DupExact:           "exact duplicate of an earlier row",
	DupNear:            "near duplicate of an earlier row",
	Suppressed:         "on the opt-out (suppression) list",
	EmailUnwrapped:     "e-mail address unwrapped (mailto:, display name, quotes or brackets)",
	EmailNonASCIILocal: "accented e-mail local part (SMTPUTF8 not assumed)",
	EmailMultiple:      "several e-mail addresses in one cell",
	PhoneSpecialRate:   "special-rate number (toll-free, shared-cost or service)",
	SharedEmail:        "e-mail shared with another person (earlier row)",
	SharedPhone:        "mobile shared with another person (earlier row)",
	TextMojibake:       "mis-decoded accents repaired (UTF-8 read as Windows-1252)",
	NameSwapped:        "surname in the first-name column",
	CommentSensitive:   "comment mentions special-category data (health, religion, politics...)",
}

// String returns the reason's stable code, e.g. "email.typo".
func (r Reason) String() string {
	if r < numReasons {
		return reasonCodes[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Text returns a short English description of the reason.
func (r Reason) Text() string {
	if r < numReasons {
		return reasonTexts[r]
	}
	return ""
}

// AllReasons lists every reason in code order.
func AllReasons() []Reason {
	rs := make([]Reason, numReasons)
	for i := range rs {
		rs[i] = Reason(i)
	}
	return rs
}

// ParseReason returns the reason with the given code.
func ParseReason(code string) (Reason, bool) {
	for i, c := range reasonCodes {
		if c == code {
			return Reason(i), true
		}
	}
	return 0, false
}

// Purpose is the channel a file is bought for; it decides which findings
// reject a row and which only warn.
type Purpose string

// Purposes.
const (
	PurposeEmail  Purpose = "email"
	PurposeSMS    Purpose = "sms"
	PurposePostal Purpose = "postal"
)

// ParsePurpose validates a purpose name.
func ParsePurpose(s string) (Purpose, error) {
	switch p := Purpose(strings.ToLower(strings.TrimSpace(s))); p {
	case PurposeEmail, PurposeSMS, PurposePostal:
		return p, nil
	case "":
		return PurposeEmail, nil
	}
	return "", fmt.Errorf("unknown purpose %q (want email, sms or postal)", s)
}

// Rejects reports whether reason r rejects a row for purpose p; otherwise
// it is a warning and the row stays in clean.csv (an invalid value is then
// left out of the normalised columns).
func (r Reason) Rejects(p Purpose) bool {
	switch r {
	case EmailMissing, EmailSyntax, EmailTypo, EmailDisposable, EmailNonASCIILocal, EmailMultiple:
		return p == PurposeEmail
	case PhoneMissing, PhoneInvalid, PhoneNotMobile:
		return p == PurposeSMS
	case PhonePremium, PhoneSpecialRate:
		return true
	case PostalMissing, PostalFormat, PostalUnknown, PostalCityMismatch:
		return p == PurposePostal
	case EmailRole, NameMissing, EmailUnwrapped, SharedEmail, SharedPhone, TextMojibake, NameSwapped, CommentSensitive:
		return false
	}
	return true
}

// reasonSet is a set of reasons as a bit mask.
type reasonSet uint64

func (s *reasonSet) add(r Reason)     { *s |= 1 << r }
func (s reasonSet) has(r Reason) bool { return s&(1<<r) != 0 }
func (s reasonSet) empty() bool       { return s == 0 }
func (s reasonSet) filter(p Purpose, rejecting bool) reasonSet {
	var out reasonSet
	for r := Reason(0); r < numReasons; r++ {
		if s.has(r) && r.Rejects(p) == rejecting {
			out.add(r)
		}
	}
	return out
}

// appendCodes appends the codes of s separated by '|'.
func (s reasonSet) appendCodes(dst []byte) []byte {
	first := true
	for r := Reason(0); r < numReasons; r++ {
		if s.has(r) {
			if !first {
				dst = append(dst, '|')
			}
			first = false
			dst = append(dst, reasonCodes[r]...)
		}
	}
	return dst
}
