// Package testgen generates dirty French contact files with known truth,
// for quality's tests and for the vet benchmark. Generation is
// deterministic for a seed. The expected findings come from how each row
// was built (one injected defect per row at most), never from the vetting
// code, and expected values (E.164 numbers, opt-out hashes) are computed
// here independently.
package testgen

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings accepted by GenerateContacts.
const (
	UTF8        = "utf-8"
	UTF8BOM     = "utf-8-bom"
	UTF16LE     = "utf-16le"
	UTF16BE     = "utf-16be"
	Windows1252 = "windows-1252"
)

// MaxTruthLines is the largest row count for which Truth.Lines is filled.
const MaxTruthLines = 200000

// Now is the reference date consent dates are generated around; vet must
// be run with VetOptions.Now = Truth.Now for the consent truth to hold.
var Now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// Header is the generated file's header (French, ';'-separated).
var Header = []string{"Civilité", "Prénom", "Nom", "Société", "E-mail", "Téléphone", "Adresse", "Complément",
	"Code postal", "Ville", "Pays", "Date opt-in", "Source", "Opt-in e-mail", "Commentaire", "Date de naissance"}

// Truth describes what a correct vet (purpose email, 3-year retention, the
// Truth's opt-out list, no index) must find in the generated file. Random
// base rows can, rarely, describe the same person by chance (same names,
// postcode and street address): about 50 extra near duplicates in a
// 1M-row file, none in the test sizes.
type Truth struct {
	Rows     int            // data rows
	Now      time.Time      // reference time for consent ages
	Encoding string         // encoding written
	Counts   map[string]int // rows per expected reason code
	Rejected int            // rows expected in rejects.csv
	// Lines maps the source line of every row with a finding to its reason
	// codes (sorted); nil when Rows > MaxTruthLines.
	Lines map[int][]string
	// E164 holds the expected E.164 number of rows whose number depends on
	// the region (Belgian, Swiss and overseas rows), by source line.
	E164 map[int]string
	// OptOut is the opt-out list to vet with: SHA-1 hex of the normalised
	// e-mail of the rows expected as "optout.match".
	OptOut []string
	// EuroRows counts clean rows whose company holds a euro sign.
	EuroRows int
	// MultilineRows counts rows with a newline inside a quoted field.
	MultilineRows int
	// Households and Homonyms count rows that resemble an earlier row but
	// are different people (no duplicate finding expected).
	Households, Homonyms int
	// Detail holds every row's truth in file order; nil when Rows >
	// MaxTruthLines. Score compares vet's outputs with it.
	Detail []RowTruth
	// Cities maps the source line of rows whose cleaned city is known
	// (arrondissements, mojibake) to the La Poste libellé d'acheminement
	// vet must write.
	Cities map[int]string
}

// RowTruth is what a correct vet must find on one row.
type RowTruth struct {
	Line   int      // source line where the record starts
	Entity int      // person: rows of one person share it, others never do
	Codes  []string // expected reason codes, sorted
	// EmailBad: the e-mail cell must be rejected (missing, invalid,
	// mistyped, disposable, several addresses...).
	EmailBad bool
	Suggest  string // expected correction of a mistyped address
	Consent  string // expected consent.* code, "" when the consent is valid
	Postal   string // expected postal.* code, "" when the address is valid
	// Kind is "household" or "homonym" for rows that resemble the row at
	// line Twin but are another person; "" otherwise.
	Kind string
	Twin int
	// Unscored rows (malformed records) are not split into cells: only
	// their row code is expected.
	Unscored bool
}

