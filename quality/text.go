package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// latinFold maps runes below 0x250 (Latin-1 Supplement, Latin Extended-A
// and -B) to their upper-case ASCII letters without diacritics ("é" -> "E",
// "œ" -> "OE"); "" for runes that are not letters or digits. Built from
// Unicode canonical decompositions.
var latinFold = func() (t [0x250]string) {
	for r := rune(0); r < 0x250; r++ {
		switch {
		case r < 0x80:
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				t[r] = strings.ToUpper(string(r))
			}
			continue
		case r == 'œ' || r == 'Œ':
			t[r] = "OE"
			continue
		case r == 'æ' || r == 'Æ':
			t[r] = "AE"
			continue
		case r == 'ß':
			t[r] = "SS"
			continue
		case r == 'ø' || r == 'Ø':
			t[r] = "O"
			continue
		case r == 'đ' || r == 'Đ':
			t[r] = "D"
			continue
		case r == 'ł' || r == 'Ł':
			t[r] = "L"
			continue
		}
		var b strings.Builder
		for _, d := range norm.NFD.String(string(r)) {
			if d < 0x80 && (d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9') {
				b.WriteRune(unicode.ToUpper(d))
			}
		}
		t[r] = b.String()
	}
	return t
}()

// asciiFold is latinFold for ASCII, where every entry is one byte or ""
// (here 0).
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		if f := latinFold[c]; f != "" {
			t[c] = f[0]
		}
	}
	return t
}()

// appendKey appends the words of s to dst, folded to upper-case ASCII
// without diacritics and separated by sep (0 for none). Characters other
// than letters and digits separate words; with keepOther, letters and
// digits outside the Latin table are kept (upper-cased) instead.
func appendKey(dst []byte, s string, sep byte, keepOther bool) []byte {
	pending := false
	start := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // ASCII: latinFold as one byte, 0 for ""
			i++
			u := asciiFold[c]
			if u == 0 {
				pending = true
				continue
			}
			if pending && len(dst) > start && sep != 0 {
				dst = append(dst, sep)
			}
			pending = false
			dst = append(dst, u)
			continue
		}
		var f string
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < 0x250 {
			f = latinFold[r]
		} else if keepOther && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			f = string(unicode.ToUpper(r))
		} else if unicode.Is(unicode.Mn, r) {
			continue // a combining accent after its letter
		}
		if f == "" {
			pending = true
			continue
		}
		if pending && len(dst) > start && sep != 0 {
			dst = append(dst, sep)
		}
		pending = false
		dst = append(dst, f...)
	}
	return dst
}

// wordsKey returns appendKey's result as a string, reusing s when it is
// already in that form.
func wordsKey(s string, sep byte) string {
	var buf [128]byte
	b := appendKey(buf[:0], s, sep, false)
	if string(b) == s {
		return s
	}
	return string(b)
}

// upperASCII folds s to upper-case words without diacritics, one space
// between words: "  Saint-Étienne " -> "SAINT ETIENNE".
func upperASCII(s string) string { return wordsKey(s, ' ') }

// cityKey is a commune name's comparison key: upper case, no accents,
// SAINT/SAINTE as ST/STE, articles, arrondissement numbers and CEDEX
// mentions dropped, no spaces. "Saint-Étienne", "ST ETIENNE" and
// "St-Etienne Cedex 2" share one key.
func cityKey(s string) string {
	var out [128]byte
	return string(appendCityKey(out[:0], s))
}

// appendCityKey appends cityKey(s) to o.
func appendCityKey(o []byte, s string) []byte {
	var buf [128]byte
	k := appendKey(buf[:0], s, ' ', false)
	for len(k) > 0 {
		var w []byte
		if i := indexByte(k, ' '); i >= 0 {
			w, k = k[:i], k[i+1:]
		} else {
			w, k = k, nil
		}
		ws := unsafeString(w)
		switch ws {
		case "CEDEX":
			continue
		case "SAINT":
			ws = "ST"
		case "SAINTE":
			ws = "STE"
		case "LE", "LA", "LES", "L", "ARRONDISSEMENT", "ARR":
			continue
		}
		if isDigits(ws) || isOrdinal(ws) {
			continue // "Paris 8e", "Lyon 03", "Marseille 1er", "Cedex 2"
		}
		o = append(o, ws...)
	}
	return o
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// isOrdinal reports a French ordinal like 8E, 1ER, 2EME.
func isOrdinal(w string) bool {
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	if i == 0 {
		return false
	}
	switch w[i:] {
	case "E", "ER", "EME", "EMES":
		return true
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hasCedex reports whether a city cell carries a CEDEX mention.
func hasCedex(s string) bool {
	if !strings.Contains(s, "edex") && !strings.Contains(s, "EDEX") {
		return false
	}
	k := " " + upperASCII(s) + " "
	return strings.Contains(k, " CEDEX ")
}

// collapseSpaces trims s and turns every run of white space into one space.
func collapseSpaces(s string) string {
	if s == "" {
		return s
	}
	clean := true
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		sp := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
		if sp && (c != ' ' || prevSpace) || c >= utf8.RuneSelf {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
