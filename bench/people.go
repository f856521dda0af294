package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Person is one synthetic contact. Every field is made up from word lists
// and a seeded random stream; any resemblance to a real person is chance.
type Person struct {
	Civility  string // "M." or "Mme"
	FirstName string // with French accents, e.g. "Hélène"
	LastName  string
	Email     string // lower-case ASCII, unique per (seed, index)
	Phone     string // French national format, e.g. "06 12 34 56 78"
	Password  string
	PostCode  string
	City      string
}

var (
	// firstNames alternates masculine (even index) and feminine names.
	firstNames = []string{
		"Jean", "Marie", "Pierre", "Hélène", "Michel", "Françoise", "Philippe", "Nathalie",
		"Alain", "Isabelle", "Nicolas", "Sylvie", "Stéphane", "Catherine", "Frédéric", "Céline",
		"Jérôme", "Valérie", "Éric", "Sandrine", "Laurent", "Aurélie", "Sébastien", "Émilie",
		"François", "Chloé", "Julien", "Léa", "Thomas", "Manon", "Benoît", "Anaïs",
	}
	lastNames = []string{
		"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
		"Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
		"Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre",
		"Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Légaré", "Noël",
	}
	mailDomains = []string{
		"gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "sfr.fr",
		"wanadoo.fr", "yahoo.fr", "outlook.fr", "bbox.fr", "neuf.fr", "icloud.com",
	}
	cities = []struct{ code, name string }{
		{"75011", "Paris"}, {"69003", "Lyon"}, {"13008", "Marseille"}, {"31000", "Toulouse"},
		{"06000", "Nice"}, {"44000", "Nantes"}, {"67000", "Strasbourg"}, {"34000", "Montpellier"},
		{"33000", "Bordeaux"}, {"59000", "Lille"}, {"35000", "Rennes"}, {"51100", "Reims"},
		{"93200", "Saint-Denis"}, {"20000", "Ajaccio"}, {"74000", "Annecy"}, {"29200", "Brest"},
	}
	commonPasswords = []string{
		"123456", "password", "azerty", "123456789", "doudou", "soleil", "marseille",
		"loulou", "chouchou", "motdepasse", "azertyuiop", "1234567890", "qwerty", "iloveyou",
		"nicolas", "camille", "julien", "coucou", "bonjour", "000000",
	}
	// frMobileSecond lists the digits after "06" that libphonenumber accepts
	// for French mobiles (063[9] and 069[0-4,6,7] are not all allocated).
	frMobileSecond = "01245678"
)

// accentASCII folds the accents of the word lists for e-mail local parts.
var accentASCII = strings.NewReplacer(
	"é", "e", "è", "e", "ê", "e", "ë", "e", "É", "e", "à", "a", "â", "a", "ï", "i",
	"î", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ç", "c", "ë", "e",
)

// NewPerson returns person i of the population of seed. It is a pure
// function of (seed, i): the same person can be drawn by a dump generator
// and by a CRM generator, so a CRM base overlaps a dump by construction.
func NewPerson(seed, i uint64) Person {
	r := rand.New(rand.NewPCG(seed^streamDump, i))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	var p Person
	fi := r.IntN(len(firstNames))
	p.FirstName, p.LastName = firstNames[fi], pick(lastNames)
	p.Civility = "M." // firstNames alternates masculine and feminine names
	if fi%2 == 1 {
		p.Civility = "Mme"
	}
	local := strings.ToLower(accentASCII.Replace(p.FirstName + "." + p.LastName))
	p.Email = fmt.Sprintf("%s.%d@%s", local, i, pick(mailDomains))
	p.Phone = fmt.Sprintf("06 %c%d %02d %02d %02d", frMobileSecond[r.IntN(len(frMobileSecond))],
		r.IntN(10), r.IntN(100), r.IntN(100), r.IntN(100))
	if r.IntN(4) == 0 {
		p.Password = pick(commonPasswords)
	} else {
		p.Password = randomPassword(r)
	}
	c := cities[r.IntN(len(cities))]
	p.PostCode, p.City = c.code, c.name
	return p
}

const pwAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%*-_"

func randomPassword(r *rand.Rand) string {
	b := make([]byte, 6+r.IntN(10))
	for i := range b {
		b[i] = pwAlphabet[r.IntN(len(pwAlphabet))]
	}
	return string(b)
}