var (
	firstM = []string{"Jean", "Pierre", "Michel", "André", "Philippe", "Jérôme", "François", "Raphaël", "Noël",
		"Nicolas", "Thomas", "Julien", "Sébastien", "Olivier", "Laurent", "Stéphane", "Mathieu", "Hugo",
		"Lucas", "Gabriel", "Arthur", "Théo", "Maxime", "Antoine", "Jean-Pierre", "Jean-Marc", "Benoît", "Loïc",
		"Yannick", "Cédric"}
	firstF = []string{"Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Élodie", "Hélène", "Chloé", "Zoé",
		"Léa", "Camille", "Manon", "Sarah", "Julie", "Aurélie", "Céline", "Émilie", "Sandrine", "Valérie",
		"Françoise", "Anaïs", "Inès", "Clémence", "Mélanie", "Agnès", "Béatrice", "Marie-Claire", "Gaëlle",
		"Océane", "Maëlys"}
	lastNames = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
		"Moreau", "Simon", "Laurent", "Lefèbvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
		"Fournier", "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
		"Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel",
		"Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine",
		"Chevalier", "Robin", "Masson", "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval",
		"Joly", "Gautier", "Roger", "Roche", "Roy", "Meyer", "Lucas", "Meunier", "Pérez", "Marchand", "Dufour",
		"Blanchard", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Renard",
		"Arnaud", "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine",
		"Picard", "Gaillard", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva", "Hubert",
		"Rivière", "Le Gall", "Guillaume", "Moulin", "Berger", "Lecomte", "Ménard", "Fleury", "Deschamps",
		"Carpentier", "Benoît", "Maillard", "Marchal", "Aubry", "Vasseur", "Le Roux", "Renault", "Jacquet",
		"Collet", "Prévost", "Poirier", "Charpentier", "Royer", "Huet", "Baron", "Dupuy", "Pons", "Lainé",
		"Carré", "Breton", "Rémy", "Schneider", "Perrot", "Guyot", "Barré", "Marty", "Cousin", "Hoarau",
		"Payet", "Grondin", "Fontaine-Ducros", "N'Diaye", "Çelik"}
	streetTypes = []string{"rue", "avenue", "boulevard", "place", "impasse", "chemin", "allée", "route", "quai", "cours"}
	streetNames = []string{"de la Paix", "Victor Hugo", "Jean Jaurès", "de la République", "du Général de Gaulle",
		"Pasteur", "des Écoles", "de l'Église", "du Moulin", "Gambetta", "Voltaire", "des Lilas", "Saint-Michel",
		"du Château", "de la Gare", "Émile Zola", "des Tilleuls", "Carnot", "Foch", "de Verdun", "des Acacias",
		"du Stade", "de la Liberté", "Jules Ferry", "Anatole France", "Molière", "de Bretagne", "des Roses",
		"Sainte-Catherine", "du Maréchal Leclerc"}
	sources = []string{"formulaire site web", "jeu-concours", "salon professionnel", "coregistration partenaire",
		"newsletter", "livre blanc", "inscription boutique", "application mobile"}
	freeDomains = []string{"gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "yahoo.fr", "sfr.fr",
		"wanadoo.fr", "outlook.fr", "icloud.com"}
	bizDomains = []string{"boulangerie-martin.fr", "cabinet-durand-associes.fr", "transports-lefort.com",
		"atelier-bois-massif.fr", "garage-central-auto.fr", "pharmacie-du-marche.fr"}
	disposableDomains = []string{"yopmail.com", "mailinator.com", "guerrillamail.com", "jetable.org", "yopmail.fr"}
	roleLocals        = []string{"contact", "info", "admin", "secretariat", "accueil", "sav", "ventes", "facturation", "noreply",
		"service.client", "service-client", "no-reply", "ne-pas-repondre", "relation.client", "ressources.humaines",
		"customer.service", "service.commercial", "direction.generale", "support-technique"}
	badEmails = []struct{ s, code string }{{"jean.dupont@@gmail.com", "email.syntax"}, {"jean dupont@gmail.com", "email.syntax"},
		{"jean.dupont.gmail.com", "email.syntax"}, {"jéan.dupont@gmail.com", "email.non_ascii_local"},
		{"jean..dupont@gmail.com", "email.syntax"}, {"jean.dupont@gmail.c0m", "email.syntax"}, {".jean@gmail.com", "email.syntax"},
		{"jean.dupont@gmail", "email.syntax"}, {"jean@-orange.fr", "email.syntax"}, {"élodie.martin@orange.fr", "email.non_ascii_local"},
		{"françois.petit@free.fr", "email.non_ascii_local"}}
	garbage = []string{"Test", "xxx", "asdf", "TEST", "Toto", "azerty", "aaaa", "Jean123"}
)

// place is a French postcode and a spelling of one of its communes.
type place struct{ pc, city string }

