package quality

// delimiters are the candidates SniffDelimiter chooses from, in order of
// preference when the evidence is equal (French files use ';').
var delimiters = [...]byte{';', ',', '\t', '|'}

// maxSniffRecords bounds how many records SniffDelimiter examines.
const maxSniffRecords = 100

// SniffDelimiter returns the most likely field delimiter of CSV text among
// ';', ',', tab and '|', looking at up to 100 records of sample. Characters
// inside double-quoted fields (including newlines) are ignored. The
// delimiter that appears the same, non-zero number of times in the most
// records wins; ties go to the higher count, then to the order above. If no
// candidate appears, ';' is returned with ok false.
func SniffDelimiter(sample []byte, atEOF bool) (delim byte, ok bool) {
	var counts [maxSniffRecords][len(delimiters)]int
	n := 0
	inQuote := false
	var cur [len(delimiters)]int
	seen := false
	for i := 0; i < len(sample) && n < maxSniffRecords; i++ {
		c := sample[i]
		if c == '"' {
			inQuote = !inQuote // "" inside quotes toggles twice: fine
			continue
		}
		if inQuote {
			continue
		}
		if c == '\n' {
			if seen {
				counts[n] = cur
				n++
			}
			cur = [len(delimiters)]int{}
			seen = false
			continue
		}
		if c != '\r' {
			seen = true
		}
		for j, d := range delimiters {
			if c == d {
				cur[j]++
			}
		}
	}
	if atEOF && seen && !inQuote && n < maxSniffRecords {
		counts[n] = cur
		n++
	}
	if n == 0 {
		return ';', false
	}
	best, bestScore, bestMode := -1, 0, 0
	for j := range delimiters {
		// Mode of the non-zero counts and how many records have it.
		mode, freq := 0, 0
		for a := 0; a < n; a++ {
			v := counts[a][j]
			if v == 0 || v == mode {
				continue
			}
			f := 0
			for b := 0; b < n; b++ {
				if counts[b][j] == v {
					f++
				}
			}
			if f > freq || f == freq && v > mode {
				mode, freq = v, f
			}
		}
		if mode == 0 {
			continue
		}
		// The header line must contain the delimiter for it to be credible.
		if counts[0][j] == 0 {
			freq /= 2
		}
		if freq > bestScore || freq == bestScore && mode > bestMode {
			best, bestScore, bestMode = j, freq, mode
		}
	}
	if best < 0 {
		return ';', false
	}
	return delimiters[best], true
}
