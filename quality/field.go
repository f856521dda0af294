package quality

import (
	"strings"
	"unicode/utf8"
)

// Field is a column meaning recognised in a contact file.
type Field uint8

// Fields recognised by header mapping. Their names (String) are stable and
// used in flags (--col email=Courriel), reports and clean.csv.
const (
	FieldNone Field = iota
	FieldID
	FieldCivility
	FieldFirstName
	FieldLastName
	FieldCompany
	FieldEmail
	FieldPhone
	FieldMobile
	FieldAddress
	FieldAddress2
	FieldPostcode
	FieldCity
	FieldCountry
	FieldConsentDate
	FieldConsentSource
	FieldOptinEmail
	FieldOptinSMS
	FieldOptinPostal
	FieldComment   // free text: not copied to outputs unless kept (data minimisation)
	FieldBirthDate // not copied to outputs unless kept (data minimisation)
	numFields
)

var fieldNames = [numFields]string{
	FieldNone:          "none",
	FieldID:            "id",
	FieldCivility:      "civility",
	FieldFirstName:     "first_name",
	FieldLastName:      "last_name",
	FieldCompany:       "company",
	FieldEmail:         "email",
	FieldPhone:         "phone",
	FieldMobile:        "mobile",
	FieldAddress:       "address",
	FieldAddress2:      "address2",
	FieldPostcode:      "postcode",
	FieldCity:          "city",
	FieldCountry:       "country",
	FieldConsentDate:   "consent_date",
	FieldConsentSource: "consent_source",
	FieldOptinEmail:    "optin_email",
	FieldOptinSMS:      "optin_sms",
	FieldOptinPostal:   "optin_postal",
	FieldComment:       "comment",
	FieldBirthDate:     "birth_date",
}

// String returns the field's stable name, e.g. "email" or "first_name".
func (f Field) String() string {
	if f < numFields {
		return fieldNames[f]
	}
	return "field?"
}

// AllFields lists every recognised field (FieldNone excluded) in order.
func AllFields() []Field {
	fs := make([]Field, 0, numFields-1)
	for f := FieldID; f < numFields; f++ {
		fs = append(fs, f)
	}
	return fs
}

// ParseField returns the field named name (as returned by String; "-" and
// spaces are accepted for "_", case-insensitively).
func ParseField(name string) (Field, bool) {
	n := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(name)))
	for f := FieldID; f < numFields; f++ {
		if fieldNames[f] == n {
			return f, true
		}
	}
	return FieldNone, false
}

// headerSynonyms maps normalised header text (see NormalizeHeader) to a
// field. French and English forms commonly found in prospect files.
var headerSynonyms = map[string]Field{}

func init() {
	add := func(f Field, names ...string) {
		for _, n := range names {
			headerSynonyms[NormalizeHeader(n)] = f
		}
	}
	add(FieldID, "id", "identifiant", "ref", "référence", "reference", "code client", "customer id",
		"num client", "numéro client", "n° client", "id contact", "contact id", "uid")
	add(FieldCivility, "civilité", "civ", "titre", "title", "salutation", "genre", "sexe", "gender")
	add(FieldFirstName, "prénom", "prenom", "first name", "firstname", "given name", "forename", "prénom contact")
	add(FieldLastName, "nom", "nom de famille", "last name", "lastname", "surname", "family name",
		"name", "nom patronymique", "nom contact", "nom de naissance")
	add(FieldCompany, "société", "entreprise", "raison sociale", "company", "company name",
		"organisation", "organization", "employeur")
	add(FieldEmail, "email", "e-mail", "courriel", "mail", "mél", "adresse email", "adresse e-mail",
		"adresse mail", "adresse courriel", "adresse électronique", "email address", "e-mail address",
		"mail address", "email 1", "e-mail 1")
	add(FieldPhone, "téléphone", "telephone", "tél", "tel", "tél.", "phone", "téléphone fixe", "tél fixe",
		"fixe", "phone number", "numéro de téléphone", "n° de téléphone", "n° téléphone", "num tel",
		"no tel", "téléphone 1", "tel 1", "landline", "telephone number", "numéro")
	add(FieldMobile, "mobile", "portable", "gsm", "tél mobile", "téléphone mobile", "téléphone portable",
		"tél portable", "tel portable", "cell", "cellphone", "cell phone", "mobile phone", "mobile number",
		"numéro de portable", "numéro mobile", "n° portable", "n° mobile")
	add(FieldAddress, "adresse", "adresse 1", "adresse postale", "address", "address 1", "address line 1",
		"street", "rue", "voie", "adresse ligne 1", "ligne 1", "numéro et voie", "adresse1")
	add(FieldAddress2, "adresse 2", "complément", "complément d'adresse", "complément adresse",
		"address 2", "address line 2", "adresse ligne 2", "ligne 2", "adresse2", "lieu-dit")
	add(FieldPostcode, "code postal", "cp", "postcode", "post code", "postal code", "zip", "zip code",
		"zipcode", "code post", "code_postal", "codepostal")
	add(FieldCity, "ville", "commune", "city", "localité", "town", "bureau distributeur", "locality")
	add(FieldCountry, "pays", "country", "code pays", "country code", "pays code")
	add(FieldConsentDate, "date opt-in", "date optin", "date d'opt-in", "date de consentement",
		"date consentement", "consent date", "optin date", "opt-in date", "date collecte",
		"date de collecte", "date inscription", "date d'inscription", "date du consentement",
		"consentement date", "date opt in", "horodatage consentement", "consent timestamp")
	add(FieldConsentSource, "source", "source opt-in", "source optin", "source du consentement",
		"source consentement", "consent source", "origine", "provenance", "moyen de collecte",
		"canal de collecte", "url source", "source de collecte", "support de collecte")
	add(FieldOptinEmail, "opt-in email", "optin email", "opt-in e-mail", "optin mail", "opt-in mail",
		"consentement email", "consentement e-mail", "accord email", "email optin", "email opt-in")
	add(FieldOptinSMS, "opt-in sms", "optin sms", "consentement sms", "accord sms", "sms optin", "sms opt-in")
	add(FieldComment, "commentaire", "commentaires", "comment", "comments", "remarque", "remarques", "note",
		"notes", "observation", "observations", "remarks", "memo", "mémo", "informations complémentaires")
	add(FieldBirthDate, "date de naissance", "naissance", "né le", "date naissance", "birth date",
		"birthdate", "date of birth", "dob", "birthday", "ddn")
	add(FieldOptinPostal, "opt-in courrier", "optin courrier", "opt-in postal", "optin postal",
		"consentement courrier", "consentement postal", "accord courrier")
}