// places are real postcode/commune pairs (La Poste), with spelling
// variants vet must accept: accents, SAINT/ST, CEDEX, arrondissements.
var places = []place{
	{"75002", "Paris"}, {"75008", "PARIS CEDEX 08"}, {"75011", "Paris"}, {"75015", "paris 15e"}, {"69003", "Lyon"},
	{"69001", "LYON 1ER"}, {"13001", "Marseille"}, {"13008", "Marseille"}, {"31000", "Toulouse"},
	{"06000", "Nice"}, {"44000", "Nantes"}, {"67000", "Strasbourg"}, {"34000", "Montpellier"},
	{"33000", "Bordeaux"}, {"59000", "Lille"}, {"35000", "Rennes"}, {"51100", "Reims"},
	{"42000", "Saint-Étienne"}, {"42100", "ST ETIENNE"}, {"76600", "Le Havre"}, {"83000", "Toulon"},
	{"38000", "Grenoble"}, {"21000", "Dijon"}, {"49000", "Angers"}, {"30000", "Nîmes"},
	{"69100", "Villeurbanne"}, {"93200", "Saint-Denis"}, {"13090", "Aix-en-Provence"}, {"29200", "Brest"},
	{"37000", "Tours"}, {"87000", "Limoges"}, {"80000", "Amiens"}, {"66000", "Perpignan"}, {"57000", "Metz"},
	{"25000", "Besançon"}, {"45000", "Orléans"}, {"14000", "Caen"}, {"68100", "Mulhouse"}, {"76000", "Rouen"},
	{"01000", "Bourg-en-Bresse"}, {"74000", "Annecy"}, {"64200", "Biarritz"}, {"17000", "La Rochelle"},
	{"92100", "Boulogne-Billancourt"}, {"94300", "Vincennes"}, {"78000", "Versailles"}, {"92200", "Neuilly-sur-Seine"},
	{"60200", "Compiègne"}, {"50100", "Cherbourg-en-Cotentin"}, {"84000", "Avignon"},
}

// overseas rows: postcode, commune, mobile prefix (national significant
// number without its last digits; the digit after the prefix is drawn from
// next, all inside each territory's mobile plan), E.164 country code.
var overseas = []struct{ pc, city, prefix, next, cc string }{
	{"97110", "Pointe-à-Pitre", "690", "0123456789", "590"}, {"97200", "Fort-de-France", "696", "012346789", "596"},
	{"97300", "Cayenne", "694", "01249", "594"}, {"97400", "Saint-Denis", "692", "0123456789", "262"},
	{"97600", "Mamoudzou", "639", "267", "262"},
}

type row struct {
	civ, first, last, company, email, phone, addr, addr2, pc, city, country, date, source, optin string
	comment, birth                                                                               string
	e164                                                                                         string // expected E.164 (for truth)
	fixed                                                                                        bool
	entity, line                                                                                 int
	derived                                                                                      bool     // a near duplicate kept as a source of exact copies
	codes                                                                                        []string // findings of a remembered defective row
}

func (r *row) cells() []string {
	return []string{r.civ, r.first, r.last, r.company, r.email, r.phone, r.addr, r.addr2, r.pc, r.city, r.country,
		r.date, r.source, r.optin, r.comment, r.birth}
}

type gen struct {
	rng       *rand.Rand
	serial    int
	entity    int
	line      int // source line of the row being built
	enc       string
	recent    []row           // recent clean base rows, for duplicates
	recentBad []row           // recent rows with one copyable defect, for duplicates of rejected rows
	roles     map[string]bool // role addresses used so far
}

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// token returns a unique e-mail token: 7 digits plus a check character, so
// any two tokens are at least two edits apart (a weighted mod-11 check
// catches every single substitution and adjacent transposition).
func (g *gen) token() string {
	g.serial++
	d := fmt.Sprintf("%07d", g.serial)
	sum := 0
	for i := 0; i < len(d); i++ {
		sum += int(d[i]-'0') * (i + 1)
	}
	return d + string("0123456789x"[sum%11])
}

// asciiLower folds a name for an e-mail local part.
func asciiLower(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "î", "i", "ï", "i",
		"ô", "o", "û", "u", "ù", "u", "ü", "u", "ç", "c", "É", "e", "Ç", "c", "ë", "e", "'", "", " ", "-")
	return r.Replace(strings.ToLower(s))
}

