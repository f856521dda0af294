package quality

import (
	"strings"
)

// PostalResult is the outcome of CheckPostal.
type PostalResult struct {
	Postcode string // 5 digits, or the cell as given for a foreign address
	City     string // libellé d'acheminement (plus CEDEX mention), upper case
	Lines    [3]string
	Reason   Reason // valid only if Bad
	Bad      bool
	French   bool // checked against the French base
}

// rnvpWidth is the maximum length of an address line (AFNOR NF Z10-011).
const rnvpWidth = 38

// rnvpAbbrev are AFNOR abbreviations applied, longest line first, when a
// line exceeds 38 characters.
var rnvpAbbrev = [][2]string{
	{"BOULEVARD", "BD"}, {"AVENUE", "AV"}, {"FAUBOURG", "FG"}, {"CHEMIN", "CHE"}, {"IMPASSE", "IMP"},
	{"RESIDENCE", "RES"}, {"ROUTE", "RTE"}, {"PLACE", "PL"}, {"ALLEE", "ALL"}, {"SQUARE", "SQ"},
	{"QUARTIER", "QUA"}, {"LOTISSEMENT", "LOT"}, {"BATIMENT", "BAT"}, {"APPARTEMENT", "APP"},
	{"ESCALIER", "ESC"}, {"PROMENADE", "PROM"}, {"SAINT", "ST"}, {"SAINTE", "STE"}, {"GRANDE", "GDE"},
	{"DOCTEUR", "DR"}, {"GENERAL", "GAL"}, {"MARECHAL", "MAL"}, {"PRESIDENT", "PDT"}, {"ZONE INDUSTRIELLE", "ZI"},
	{"ZONE ARTISANALE", "ZA"}, {"CENTRE COMMERCIAL", "CCAL"}, {"DOMAINE", "DOM"}, {"HAMEAU", "HAM"},
}

// RNVPLine formats one address line the AFNOR way: upper case, no
// accents, letters, digits and single spaces only, abbreviated and then
// cut at a word boundary to 38 characters.
func RNVPLine(s string) string {
	l := wordsKey(s, ' ')
	for _, ab := range rnvpAbbrev {
		if len(l) <= rnvpWidth {
			break
		}
		l = replaceWord(l, ab[0], ab[1])
	}
	if len(l) > rnvpWidth {
		cut := strings.LastIndexByte(l[:rnvpWidth+1], ' ')
		if cut <= 0 {
			cut = rnvpWidth
		}
		l = strings.TrimSpace(l[:cut])
	}
	return l
}

func replaceWord(l, from, to string) string {
	ws := strings.Split(l, " ")
	fw := strings.Split(from, " ")
	var out []string
	for i := 0; i < len(ws); i++ {
		if i+len(fw) <= len(ws) && strings.Join(ws[i:i+len(fw)], " ") == from {
			out = append(out, to)
			i += len(fw) - 1
			continue
		}
		out = append(out, ws[i])
	}
	return strings.Join(out, " ")
}

// NormalizePostcode normalises a French postcode cell (see
// NormalizeFrenchPostcode).
func NormalizePostcode(s string) string { return NormalizeFrenchPostcode(s) }

// NormalizeFrenchPostcode cleans a French postcode cell as suppliers and
// spreadsheets write it: surrounding and inner spaces (also non-breaking)
// and dots removed, an "F-", "FR ", "FR-" or "F " country prefix dropped,
// a spreadsheet ".0" suffix dropped, and the leading zero spreadsheets
// lose restored ("1000" -> "01000"). Only for French rows: Belgian, Swiss
// and Luxembourg postcodes have four digits as they are.
func NormalizeFrenchPostcode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[len(s)-2:] == ".0" || s[len(s)-2:] == ",0") && isDigits(strings.TrimSpace(s[:len(s)-2])) {
		s = s[:len(s)-2]
	}
	up := strings.ToUpper(s)
	for _, p := range []string{"FR-", "FR", "F-", "F"} {
		if rest := strings.TrimSpace(s[min(len(p), len(s)):]); strings.HasPrefix(up, p) && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			s = rest
			break
		}
	}
	var b [8]byte
	n := 0
	for _, r := range s {
		if r == ' ' || r == '.' || r == '\u00a0' || r == '\u202f' {
			continue
		}
		if n == len(b) || r >= 0x80 {
			return strings.TrimSpace(s)
		}
		b[n] = byte(r)
		n++
	}
	pc := string(b[:n])
	if len(pc) == 4 && isDigits(pc) {
		pc = "0" + pc
	}
	return pc
}

