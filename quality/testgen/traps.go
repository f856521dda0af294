package testgen

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// The traps of issue 10: real-world mess a purchased file carries, each
// with the finding it must (or must not) produce. The lists below are
// written from the text, independently of vet's own lists.

// typoProviders are large mailbox providers a typo is derived from; typos
// are drawn in the name only for names of five letters or more.
var typoProviders = []string{"gmail.com", "hotmail.fr", "hotmail.com", "orange.fr", "wanadoo.fr", "laposte.net",
	"yahoo.fr", "outlook.fr", "icloud.com", "hotmail.be", "skynet.be", "bluewin.ch", "outlook.be", "free.fr", "sfr.fr"}

// legitDomains are real mailbox domains, some one or two edits from a
// provider of another market (ymail.com, hotmail.de, gmx.fr): never typos.
var legitDomains = []string{"gmail.com", "googlemail.com", "hotmail.fr", "hotmail.com", "hotmail.be", "hotmail.de",
	"hotmail.it", "hotmail.es", "hotmail.co.uk", "outlook.fr", "outlook.com", "outlook.be", "outlook.de", "outlook.es",
	"live.fr", "live.com", "live.be", "msn.com", "yahoo.fr", "yahoo.com", "yahoo.de", "yahoo.es", "yahoo.it",
	"yahoo.co.uk", "ymail.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "icloud.com",
	"me.com", "mac.com", "aol.com", "aol.fr", "gmx.fr", "gmx.de", "gmx.com", "gmx.ch", "mail.com", "skynet.be",
	"telenet.be", "proximus.be", "bluewin.ch", "sunrise.ch", "pt.lu", "web.de", "t-online.de", "libero.it",
	"bbox.fr", "numericable.fr", "club-internet.fr", "aliceadsl.fr", "voila.fr", "protonmail.com", "proton.me",
	"btinternet.com", "free.fr"}

// nearLegit are legit domains close to a provider of the French market.
var nearLegit = []string{"ymail.com", "mail.com", "gmx.fr", "gmx.de", "hotmail.de", "yahoo.de", "hotmail.it",
	"outlook.es", "live.be", "aol.fr", "yahoo.es", "gmx.ch", "hotmail.es", "outlook.de"}

// listedTypos are typo domains that public disposable / free lists carry.
var listedTypos = map[string]string{"gmial.com": "gmail.com", "gnail.com": "gmail.com", "gmal.com": "gmail.com",
	"gamil.com": "gmail.com", "gmai.com": "gmail.com"}

// tldTypos are mistyped top-level domains.
var tldTypos = map[string][]string{"com": {"con", "cpm", "vom", "comm", "cm"}, "fr": {"fe", "ft", "rf", "frr"},
	"net": {"nte", "ner", "nett"}}

// keyNeighbours are adjacent keys on AZERTY and QWERTY keyboards.
var keyNeighbours = map[byte]string{'a': "zqs", 'z': "aesx", 'e': "zrds", 'r': "etf", 't': "ryg", 'y': "tuh",
	'u': "yij", 'i': "uok", 'o': "ipl", 'p': "ol", 'q': "asw", 's': "qdz", 'd': "sfe", 'f': "dgr", 'g': "fht",
	'h': "gjy", 'j': "hku", 'k': "jli", 'l': "kmo", 'm': "ln", 'w': "xq", 'x': "wc", 'c': "xv", 'v': "cb",
	'b': "vn", 'n': "bm"}

func isLegit(d string) bool {
	for _, l := range legitDomains {
		if l == d {
			return true
		}
	}
	return false
}

