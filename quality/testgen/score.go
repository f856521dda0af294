package testgen

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Scores are vet's accuracy on a generated file, measured against the
// truth by Score.
type Scores struct {
	Rows int // data rows scored

	// E-mail rejects: a row counts as rejected for its e-mail when vet
	// gives it an email.* code other than email.role / email.unwrapped.
	EmailTP, EmailFP, EmailFN     int
	EmailPrecision, EmailRecall   float64
	SuggestRight, SuggestExpected int // typo corrections given as expected

	// Duplicates, pairwise over all rows: a pair is predicted when vet
	// links the two rows into one group (transitively), true when they
	// are one person.
	PairTP, PairFP, PairFN    int
	PairPrecision, PairRecall float64
	PairF1                    float64
	// Households and homonyms merged with the row they resemble.
	FalseMerges, Lookalikes int
	FalseMergeRate          float64

	// Status accuracy: the row's consent.* (postal.*) code, or none,
	// equals the expected one. Malformed records are not scored.
	ConsentRight, AddressRight, FieldRows int
	ConsentAccuracy, AddressAccuracy      float64
}

var dupDetail = regexp.MustCompile(`duplicate of line (\d+)`)

// vetRow is what Score reads back about one source line.
type vetRow struct {
	codes []string
	dupOf int    // line of the row it was linked to, 0 if none
	sugg  string // "suggest ADDR" detail
}

