package quality

import (
	"errors"
	"strings"

	"github.com/pwndex/pwndex/index/ident"
)

// EmailResult is the outcome of CheckEmail.
type EmailResult struct {
	Normalized string // lower-case, punycode domain; empty if unusable
	Domain     string // ASCII domain of Normalized
	Suggestion string // corrected address when Reason is EmailTypo
	Free       bool   // domain is a free mailbox provider (gmail.com, orange.fr...)
	Role       bool   // role account (contact@, info@, service.client@...)
	Unwrapped  bool   // the cell held the address inside a wrapper (mailto:, Name <...>, quotes...)
	Reason     Reason // the first blocking finding; valid only if Bad
	Bad        bool   // the address is missing, invalid, mistyped or disposable
}

// freeMail are the consumer mailbox providers of the markets vet serves
// (France first, then Belgium, Switzerland, Luxembourg, the neighbours and
// the global webmails). They are the free-mail classification and the
// reference list of typo detection, in order of preference when a typo is
// equally close to two of them.
var freeMail = []string{
	// France: ISPs and webmails.
	"gmail.com", "hotmail.fr", "outlook.fr", "live.fr", "yahoo.fr", "orange.fr", "wanadoo.fr", "free.fr",
	"sfr.fr", "neuf.fr", "laposte.net", "bbox.fr", "numericable.fr", "club-internet.fr", "aliceadsl.fr",
	"voila.fr", "cegetel.net", "nordnet.fr", "libertysurf.fr", "tele2.fr", "9online.fr", "noos.fr", "aol.fr",
	"gmx.fr", "msn.fr", "hotmail.com", "outlook.com", "live.com", "msn.com", "yahoo.com", "ymail.com",
	"icloud.com", "me.com", "mac.com", "aol.com", "gmx.com", "mail.com", "email.com", "googlemail.com",
	"protonmail.com", "proton.me", "protonmail.ch", "hotmail.be",
	// Belgium, Switzerland, Luxembourg.
	"outlook.be", "live.be", "skynet.be", "telenet.be", "proximus.be", "scarlet.be", "voo.be", "yahoo.be",
	"bluewin.ch", "hotmail.ch", "gmx.ch", "sunrise.ch", "swissonline.ch", "outlook.ch", "yahoo.ch",
	"pt.lu", "internet.lu", "tango.lu", "hotmail.lu",
	// Neighbouring markets.
	"hotmail.de", "outlook.de", "yahoo.de", "gmx.de", "gmx.net", "web.de", "t-online.de", "hotmail.es",
	"outlook.es", "yahoo.es", "hotmail.it", "outlook.it", "yahoo.it", "libero.it", "hotmail.co.uk",
	"yahoo.co.uk", "btinternet.com", "live.co.uk",
}

var freeMailSet = func() map[string]bool {
	m := make(map[string]bool, len(freeMail))
	for _, d := range freeMail {
		m[d] = true
	}
	return m
}()

// roleLocals are local parts of shared mailboxes (French and English),
// keyed without their separators: "service.client", "service-client" and
// "serviceclient" are one entry.
var roleLocals = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range []string{
		"contact", "contacts", "info", "infos", "information", "informations", "admin", "administration",
		"administratif", "secretariat", "accueil", "sav", "ventes", "vente", "sales", "facturation", "compta",
		"comptabilite", "noreply", "no-reply", "do-not-reply", "ne-pas-repondre", "postmaster", "webmaster",
		"hostmaster", "mailer-daemon", "support", "support-technique", "hello", "bonjour", "commercial",
		"service.commercial", "direction", "direction.generale", "rh", "ressources.humaines", "service.rh",
		"recrutement", "jobs", "careers", "billing", "office", "mairie", "abuse", "marketing", "service.client",
		"service.clients", "relation.client", "relations.clients", "customer.service", "customer.care",
		"reception", "help", "team", "equipe", "boutique", "magasin", "cabinet", "devis", "commande",
		"commandes", "root", "assistance", "communication", "presse", "press", "juridique", "legal", "dpo",
		"rgpd", "privacy", "newsletter", "partenariat", "partenariats", "achats", "logistique", "expedition",
		"qualite", "standard", "service.comptabilite", "service.achats", "service.technique", "atelier",
	} {
		m[roleKey(l)] = true
	}
	return m
}()

// maxRoleLen is the length of the longest role key.
var maxRoleLen = func() int {
	n := 0
	for k := range roleLocals {
		n = max(n, len(k))
	}
	return n
}()

// roleKey removes the separators of a local part.
func roleKey(l string) string {
	var buf [64]byte
	return string(appendRoleKey(buf[:0], l))
}

func appendRoleKey(b []byte, l string) []byte {
	for i := 0; i < len(l); i++ {
		if c := l[i]; c != '.' && c != '-' && c != '_' {
			b = append(b, c)
		}
	}
	return b
}

// isRoleKey looks l up in roleLocals without allocating.
func isRoleKey(l string) bool {
	var buf [64]byte
	return roleLocals[string(appendRoleKey(buf[:0], l))]
}