func (g *gen) mobile() (national, e164 string) {
	var p string
	if g.rng.IntN(2) == 0 {
		p = "6" + string("01245678"[g.rng.IntN(8)])
	} else {
		p = "7" + string("3456789"[g.rng.IntN(7)])
	}
	digits := p + fmt.Sprintf("%07d", g.rng.IntN(10000000))
	return "0" + digits, "+33" + digits
}

func (g *gen) landline() (national, e164 string) {
	p := g.pick([]string{"14", "47", "24", "32", "55", "13", "38"})
	digits := p + fmt.Sprintf("%07d", g.rng.IntN(10000000))
	return "0" + digits, "+33" + digits
}

// formatFR writes a French national number in one of the usual styles.
func (g *gen) formatFR(national string) string {
	d := national[1:]
	pairs := func(sep string) string {
		return national[:2] + sep + national[2:4] + sep + national[4:6] + sep + national[6:8] + sep + national[8:10]
	}
	switch g.rng.IntN(6) {
	case 0:
		return pairs(" ")
	case 1:
		return national
	case 2:
		return "+33 " + d[:1] + " " + d[1:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:9]
	case 3:
		return pairs(".")
	case 4:
		return "+33 (0)" + d[:1] + " " + d[1:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:9]
	}
	return "0033" + d
}

func (g *gen) date(ageDays int) string {
	t := Now.AddDate(0, 0, -ageDays).Add(-time.Duration(g.rng.IntN(36000)) * time.Second)
	switch g.rng.IntN(4) {
	case 0:
		return t.Format("02/01/2006")
	case 1:
		return t.Format("2006-01-02")
	case 2:
		return t.Format("02/01/2006 15:04")
	}
	return t.Format("2006-01-02T15:04:05Z07:00")
}

// base builds a clean French row.
func (g *gen) base() row {
	var r row
	if g.rng.IntN(2) == 0 {
		r.civ, r.first = g.pick([]string{"M.", "M", "Monsieur"}), g.pick(firstM)
	} else {
		r.civ, r.first = g.pick([]string{"Mme", "Madame"}), g.pick(firstF)
	}
	r.last = g.pick(lastNames)
	switch g.rng.IntN(3) {
	case 0:
		r.first, r.last = strings.ToLower(r.first), strings.ToUpper(r.last)
	case 1:
		r.first, r.last = "  "+r.first, r.last+" "
	}
	dom := g.pick(freeDomains)
	if g.rng.IntN(5) == 0 {
		dom = g.pick(bizDomains)
	}
	r.email = asciiLower(strings.TrimSpace(r.first)) + "." + asciiLower(strings.TrimSpace(r.last)) + "." + g.token() + "@" + dom
	if g.rng.IntN(4) == 0 {
		r.email = strings.ToUpper(r.email[:1]) + r.email[1:]
	}
	var nat string
	if g.rng.IntN(5) == 0 {
		nat, r.e164 = g.landline()
		r.fixed = true
	} else {
		nat, r.e164 = g.mobile()
	}
	r.phone = g.formatFR(nat)
	r.addr = fmt.Sprintf("%d %s %s", 1+g.rng.IntN(200), g.pick(streetTypes), g.pick(streetNames))
	if g.rng.IntN(8) == 0 {
		r.addr2 = g.pick([]string{"Bât. B", "Résidence Les Pins", "Appartement 12", "Escalier C"})
	}
	p := places[g.rng.IntN(len(places))]
	r.pc, r.city = p.pc, p.city
	r.country = g.pick([]string{"France", "", "FR", "France"})
	r.date = g.date(g.rng.IntN(900))
	r.source = g.pick(sources)
	r.optin = g.pick([]string{"oui", "Oui", "1", "", "O"})
	if g.rng.IntN(6) == 0 {
		r.comment = g.pick(benignComments)
	}
	r.birth = time.Date(1950+g.rng.IntN(55), time.Month(1+g.rng.IntN(12)), 1+g.rng.IntN(28), 0, 0, 0, 0, time.UTC).Format("02/01/2006")
	g.entity++
	r.entity, r.line = g.entity, g.line
	return r
}

