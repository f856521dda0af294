package quality

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/pwndex/pwndex/index/ident"
)

// PhoneType is a phone number's line type as reported in clean.csv.
type PhoneType uint8

// Phone types.
const (
	PhoneUnknown PhoneType = iota
	PhoneMobile
	PhoneFixed
	PhoneFixedOrMobile
	PhoneTollFree
	PhoneSharedCost
	PhoneVoIP
	PhonePremiumRate
	PhoneOther
	numPhoneTypes
)

var phoneTypeNames = [numPhoneTypes]string{"unknown", "mobile", "fixed", "fixed_or_mobile", "toll_free", "shared_cost", "voip", "premium", "other"}

// String returns the type's stable name.
func (t PhoneType) String() string {
	if t < numPhoneTypes {
		return phoneTypeNames[t]
	}
	return "unknown"
}

func phoneTypeOf(t phonenumbers.PhoneNumberType) PhoneType {
	switch t {
	case phonenumbers.MOBILE:
		return PhoneMobile
	case phonenumbers.FIXED_LINE:
		return PhoneFixed
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return PhoneFixedOrMobile
	case phonenumbers.TOLL_FREE:
		return PhoneTollFree
	case phonenumbers.SHARED_COST:
		return PhoneSharedCost
	case phonenumbers.VOIP:
		return PhoneVoIP
	case phonenumbers.PREMIUM_RATE:
		return PhonePremiumRate
	case phonenumbers.UNKNOWN:
		return PhoneUnknown
	}
	return PhoneOther
}

// PhoneResult is the outcome of CheckPhone.
type PhoneResult struct {
	E164   string
	Region string // region of the number, e.g. "BE"
	Type   PhoneType
	Reason Reason // valid only if Bad
	Bad    bool
}

// overseasRegions maps the first three digits of French overseas postcodes
// to their phone numbering region.
var overseasRegions = map[string]string{
	"971": "GP", "972": "MQ", "973": "GF", "974": "RE", "975": "PM", "976": "YT",
}

// countryCodes maps normalised country names and codes (see
// NormalizeHeader) to ISO 3166 alpha-2 regions.
var countryCodes = map[string]string{
	"france": "FR", "fr": "FR", "fra": "FR", "france metropolitaine": "FR",
	"belgique": "BE", "belgium": "BE", "be": "BE", "bel": "BE", "belgie": "BE",
	"suisse": "CH", "switzerland": "CH", "schweiz": "CH", "ch": "CH", "che": "CH", "svizzera": "CH",
	"luxembourg": "LU", "lu": "LU", "lux": "LU", "monaco": "MC", "mc": "MC", "mco": "MC",
	"allemagne": "DE", "germany": "DE", "deutschland": "DE", "de": "DE", "deu": "DE",
	"espagne": "ES", "spain": "ES", "espana": "ES", "es": "ES", "esp": "ES",
	"italie": "IT", "italy": "IT", "italia": "IT", "it": "IT", "ita": "IT",
	"royaume uni": "GB", "united kingdom": "GB", "uk": "GB", "gb": "GB", "gbr": "GB", "angleterre": "GB",
	"pays bas": "NL", "netherlands": "NL", "nl": "NL", "portugal": "PT", "pt": "PT",
	"canada": "CA", "ca": "CA", "quebec": "CA", "etats unis": "US", "usa": "US", "us": "US", "united states": "US",
	"maroc": "MA", "ma": "MA", "morocco": "MA", "algerie": "DZ", "dz": "DZ", "tunisie": "TN", "tn": "TN",
	"guadeloupe": "GP", "gp": "GP", "martinique": "MQ", "mq": "MQ", "guyane": "GF", "gf": "GF",
	"guyane francaise": "GF", "reunion": "RE", "la reunion": "RE", "re": "RE", "mayotte": "YT", "yt": "YT",
	"saint pierre et miquelon": "PM", "pm": "PM", "nouvelle caledonie": "NC", "nc": "NC",
	"polynesie francaise": "PF", "pf": "PF",
}

// CountryRegion returns the ISO alpha-2 region of a country cell
// ("Belgique", "BE", "Suisse", ...), or "" if unknown or empty.
func CountryRegion(country string) string {
	if country == "" {
		return ""
	}
	var buf [128]byte
	return countryCodes[headerKey(&buf, country)]
}

// PhoneRegion decides the region a national phone number is read in: the
// country column if it names a country, else the overseas department of a
// 97x postcode, else France.
func PhoneRegion(country, postcode string) string {
	if r := CountryRegion(country); r != "" && r != "FR" {
		return r
	}
	pc := strings.TrimSpace(postcode)
	if len(pc) >= 3 {
		if r, ok := overseasRegions[pc[:3]]; ok {
			return r
		}
	}
	return ident.DefaultRegion
}

// specialRate reports non-geographic service numbers nobody is
// prospected on: toll-free, shared-cost and universal access numbers of
// any region (Belgian, Swiss, Luxembourg 0800/0848/801...), and the
// whole French 080-088 range (08 00 to 08 09 free or normal rate, 081 to
// 088 shared cost and service numbers; 089 is premium, see CheckPhone).
// It returns the type to report.
func specialRate(e164 string, t phonenumbers.PhoneNumberType) (bool, PhoneType) {
	switch t {
	case phonenumbers.TOLL_FREE:
		return true, PhoneTollFree
	case phonenumbers.SHARED_COST:
		return true, PhoneSharedCost
	case phonenumbers.UAN:
		return true, PhoneSharedCost
	}
	if len(e164) > 5 && strings.HasPrefix(e164, "+338") && e164[4] >= '0' && e164[4] <= '8' {
		if e164[4] == '0' {
			return true, PhoneTollFree
		}
		return true, PhoneSharedCost
	}
	return false, PhoneUnknown
}

// CheckPhone parses a phone cell with index/ident in the given region and
// classifies it. Premium-rate numbers (type premium, or French 089x) are
// Bad with PhonePremium; toll-free, shared-cost and service numbers with
// PhoneSpecialRate (see specialRate); when mobileOnly is set, anything but a mobile is
// Bad with PhoneNotMobile.
func CheckPhone(s, region string, mobileOnly bool) PhoneResult {
	var res PhoneResult
	p, err := ident.ParsePhone(s, region)
	if err != nil {
		res.Bad, res.Reason = true, PhoneInvalid
		if errors.Is(err, ident.ErrEmpty) {
			res.Reason = PhoneMissing
		}
		return res
	}
	res.E164, res.Region, res.Type = p.E164, p.Region, phoneTypeOf(p.Type)
	if res.Type == PhonePremiumRate || strings.HasPrefix(p.E164, "+3389") {
		res.Type = PhonePremiumRate
		res.Bad, res.Reason = true, PhonePremium
		return res
	}
	if special, t := specialRate(p.E164, p.Type); special {
		res.Type = t
		res.Bad, res.Reason = true, PhoneSpecialRate
		return res
	}
	if mobileOnly && res.Type != PhoneMobile && res.Type != PhoneFixedOrMobile {
		res.Bad, res.Reason = true, PhoneNotMobile
	}
	return res
}