// typoOf returns a mistyping of provider domain dom: one or two edits in
// the name (transposition, deletion, doubling, adjacent key) or a
// mistyped TLD. ok is false when dom is not a provider.
func typoOf(g *gen, dom string) (string, bool) {
	name, tld, _ := strings.Cut(dom, ".")
	known := false
	for _, p := range typoProviders {
		known = known || p == dom
	}
	if !known {
		return "", false
	}
	for try := 0; try < 20; try++ {
		n, t := name, tld
		edits := 1
		if len(n) >= 7 && g.rng.IntN(4) == 0 {
			edits = 2
		}
		for e := 0; e < edits; e++ {
			if len(n) < 5 || g.rng.IntN(4) == 0 {
				if ts := tldTypos[tld]; len(ts) > 0 && t == tld {
					t = ts[g.rng.IntN(len(ts))]
					continue
				}
			}
			if len(n) < 5 {
				break
			}
			b := []byte(n)
			i := 1 + g.rng.IntN(len(b)-2)
			switch g.rng.IntN(4) {
			case 0:
				b[i], b[i+1] = b[i+1], b[i]
			case 1:
				b = append(b[:i], b[i+1:]...)
			case 2:
				b = append(b[:i+1], b[i:]...)
			default:
				if nb := keyNeighbours[b[i]]; nb != "" {
					b[i] = nb[g.rng.IntN(len(nb))]
				}
			}
			n = string(b)
		}
		d := n + "." + t
		if d != dom && !isLegit(d) && !strings.HasPrefix(d, ".") {
			if _, listed := listedTypos[d]; !listed || listedTypos[d] == dom {
				return d, true
			}
		}
	}
	return "", false
}

// emailTypo makes r's e-mail domain a mistyping of a large provider.
func (g *gen) emailTypo(r *row) outcome {
	local, _, _ := strings.Cut(r.email, "@")
	var typo, fix string
	if g.rng.IntN(5) == 0 {
		for d, f := range listedTypos {
			typo, fix = d, f
			if g.rng.IntN(2) == 0 {
				break
			}
		}
	} else {
		for typo == "" {
			fix = typoProviders[g.rng.IntN(len(typoProviders))]
			typo, _ = typoOf(g, fix)
		}
	}
	r.email = local + "@" + typo
	o := g.out(r, "email.typo")
	o.rt.Suggest = strings.ToLower(local) + "@" + fix
	r.rememberBad(g, "email.typo")
	return o
}

// role gives r a role address, sometimes at a mistyped provider domain.
func (g *gen) role(r *row) outcome {
	local := g.pick(roleLocals)
	if g.rng.IntN(4) == 0 {
		fix := typoProviders[g.rng.IntN(len(typoProviders))]
		if typo, ok := typoOf(g, fix); ok {
			r.email = local + "@" + typo
			o := g.out(r, g.shareRole(local+"@"+fix, "email.role", "email.typo")...)
			o.rt.Suggest = local + "@" + fix
			return o
		}
	}
	r.email = local + "@" + g.pick(bizDomains[:3])
	codes := g.shareRole(r.email, "email.role")
	if len(codes) == 1 {
		r.rememberBad(g, "email.role")
	}
	return g.out(r, codes...)
}

// shareRole adds shared.email when another person's row used the
// (corrected) role address before.
func (g *gen) shareRole(addr string, codes ...string) []string {
	if g.roles == nil {
		g.roles = map[string]bool{}
	}
	if g.roles[addr] {
		return append(codes, "shared.email")
	}
	g.roles[addr] = true
	return codes
}

// wrap writes a valid address the way exports and copy-pastes do.
func wrap(g *gen, email, first, last string) string {
	name := strings.TrimSpace(first) + " " + strings.TrimSpace(last)
	switch g.rng.IntN(10) {
	case 0:
		return "mailto:" + email
	case 1:
		return "MAILTO:" + email
	case 2:
		return `"` + name + `" <` + email + ">"
	case 3:
		return name + " <" + email + ">"
	case 4:
		return "<" + email + ">"
	case 5:
		return "'" + email + "'"
	case 6:
		return "(" + email + ")"
	case 7:
		return "[" + email + "]"
	case 8:
		return email + g.pick([]string{".", ",", ";", ":"})
	}
	return `"` + email + `"`
}

// moji is s written in UTF-8 and read back as Windows-1252.
func moji(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(charmap.Windows1252.DecodeByte(s[i]))
	}
	return b.String()
}

// mojiOK reports whether s has non-ASCII letters whose mojibake
// survives every encoding (no undefined Windows-1252 byte, no NBSP).
func mojiOK(s string) bool {
	if utf8.RuneCountInString(s) == len(s) {
		return false
	}
	m := moji(s)
	return !strings.ContainsAny(m, "\ufffd\u00a0\u0081\u008d\u008f\u0090\u009d")
}