// csvLine formats cells as one ';'-separated CSV record with CRLF.
func csvLine(cells []string) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(';')
		}
		if strings.ContainsAny(c, ";\"\r\n") {
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(c, `"`, `""`))
			b.WriteByte('"')
		} else {
			b.WriteString(c)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// GenerateContacts writes n data rows (plus the header) of a dirty French
// contact file in encoding enc (utf-8, utf-8-bom, utf-16le, utf-16be or
// windows-1252), deterministically for seed, and returns the truth. About
// a third of the rows carry defects; the others are valid rows in varied
// spellings (case, phone formats, CEDEX, SAINT/ST, arrondissements,
// Belgian, Swiss and overseas numbers, quoted fields with newlines,
// wrapped e-mails, spreadsheet dates and postcodes) — see traps.go.
func GenerateContacts(w io.Writer, n int, seed int64, enc string) (Truth, error) {
	tr := Truth{Rows: n, Now: Now, Encoding: enc, Counts: map[string]int{}, E164: map[int]string{}}
	if n <= MaxTruthLines {
		tr.Lines = map[int][]string{}
		tr.Detail = make([]RowTruth, 0, n)
		tr.Cities = map[int]string{}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = bw
	var tw io.WriteCloser
	switch enc {
	case UTF8:
	case UTF8BOM:
		bw.WriteString("\ufeff")
	case UTF16LE:
		tw = transform.NewWriter(bw, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder())
	case UTF16BE:
		tw = transform.NewWriter(bw, unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder())
	case Windows1252:
		tw = transform.NewWriter(bw, charmap.Windows1252.NewEncoder())
	default:
		return tr, fmt.Errorf("testgen: unknown encoding %q", enc)
	}
	if tw != nil {
		out = tw
	}
	g := &gen{rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)), enc: enc}
	line := 1
	if _, err := io.WriteString(out, csvLine(Header)); err != nil {
		return tr, fmt.Errorf("testgen: %w", err)
	}
	line++
	for i := 0; i < n; i++ {
		g.line = line
		o := g.next(&tr)
		start := line
		line += strings.Count(o.text, "\n")
		sort.Strings(o.rt.Codes)
		o.rt.Line = start
		if len(o.rt.Codes) > 0 {
			for _, c := range o.rt.Codes {
				tr.Counts[c]++
			}
			if tr.Lines != nil {
				tr.Lines[start] = o.rt.Codes
			}
		}
		if rejectedBy(o.rt.Codes) {
			tr.Rejected++
		}
		if o.r != nil && o.r.e164 != "" && !strings.HasPrefix(o.r.e164, "+33") {
			tr.E164[start] = o.r.e164
		}
		if tr.Detail != nil {
			tr.Detail = append(tr.Detail, o.rt)
			if o.city != "" {
				tr.Cities[start] = o.city
			}
		}
		if _, err := io.WriteString(out, o.text); err != nil {
			return tr, fmt.Errorf("testgen: %w", err)
		}
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			return tr, fmt.Errorf("testgen: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return tr, fmt.Errorf("testgen: %w", err)
	}
	return tr, nil
}

// warningCodes are the codes that do not reject a row for the e-mail
// purpose (the spec of issue 10, written here independently of vet).
var warningCodes = map[string]bool{
	"email.role": true, "email.unwrapped": true, "phone.missing": true, "phone.invalid": true,
	"name.missing": true, "postal.missing": true, "postal.format": true, "postal.unknown": true,
	"postal.city_mismatch": true, "shared.email": true, "shared.phone": true, "text.mojibake": true,
	"name.swapped": true, "comment.sensitive": true,
}

func rejectedBy(codes []string) bool {
	for _, c := range codes {
		if !warningCodes[c] {
			return true
		}
	}
	return false
}

// outcome is one generated record with its truth.
type outcome struct {
	text string
	rt   RowTruth
	r    *row
	city string // expected cleaned city, when the row tests it
}

func (g *gen) out(r *row, codes ...string) outcome {
	o := outcome{text: csvLine(r.cells()), r: r}
	o.rt.Entity = r.entity
	o.rt.Codes = append([]string(nil), codes...)
	for _, c := range codes {
		switch {
		case strings.HasPrefix(c, "consent."):
			o.rt.Consent = c
		case strings.HasPrefix(c, "postal."):
			o.rt.Postal = c
		case strings.HasPrefix(c, "email.") && c != "email.role" && c != "email.unwrapped":
			o.rt.EmailBad = true
		}
	}
	return o
}

// next returns one record with its truth.
func (g *gen) next(tr *Truth) outcome {
	r := g.base()
	one := func(code string) outcome { return g.out(&r, code) }
	k := g.rng.IntN(1000)
	switch {
	case k < 560:
		// Clean, in one of several tricky but valid shapes.
		switch g.rng.IntN(12) {
		case 0: // Belgian number with the country column
			r.country, r.pc, r.city = g.pick([]string{"Belgique", "BE", "Belgium"}), "1000", "Bruxelles"
			d := "4" + string("79"[g.rng.IntN(2)]) + fmt.Sprintf("%07d", g.rng.IntN(10000000))
			r.phone = "0" + d[:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:]
			r.e164 = "+32" + d
		case 1: // Swiss number with the country column
			r.country, r.pc, r.city = g.pick([]string{"Suisse", "CH", "Switzerland"}), "1201", "Genève"
			d := "7" + string("6789"[g.rng.IntN(4)]) + fmt.Sprintf("%07d", g.rng.IntN(10000000))
			r.phone = "0" + d[:2] + " " + d[2:5] + " " + d[5:7] + " " + d[7:]
			r.e164 = "+41" + d
		case 2: // overseas department: region from the postcode
			o := overseas[g.rng.IntN(len(overseas))]
			r.country, r.pc, r.city = "", o.pc, o.city
			d := o.prefix + string(o.next[g.rng.IntN(len(o.next))])
			for len(d) < 9 {
				d += string(rune('0' + g.rng.IntN(10)))
			}
			r.phone = "0" + d[:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:]
			r.e164 = "+" + o.cc + d
			r.fixed = false
		case 3: // quoted address with an embedded newline
			r.addr = r.addr + "\n" + g.pick([]string{"Bât. A", "2e étage", "Porte 3"})
			tr.MultilineRows++
		case 4: // euro sign and French quotes (Windows-1252 has both)
			r.company = g.pick([]string{"Café « Le Zinc » 5 €", "Prix 10 € TTC", "L’Atelier € Co"})
			tr.EuroRows++
		case 5: // a role-less business address with an apostrophe and a semicolon
			r.addr2 = "Lieu-dit l'Orme; entrée B"
		}
		r.remember(g)
		return g.out(&r)
	case k < 575:
		r.email = ""
		return one("email.missing")
	case k < 590:
		e := badEmails[g.rng.IntN(len(badEmails))]
		r.email = e.s
		return one(e.code)
	case k < 610:
		return g.emailTypo(&r)
	case k < 625:
		r.email = strings.SplitN(r.email, "@", 2)[0] + "@" + g.pick(disposableDomains)
		return one("email.disposable")
	case k < 645:
		return g.role(&r)
	case k < 660:
		r.phone = g.pick([]string{"06 12 34", "12345", "00 00 00 00 00", "+33 6 12", "abc", "01 23"})
		r.e164 = ""
		return one("phone.invalid")
	case k < 675:
		r.phone = "08 9" + string("12379"[g.rng.IntN(5)]) + fmt.Sprintf(" %02d %02d %02d", g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100))
		r.e164 = ""
		return one("phone.premium")
	case k < 690:
		if g.rng.IntN(2) == 0 {
			r.first = g.pick(garbage)
		} else {
			r.last = g.pick(garbage)
		}
		return one("name.garbage")
	case k < 697:
		r.first, r.last, r.company = "", "", ""
		return one("name.missing")
	case k < 710:
		r.pc = g.pick([]string{"750", "ABCDE", "7500A", "123456"})
		return one("postal.format")
	case k < 717:
		r.pc, r.city = g.pick([]string{"99123", "00123", "96000"}), "Nulle-Part"
		return one("postal.unknown")
	case k < 730:
		p := places[g.rng.IntN(len(places))]
		q := places[(g.rng.IntN(len(places)-1)+1+indexOf(p))%len(places)]
		for q.city == p.city || strings.HasPrefix(q.pc, p.pc[:2]) {
			q = places[g.rng.IntN(len(places))]
		}
		r.pc, r.city = p.pc, q.city
		return one("postal.city_mismatch")
	case k < 737:
		r.date = ""
		return one("consent.missing")
	case k < 744:
		r.date = g.pick([]string{"31/02/2025", "hier", "2025-13-01", "32/01/2024", "n/a"})
		return one("consent.invalid")
	case k < 751:
		r.date = Now.AddDate(0, 0, 10+g.rng.IntN(300)).Format("02/01/2006")
		return one("consent.future")
	case k < 765:
		r.date = g.date(3*365 + 30 + g.rng.IntN(1500))
		r.rememberBad(g, "consent.expired")
		return one("consent.expired")
	case k < 772:
		r.source = ""
		r.rememberBad(g, "consent.no_source")
		return one("consent.no_source")
	case k < 779:
		r.optin = g.pick([]string{"non", "Non", "0", "NON"})
		r.rememberBad(g, "consent.refused")
		return one("consent.refused")
	case k < 786:
		r.addr2 = "x;y"
		o := g.out(&r, "row.columns")
		o.text = strings.TrimSuffix(o.text, "\r\n") + ";extra\r\n"
		o.rt.Unscored = true
		return o
	case k < 793:
		r.addr = fmt.Sprintf("%d rue du \"Clos\" fleuri", 1+g.rng.IntN(50))
		cells := r.cells()
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(c, ";", ","), "\n", " "))
		}
		b.WriteString("\r\n")
		return outcome{text: b.String(), rt: RowTruth{Entity: r.entity, Codes: []string{"row.malformed"}, Unscored: true}}
	case k < 800:
		local := strings.ToLower(r.email)
		sum := sha1.Sum([]byte(local))
		tr.OptOut = append(tr.OptOut, hex.EncodeToString(sum[:]))
		return one("optout.match")
	case k < 900:
		return g.trap(tr, &r)
	}
	return g.copyOf(tr, &r, k)
}