// NormalizeHeader folds a header cell for matching: accents removed, lower
// case, every run of characters other than letters and digits turned into
// one space, trimmed. "  Code_Postal " and "code-postal" both give
// "code postal"; "N° de Téléphone" gives "n de telephone".
func NormalizeHeader(s string) string {
	var buf [128]byte
	if k, ok := appendHeaderKey(buf[:0], s); ok {
		return string(k)
	}
	return strings.ToLower(string(appendKey(buf[:0], s, ' ', true)))
}

// headerKey returns NormalizeHeader(s), as a view of buf when the key is
// ASCII: use it only for lookups while buf is live.
func headerKey(buf *[128]byte, s string) string {
	if s == "" {
		return ""
	}
	if k, ok := appendHeaderKey(buf[:0], s); ok {
		return unsafeString(k)
	}
	return NormalizeHeader(s)
}

// appendHeaderKey appends NormalizeHeader(s) to dst without allocating
// when the key is ASCII (the usual case); ok is false otherwise, and the
// caller must use NormalizeHeader. Hot paths (civility, country, opt-in
// cells on every row) look the key up with unsafeString.
func appendHeaderKey(dst []byte, s string) ([]byte, bool) {
	start := len(dst)
	dst = appendKey(dst, s, ' ', true)
	for i := start; i < len(dst); i++ {
		c := dst[i]
		switch {
		case c >= utf8.RuneSelf:
			return dst, false
		case c >= 'A' && c <= 'Z':
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst, true
}

// MatchHeader returns the field a header cell denotes, or FieldNone. Exact
// synonyms are tried first, then keyword rules for longer headers
// ("Adresse e-mail du contact", "Téléphone portable pro").
func MatchHeader(h string) Field {
	n := NormalizeHeader(h)
	if f, ok := headerSynonyms[n]; ok {
		return f
	}
	words := strings.Fields(n)
	has := func(w ...string) bool {
		for _, x := range words {
			for _, y := range w {
				if x == y {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("date", "horodatage") && has("optin", "opt", "consentement", "consent", "collecte", "inscription"):
		return FieldConsentDate
	case has("optin", "opt") && has("sms"):
		return FieldOptinSMS
	case has("optin", "opt") && has("email", "mail", "courriel"):
		return FieldOptinEmail
	case has("optin", "opt") && has("courrier", "postal"):
		return FieldOptinPostal
	case has("source", "origine", "provenance") && !has("date"):
		return FieldConsentSource
	case has("email", "mail", "courriel", "e") && (has("email", "courriel", "mail")):
		return FieldEmail
	case has("portable", "mobile", "gsm"):
		return FieldMobile
	case has("telephone", "tel", "phone"):
		return FieldPhone
	case has("postal", "cp", "postcode", "zip") && !has("adresse", "address", "ville"):
		return FieldPostcode
	case has("prenom", "firstname"):
		return FieldFirstName
	case has("complement"):
		return FieldAddress2
	case has("adresse", "address", "rue"):
		return FieldAddress
	case has("ville", "commune", "city"):
		return FieldCity
	case has("pays", "country"):
		return FieldCountry
	}
	return FieldNone
}