// arrondissements are spellings of municipal districts with the La Poste
// libellé d'acheminement vet must write (RNVP line 6).
var arrondissements = []struct{ pc, city, ach string }{
	{"75116", "Paris 16", "PARIS 16"}, {"75116", "PARIS 16EME", "PARIS 16"}, {"69003", "Lyon 3ème", "LYON"},
	{"69003", "Lyon 3e", "LYON"}, {"13006", "Marseille 6e", "MARSEILLE"}, {"13006", "MARSEILLE 6EME", "MARSEILLE"},
	{"75008", "Paris 8ème", "PARIS"}, {"69001", "Lyon 1er", "LYON"}, {"13001", "Marseille 1er", "MARSEILLE"},
	{"42000", "Saint-Étienne", "SAINT-ETIENNE"},
}

// accentedCities are places whose commune name has accents.
var accentedCities = []struct{ pc, city, ach string }{
	{"30000", "Nîmes", "NIMES"}, {"45000", "Orléans", "ORLEANS"}, {"25000", "Besançon", "BESANCON"},
	{"60200", "Compiègne", "COMPIEGNE"}, {"42000", "Saint-Étienne", "SAINT-ETIENNE"},
}

// benignComments are comments a file carries that say nothing sensitive.
var benignComments = []string{"rappeler en juin", "intéressé par l'offre pro", "client fidèle depuis 2019",
	"préfère être contacté le matin", "a demandé un devis", "RAS", "salon de Lyon, stand B12", "parrainé par un ami"}

// sensitiveComments mention special-category data (GDPR art. 9 and 10).
var sensitiveComments = []string{"diabétique, appeler après 18h", "enceinte, ne pas relancer avant mars",
	"syndiqué CGT", "musulman pratiquant", "a fait de la prison", "suivi psychiatrique en cours",
	"militant écologiste", "sous chimio", "Témoin de Jéhovah", "handicapé moteur", "casier judiciaire",
	"homosexuel, vit en couple", "pregnant, call later", "trade union member", "ancien détenu"}

// surnamesOnly are surnames that are no French first name.
var surnamesOnly = []string{"Dubois", "Petit", "Moreau", "Lefèvre", "Fournier", "Mercier", "Dupont", "Legrand",
	"Garnier", "Faure", "Rousseau", "Guérin", "Roussel", "Morin", "Dumont", "Fontaine", "Chevalier", "Lemaire",
	"Duval", "Meunier", "Marchand", "Dufour", "Barbier", "Brunet", "Leroux", "Caron", "Leclerc", "Lemoine",
	"Gaillard", "Lacroix", "Dupuis"}

