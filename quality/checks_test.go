package quality

import (
	"fmt"
	"testing"
	"time"
)

func TestCheckEmail(t *testing.T) {
	cases := []struct {
		in         string
		bad        bool
		reason     Reason
		norm, sugg string
		free, role bool
		unwrapped  bool
	}{
		{in: "Jean.Dupont@Gmail.COM", norm: "jean.dupont@gmail.com", free: true},
		{in: " <marie@orange.fr> ", norm: "marie@orange.fr", free: true, unwrapped: true},
		{in: "paul@boulangerie-martin.fr", norm: "paul@boulangerie-martin.fr"},
		{in: "user@bücher.de", norm: "user@xn--bcher-kva.de"},
		{in: "contact@acme.fr", norm: "contact@acme.fr", role: true},
		{in: "secretariat.lyon@acme.fr", norm: "secretariat.lyon@acme.fr", role: true},
		{in: "noreply+x@acme.fr", norm: "noreply+x@acme.fr", role: true},
		{in: "contactez.nous@acme.fr", norm: "contactez.nous@acme.fr"}, // not a role word
		{in: "", bad: true, reason: EmailMissing},
		{in: "a@gmial.com", bad: true, reason: EmailTypo, sugg: "a@gmail.com"},
		{in: "a@hotmail.fe", bad: true, reason: EmailTypo, sugg: "a@hotmail.fr"},
		{in: "a@laposte.nte", bad: true, reason: EmailTypo, sugg: "a@laposte.net"},
		{in: "a@ornage.fr", bad: true, reason: EmailTypo, sugg: "a@orange.fr"},
		{in: "a@orange.fe", bad: true, reason: EmailTypo, sugg: "a@orange.fr"},
		{in: "a@wanadoo.rf", bad: true, reason: EmailTypo, sugg: "a@wanadoo.fr"},
		{in: "a@gmail.con", bad: true, reason: EmailTypo, sugg: "a@gmail.com"},
		{in: "a@msc.com", norm: "a@msc.com"}, // short real domain one edit from msn.com: not a typo
		{in: "a@yopmail.com", bad: true, reason: EmailDisposable},
		{in: "a@mailinator.com", bad: true, reason: EmailDisposable},
		{in: "a@sub.yopmail.com", bad: true, reason: EmailDisposable},
		{in: "jéan@gmail.com", bad: true, reason: EmailNonASCIILocal},
		{in: "Élodie.Martin@orange.fr", bad: true, reason: EmailNonASCIILocal},
		{in: "a..b@gmail.com", bad: true, reason: EmailSyntax},
		{in: ".a@gmail.com", bad: true, reason: EmailSyntax},
		{in: "a.@gmail.com", bad: true, reason: EmailSyntax},
		{in: "a@gmail.c0m", bad: true, reason: EmailSyntax},
		{in: "a@gmail.c", bad: true, reason: EmailSyntax},
		{in: "a@gmail", bad: true, reason: EmailSyntax},
		{in: "a@-x.fr", bad: true, reason: EmailSyntax},
		{in: "a@x_y.fr", bad: true, reason: EmailSyntax},
		{in: "a b@x.fr", bad: true, reason: EmailSyntax},
		{in: "a@@x.fr", bad: true, reason: EmailSyntax},
		{in: "ab", bad: true, reason: EmailSyntax},
		{in: "Jean Dupont <jean@x.fr>", norm: "jean@x.fr", unwrapped: true},
		{in: `"Dupont, Élodie" <Elodie@Orange.fr>`, norm: "elodie@orange.fr", free: true, unwrapped: true},
		{in: "mailto:paul@acme.fr", norm: "paul@acme.fr", unwrapped: true},
		{in: "MAILTO:paul@acme.fr.", norm: "paul@acme.fr", unwrapped: true},
		{in: "'paul@acme.fr'", norm: "paul@acme.fr", unwrapped: true},
		{in: "(paul@acme.fr);", norm: "paul@acme.fr", unwrapped: true},
		{in: "[paul@acme.fr]", norm: "paul@acme.fr", unwrapped: true},
		{in: "a@x.fr, b@y.fr", bad: true, reason: EmailMultiple},
		{in: "a@x.fr;b@y.fr", bad: true, reason: EmailMultiple},
		{in: "a@x.fr / b@y.fr", bad: true, reason: EmailMultiple},
		{in: "a@x.fr et b@y.fr", bad: true, reason: EmailMultiple},
		{in: "a@x.fr\nb@y.fr", bad: true, reason: EmailMultiple},
		// Systematic typos: edit distance from the providers of each market.
		{in: "a@hotmial.be", bad: true, reason: EmailTypo, sugg: "a@hotmail.be"}, // the typed TLD is kept
		{in: "a@bluewim.ch", bad: true, reason: EmailTypo, sugg: "a@bluewin.ch"}, // adjacent key
		{in: "a@hotmal.fe", bad: true, reason: EmailTypo, sugg: "a@hotmail.fr"},  // two edits
		{in: "a@gmail.comm", bad: true, reason: EmailTypo, sugg: "a@gmail.com"},  // TLD insertion
		{in: "a@yayoo.fr", bad: true, reason: EmailTypo, sugg: "a@yahoo.fr"},     // adjacent key, short name
		{in: "a@gmial.com", bad: true, reason: EmailTypo, sugg: "a@gmail.com"},   // even though a public list has it
		{in: "a@hotmail.de", norm: "a@hotmail.de", free: true},                   // another market's provider
		{in: "a@ymail.com", norm: "a@ymail.com", free: true},                     // one edit from gmail.com, real
		{in: "a@gmx.fr", norm: "a@gmx.fr", free: true},
		{in: "a@line.fr", norm: "a@line.fr"},       // not a slip of live.fr (n and v are not neighbours)
		{in: "a@orange.com", norm: "a@orange.com"}, // a real TLD is never a slip
		{in: "service.client@acme.fr", norm: "service.client@acme.fr", role: true},
		{in: "service-client@acme.fr", norm: "service-client@acme.fr", role: true},
		{in: "no-reply@acme.fr", norm: "no-reply@acme.fr", role: true},
		{in: "ressources.humaines@acme.fr", norm: "ressources.humaines@acme.fr", role: true},
		{in: "contact@hotmial.fr", bad: true, reason: EmailTypo, sugg: "contact@hotmail.fr", role: true},
		{in: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.fr", bad: true, reason: EmailSyntax}, // 65
	}
	for _, c := range cases {
		got := CheckEmail(c.in)
		if got.Bad != c.bad || (c.bad && got.Reason != c.reason) {
			t.Errorf("CheckEmail(%q) = bad %v %v, want bad %v %v", c.in, got.Bad, got.Reason, c.bad, c.reason)
			continue
		}
		if !c.bad && (got.Normalized != c.norm || got.Free != c.free || got.Role != c.role) {
			t.Errorf("CheckEmail(%q) = %+v, want norm %q free %v role %v", c.in, got, c.norm, c.free, c.role)
		}
		if got.Suggestion != c.sugg {
			t.Errorf("CheckEmail(%q) suggestion %q, want %q", c.in, got.Suggestion, c.sugg)
		}
		if got.Unwrapped != c.unwrapped || c.bad && got.Role != c.role {
			t.Errorf("CheckEmail(%q) unwrapped %v role %v, want %v %v", c.in, got.Unwrapped, got.Role, c.unwrapped, c.role)
		}
	}
	// vet's per-goroutine domain cache must not change any answer: run the
	// cases twice through one cache (the second pass hits it).
	var cache domainCache
	for pass := range 2 {
		for _, c := range cases {
			if got, want := checkEmail(c.in, &cache), CheckEmail(c.in); got != want {
				t.Errorf("pass %d: checkEmail(%q) with cache = %+v, want %+v", pass, c.in, got, want)
			}
		}
	}
	if len(cache) == 0 {
		t.Error("domain cache unused")
	}
}

func TestCheckPhone(t *testing.T) {
	// Expected E.164 forms written by hand from the national numbering plans.
	cases := []struct {
		raw, country, postcode string
		mobileOnly             bool
		e164                   string
		typ                    PhoneType
		reason                 Reason // 0 with e164 set means valid
	}{
		{"06 12 34 56 78", "", "75001", false, "+33612345678", PhoneMobile, 0},
		{"+33 (0)6 12 34 56 78", "France", "", false, "+33612345678", PhoneMobile, 0},
		{"0033 1 45 67 89 01", "", "", false, "+33145678901", PhoneFixed, 0},
		{"01 45 67 89 01", "", "", false, "+33145678901", PhoneFixed, 0},
		// Belgian and Swiss numbers read with their country column; read
		// as French they would become wrong +33 numbers.
		{"0470 12 34 56", "Belgique", "1000", false, "+32470123456", PhoneMobile, 0},
		{"02 234 56 78", "BE", "1000", false, "+3222345678", PhoneFixed, 0},
		{"079 123 45 67", "Suisse", "1201", false, "+41791234567", PhoneMobile, 0},
		// Overseas departments: region from the postcode.
		{"0690 12 34 56", "", "97110", false, "+590690123456", PhoneMobile, 0},
		{"0696 12 34 56", "", "97200", false, "+596696123456", PhoneMobile, 0},
		{"0694 20 12 34", "", "97300", false, "+594694201234", PhoneMobile, 0},
		{"0692 12 34 56", "", "97400", false, "+262692123456", PhoneMobile, 0},
		{"0639 20 12 34", "", "97600", false, "+262639201234", PhoneMobile, 0},
		{"08 99 12 34 56", "", "", false, "+33899123456", PhonePremiumRate, PhonePremium},
		{"0891 12 34 56", "", "", false, "+33891123456", PhonePremiumRate, PhonePremium},
		// Special-rate numbers: toll-free, shared cost, service (FR 080-088, BE, CH, LU).
		{"0800 12 34 56", "", "", false, "+33800123456", PhoneTollFree, PhoneSpecialRate},
		{"08 09 12 34 56", "", "", false, "+33809123456", PhoneSharedCost, PhoneSpecialRate}, // UAN
		{"0810 12 34 56", "", "", false, "+33810123456", PhoneSharedCost, PhoneSpecialRate},
		{"08 25 12 34 56", "", "", false, "+33825123456", PhoneSharedCost, PhoneSpecialRate},
		{"0800 12 345", "Belgique", "1000", false, "+3280012345", PhoneTollFree, PhoneSpecialRate},
		{"0800 123 456", "Suisse", "1201", false, "+41800123456", PhoneTollFree, PhoneSpecialRate},
		{"0848 123 456", "CH", "1201", false, "+41848123456", PhoneSharedCost, PhoneSpecialRate},
		{"801 12345", "Luxembourg", "", false, "+35280112345", PhoneSharedCost, PhoneSpecialRate},
		{"800 12345", "LU", "", false, "+35280012345", PhoneTollFree, PhoneSpecialRate},
		{"01 45 67 89 01", "", "", true, "+33145678901", PhoneFixed, PhoneNotMobile},
		{"06 12 34", "", "", false, "", 0, PhoneInvalid},
		{"abc", "", "", false, "", 0, PhoneInvalid},
		{"", "", "", true, "", 0, PhoneMissing},
	}
	for _, c := range cases {
		got := CheckPhone(c.raw, PhoneRegion(c.country, c.postcode), c.mobileOnly)
		if got.E164 != c.e164 || (c.e164 != "" && got.Type != c.typ) {
			t.Errorf("CheckPhone(%q, %q/%q) = %s %v, want %s %v", c.raw, c.country, c.postcode, got.E164, got.Type, c.e164, c.typ)
		}
		if got.Bad != (c.reason != 0) || (got.Bad && got.Reason != c.reason) {
			t.Errorf("CheckPhone(%q) bad %v %v, want %v", c.raw, got.Bad, got.Reason, c.reason)
		}
	}
}

func TestCheckName(t *testing.T) {
	cases := []struct {
		in      string
		upper   bool
		want    string
		garbage bool
	}{
		{"  jean-PIERRE  ", false, "Jean-Pierre", false},
		{"marie  claire", false, "Marie Claire", false},
		{"d'artagnan", false, "D'Artagnan", false},
		{"lefèvre", true, "LEFÈVRE", false},
		{"Le  Gall", true, "LE GALL", false},
		{"Test", false, "Test", true},
		{"XXX", true, "XXX", true},
		{"asdf", false, "Asdf", true},
		{"aaaa", false, "Aaaa", true},
		{"Jean2", false, "Jean2", true},
		{"--", false, "--", true},
		{"John Doe", false, "John Doe", true},
		{"Anne", false, "Anne", false},
		{"", false, "", false},
	}
	for _, c := range cases {
		got := CheckName(c.in, c.upper)
		if got.Value != c.want || got.Garbage != c.garbage {
			t.Errorf("CheckName(%q) = %+v, want %q garbage %v", c.in, got, c.want, c.garbage)
		}
	}
}

func TestCheckPostal(t *testing.T) {
	cases := []struct {
		addr, pc, city, region string
		reason                 Reason // 0: valid
		cityOut, line          string
	}{
		{"12 rue de la Paix", "75002", "Paris", "", 0, "PARIS", "75002 PARIS"},
		{"1 av. X", "75008", "Paris Cedex 08", "FR", 0, "PARIS CEDEX 08", "75008 PARIS CEDEX 08"},
		{"1 rue Y", "75015", "paris 15e", "", 0, "PARIS", "75015 PARIS"},
		{"1 rue Y", "69001", "Lyon 1er", "", 0, "LYON", "69001 LYON"},
		{"2 rue Z", "42100", "St-Étienne", "", 0, "SAINT-ETIENNE", "42100 SAINT-ETIENNE"}, // La Poste's libellé, verbatim
		{"2 rue Z", "42000", "SAINT ETIENNE", "", 0, "SAINT-ETIENNE", "42000 SAINT-ETIENNE"},
		{"3 rue W", "1000", "Bourg-en-Bresse", "", 0, "BOURG-EN-BRESSE", "01000 BOURG-EN-BRESSE"}, // lost leading zero
		{"3 rue W", "1000.0", "Bourg-en-Bresse", "", 0, "BOURG-EN-BRESSE", "01000 BOURG-EN-BRESSE"},
		{"3 rue W", " F-75 011 ", "Paris", "FR", 0, "PARIS", "75011 PARIS"},
		{"3 rue W", "FR 75011", "Paris", "", 0, "PARIS", "75011 PARIS"},
		{"3 rue W", "F 75011", "Paris", "", 0, "PARIS", "75011 PARIS"},
		{"3 rue W", "FR-75011", "Paris", "", 0, "PARIS", "75011 PARIS"},
		{"3 rue W", "75011.0", "Paris", "", 0, "PARIS", "75011 PARIS"},
		{"3 rue W", "75116", "Paris 16", "", 0, "PARIS 16", "75116 PARIS 16"}, // RNVP line 6 verbatim
		{"3 rue W", "75116", "PARIS 16EME", "", 0, "PARIS 16", "75116 PARIS 16"},
		{"3 rue W", "69003", "Lyon 3ème", "", 0, "LYON", "69003 LYON"},
		{"3 rue W", "13006", "Marseille 6e", "", 0, "MARSEILLE", "13006 MARSEILLE"},
		{"3 rue W", "", "Paris", "", PostalMissing, "", ""},          // not a format error
		{"3 rue W", "4000", "Liège", "BE", 0, "LIEGE", "4000 LIEGE"}, // 4 digits stay 4 digits
		{"3 rue W", "17000", "La Rochelle", "", 0, "LA ROCHELLE", "17000 LA ROCHELLE"},
		{"3 rue W", "97400", "Saint-Denis", "", 0, "SAINT DENIS", "97400 SAINT DENIS"},
		{"3 rue W", "92099", "La Défense Cedex", "", 0, "LA DEFENSE CEDEX", "92099 LA DEFENSE CEDEX"}, // CEDEX code not in the base
		{"3 rue W", "69001", "Marseille", "", PostalCityMismatch, "", ""},
		{"3 rue W", "99123", "Nulle-Part", "", PostalUnknown, "", ""},
		{"3 rue W", "750", "Paris", "", PostalFormat, "", ""},
		{"3 rue W", "7500A", "Paris", "", PostalFormat, "", ""},
		{"", "", "", "", PostalMissing, "", ""},
		{"1 avenue Louise", "1050", "Bruxelles", "BE", 0, "BRUXELLES", "1050 BRUXELLES"},
	}
	for _, c := range cases {
		got := CheckPostal(c.addr, "", c.pc, c.city, c.region)
		if got.Bad != (c.reason != 0) || got.Bad && got.Reason != c.reason {
			t.Errorf("CheckPostal(%q %q) = bad %v %v, want %v", c.pc, c.city, got.Bad, got.Reason, c.reason)
			continue
		}
		if c.reason == 0 && (got.City != c.cityOut || got.Lines[2] != c.line) {
			t.Errorf("CheckPostal(%q %q) = %q / %q, want %q / %q", c.pc, c.city, got.City, got.Lines[2], c.cityOut, c.line)
		}
	}
}

func TestRNVPLine(t *testing.T) {
	cases := map[string]string{
		"12, rue de l'Église":                                      "12 RUE DE L EGLISE",
		"Résidence « Les Œillets », bât. B":                        "RESIDENCE LES OEILLETS BAT B",
		"145 boulevard du Maréchal de Lattre de Tassigny prolongé": "145 BD DU MAL DE LATTRE DE TASSIGNY",
		"3 avenue du Général de Gaulle et de la Résistance":        "3 AV DU GAL DE GAULLE ET DE LA",
	}
	for in, want := range cases {
		got := RNVPLine(in)
		if got != want || len(got) > 38 {
			t.Errorf("RNVPLine(%q) = %q (%d), want %q", in, got, len(got), want)
		}
	}
}

func TestCheckConsent(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ret := DefaultRetention
	cases := []struct {
		date, source, optin string
		reason              Reason
		want                time.Time
	}{
		{"12/03/2025", "site", "", 0, time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)},
		{"1/3/2025 14:05", "site", "oui", 0, time.Date(2025, 3, 1, 14, 5, 0, 0, time.UTC)},
		{"2025-03-12", "site", "", 0, time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)},
		{"2025-03-12T10:11:12+02:00", "site", "", 0, time.Date(2025, 3, 12, 8, 11, 12, 0, time.UTC)},
		{"2025-03-12 10:11:12", "site", "", 0, time.Date(2025, 3, 12, 10, 11, 12, 0, time.UTC)},
		{"12.03.2025", "site", "", 0, time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)},
		{"", "site", "", ConsentMissing, time.Time{}},
		{"31/02/2025", "site", "", ConsentInvalid, time.Time{}},
		{"hier", "site", "", ConsentInvalid, time.Time{}},
		{"01/12/2026", "site", "", ConsentFuture, time.Time{}},
		{"01/10/2023", "site", "", ConsentExpired, time.Time{}},
		{"12/03/2025", "", "", ConsentNoSource, time.Time{}},
		{"12/03/2025", "site", "non", ConsentRefused, time.Time{}},
	}
	for _, c := range cases {
		got := CheckConsent(c.date, c.source, c.optin, now, ret, true)
		if got.Bad != (c.reason != 0) || got.Bad && got.Reason != c.reason {
			t.Errorf("CheckConsent(%q, %q, %q) = %v %v, want %v", c.date, c.source, c.optin, got.Bad, got.Reason, c.reason)
		}
		if c.reason == 0 && !got.Date.Equal(c.want) {
			t.Errorf("CheckConsent(%q) date %v, want %v", c.date, got.Date, c.want)
		}
	}
}

