package quality

import "strings"

// UnwrapEmail extracts the address from an e-mail cell as exports and
// copy-pastes write it: a "mailto:" prefix, a display name before <addr>
// (accented or quoted), surrounding quotes, brackets or parentheses, and
// trailing punctuation. unwrapped reports that something was removed;
// multiple that the cell holds two or more addresses, whatever separates
// them (comma, semicolon, slash, space, newline, "et"). The address itself
// is not validated.
func UnwrapEmail(s string) (addr string, unwrapped, multiple bool) {
	s = strings.TrimSpace(s)
	if strings.Count(s, "@") >= 2 && countAddresses(s) >= 2 {
		return s, false, true
	}
	orig := s
	for {
		before := s
		s = strings.TrimSpace(s)
		if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
			s = s[7:]
		}
		// Display name <addr>: keep the last bracketed part.
		if gt := strings.LastIndexByte(s, '>'); gt == len(s)-1 {
			if lt := strings.LastIndexByte(s, '<'); lt >= 0 && lt < gt {
				s = s[lt+1 : gt]
			}
		}
		if len(s) >= 2 {
			switch p := s[0:1] + s[len(s)-1:]; p {
			case `""`, "''", "()", "[]", "{}", "<>", "``":
				s = s[1 : len(s)-1]
			}
		}
		s = strings.TrimRight(s, ".,;:")
		if s == before {
			break
		}
	}
	return s, s != orig, false
}

// countAddresses counts the tokens of s that hold an '@' with text on
// both sides, tokens being separated by spaces, commas, semicolons,
// slashes, pipes and newlines.
func countAddresses(s string) int {
	n := 0
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\r', '\n', ',', ';', '/', '|':
			return true
		}
		return false
	}) {
		tok = strings.Trim(tok, `"'<>()[]`)
		if at := strings.IndexByte(tok, '@'); at > 0 && at < len(tok)-1 && strings.Count(tok, "@") == 1 {
			n++
		}
	}
	return n
}