// localAllowed marks the ASCII characters allowed unquoted in a local part
// (RFC 5322 atext plus the dot).
var localAllowed = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~." {
		t[c] = true
	}
	return t
}()

// CheckEmail vets one e-mail cell: normalisation by index/ident, then
// practical deliverability rules on top of net/mail (unquoted ASCII local
// part of at most 64 characters without leading, trailing or doubled dots;
// address at most 254 characters; domain labels of letters, digits and
// inner hyphens; a letter-only or IDN top-level domain), a typo check
// against common French mailbox domains, the disposable list and role
// accounts.
func CheckEmail(s string) EmailResult { return checkEmail(s, nil) }

// domainInfo is what CheckEmail learns from a domain alone.
type domainInfo struct {
	free       bool
	disposable bool
	suggestion string // typo correction, see suggestDomain
}

// maxCachedDomains bounds a domainCache (about 100 bytes an entry).
const maxCachedDomains = 4096

// domainCache memoises domainInfo per domain for one goroutine: purchased
// files repeat a few thousand domains, and the typo and disposable checks
// cost more than the rest of the address. It is emptied when full, so
// memory stays bounded.
type domainCache map[string]domainInfo

// lookupDomain returns the domain's information, from c when present.
func lookupDomain(c *domainCache, domain string) domainInfo {
	if c != nil {
		if di, ok := (*c)[domain]; ok {
			return di
		}
	}
	var di domainInfo
	di.free = freeMailSet[domain]
	if !di.free {
		di.suggestion = suggestDomain(domain)
		di.disposable = IsDisposableDomain(domain)
		// A listed domain one edit from a provider (gmial.com) is a typo
		// whatever the list says; one two edits away (yopmail.com) is
		// what the list says.
		if di.suggestion != "" && di.disposable {
			if OSADistance(domain, di.suggestion) > 1 {
				di.suggestion = ""
			} else {
				di.disposable = false
			}
		}
	}
	if c != nil {
		if *c == nil || len(*c) >= maxCachedDomains {
			*c = make(domainCache, 256)
		}
		(*c)[domain] = di
	}
	return di
}

// checkEmail is CheckEmail with an optional per-goroutine domain cache.
func checkEmail(s string, cache *domainCache) EmailResult {
	var res EmailResult
	if strings.TrimSpace(s) == "" {
		res.Bad, res.Reason = true, EmailMissing
		return res
	}
	addr, unwrapped, multiple := UnwrapEmail(s)
	if multiple {
		res.Bad, res.Reason = true, EmailMultiple
		return res
	}
	res.Unwrapped = unwrapped
	norm, err := ident.NormalizeEmail(addr)
	if err != nil {
		res.Bad, res.Reason = true, EmailSyntax
		if errors.Is(err, ident.ErrEmpty) {
			res.Reason = EmailMissing
		} else if at := strings.LastIndexByte(addr, '@'); at > 0 && !isASCII(addr[:at]) {
			res.Reason = EmailNonASCIILocal
		}
		return res
	}
	at := strings.LastIndexByte(norm, '@')
	local, domain := norm[:at], norm[at+1:]
	if !isASCII(local) {
		res.Bad, res.Reason = true, EmailNonASCIILocal
		return res
	}
	if !emailSyntaxOK(local, domain, norm) {
		res.Bad, res.Reason = true, EmailSyntax
		return res
	}
	res.Normalized, res.Domain = norm, domain
	di := lookupDomain(cache, domain)
	res.Free = di.free
	res.Role = isRoleLocal(local)
	switch {
	case di.suggestion != "":
		res.Bad, res.Reason = true, EmailTypo
		res.Suggestion = local + "@" + di.suggestion
	case di.disposable:
		res.Bad, res.Reason = true, EmailDisposable
	}
	return res
}

// linkAddress is the address duplicates are linked on: the normalised
// address, corrected when its domain is mistyped; "" when unusable.
func (r *EmailResult) linkAddress() string {
	if r.Reason == EmailTypo && r.Bad && r.Suggestion != "" {
		return r.Suggestion
	}
	return r.Normalized
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func emailSyntaxOK(local, domain, norm string) bool {
	if len(norm) > 254 || len(local) == 0 || len(local) > 64 {
		return false
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c >= 128 || !localAllowed[c] {
			return false
		}
	}
	if strings.IndexByte(domain, '.') < 0 {
		return false // fewer than two labels
	}
	var tld string
	for rest := domain; ; {
		l, after, more := strings.Cut(rest, ".")
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		if !more {
			tld = l
			break
		}
		rest = after
	}
	if !strings.HasPrefix(tld, "xn--") {
		if len(tld) < 2 {
			return false
		}
		for i := 0; i < len(tld); i++ {
			if tld[i] < 'a' || tld[i] > 'z' {
				return false
			}
		}
	}
	// Both parts passed are RFC 5322 dot-atoms of ASCII atext, which the
	// standard library's parser (net/mail) always accepts and gives back
	// unchanged (TestEmailSyntaxAgreesWithNetMail), so it is not run per
	// row.
	return true
}

// isRoleLocal reports role local parts: a listed role, whatever its
// separators (service.client, service-client, no-reply), optionally
// followed by a qualifier (contact.paris, info-lyon, sav2, noreply+news).
func isRoleLocal(local string) bool {
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if isRoleKey(local) {
		return true
	}
	// Prefixes ending before a separator or a run of digits, up to the
	// longest role (three parts at most: direction.generale.paris).
	for i, parts := 1, 0; i < len(local) && i <= maxRoleLen+2 && parts < 3; i++ {
		c := local[i]
		if c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' && !(local[i-1] >= '0' && local[i-1] <= '9') {
			parts++
			if isRoleKey(local[:i]) {
				return true
			}
		}
	}
	return false
}

