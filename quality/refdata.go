package quality

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"strings"
	"sync"
)

//go:embed data/postcodes.tsv.gz data/disposable.txt.gz data/firstnames.txt.gz
var dataFS embed.FS

// readGzLines calls fn for every non-comment line of an embedded gzip file.
func readGzLines(name string, fn func(string)) {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		panic("quality: embedded " + name + ": " + err.Error())
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic("quality: embedded " + name + ": " + err.Error())
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		fn(l)
	}
	if err := sc.Err(); err != nil {
		panic("quality: embedded " + name + ": " + err.Error())
	}
}

// dataSource returns the "#" header lines of an embedded data file.
func dataSource(name string) string {
	b, _ := dataFS.ReadFile(name)
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(zr)
	if sc.Scan() {
		return strings.TrimPrefix(sc.Text(), "# ")
	}
	return ""
}

// DataSources describes the embedded reference data: source packages,
// versions and generation dates.
func DataSources() []string {
	return []string{dataSource("data/postcodes.tsv.gz"), dataSource("data/disposable.txt.gz"), dataSource("data/firstnames.txt.gz")}
}

// firstNames is the embedded French first-name list, keyed as wordsKey
// folds names (upper case, no accents, no separators).
var firstNames = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 40000)
	readGzLines("data/firstnames.txt.gz", func(l string) {
		name, _, _ := strings.Cut(l, "\t")
		m[wordsKey(name, 0)] = struct{}{}
	})
	return m
})

// IsFirstName reports whether s is a known French first name: the whole
// cell, or each of its words ("Jean Pierre", "Marie-Claire").
func IsFirstName(s string) bool { return isFirstNameKey(s, wordsKey(s, 0)) }

// isFirstNameKey is IsFirstName with s's wordsKey(s, 0) already known.
func isFirstNameKey(s, key string) bool {
	set := firstNames()
	if _, ok := set[key]; ok {
		return true
	}
	if !strings.ContainsAny(s, " -'") {
		return false
	}
	words := strings.Fields(wordsKey(s, ' '))
	if len(words) < 2 {
		return false
	}
	for _, w := range words {
		if _, ok := set[w]; !ok {
			return false
		}
	}
	return true
}

var disposableSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 150000)
	readGzLines("data/disposable.txt.gz", func(l string) { m[l] = struct{}{} })
	return m
})

// IsDisposableDomain reports whether the ASCII, lower-case domain or one of
// its parent domains is a known disposable e-mail provider.
func IsDisposableDomain(domain string) bool {
	set := disposableSet()
	for {
		if _, ok := set[domain]; ok {
			return true
		}
		i := strings.IndexByte(domain, '.')
		if i < 0 || strings.IndexByte(domain[i+1:], '.') < 0 {
			return false
		}
		domain = domain[i+1:]
	}
}

// commune is one postcode's commune in the embedded base.
type commune struct {
	key          string // cityKey of the commune name
	keyAch       string // cityKey of the libellé d'acheminement
	name         string // commune name as published
	acheminement string // libellé d'acheminement (upper case, no accents)
}

type postcodeBase struct {
	byCode map[string][]commune
	depts  map[string]bool // "75", "2A", "971"... seen in the base
}

var postcodes = sync.OnceValue(func() *postcodeBase {
	pb := &postcodeBase{byCode: make(map[string][]commune, 7000), depts: map[string]bool{}}
	readGzLines("data/postcodes.tsv.gz", func(l string) {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			return
		}
		pb.byCode[f[0]] = append(pb.byCode[f[0]], commune{key: cityKey(f[1]), keyAch: cityKey(f[2]), name: f[1], acheminement: f[2]})
		pb.depts[deptOf(f[0])] = true
	})
	return pb
})

// deptOf returns the department part of a French postcode: three digits
// for overseas (97x, 98x), two otherwise.
func deptOf(pc string) string {
	if strings.HasPrefix(pc, "97") || strings.HasPrefix(pc, "98") {
		return pc[:3]
	}
	return pc[:2]
}