// copyOf builds rows from an earlier row: duplicates, households and
// homonyms.
func (g *gen) copyOf(tr *Truth, r *row, k int) outcome {
	if len(g.recent) == 0 {
		r.remember(g)
		return g.out(r)
	}
	oi := g.rng.IntN(len(g.recent))
	o := g.recent[oi]
	switch {
	case k < 915: // exact duplicate after normalisation
		d := g.exactCopy(o)
		return g.out(&d, "dup.exact")
	case k < 930 && o.derived: // exact copy of a near duplicate: matches a later group member
		d := g.exactCopy(o)
		return g.out(&d, "dup.exact")
	case k < 930 && g.rng.IntN(3) == 0: // near duplicate through another channel
		d := g.exactCopy(o)
		d.email = asciiLower(strings.TrimSpace(o.first)) + "." + g.token() + "@" + g.pick(freeDomains)
		if !o.fixed && g.rng.IntN(2) == 0 { // a mistyped mobile
			b := []byte("0" + strings.TrimPrefix(o.e164, "+33"))
			i := 4 + g.rng.IntN(5)
			if b[i] == b[i+1] {
				b[i] = '0' + (b[i]-'0'+1)%10
			} else {
				b[i], b[i+1] = b[i+1], b[i]
			}
			d.phone, d.e164 = g.formatFR(string(b)), "+33"+string(b[1:])
		} else { // the same street address, another e-mail and phone
			nat, e := g.landline()
			d.phone, d.e164, d.fixed = g.formatFR(nat), e, true
		}
		g.forget(oi)
		return g.out(&d, "dup.near")
	case k < 930: // near duplicate: mistyped e-mail
		d := o
		local, dom, _ := strings.Cut(d.email, "@")
		i := 1 + g.rng.IntN(3)
		if local[i] == local[i+1] {
			i = 0
		}
		b := []byte(local)
		b[i], b[i+1] = b[i+1], b[i]
		d.email = string(b) + "@" + dom
		if string(b) == local {
			d.email = local + "x@" + dom
		}
		// Never derive two near duplicates from one row: the second
		// could be an exact copy of the first.
		g.forget(oi)
		if g.rng.IntN(2) == 0 { // its later copies match it, not the group's first row
			d.derived, d.line = true, g.line
			g.recent = append(g.recent, d)
		}
		return g.out(&d, "dup.near")
	case k < 940: // duplicate of a row rejected for another reason
		if len(g.recentBad) == 0 {
			d := g.exactCopy(o)
			return g.out(&d, "dup.exact")
		}
		b := g.recentBad[g.rng.IntN(len(g.recentBad))]
		d := g.exactCopy(b)
		return g.out(&d, append([]string{"dup.exact"}, b.codes...)...)
	case k < 950: // a copy whose e-mail domain is mistyped matches the corrected address
		d := g.exactCopy(o)
		local, dom, _ := strings.Cut(o.email, "@")
		typo, ok := typoOf(g, strings.ToLower(dom))
		if !ok {
			return g.out(&d, "dup.exact")
		}
		d.email = local + "@" + typo
		out := g.out(&d, "dup.exact", "email.typo")
		out.rt.Suggest = strings.ToLower(local) + "@" + strings.ToLower(dom)
		return out
	case k < 955: // a copy with a wrapped e-mail
		d := g.exactCopy(o)
		d.email = wrap(g, o.email, o.first, o.last)
		return g.out(&d, "dup.exact", "email.unwrapped")
	case k < 975: // household member: same surname, address and landline, other person
		d := o
		if strings.HasPrefix(d.civ, "M") && !strings.HasPrefix(d.civ, "Ma") && d.civ != "Mme" {
			d.civ, d.first = "Mme", g.pick(firstF)
		} else {
			d.civ, d.first = "M.", g.pick(firstM)
		}
		g.entity++
		d.entity = g.entity
		d.company = ""
		codes := []string(nil)
		switch g.rng.IntN(4) {
		case 0: // the household shares one mailbox
			codes = append(codes, "shared.email")
		default:
			d.email = asciiLower(d.first) + "." + asciiLower(strings.TrimSpace(d.last)) + "." + g.token() + "@" + g.pick(freeDomains)
		}
		if !d.fixed {
			if g.rng.IntN(3) == 0 { // and one mobile
				codes = append(codes, "shared.phone")
			} else {
				nat, e := g.landline()
				d.phone, d.e164, d.fixed = g.formatFR(nat), e, true
			}
		}
		// One household member per row: two drawn from the same row
		// could get the same first name and be one person.
		g.forget(oi)
		tr.Households++
		out := g.out(&d, codes...)
		out.rt.Kind, out.rt.Twin = "household", o.line
		return out
	}
	// Homonym: same first and last name, elsewhere, other e-mail and phone.
	d := g.base()
	d.civ, d.first, d.last = o.civ, o.first, o.last
	if g.rng.IntN(2) == 0 { // same town, other street, e-mail and phone
		d.pc, d.city = o.pc, o.city
	}
	tr.Homonyms++
	out := g.out(&d)
	out.rt.Kind, out.rt.Twin = "homonym", o.line
	return out
}