// CheckPostal checks a French address: the postcode must be 5 digits and
// exist in the embedded La Poste base, and the city must be one of the
// postcode's communes or its libellé d'acheminement (accents, case,
// hyphens, SAINT/ST and CEDEX mentions ignored; one small typo tolerated).
// A CEDEX postcode absent from the base is accepted when the city says
// CEDEX and the department exists. Addresses whose region is not French
// (see CountryRegion) are only reformatted. lines are the street lines.
func CheckPostal(address, address2, postcode, city, region string) PostalResult {
	res := PostalResult{}
	res.Lines[0] = RNVPLine(address)
	res.Lines[1] = RNVPLine(address2)
	if region != "" && region != "FR" && !overseasRegionSet[region] {
		res.Postcode = strings.TrimSpace(postcode)
		res.City = RNVPLine(city)
		res.Lines[2] = RNVPLine(res.Postcode + " " + city)
		return res
	}
	res.French = true
	pc := NormalizePostcode(postcode)
	cityUp := wordsKey(city, ' ')
	res.Postcode, res.City = pc, cityUp
	if !res.checkFrench(city, cityUp) {
		// No base entry matched: the cell's own postcode and city.
		res.Lines[2] = RNVPLine(pc + " " + cityUp)
	}
	return res
}

// checkFrench checks res.Postcode and the city cell against the La Poste
// base and reports whether an entry matched (setCity then set the city
// and its line).
func (res *PostalResult) checkFrench(city, cityUp string) (matched bool) {
	pc := res.Postcode
	if pc == "" {
		res.Bad, res.Reason = true, PostalMissing
		return false
	}
	if len(pc) != 5 || !isDigits(pc) {
		res.Bad, res.Reason = true, PostalFormat
		return false
	}
	base := postcodes()
	communes, ok := base.byCode[pc]
	cedex := hasCedex(city)
	if !ok {
		if cedex && base.depts[deptOf(pc)] {
			return false
		}
		res.Bad, res.Reason = true, PostalUnknown
		return false
	}
	if strings.TrimSpace(city) == "" {
		return false // nothing to compare; the postcode alone routes the mail
	}
	var kb [128]byte
	key := unsafeString(appendCityKey(kb[:0], city)) // only compared
	for _, c := range communes {
		if key == c.key || key == c.keyAch {
			res.setCity(c.acheminement, cedex, cityUp)
			return true
		}
	}
	for _, c := range communes {
		if len(key) >= 5 && (JaroWinkler(key, c.key) >= 0.95 || JaroWinkler(key, c.keyAch) >= 0.95) {
			res.setCity(c.acheminement, cedex, cityUp)
			return true
		}
	}
	res.Bad, res.Reason = true, PostalCityMismatch
	return false
}

// setCity sets the cleaned city to the matched entry's La Poste libellé
// d'acheminement verbatim (RNVP line 6: "PARIS 16", "SAINT-ETIENNE"), or
// to the cell's CEDEX mention, which La Poste keeps.
func (res *PostalResult) setCity(acheminement string, cedex bool, cityUp string) {
	res.City = acheminement
	if cedex {
		res.City = cityUp
	}
	res.Lines[2] = res.Postcode + " " + res.City
	if len(res.Lines[2]) > rnvpWidth {
		res.Lines[2] = RNVPLine(res.Lines[2])
	}
}

var overseasRegionSet = map[string]bool{"GP": true, "MQ": true, "GF": true, "RE": true, "YT": true, "PM": true}
