package quality

import (
	"errors"
	"net/mail"
	"strings"

	"github.com/pwndex/pwndex/index/ident"
)

// EmailResult is the outcome of CheckEmail.
type EmailResult struct {
	Normalized string // lower-case, punycode domain; empty if unusable
	Domain     string // ASCII domain of Normalized
	Suggestion string // corrected address when Reason is EmailTypo
	Free       bool   // domain is a free mailbox provider (gmail.com, orange.fr...)
	Role       bool   // role account (contact@, info@, ...)
	Reason     Reason // the first blocking finding; valid only if Bad
	Bad        bool   // the address is missing, invalid, mistyped or disposable
}

// freeMail are consumer mailbox providers common in French files; they are
// also the reference list for typo detection.
var freeMail = []string{
	"gmail.com", "googlemail.com", "hotmail.fr", "hotmail.com", "outlook.fr", "outlook.com", "live.fr",
	"live.com", "msn.com", "yahoo.fr", "yahoo.com", "ymail.com", "orange.fr", "wanadoo.fr", "free.fr",
	"sfr.fr", "neuf.fr", "laposte.net", "icloud.com", "me.com", "aol.com", "aol.fr", "gmx.fr", "gmx.com",
	"bbox.fr", "numericable.fr", "club-internet.fr", "aliceadsl.fr", "voila.fr", "cegetel.net",
	"nordnet.fr", "protonmail.com", "proton.me", "hotmail.be", "skynet.be", "bluewin.ch", "yahoo.co.uk",
	"hotmail.co.uk", "libertysurf.fr", "tele2.fr", "9online.fr", "noos.fr", "mail.com", "outlook.be",
}

var freeMailSet = func() map[string]bool {
	m := make(map[string]bool, len(freeMail))
	for _, d := range freeMail {
		m[d] = true
	}
	return m
}()

// roleLocals are local parts of shared mailboxes (French and English).
var roleLocals = map[string]bool{
	"contact": true, "info": true, "infos": true, "information": true, "informations": true, "admin": true,
	"administration": true, "secretariat": true, "accueil": true, "sav": true, "ventes": true, "vente": true,
	"sales": true, "facturation": true, "compta": true, "comptabilite": true, "noreply": true,
	"no-reply": true, "nepasrepondre": true, "ne-pas-repondre": true, "postmaster": true, "webmaster": true,
	"support": true, "hello": true, "bonjour": true, "commercial": true, "direction": true, "rh": true,
	"recrutement": true, "jobs": true, "billing": true, "office": true, "mairie": true, "abuse": true,
	"marketing": true, "service-client": true, "serviceclient": true, "reception": true, "help": true,
	"team": true, "equipe": true, "boutique": true, "magasin": true, "cabinet": true, "devis": true,
	"commande": true, "commandes": true, "hostmaster": true, "root": true,
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
		if di.suggestion == "" {
			di.disposable = IsDisposableDomain(domain)
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
	norm, err := ident.NormalizeEmail(s)
	if err != nil {
		res.Bad, res.Reason = true, EmailSyntax
		if errors.Is(err, ident.ErrEmpty) {
			res.Reason = EmailMissing
		}
		return res
	}
	at := strings.LastIndexByte(norm, '@')
	local, domain := norm[:at], norm[at+1:]
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
	// Final arbiter: the standard library's RFC 5322 parser must accept
	// the bare address and give it back unchanged.
	a, err := mail.ParseAddress(norm)
	return err == nil && a.Address == norm && a.Name == ""
}

func isRoleLocal(local string) bool {
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if roleLocals[local] {
		return true
	}
	// contact.paris, info-lyon, sav2
	for i := 0; i < len(local); i++ {
		if c := local[i]; c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' {
			return i > 0 && roleLocals[local[:i]]
		}
	}
	return false
}

// commonTLDTypos are top-level domains that are not mistakes in themselves
// but almost always are in French consumer files.
var commonTLDTypos = map[string]string{"con": "com", "cmo": "com", "fe": "fr", "ft": "fr", "rf": "fr", "nte": "net", "ner": "net"}

// suggestDomain returns the common mailbox domain that domain is most
// likely a mistyping of, or "". A domain is a typo when it is within one
// edit (optimal string alignment: insertion, deletion, substitution or
// transposition) of a common domain of at least 8 characters (two edits for
// domains of 12 characters or more), or a common domain with a usual TLD
// slip (.con, .fe, .nte), and is not itself a common domain.
func suggestDomain(domain string) string {
	if freeMailSet[domain] || len(domain) < 5 {
		return ""
	}
	limit := 1
	if len(domain) >= 12 {
		limit = 2
	}
	if len(domain) < 8 {
		limit = 0 // too many real short domains lie one edit apart
	}
	best, bestD := "", limit+1
	for _, d := range freeMail {
		if len(d) < 8 || abs(len(d)-len(domain)) > limit {
			continue
		}
		if dist := OSADistance(domain, d); dist < bestD {
			best, bestD = d, dist
		}
	}
	if best != "" {
		return best
	}
	// A known mailbox name with a mistyped TLD: orange.fe, gmail.con.
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		if fix, ok := commonTLDTypos[domain[i+1:]]; ok {
			for _, d := range freeMail {
				if d == domain[:i]+"."+fix {
					return d
				}
			}
		}
	}
	return ""
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
