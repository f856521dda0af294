// Command gendata regenerates quality's embedded reference data from
// maintained public npm packages:
//
//   - data/postcodes.tsv.gz from codes-postaux (MIT; La Poste's base
//     officielle des codes postaux joined with INSEE's commune names):
//     one "postcode TAB commune name TAB libellé d'acheminement" line per
//     distinct triple, sorted;
//   - data/disposable.txt.gz from disposable-email-domains and mailchecker
//     (both MIT): one lower-case domain a line, sorted, deduplicated, minus
//     an allowlist of large mailbox providers;
//   - data/firstnames.txt.gz from gender-detection-from-name (MIT), its
//     French list names/fr.js: one "name TAB m|f|mf" line per distinct
//     lower-case first name, sorted.
//
// Every file starts with "#" lines naming the source packages, their
// versions and the generation date. Usage (from the repository root):
//
//	mkdir /tmp/npmdata && cd /tmp/npmdata && npm install codes-postaux disposable-email-domains mailchecker gender-detection-from-name
//	go run ./quality/internal/gendata -node /tmp/npmdata/node_modules -out quality/data
//
// -only NAME (postcodes, disposable or firstnames) regenerates one file.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// neverDisposable are large genuine mailbox providers; an upstream list
// that ever included one would reject real prospects.
var neverDisposable = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "hotmail.com": true, "hotmail.fr": true, "outlook.com": true,
	"outlook.fr": true, "live.fr": true, "live.com": true, "yahoo.fr": true, "yahoo.com": true, "orange.fr": true,
	"wanadoo.fr": true, "free.fr": true, "sfr.fr": true, "laposte.net": true, "icloud.com": true, "me.com": true,
	"aol.com": true, "msn.com": true, "gmx.fr": true, "gmx.com": true, "neuf.fr": true, "bbox.fr": true,
	"protonmail.com": true, "proton.me": true, "numericable.fr": true, "club-internet.fr": true,
}

func main() {
	node := flag.String("node", "", "node_modules directory holding the npm packages")
	out := flag.String("out", "quality/data", "output directory")
	only := flag.String("only", "", "regenerate only this file: postcodes, disposable or firstnames")
	flag.Parse()
	if *node == "" {
		log.Fatal("gendata: -node is required")
	}
	date := time.Now().UTC().Format("2006-01-02")
	for _, g := range []struct {
		name string
		fn   func(node, out, date string) error
	}{{"postcodes", postcodes}, {"disposable", disposable}, {"firstnames", firstnames}} {
		if *only != "" && *only != g.name {
			continue
		}
		if err := g.fn(*node, *out, date); err != nil {
			log.Fatal(err)
		}
	}
}

// firstNameRe matches one entry of gender-detection-from-name's lists:
// ['name', 'male'].
var firstNameRe = regexp.MustCompile(`\['([^']+)',\s*'(male|female)'\]`)

func firstnames(node, out, date string) error {
	const pkg = "gender-detection-from-name"
	v, err := version(node, pkg)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(node, pkg, "names", "fr.js"))
	if err != nil {
		return err
	}
	genders := map[string]string{}
	for _, m := range firstNameRe.FindAllSubmatch(b, -1) {
		name := strings.ToLower(strings.TrimSpace(string(m[1])))
		g := "m"
		if string(m[2]) == "female" {
			g = "f"
		}
		switch old := genders[name]; {
		case old == "":
			genders[name] = g
		case old != g:
			genders[name] = "mf"
		}
	}
	if len(genders) < 10000 {
		return fmt.Errorf("%s names/fr.js: only %d names", pkg, len(genders))
	}
	lines := make([]string, 0, len(genders))
	for n, g := range genders {
		lines = append(lines, n+"\t"+g)
	}
	sort.Strings(lines)
	hdr := fmt.Sprintf("# French first names: npm %s %s, file names/fr.js, generated %s by quality/internal/gendata\n# first name (lower case)\tgender (m, f or mf)\n", pkg, v, date)
	return writeGz(filepath.Join(out, "firstnames.txt.gz"), hdr, lines)
}

func version(node, pkg string) (string, error) {
	b, err := os.ReadFile(filepath.Join(node, pkg, "package.json"))
	if err != nil {
		return "", err
	}
	var p struct{ Version, License string }
	if err := json.Unmarshal(b, &p); err != nil {
		return "", fmt.Errorf("%s package.json: %w", pkg, err)
	}
	return p.Version + " (" + p.License + ")", nil
}

func postcodes(node, out, date string) error {
	v, err := version(node, "codes-postaux")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(node, "codes-postaux", "codes-postaux.json"))
	if err != nil {
		return err
	}
	var recs []struct {
		CodePostal          string `json:"codePostal"`
		NomCommune          string `json:"nomCommune"`
		LibelleAcheminement string `json:"libelleAcheminement"`
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		return fmt.Errorf("codes-postaux.json: %w", err)
	}
	seen := map[string]bool{}
	var lines []string
	for _, r := range recs {
		if len(r.CodePostal) != 5 || strings.ContainsAny(r.NomCommune+r.LibelleAcheminement, "\t\n") {
			continue
		}
		l := r.CodePostal + "\t" + r.NomCommune + "\t" + r.LibelleAcheminement
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	hdr := fmt.Sprintf("# French postcodes: npm codes-postaux %s, file codes-postaux.json, generated %s by quality/internal/gendata\n# postcode\tcommune\tlibellé d'acheminement\n", v, date)
	return writeGz(filepath.Join(out, "postcodes.tsv.gz"), hdr, lines)
}

var setRE = regexp.MustCompile(`new Set\((\[[^\]]*\])\)`)

func disposable(node, out, date string) error {
	v1, err := version(node, "disposable-email-domains")
	if err != nil {
		return err
	}
	v2, err := version(node, "mailchecker")
	if err != nil {
		return err
	}
	var a []string
	b, err := os.ReadFile(filepath.Join(node, "disposable-email-domains", "index.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("disposable-email-domains index.json: %w", err)
	}
	js, err := os.ReadFile(filepath.Join(node, "mailchecker", "platform", "node", "index.js"))
	if err != nil {
		return err
	}
	m := setRE.FindSubmatch(js)
	if m == nil {
		return fmt.Errorf("mailchecker: no blacklist Set found")
	}
	var c []string
	if err := json.Unmarshal(m[1], &c); err != nil {
		return fmt.Errorf("mailchecker blacklist: %w", err)
	}
	seen := map[string]bool{}
	var lines []string
	for _, d := range append(a, c...) {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || seen[d] || neverDisposable[d] || strings.ContainsAny(d, " \t#") {
			continue
		}
		seen[d] = true
		lines = append(lines, d)
	}
	sort.Strings(lines)
	hdr := fmt.Sprintf("# Disposable e-mail domains: npm disposable-email-domains %s (index.json) + mailchecker %s (platform/node/index.js), generated %s by quality/internal/gendata\n", v1, v2, date)
	return writeGz(filepath.Join(out, "disposable.txt.gz"), hdr, lines)
}

func writeGz(path, header string, lines []string) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.Write([]byte(header))
	for _, l := range lines {
		zw.Write([]byte(l))
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	log.Printf("%s: %d lines, %d bytes", path, len(lines), buf.Len())
	return os.Rename(tmp, path)
}