// serialDay is a spreadsheet serial day number (days since 1899-12-30).
func serialDay(t time.Time) int {
	return int(t.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// trap returns a row with one of issue 10's traps.
func (g *gen) trap(tr *Truth, r *row) outcome {
	t := g.rng.IntN(110)
	switch {
	case t >= 105: // special-category data in the comment
		r.comment = g.pick(sensitiveComments)
		return g.out(r, "comment.sensitive")
	case t >= 100: // surname in the first-name column
		r.first, r.last = g.pick(surnamesOnly), r.first
		return g.out(r, "name.swapped")
	case t < 12: // wrapped address: valid, warned
		r.email = wrap(g, r.email, r.first, r.last)
		return g.out(r, "email.unwrapped")
	case t < 18: // two addresses in one cell
		other := asciiLower(strings.TrimSpace(r.first)) + "." + g.token() + "@" + g.pick(freeDomains)
		r.email = r.email + g.pick([]string{", ", ";", " / ", " ", " et ", "\n"}) + other
		return g.out(r, "email.multiple")
	case t < 26: // a real domain close to a provider of the French market
		local, _, _ := strings.Cut(r.email, "@")
		r.email = local + "@" + g.pick(nearLegit)
		r.remember(g)
		return g.out(r)
	case t < 32: // special-rate number
		switch g.rng.IntN(4) {
		case 0:
			r.country, r.pc, r.city = "Belgique", "1000", "Bruxelles"
			r.phone = fmt.Sprintf("0800 %02d %03d", 10+g.rng.IntN(90), g.rng.IntN(1000))
		case 1:
			r.country, r.pc, r.city = "Suisse", "1201", "Genève"
			r.phone = g.pick([]string{"0800 ", "0848 ", "0842 "}) + fmt.Sprintf("%03d %03d", g.rng.IntN(1000), g.rng.IntN(1000))
		default:
			r.phone = "08 " + g.pick([]string{"00", "05", "09", "10", "11", "20", "21", "25", "26"}) +
				fmt.Sprintf(" %02d %02d %02d", g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100))
		}
		r.e164 = ""
		return g.out(r, "phone.special_rate")
	case t < 38: // no phone at all
		r.phone, r.e164 = "", ""
		return g.out(r, "phone.missing")
	case t < 52: // consent dates as spreadsheets and exports write them
		d := Now.AddDate(0, 0, -g.rng.IntN(900)).Add(-time.Duration(g.rng.IntN(36000)) * time.Second)
		switch g.rng.IntN(12) {
		case 0:
			r.date = fmt.Sprint(serialDay(d))
		case 1:
			r.date = fmt.Sprintf("%d,%d", serialDay(d), 1+g.rng.IntN(99))
		case 2:
			r.date = d.Format("2/1/2006")
		case 3:
			r.date = d.Format("2/1/2006 15:04")
		case 4:
			r.date = d.Format("02-01-2006 15:04:05")
		case 5:
			r.date = d.Format("02.01.2006")
		case 6:
			r.date = d.Format("02/01/06")
		case 7:
			r.date = d.Format("02/01/2006 15") + "h" + d.Format("04")
		case 8:
			r.date = d.Format("2006-01-02T15:04:05.000Z")
		case 9:
			r.date = d.Format("2006-01-02 15:04:05-07:00")
		case 10:
			r.date = d.Format("2/1/2006 3:04")
		default:
			r.date = d.Format("2006-01-02 15:04")
		}
		r.remember(g)
		return g.out(r)
	case t < 58: // retention boundary in calendar terms
		// Late on the edge day: still inside (a duration-based limit
		// would also get the leap day of 2024 wrong).
		edge := Now.AddDate(-3, 0, 0).Add(11*time.Hour + 59*time.Minute)
		layout := g.pick([]string{"02/01/2006", "2006-01-02", "02/01/2006 15:04"})
		if g.rng.IntN(2) == 0 {
			r.date = edge.Format(layout)
			return g.out(r)
		}
		r.date = edge.AddDate(0, 0, -1).Format(layout)
		return g.out(r, "consent.expired")
	case t < 64: // placeholder source
		r.source = g.pick([]string{"N/A", "inconnue", "inconnu", "?", "-", "n/c", "aucune", "  ", "NC", "Inconnue"})
		return g.out(r, "consent.no_source")
	case t < 74: // postcode as spreadsheets and suppliers write it
		p := places[g.rng.IntN(len(places))]
		r.city = p.city
		switch g.rng.IntN(6) {
		case 0:
			r.pc = " " + p.pc[:2] + " " + p.pc[2:] + " "
		case 1:
			r.pc = "F-" + p.pc
		case 2:
			r.pc = "FR " + p.pc
		case 3:
			r.pc = "F " + p.pc
		case 4:
			r.pc = p.pc + ".0"
		default:
			q := g.pick([]string{"01000|Bourg-en-Bresse", "06000|Nice"})
			pc, city, _ := strings.Cut(q, "|")
			r.pc, r.city = pc[1:], city
		}
		r.remember(g)
		return g.out(r)
	case t < 78:
		r.pc = ""
		return g.out(r, "postal.missing")
	case t < 90: // mojibake (UTF-8 read as Windows-1252) in a text field
		o := outcome{}
		switch g.rng.IntN(3) {
		case 0:
			c := accentedCities[g.rng.IntN(len(accentedCities))]
			r.pc, r.city = c.pc, moji(c.city)
			r.country = "France"
			o = g.out(r, "text.mojibake")
			o.city = c.ach
			return o
		case 1:
			for !mojiOK(r.first) {
				r.first = g.pick(append(append([]string{}, firstM...), firstF...))
			}
			r.first = moji(r.first)
		default:
			r.addr = fmt.Sprintf("%d %s %s", 1+g.rng.IntN(200), g.pick(streetTypes), g.pick([]string{"des Écoles", "de l'Église", "Émile Zola", "des Pâquerettes"}))
			r.addr = moji(r.addr)
		}
		return g.out(r, "text.mojibake")
	}
	a := arrondissements[g.rng.IntN(len(arrondissements))]
	r.pc, r.city, r.country = a.pc, a.city, "France"
	r.remember(g)
	o := g.out(r)
	o.city = a.ach
	return o
}