// exactCopy is row o as another supplier writes it: other case, spaces
// and phone format, same person.
func (g *gen) exactCopy(o row) row {
	d := o
	d.email = strings.ToUpper(d.email)
	d.first = strings.ToUpper(strings.TrimSpace(d.first))
	d.last = " " + strings.ToLower(strings.TrimSpace(d.last))
	d.addr = strings.ToUpper(d.addr)
	if strings.HasPrefix(d.e164, "+33") {
		d.phone = g.formatFR("0" + strings.TrimPrefix(d.e164, "+33"))
	}
	d.line = g.line
	return d
}

func (g *gen) forget(i int) {
	g.recent[i] = g.recent[len(g.recent)-1]
	g.recent = g.recent[:len(g.recent)-1]
}

func indexOf(p place) int {
	for i, q := range places {
		if q == p {
			return i
		}
	}
	return 0
}

// remember keeps a clean row as a source of later duplicates.
func (r *row) remember(g *gen) {
	if !strings.HasPrefix(r.e164, "+33") {
		return // Belgian, Swiss and overseas rows are not duplicated
	}
	if len(g.recent) < 64 {
		g.recent = append(g.recent, *r)
		return
	}
	g.recent[g.rng.IntN(64)] = *r
}

// rememberBad keeps a row with one defect as a source of later duplicates
// (a copy carries the same defect).
func (r *row) rememberBad(g *gen, codes ...string) {
	if !strings.HasPrefix(r.e164, "+33") {
		return
	}
	c := *r
	c.codes = codes
	if len(g.recentBad) < 32 {
		g.recentBad = append(g.recentBad, c)
		return
	}
	g.recentBad[g.rng.IntN(32)] = c
}
