package bench

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// CRMOptions configures WriteCRM.
type CRMOptions struct {
	// N is the number of contact rows.
	N int
	// Seed selects the population; use the dump's seed for overlap.
	Seed uint64
	// DumpN is the size of the dump population (WriteDump's N) the CRM may
	// overlap with.
	DumpN int
	// ExposedPercent is the share of rows (0..100) drawn from the dump's
	// people; the others are people no dump holds.
	ExposedPercent int
	// Windows1252 encodes the file in Windows-1252, as French spreadsheet
	// exports often are; otherwise UTF-8.
	Windows1252 bool
}

// crmFresh offsets the indices of people absent from every dump.
const crmFresh = 1 << 40

// CRMExposed reports whether row i of a CRM written with o is a person of
// the dump population, and which one.
func CRMExposed(o CRMOptions, i int) (person uint64, exposed bool) {
	// Bresenham spread: any first n rows hold exactly n*pct/100 (rounded
	// down) exposed ones.
	if o.DumpN > 0 && (i+1)*o.ExposedPercent/100 > i*o.ExposedPercent/100 {
		return uint64(i*7919) % uint64(o.DumpN), true
	}
	return crmFresh + uint64(i), false
}

// WriteCRM writes a French-style CRM export: `;`-separated, French headers
// (Civilité;Prénom;Nom;Adresse e-mail;Téléphone;Code postal;Ville;Date de
// consentement;Source), phones as "06 12 34 56 78", dates as DD/MM/YYYY,
// CRLF line ends. E-mail case varies as typed by people; normalisation
// makes it irrelevant. It returns the number of rows that belong to the dump
// population.
func WriteCRM(w io.Writer, o CRMOptions) (exposed int, err error) {
	var out io.Writer = w
	if o.Windows1252 {
		out = charmap.Windows1252.NewEncoder().Writer(w)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprint(bw, "Civilité;Prénom;Nom;Adresse e-mail;Téléphone;Code postal;Ville;Date de consentement;Source\r\n")
	for i := 0; i < o.N; i++ {
		idx, exp := CRMExposed(o, i)
		if exp {
			exposed++
		}
		p := NewPerson(o.Seed, idx)
		email := p.Email
		if i%5 == 0 {
			email = strings.ToUpper(email[:1]) + email[1:]
		}
		fmt.Fprintf(bw, "%s;%s;%s;%s;%s;%s;%s;%02d/%02d/%d;%s\r\n",
			p.Civility, p.FirstName, strings.ToUpper(p.LastName), email, p.Phone,
			p.PostCode, p.City, 1+i%28, 1+i%12, 2019+i%7, crmSources[i%len(crmSources)])
	}
	if err := bw.Flush(); err != nil {
		return exposed, fmt.Errorf("bench: write crm: %w", err)
	}
	return exposed, nil
}

var crmSources = []string{"Formulaire web", "Salon", "Achat fichier", "Parrainage", "Boutique"}
