package quality

import "strings"

// sensitiveStems start words naming special-category data (GDPR art. 9:
// health, religion, political opinions, union membership, sexual life or
// orientation, ethnic origin, genetics; art. 10: criminal records), French
// and English, upper case without accents as wordsKey gives them.
var sensitiveStems = []string{
	// Health.
	"MALADIE", "MALADE", "DIABET", "CANCER", "ENCEINTE", "GROSSESSE", "HANDICAP", "MEDICAL", "MEDICAMENT",
	"HOPITAL", "HOSPITALIS", "PSYCHIATR", "PSYCHOLOG", "DEPRESSI", "ALZHEIMER", "PARKINSON", "ASTHM",
	"CHIMIO", "DIALYS", "INVALIDIT", "SEROPOSITI", "PREGNAN", "DISABILIT", "DISABLED", "ILLNESS",
	"THERAP", "TUMEUR", "TUMOR", "AUTIS", "EPILEP", "ADDICT", "ALCOOLI", "ALCOHOLI",
	// Religion.
	"RELIGI", "MUSULMAN", "CATHOLI", "CHRETIEN", "PROTESTANT", "BOUDDHIS", "BUDDHIS", "SYNAGOGUE",
	"MOSQUEE", "RAMADAN", "MUSLIM", "JEWISH", "CHRISTIAN", "ATHEE", "ATHEIS", "EVANGELI", "TEMOIN DE JEHOVAH",
	// Politics.
	"POLITIQU", "POLITICA", "MILITANT", "ELECTEUR", "ELECTRICE", "SOCIALISTE", "COMMUNISTE", "ECOLOGISTE",
	"FRONT NATIONAL", "RASSEMBLEMENT NATIONAL", "INSOUMIS", "REPUBLICAN", "DEMOCRAT",
	// Union membership.
	"SYNDICA", "SYNDIQU", "TRADE UNION", "UNION MEMBER",
	// Sexual life and orientation.
	"SEXUEL", "SEXUAL", "HOMOSEX", "LESBIEN", "BISEXU", "TRANSGENRE", "TRANSGENDER",
	// Ethnic origin, genetics.
	"ETHNI", "GENETIQU", "GENETIC",
	// Criminal records.
	"CASIER JUDICIAIRE", "CONDAMN", "PRISON", "INCARCER", "DETENU", "CRIMINAL", "CRIMINEL", "CONVICT",
	"FELONY", "PROBATION",
}

// sensitiveWords are short words matched whole.
var sensitiveWords = map[string]bool{
	"VIH": true, "SIDA": true, "HIV": true, "AIDS": true, "CGT": true, "CFDT": true, "CFTC": true,
	"GAY": true, "GAYS": true, "LGBT": true, "LGBTQ": true, "JUIF": true, "JUIVE": true, "JUIFS": true,
	"JEW": true, "HALAL": true, "CASHER": true, "KOSHER": true, "VOTE": true, "VOTES": true, "SANTE": true,
	"HEALTH": true, "RACE": true, "DELIT": true, "PARTI": true,
}

// IsSensitiveComment reports whether a free-text comment mentions
// special-category data. It errs towards flagging: the finding is a
// warning asking the buyer to drop the comment.
func IsSensitiveComment(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	k := wordsKey(s, ' ')
	for pos := 0; pos < len(k); {
		end := strings.IndexByte(k[pos:], ' ')
		if end < 0 {
			end = len(k)
		} else {
			end += pos
		}
		w := k[pos:end]
		if sensitiveWords[w] {
			return true
		}
		if len(w) >= 4 {
			for _, st := range stemsByPrefix[w[:4]] {
				if strings.HasPrefix(k[pos:], st) {
					return true
				}
			}
		}
		pos = end + 1
	}
	return false
}

// stemsByPrefix indexes sensitiveStems by their first four letters.
var stemsByPrefix = func() map[string][]string {
	m := map[string][]string{}
	for _, st := range sensitiveStems {
		m[st[:4]] = append(m[st[:4]], st)
	}
	return m
}()