// realTLDs are top-level domains seen in the markets' files that are never
// taken for a slip of another: a typo suggestion keeps them (hotmial.be is
// hotmail.be, never hotmail.fr).
var realTLDs = map[string]bool{
	"fr": true, "com": true, "net": true, "org": true, "eu": true, "be": true, "ch": true, "lu": true,
	"de": true, "es": true, "it": true, "uk": true, "nl": true, "pt": true, "at": true, "pl": true, "us": true,
	"ca": true, "io": true, "info": true, "biz": true, "me": true, "re": true, "mc": true, "ma": true,
	"tn": true, "dz": true, "sn": true, "ci": true, "gp": true, "mq": true,
	"gf": true, "yt": true, "pm": true, "nc": true, "pf": true, "tv": true, "fm": true, "pro": true,
	"asso": true, "gouv": true, "edu": true, "gov": true, "int": true, "app": true, "dev": true, "online": true,
	"shop": true, "store": true, "site": true, "paris": true, "bzh": true, "alsace": true, "corsica": true,
}

// suggestDomain returns the provider domain that domain is most likely a
// mistyping of, or "". Systematic, not a list of known typos: the name
// (all labels but the last) is within an optimal-string-alignment distance
// of a provider's name (insertion, deletion, substitution such as an
// adjacent key, transposition) — 2 for names of six letters or more, 1 for
// four or five, 0 for shorter ones — and the TLD is the provider's or a
// slip of it that is not itself a real TLD (.con, .fe, .nte, .comm); the
// two together at most 2 edits. A typed real TLD is kept: the suggestion
// never moves the address to another country's domain. Ties go to the
// earlier provider in freeMail (the French market first).
func suggestDomain(domain string) string {
	if freeMailSet[domain] {
		return ""
	}
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 {
		return ""
	}
	name, tld := domain[:dot], domain[dot+1:]
	best, bestD := "", 3
	for _, p := range freeMail {
		pd := strings.LastIndexByte(p, '.')
		pn, pt := p[:pd], p[pd+1:]
		tc := 0
		if tld != pt {
			if realTLDs[tld] || abs(len(tld)-len(pt)) > 1 {
				continue
			}
			if tc = OSADistance(tld, pt); tc > 1 {
				continue
			}
		}
		limit := 2
		switch {
		case len(pn) < 4:
			limit = 0
		case len(pn) < 6:
			limit = 1
		}
		if abs(len(name)-len(pn)) > limit {
			continue
		}
		nc := 0
		if name != pn {
			if limit == 0 {
				continue
			}
			if nc = OSADistance(name, pn); nc > limit || limit == 1 && !shortSlip(name, pn) || nc == 2 && name[0] != pn[0] {
				continue
			}
		}
		if d := nc + tc; d > 0 && d < bestD {
			best, bestD = p, d
		}
	}
	return best
}

// keyboards are the letter rows of AZERTY and QWERTY keyboards, each row
// shifted half a key right of the one above.
var keyboards = [][3]string{{"azertyuiop", "qsdfghjklm", "wxcvbn"}, {"qwertyuiop", "asdfghjkl", "zxcvbnm"}}

// adjacentKeys reports whether a and b are neighbouring keys (same row or
// the rows above and below) on an AZERTY or QWERTY keyboard.
func adjacentKeys(a, b byte) bool {
	for _, kb := range keyboards {
		for r, row := range kb {
			i := strings.IndexByte(row, a)
			if i < 0 {
				continue
			}
			near := func(rr, j int) bool { return rr >= 0 && rr < 3 && j >= 0 && j < len(kb[rr]) && kb[rr][j] == b }
			if near(r, i-1) || near(r, i+1) || near(r-1, i) || near(r-1, i+1) || near(r+1, i-1) || near(r+1, i) {
				return true
			}
		}
	}
	return false
}

// shortSlip accepts one edit between a short name and a provider's name
// only when it is a keyboard slip: a transposition, an insertion or a
// deletion, or a substitution by an adjacent key (live.fr -> lice.fr is
// not one: life.fr and line.fr are real domains).
func shortSlip(name, pn string) bool {
	if len(name) != len(pn) {
		return true
	}
	diff := -1
	for i := 0; i < len(name); i++ {
		if name[i] != pn[i] {
			if diff >= 0 {
				return true // two differences at distance 1: a transposition
			}
			diff = i
		}
	}
	return diff < 0 || adjacentKeys(name[diff], pn[diff])
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