// TestCheckConsentCalendar: spreadsheet serial days, day-first forms
// with times, placeholder sources and a calendar retention limit. Serial
// days are computed here from time.Date (days since 1899-12-30).
func TestCheckConsentCalendar(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	serial := func(y int, m time.Month, d int) string {
		return fmt.Sprint(int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24))
	}
	oldest := RetentionLimit(now, 3, 0)
	if want := time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC); !oldest.Equal(want) {
		t.Fatalf("RetentionLimit = %v, want %v", oldest, want)
	}
	cases := []struct {
		date, source string
		reason       Reason
		want         time.Time
	}{
		{serial(2025, 3, 12), "site", 0, time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)},
		{"45000", "site", ConsentExpired, time.Time{}}, // 2023-03-15 in any spreadsheet
		{serial(2025, 3, 12) + ",5", "site", 0, time.Date(2025, 3, 12, 12, 0, 0, 0, time.UTC)},
		{serial(2025, 3, 12) + ".75", "site", 0, time.Date(2025, 3, 12, 18, 0, 0, 0, time.UTC)},
		{"5/3/2025 9:05", "site", 0, time.Date(2025, 3, 5, 9, 5, 0, 0, time.UTC)},
		{"05/03/2025 14h30", "site", 0, time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC)},
		{"05-03-2025 14:30:00", "site", 0, time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC)},
		{"05/03/25", "site", 0, time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"2025-03-05T14:30:00.000Z", "site", 0, time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC)},
		// Exactly three years before now's day, even late that day: inside
		// (1096 days because of 2024-02-29); the day before: outside.
		{"01/11/2023", "site", 0, time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"01/11/2023 23:59", "site", 0, time.Date(2023, 11, 1, 23, 59, 0, 0, time.UTC)},
		{serial(2023, 11, 1), "site", 0, time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"31/10/2023 23:59", "site", ConsentExpired, time.Time{}},
		{"2023-10-31", "site", ConsentExpired, time.Time{}},
		{"12345", "site", ConsentInvalid, time.Time{}}, // 1933
		{"123456", "site", ConsentInvalid, time.Time{}},
		{"45000,", "site", ConsentInvalid, time.Time{}},
	}
	for _, src := range []string{"N/A", "inconnue", "inconnu", "?", "-", "n/c", "aucune", "", "  ", "Non renseigné", "NC", "--"} {
		cases = append(cases, struct {
			date, source string
			reason       Reason
			want         time.Time
		}{"12/03/2025", src, ConsentNoSource, time.Time{}})
	}
	for _, c := range cases {
		got := CheckConsentCalendar(c.date, c.source, "", now, oldest, true)
		if got.Bad != (c.reason != 0) || got.Bad && got.Reason != c.reason {
			t.Errorf("CheckConsentCalendar(%q, %q) = %v %v, want %v", c.date, c.source, got.Bad, got.Reason, c.reason)
		}
		if c.reason == 0 && !got.Date.Equal(c.want) {
			t.Errorf("CheckConsentCalendar(%q) date %v, want %v", c.date, got.Date, c.want)
		}
	}
	// Leap days: from 2028-02-29, three years back is 2025-02-28.
	leap := time.Date(2028, 2, 29, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		y, m   int
		want   time.Time
		expire string
	}{
		{3, 0, time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC), "27/02/2025"},
		{4, 0, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "28/02/2024"},
		{2, 6, time.Date(2025, 8, 29, 0, 0, 0, 0, time.UTC), "28/08/2025"},
	} {
		lim := RetentionLimit(leap, c.y, c.m)
		if !lim.Equal(c.want) {
			t.Errorf("RetentionLimit(2028-02-29, %d, %d) = %v, want %v", c.y, c.m, lim, c.want)
		}
		if r := CheckConsentCalendar(c.want.Format("02/01/2006"), "site", "", leap, lim, true); r.Bad {
			t.Errorf("limit day %v rejected: %v", c.want, r.Reason)
		}
		if r := CheckConsentCalendar(c.expire, "site", "", leap, lim, true); r.Reason != ConsentExpired {
			t.Errorf("day before the limit %s: %v %v", c.expire, r.Bad, r.Reason)
		}
	}
}

