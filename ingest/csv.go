package ingest

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// SplitFields splits one CSV line (without its line ending) into fields
// separated by sep and appends them to dst. A field that starts with a
// double quote is quoted: it ends at the next lone quote, and "" inside
// stands for one quote; the field is unquoted in place, so line is
// modified. Fields are not trimmed. Quoted fields spanning lines are not
// supported: an unbalanced quote gives ok == false. It does not allocate
// when dst has room.
func SplitFields(dst [][]byte, line []byte, sep byte) (fields [][]byte, ok bool) {
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			// Quoted field: unquote in place into line[start:w].
			start, w := i, i
			i++
			for {
				if i >= len(line) {
					return dst, false // unterminated
				}
				c := line[i]
				if c == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						line[w] = '"'
						w++
						i += 2
						continue
					}
					i++
					break
				}
				line[w] = c
				w++
				i++
			}
			dst = append(dst, line[start:w])
			if i == len(line) {
				return dst, true
			}
			if line[i] != sep {
				return dst, false // text after the closing quote
			}
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], sep)
		if j < 0 {
			f := line[i:]
			if bytes.IndexByte(f, '"') >= 0 {
				return dst, false
			}
			return append(dst, f), true
		}
		f := line[i : i+j]
		if bytes.IndexByte(f, '"') >= 0 {
			return dst, false
		}
		dst = append(dst, f)
		i += j + 1
	}
}

// csvSeps are the candidate field separators, in order of preference.
const csvSeps = ",;\t|"

// detectSep picks the separator that occurs most often in the header line
// outside quotes; ',' when none occurs.
func detectSep(header []byte) byte {
	var counts [len(csvSeps)]int
	quoted := false
	for _, c := range header {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if k := strings.IndexByte(csvSeps, c); k >= 0 {
			counts[k]++
		}
	}
	best := 0
	for k := range counts {
		if counts[k] > counts[best] {
			best = k
		}
	}
	return csvSeps[best]
}

// columns are the header positions of the fields a dump ingest reads; -1
// when absent.
type columns struct {
	email, password, phone, country int
	emailWeak                       bool // email came from a username/login column
}

// Column name sets, compared after normalizeHeader.
var (
	emailNames = map[string]bool{
		"email": true, "mail": true, "emailaddress": true, "adresseemail": true,
		"adressemail": true, "courriel": true, "adressecourriel": true, "mel": true,
		"adressemel": true, "emails": true, "useremail": true, "email1": true,
	}
	usernameNames = map[string]bool{
		"username": true, "user": true, "login": true, "identifiant": true,
		"account": true, "compte": true, "utilisateur": true, "nomutilisateur": true,
	}
	passwordNames = map[string]bool{
		"password": true, "pass": true, "passwd": true, "pwd": true, "motdepasse": true,
		"mdp": true, "plaintext": true, "plainpassword": true, "clearpassword": true,
		"userpassword": true,
	}
	phoneNames = map[string]bool{
		"phone": true, "telephone": true, "tel": true, "mobile": true, "portable": true,
		"gsm": true, "cell": true, "cellphone": true, "phonenumber": true, "numero": true,
		"numtel": true, "numerodetelephone": true, "numerotelephone": true, "mobilephone": true,
		"telmobile": true, "telportable": true, "telephoneportable": true, "telephonemobile": true,
		"telfixe": true, "fixe": true, "msisdn": true,
	}
	countryNames = map[string]bool{
		"country": true, "pays": true, "countrycode": true, "codepays": true,
		"region": true, "countryiso": true,
	}
)

// accentFold maps the accented letters common in French headers.
var accentFold = strings.NewReplacer(
	"é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "ä", "a",
	"î", "i", "ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c",
)

// normalizeHeader lower-cases a header name, folds French accents and
// drops spaces, '-', '_', '.', quotes and a byte-order mark:
// "Adresse E-mail" becomes "adresseemail".
func normalizeHeader(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = accentFold.Replace(strings.ToLower(strings.TrimSpace(s)))
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '-', '_', '.', '"', '\'', '\t':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mapColumns finds the e-mail, password, phone and country columns of a
// header. An e-mail column named like a username is used only when no
// e-mail column exists.
func mapColumns(header [][]byte) columns {
	c := columns{email: -1, password: -1, phone: -1, country: -1}
	weak := -1
	for i, f := range header {
		n := normalizeHeader(string(f))
		switch {
		case emailNames[n] || strings.Contains(n, "email") || strings.Contains(n, "courriel"):
			if c.email < 0 {
				c.email = i
			}
		case usernameNames[n]:
			if weak < 0 {
				weak = i
			}
		case passwordNames[n] || strings.Contains(n, "password") && !strings.Contains(n, "hash") && !strings.Contains(n, "salt"):
			if c.password < 0 {
				c.password = i
			}
		case phoneNames[n] || strings.Contains(n, "phone") || strings.HasPrefix(n, "tel") && len(n) <= 12 && !strings.HasPrefix(n, "teleco"):
			if c.phone < 0 {
				c.phone = i
			}
		case countryNames[n]:
			if c.country < 0 {
				c.country = i
			}
		}
	}
	if c.email < 0 && weak >= 0 {
		c.email, c.emailWeak = weak, true
	}
	return c
}

// countryRegions maps country names common in French files to regions.
var countryRegions = map[string]string{
	"france": "FR", "belgique": "BE", "belgium": "BE", "suisse": "CH",
	"switzerland": "CH", "luxembourg": "LU", "monaco": "MC", "canada": "CA",
	"allemagne": "DE", "germany": "DE", "espagne": "ES", "spain": "ES",
	"italie": "IT", "italy": "IT", "royaumeuni": "GB", "unitedkingdom": "GB",
	"maroc": "MA", "morocco": "MA", "algerie": "DZ", "algeria": "DZ",
	"tunisie": "TN", "tunisia": "TN", "portugal": "PT", "paysbas": "NL",
	"netherlands": "NL",
}

// regionOf returns the phone region for a country field, or def when the
// field is empty or unknown. Two letters are taken as an ISO 3166 code.
func regionOf(country []byte, def string) string {
	s := bytes.TrimSpace(country)
	if len(s) == 2 && isLetter(s[0]) && isLetter(s[1]) {
		return strings.ToUpper(string(s))
	}
	if len(s) == 0 || len(s) > 40 {
		return def
	}
	if r, ok := countryRegions[normalizeHeader(string(s))]; ok {
		return r
	}
	return def
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