// Score reads vet's clean.csv and rejects.csv and scores them against
// the truth (which must hold Detail: at most MaxTruthLines rows). It
// relies only on the files' documented columns: source_line, reasons
// (rejects) or warnings (clean), details, and dup_of when present (else
// the "duplicate of line N" detail). It shares no code with vet.
func Score(tr Truth, clean, rejects io.Reader) (Scores, error) {
	var s Scores
	if tr.Detail == nil {
		return s, fmt.Errorf("testgen: truth has no row detail (more than %d rows)", MaxTruthLines)
	}
	rows := map[int]*vetRow{}
	if err := readVetCSV(rejects, "rejects.csv", "reasons", rows); err != nil {
		return s, err
	}
	if err := readVetCSV(clean, "clean.csv", "warnings", rows); err != nil {
		return s, err
	}
	// Union-find over source lines for vet's groups.
	parent := map[int]int{}
	var find func(int) int
	find = func(x int) int {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for line, v := range rows {
		if v.dupOf > 0 && v.dupOf != line {
			a, b := find(line), find(v.dupOf)
			if a != b {
				parent[a] = b
			}
		}
	}
	type cell struct{ group, entity int }
	cells := map[cell]int{}
	groups := map[int]int{}
	entities := map[int]int{}
	for _, rt := range tr.Detail {
		s.Rows++
		g := find(rt.Line)
		cells[cell{g, rt.Entity}]++
		groups[g]++
		entities[rt.Entity]++
		v := rows[rt.Line]
		if v == nil {
			v = &vetRow{}
		}
		if rt.Kind != "" && rt.Twin > 0 {
			s.Lookalikes++
			if find(rt.Twin) == g {
				s.FalseMerges++
			}
		}
		if rt.Unscored {
			continue
		}
		s.FieldRows++
		emailBad, consent, postal := false, "", ""
		for _, c := range v.codes {
			switch {
			case strings.HasPrefix(c, "email.") && c != "email.role" && c != "email.unwrapped":
				emailBad = true
			case strings.HasPrefix(c, "consent.") && consent == "":
				consent = c
			case strings.HasPrefix(c, "postal.") && postal == "":
				postal = c
			}
		}
		switch {
		case emailBad && rt.EmailBad:
			s.EmailTP++
		case emailBad:
			s.EmailFP++
		case rt.EmailBad:
			s.EmailFN++
		}
		if rt.Suggest != "" {
			s.SuggestExpected++
			if v.sugg == rt.Suggest {
				s.SuggestRight++
			}
		}
		if consent == rt.Consent {
			s.ConsentRight++
		}
		if postal == rt.Postal {
			s.AddressRight++
		}
	}
	pairs := func(n int) int { return n * (n - 1) / 2 }
	predicted, truth := 0, 0
	for _, n := range cells {
		s.PairTP += pairs(n)
	}
	for _, n := range groups {
		predicted += pairs(n)
	}
	for _, n := range entities {
		truth += pairs(n)
	}
	s.PairFP, s.PairFN = predicted-s.PairTP, truth-s.PairTP
	s.EmailPrecision = ratio(s.EmailTP, s.EmailTP+s.EmailFP)
	s.EmailRecall = ratio(s.EmailTP, s.EmailTP+s.EmailFN)
	s.PairPrecision = ratio(s.PairTP, predicted)
	s.PairRecall = ratio(s.PairTP, truth)
	if s.PairPrecision+s.PairRecall > 0 {
		s.PairF1 = 2 * s.PairPrecision * s.PairRecall / (s.PairPrecision + s.PairRecall)
	}
	s.FalseMergeRate = ratio(s.FalseMerges, s.Lookalikes)
	s.ConsentAccuracy = ratio(s.ConsentRight, s.FieldRows)
	s.AddressAccuracy = ratio(s.AddressRight, s.FieldRows)
	return s, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// readVetCSV reads one of vet's outputs into rows.
func readVetCSV(r io.Reader, name, codesCol string, rows map[int]*vetRow) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("testgen: reading %s header: %w", name, err)
	}
	// vet appends its columns after the input's, and a record with extra
	// or missing cells shifts them: columns are counted from the end.
	col := map[string]int{}
	for i, h := range head {
		col[h] = len(head) - i // the last column of a name wins
	}
	li, ok := col["source_line"]
	ci, ok2 := col[codesCol]
	if !ok || !ok2 {
		return fmt.Errorf("testgen: %s has no source_line or %s column", name, codesCol)
	}
	di, hasDetail := col["details"]
	dupi, hasDup := col["dup_of"]
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("testgen: %s record %d: %w", name, n, err)
		}
		at := func(i int) string {
			if i <= 0 || i > len(rec) {
				return ""
			}
			return rec[len(rec)-i]
		}
		line, err := strconv.Atoi(at(li))
		if err != nil {
			return fmt.Errorf("testgen: %s record %d: source_line %q", name, n, at(li))
		}
		v := &vetRow{}
		if c := at(ci); c != "" {
			v.codes = strings.Split(c, "|")
		}
		detail := ""
		if hasDetail {
			detail = at(di)
		}
		if d := at(dupi); hasDup && d != "" {
			v.dupOf, _ = strconv.Atoi(d)
		} else if m := dupDetail.FindStringSubmatch(detail); m != nil {
			v.dupOf, _ = strconv.Atoi(m[1])
		}
		for _, part := range strings.Split(detail, "; ") {
			if a, ok := strings.CutPrefix(part, "suggest "); ok {
				v.sugg = a
			}
		}
		rows[line] = v
	}
}

// String formats the scores as the closing note's table rows.
func (s Scores) String() string {
	return fmt.Sprintf("rows %d\nemail reject precision %.4f recall %.4f (TP %d FP %d FN %d; typo suggestions %d/%d)\n"+
		"duplicate pairs precision %.4f recall %.4f F1 %.4f (TP %d FP %d FN %d)\n"+
		"false merges %d/%d lookalikes (%.4f)\nconsent status accuracy %.4f, address status accuracy %.4f (%d rows)\n",
		s.Rows, s.EmailPrecision, s.EmailRecall, s.EmailTP, s.EmailFP, s.EmailFN, s.SuggestRight, s.SuggestExpected,
		s.PairPrecision, s.PairRecall, s.PairF1, s.PairTP, s.PairFP, s.PairFN,
		s.FalseMerges, s.Lookalikes, s.FalseMergeRate, s.ConsentAccuracy, s.AddressAccuracy, s.FieldRows)
}
