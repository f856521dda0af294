package quality

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// mojibakeMarks are what UTF-8 accents look like when read as
// Windows-1252: "é" becomes "Ã©", "à" "Ã ", "’" "â€™"...
var mojibakeMarks = []string{"Ã", "Â", "â€"}

// RepairMojibake undoes UTF-8 text that was decoded as Windows-1252
// ("FranÃ§ois" -> "François"). It returns s and false when s shows no
// such mark, or when re-encoding it as Windows-1252 does not give valid
// UTF-8 that differs (real "Ã" in Portuguese names stays).
func RepairMojibake(s string) (string, bool) {
	if s == "" || isASCII(s) {
		return s, false
	}
	found := false
	for _, m := range mojibakeMarks {
		if strings.Contains(s, m) {
			found = true
			break
		}
	}
	if !found {
		return s, false
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x80 {
			b = append(b, byte(r))
			continue
		}
		c, ok := charmap.Windows1252.EncodeRune(r)
		if !ok {
			return s, false
		}
		b = append(b, c)
	}
	if !utf8.Valid(b) || string(b) == s {
		return s, false
	}
	return string(b), true
}