func TestNearDupRules(t *testing.T) {
	base := dupKeys{First: "JEAN", Last: "MARTIN", Civ: "M", Local: "jean.martin", Domain: "gmail.com",
		Phone: "+33612345678", Mobile: true, Postcode: "75002", Address: "12 RUE DE LA PAIX"}
	mod := func(f func(k *dupKeys)) dupKeys { k := base; f(&k); return k }
	cases := []struct {
		name string
		k    dupKeys
		want bool
	}{
		{"mistyped e-mail", mod(func(k *dupKeys) { k.Local = "jaen.martin"; k.Phone = "" }), true},
		{"mistyped domain", mod(func(k *dupKeys) { k.Domain = "gmial.com"; k.Phone = "" }), true},
		{"mistyped mobile", mod(func(k *dupKeys) { k.Local = "jm"; k.Phone = "+33612345687"; k.Address = "" }), true},
		{"mistyped first name", mod(func(k *dupKeys) { k.First = "JAEN"; k.Local = "x" }), true},
		{"household: other first name, shared landline", mod(func(k *dupKeys) {
			k.First, k.Civ, k.Local, k.Phone, k.Mobile = "MARIE", "F", "marie.martin", "+33145678901", false
		}), false},
		{"gender pair at one address", mod(func(k *dupKeys) { k.First, k.Civ, k.Local = "JEANNE", "", "jeanne.m" }), false},
		{"Louis and Louise", func() dupKeys {
			k := base
			k.First, k.Civ, k.Local = "LOUISE", "", "l.m"
			return k
		}(), false},
		{"homonym: same names, other e-mail, phone and street", mod(func(k *dupKeys) {
			k.Local, k.Phone, k.Address = "jm75", "+33799999999", "3 AVENUE FOCH"
		}), false},
		{"conflicting civility", mod(func(k *dupKeys) { k.Civ = "F" }), false},
		{"same address, mistyped street", mod(func(k *dupKeys) { k.Local, k.Phone, k.Address = "x", "", "12 RUE DE LA PIAX" }), true},
		{"neighbour: other house number", mod(func(k *dupKeys) { k.Local, k.Phone, k.Address = "x", "", "14 RUE DE LA PAIX" }), false},
		{"neighbour: 12 vs 120", mod(func(k *dupKeys) { k.Local, k.Phone, k.Address = "x", "", "120 RUE DE LA PAIX" }), false},
	}
	for _, c := range cases {
		a := base
		if c.name == "Louis and Louise" {
			a.First = "LOUIS"
		}
		if got := nearDup(&a, &c.k); got != c.want {
			t.Errorf("%s: nearDup = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDeduperGroups(t *testing.T) {
	var d deduper
	defer d.free()
	a := dupKeys{First: "JEAN", Last: "MARTIN", Local: "jean.martin", Domain: "gmail.com", Phone: "+33612345678", Mobile: true, Postcode: "75002"}
	if _, dup, _ := d.add(&a, 2); dup {
		t.Fatal("first row is a duplicate")
	}
	b := a
	if r, dup, of := d.add(&b, 3); !dup || r != DupExact || of != 2 {
		t.Errorf("exact copy: %v %v %d", r, dup, of)
	}
	c := a
	c.Local = "jaen.martin"
	if r, dup, of := d.add(&c, 4); !dup || r != DupNear || of != 2 {
		t.Errorf("near copy: %v %v %d", r, dup, of)
	}
	// Chained: close to c (mobile typo) but not to a's e-mail.
	e := c
	e.Local, e.Phone = "jm", "+33612345687"
	if r, dup, of := d.add(&e, 5); !dup || r != DupNear || of != 2 {
		t.Errorf("chained copy: %v %v %d", r, dup, of)
	}
	other := dupKeys{First: "PAUL", Last: "DURAND", Local: "pd", Domain: "free.fr", Postcode: "69001"}
	if _, dup, _ := d.add(&other, 6); dup {
		t.Error("unrelated row flagged")
	}
	if d.groups() != 1 || d.exact != 1 || d.near != 2 {
		t.Errorf("groups %d exact %d near %d", d.groups(), d.exact, d.near)
	}
	// Another person with a's mailbox and mobile (a household): shared
	// contact points, not a duplicate.
	wife := a
	wife.First, wife.Civ = "MARIE", "F"
	if _, dup, _ := d.add(&wife, 7); dup || !d.shared.has(SharedEmail) || !d.shared.has(SharedPhone) {
		t.Errorf("household sharing mailbox and mobile: dup %v shared %b", dup, d.shared)
	}
	// A landline shared is no finding.
	son := dupKeys{First: "LUC", Last: "MARTIN", Phone: "+33144556677", Postcode: "75002"}
	d.add(&son, 8)
	son.First = "LEO"
	if _, dup, _ := d.add(&son, 9); dup || !d.shared.empty() {
		t.Errorf("shared landline: dup %v shared %b", dup, d.shared)
	}
	// A duplicate is never also "shared".
	if _, dup, _ := d.add(&b, 10); !dup || !d.shared.empty() {
		t.Errorf("duplicate: dup %v shared %b", dup, d.shared)
	}
}

// TestParseDateFastMatchesLayouts checks the hand-written fast path
// against time.Parse with the equivalent layouts (the independent
// reference), and that invalid dates fall through to rejection.
func TestParseDateFastMatchesLayouts(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	cases := []struct{ in, layout string }{
		{"12/03/2025", "02/01/2006"}, {"1/3/2025", "2/1/2006"}, {"01-03-2025 14:05", "02-01-2006 15:04"},
		{"29.02.2024 23:59:59", "02.01.2006 15:04:05"}, {"2025-03-12", "2006-01-02"},
		{"2025-03-12T10:11", "2006-01-02T15:04"}, {"2025-03-12 10:11:12", "2006-01-02 15:04:05"},
		{"2025-03-12T10:11:12Z", time.RFC3339}, {"2025-03-12T10:11:12-05:30", time.RFC3339},
		{"2025-03-12T10:11:12.123456+02:00", time.RFC3339Nano},
	}
	for _, c := range cases {
		want, err := time.ParseInLocation(c.layout, c.in, loc)
		if err != nil {
			t.Fatalf("reference %q: %v", c.in, err)
		}
		got, ok := parseDateFast(c.in, loc)
		if !ok || !got.Equal(want) {
			t.Errorf("parseDateFast(%q) = %v %v, want %v", c.in, got, ok, want)
		}
	}
	for _, bad := range []string{"29/02/2025", "31/04/2025", "12/13/2025", "2025-02-30", "12/03/2025 25:00", "2025-03-12T10:11:12+0200x", "12/03-2025"} {
		if _, ok := parseDateFast(bad, loc); ok {
			t.Errorf("parseDateFast(%q) accepted", bad)
		}
		if _, ok := ParseConsentDate(bad, loc); ok {
			t.Errorf("ParseConsentDate(%q) accepted", bad)
		}
	}
}
