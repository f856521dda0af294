package quality

// JaroWinkler returns the Jaro-Winkler similarity of a and b in [0, 1]
// (Winkler 1990: prefix scale 0.1, common prefix up to 4), comparing runes.
// It allocates nothing for strings up to 64 runes.
func JaroWinkler(a, b string) float64 {
	var ra, rb [64]rune
	x, y := toRunes(a, ra[:0]), toRunes(b, rb[:0])
	j := jaro(x, y)
	if j <= 0.7 {
		return j
	}
	l := 0
	for l < 4 && l < len(x) && l < len(y) && x[l] == y[l] {
		l++
	}
	return j + float64(l)*0.1*(1-j)
}

func toRunes(s string, buf []rune) []rune {
	for _, r := range s {
		buf = append(buf, r)
	}
	return buf
}

func jaro(a, b []rune) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	window := max(len(a), len(b))/2 - 1
	if window < 0 {
		window = 0
	}
	var ma, mb [64]bool
	var matchA, matchB []bool
	if len(a) > 64 || len(b) > 64 {
		matchA, matchB = make([]bool, len(a)), make([]bool, len(b))
	} else {
		matchA, matchB = ma[:len(a)], mb[:len(b)]
	}
	m := 0
	for i := range a {
		lo, hi := max(0, i-window), min(len(b), i+window+1)
		for k := lo; k < hi; k++ {
			if !matchB[k] && a[i] == b[k] {
				matchA[i], matchB[k] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, k := 0, 0
	for i := range a {
		if !matchA[i] {
			continue
		}
		for !matchB[k] {
			k++
		}
		if a[i] != b[k] {
			t++
		}
		k++
	}
	fm := float64(m)
	return (fm/float64(len(a)) + fm/float64(len(b)) + (fm-float64(t)/2)/fm) / 3
}

// Levenshtein returns the edit distance (insertions, deletions,
// substitutions) between a and b, in runes.
func Levenshtein(a, b string) int { return editDistance(a, b, false) }

// OSADistance returns the optimal string alignment distance (the restricted
// Damerau-Levenshtein distance): Levenshtein plus transpositions of two
// adjacent runes, no substring edited twice. "gmial" is 1 from "gmail".
func OSADistance(a, b string) int { return editDistance(a, b, true) }

// osaAtMost1 reports whether OSADistance(a, b) <= 1 in linear time without
// the dynamic programme: a and b are equal, or one substitution,
// insertion, deletion or adjacent transposition apart. Duplicate
// detection asks only this question, many times a row.
func osaAtMost1(a, b string) bool {
	if a == b {
		return true
	}
	if hasNonASCII(a) || hasNonASCII(b) {
		return OSADistance(a, b) <= 1 // runes, not bytes
	}
	if d := len(a) - len(b); d > 1 || d < -1 {
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if len(a) != len(b) { // one deletion from a
		return a[i+1:] == b[i:]
	}
	if a[i+1:] == b[i+1:] { // one substitution
		return true
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

func editDistance(as, bs string, transpose bool) int {
	var ra, rb [64]rune
	a, b := toRunes(as, ra[:0]), toRunes(bs, rb[:0])
	if len(a) == 0 {
		return len(b)
	}
	if len(b) == 0 {
		return len(a)
	}
	// Three rolling rows of len(b)+1.
	var buf [3 * 65]int
	var rows []int
	if len(b) < 65 {
		rows = buf[:3*(len(b)+1)]
	} else {
		rows = make([]int, 3*(len(b)+1))
	}
	w := len(b) + 1
	prev2, prev, cur := rows[:w], rows[w:2*w], rows[2*w:]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if transpose && i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
