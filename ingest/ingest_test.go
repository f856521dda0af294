package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pwndex/pwndex/index"
)

// Frozen expectations, computed at authoring time with Python hashlib
// (SHA-1) and `iconv -t UTF-16LE | openssl dgst -provider legacy -md4`
// (NTLM), from the plaintexts named in the comments.
var (
	// Pwned Passwords fixture (testdata/hibp-*.txt and hibp-*-dir).
	hibpSHA1 = map[string]uint64{
		"041B9F35894E40F8F10E91E87DA7CBE84D0C2F02": 7,      // été2024
		"45C8586A626DDABD233951066138D0EFA7F4EB9D": 178240, // soleil
		sha1Password: 3730471, // password
		"7C4A8D09CA3762AF61E59520943DC26494F8941B": 209972844, // 123456
		"940C0F26FD5A30775BB1CBD1F6840398D39BB813": 93823,     // motdepasse
		sha1Azerty: 702291, // azerty
	}
	hibpNTLM = map[string]uint64{
		"32ED87BDB5FDC5E9CBA88547376818D4": 209972844, // 123456
		"5CA5F6044A81925EC90FA13BCDA38C5B": 7,         // été2024
		ntlmPassword:                       3730471,   // password
		"A721B8F115C550EEC382FCA9548BF996": 178240,    // soleil
		"BFAD8787F5DC64B730028C20A64EBA94": 702291,    // azerty
		"EB1FCB1CA1F970B1961B0F70F687B8ED": 93823,     // motdepasse
	}
	// SHA-1 of normalised e-mail addresses and E.164 phone numbers.
	emailElodie  = "1F224B687602FC810A0F4DC0AC68108820FC1B77" // elodie.dupont@exemple.fr
	emailJerome  = "854C7A3A242199403007EFDBF6D6BA001DFB305F" // jerome.martin@orange.fr
	emailZoe     = "40AA02799AF458CE7848F8564B19B43D84E246C2" // zoe@xn--caf-dma.fr
	emailAnne    = "F8B3B71F2E3F7553B4BAD56FBA9D4262497DED59" // anne.bernard@laposte.net
	emailMarc    = "731F45D0AD6FC759BAA5E1BDC69FAE9AD52A527A" // marc.robert@sfr.fr
	emailJean    = "8BF87D59CF8196E8E613399AB6015CB25B889E3F" // jean.moreau@gmail.com
	emailRene    = "0366E459CF4FEB9348764B12434DD19DAD8352DB" // rene.lebrun@wanadoo.fr
	emailNoel    = "660B57204AAA09CEFD184942761D1CCC4B616F64" // noël.faure@exemple.fr
	emailAlice   = "FC2398A73DD54D6237C4FDB58FD7D75347CF5AF3" // alice@example.com
	emailBob     = "A460E37BF4D8E893F8FD39536997D5DA8D21EEBE" // bob@example.com
	emailCarol   = "17CE19AFEA3675F08486CE61672AD5E9DCBA611C" // carol@example.org
	emailDave    = "603E323E50D06DAFC723C797E17EC3DC882263C5" // dave@exemple.fr
	emailFrank   = "91F297AAA3CDACB49FB0D018893D0E7B33DCD1E6" // frank@example.com
	emailGrace   = "0C4D35A12F58282925D5240FA4AD85BDBC7C5E41" // grace@example.com
	phoneElodie  = "6632E47B4C91B2CBAF36EFBF6D7FA6425B4943E2" // +33612345678
	phoneJerome  = "B18226FAE1CE0B02A17F6F67E5F6A125E8D9D47B" // +33781234567
	phoneLuc     = "4DEF4FCFFE3FD52B4955E12D4E614932E5D0AD9E" // +32470123456
	phoneRene    = "60620E6BD94C7E3389B9E5E0BA2A91EECD25A067" // +33123456789
	phonePartner = "C4286709454A9C70D1AA6F089D4EAC83E10EA8C6" // +33145678901
	// Passwords of the dumps: SHA-1 and NTLM.
	pwSoleil     = [2]string{"45C8586A626DDABD233951066138D0EFA7F4EB9D", "A721B8F115C550EEC382FCA9548BF996"}
	pwMotdepasse = [2]string{"940C0F26FD5A30775BB1CBD1F6840398D39BB813", "EB1FCB1CA1F970B1961B0F70F687B8ED"}
	pwEte2024    = [2]string{"041B9F35894E40F8F10E91E87DA7CBE84D0C2F02", "5CA5F6044A81925EC90FA13BCDA38C5B"}
	pwPassword   = [2]string{sha1Password, ntlmPassword}
	pw123456     = [2]string{"7C4A8D09CA3762AF61E59520943DC26494F8941B", "32ED87BDB5FDC5E9CBA88547376818D4"}
	pwPSemiW     = [2]string{"0906084CD739E3EE1B15AF7160656F52834CE7FD", "ACA36C9198140165BD1BEC28C52486FF"} // p;w
	pwHunter2    = [2]string{"F3BBBD66A63D4BF1747940578EC3D0103530E21D", "6608E4BC7B2B7A5F77CE3573570775AF"}
	pwPaSsWord   = [2]string{"A4BA7C31B82849116CC532302FCD3852303705E9", "C7823AB25AF0431F692D91DB092E9CF8"} // pa:ss:word
	pwPAtSsW0rd  = [2]string{"03260FCDDC978696AE56CBC1C6550767EB16FFCC", "6AB7B847D0C66EB24228DC1298AFE201"} // p@ss;w0rd
)

func td(name string) string { return filepath.Join("testdata", name) }

func openIndex(t *testing.T, dir string) *index.Index {
	t.Helper()
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func newIndex(t *testing.T) *index.Index { return openIndex(t, t.TempDir()) }

// fixedNow makes breach dates deterministic.
func fixedNow() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

func ingestOK(t *testing.T, ix *index.Index, cfg Config) Summary {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	sum, err := Run(context.Background(), ix, cfg, nil)
	if err != nil {
		t.Fatalf("Run(%v): %v", cfg.Inputs, err)
	}
	return sum
}

func lookup(t *testing.T, ix *index.Index, k index.Kind, hexHash string) (index.Entry, bool) {
	t.Helper()
	h := hashOf(t, hexHash)
	e, ok, err := ix.Lookup(k, &h)
	if err != nil {
		t.Fatalf("Lookup %s %s: %v", k, hexHash, err)
	}
	return e, ok
}

func wantCount(t *testing.T, ix *index.Index, k index.Kind, hexHash string, want uint64) {
	t.Helper()
	e, ok := lookup(t, ix, k, hexHash)
	switch {
	case want == 0 && ok:
		t.Errorf("%s %s: present with count %d, want absent", k, hexHash, e.Count)
	case want > 0 && !ok:
		t.Errorf("%s %s: absent, want count %d", k, hexHash, want)
	case ok && e.Count != want:
		t.Errorf("%s %s: count %d, want %d", k, hexHash, e.Count, want)
	}
}

func wantPassword(t *testing.T, ix *index.Index, pw [2]string, want uint64) {
	t.Helper()
	wantCount(t, ix, index.KindSHA1, pw[0], want)
	wantCount(t, ix, index.KindNTLM, pw[1], want)
}

// wantBreaches checks the breach names an identifier is listed in.
func wantBreaches(t *testing.T, ix *index.Index, k index.Kind, hexHash string, names ...string) {
	t.Helper()
	e, ok := lookup(t, ix, k, hexHash)
	if !ok {
		if len(names) > 0 {
			t.Errorf("%s %s: absent, want in %v", k, hexHash, names)
		}
		return
	}
	var got []string
	for _, id := range e.Breaches {
		b, ok := ix.BreachByID(id)
		if !ok {
			t.Fatalf("%s %s: unknown breach ID %d", k, hexHash, id)
		}
		got = append(got, b.Name)
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s %s: in breaches %v, want %v", k, hexHash, got, names)
	}
}

func reasonLines(in InputSummary) map[Reason][]int64 {
	m := map[Reason][]int64{}
	for _, r := range in.Reasons {
		for _, l := range r.First {
			m[r.Reason] = append(m[r.Reason], l.Line)
		}
	}
	return m
}

func TestIngestHIBPFile(t *testing.T) {
	for _, tc := range []struct {
		file string
		kind index.Kind
		want map[string]uint64
	}{
		{"hibp-sha1.txt", index.KindSHA1, hibpSHA1},
		{"hibp-ntlm.txt", index.KindNTLM, hibpNTLM},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ix := newIndex(t)
			sum := ingestOK(t, ix, Config{Inputs: []string{td(tc.file)}, Compress: true})
			if len(sum.Jobs) != 1 || sum.Jobs[0].Status != StatusIngested || !sum.Jobs[0].Sorted {
				t.Fatalf("summary %+v", sum)
			}
			in := sum.Jobs[0].Inputs[0]
			if in.Format != FormatHIBP || in.Kind != tc.kind.String() || in.Lines != 6 || in.Accepted != 6 || in.Rejected != 0 {
				t.Errorf("input summary %+v", in)
			}
			for h, c := range tc.want {
				wantCount(t, ix, tc.kind, h, c)
			}
			other := index.KindNTLM
			if tc.kind == index.KindNTLM {
				other = index.KindSHA1
			}
			if n := ix.Meta().Counts[other]; n != 0 {
				t.Errorf("%d %s records after a %s ingest", n, other, tc.kind)
			}
			if n := ix.Meta().Counts[tc.kind]; n != 6 {
				t.Errorf("Meta count %d, want 6", n)
			}
		})
	}
}

func TestIngestHIBPRangeBody(t *testing.T) {
	ix := newIndex(t)
	ingestOK(t, ix, Config{Inputs: []string{td("hibp-sha1.txt")}, Compress: true})
	body, ok := ix.PasswordRange(index.KindSHA1, 0x5BAA6, index.Identity)
	if !ok || string(body) != "1E4C9B93F3F0682250B6CF8331B7EE68FD8:3730471" {
		t.Errorf("range 5BAA6 = %q, %v", body, ok)
	}
}

func TestIngestSameInputTwiceIsNoOp(t *testing.T) {
	ix := newIndex(t)
	ingestOK(t, ix, Config{Inputs: []string{td("hibp-sha1.txt")}})
	v := ix.Meta().Version
	sum := ingestOK(t, ix, Config{Inputs: []string{td("hibp-sha1.txt")}})
	if sum.Jobs[0].Status != StatusSkipped {
		t.Errorf("second run status %q, want %q", sum.Jobs[0].Status, StatusSkipped)
	}
	if ix.Meta().Version != v {
		t.Errorf("second run committed: version %d -> %d", v, ix.Meta().Version)
	}
}

// knownIdentifiers are the identifier hashes of every fixture.
var knownIdentifiers = map[index.Kind][]string{
	index.KindEmail: {emailElodie, emailJerome, emailZoe, emailAnne, emailMarc, emailJean, emailRene, emailNoel,
		emailAlice, emailBob, emailCarol, emailDave, emailFrank, emailGrace},
	index.KindPhone: {phoneElodie, phoneJerome, phoneLuc, phoneRene, phonePartner},
}

// knownPasswordPrefixes are the 5-hex-digit prefixes of every password of
// the fixtures.
func knownPasswordPrefixes(t *testing.T, k index.Kind) []uint32 {
	var ps []uint32
	add := func(hx string) {
		h := hashOf(t, hx)
		ps = append(ps, h.Prefix(5))
	}
	src := hibpSHA1
	i := 0
	if k == index.KindNTLM {
		src, i = hibpNTLM, 1
	}
	for hx := range src {
		add(hx)
	}
	for _, pw := range [][2]string{pwSoleil, pwMotdepasse, pwEte2024, pwPassword, pw123456, pwPSemiW, pwHunter2, pwPaSsWord, pwPAtSsW0rd} {
		add(pw[i])
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// dumpEntries describes an index through its read API, for comparisons:
// the catalog, the record counts, the password ranges of every fixture
// password and the records of the fixture identifiers.
func dumpEntries(t *testing.T, ix *index.Index) string {
	t.Helper()
	var b strings.Builder
	names := map[index.BreachID]string{}
	for _, br := range ix.Breaches() {
		names[br.ID] = br.Name
		fmt.Fprintf(&b, "breach %s %q %q %q %d %v %v %v\n", br.Name, br.Title, br.Domain, br.BreachDate,
			br.PwnCount, br.DataClasses, br.IsVerified, br.IsSensitive)
	}
	for _, k := range index.Kinds {
		fmt.Fprintf(&b, "%s: %d records\n", k, ix.Meta().Counts[k])
		if k.IsPassword() {
			for _, p := range knownPasswordPrefixes(t, k) {
				if body, _ := ix.PasswordRange(k, p, index.Identity); len(body) > 0 {
					fmt.Fprintf(&b, "%s %05X %s\n", k, p, body)
				}
			}
			continue
		}
		for _, hx := range knownIdentifiers[k] {
			h := hashOf(t, hx)
			e, ok, err := ix.Lookup(k, &h)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				fmt.Fprintf(&b, "%s %s", k, hx)
				for _, id := range e.Breaches {
					fmt.Fprintf(&b, " %s", names[id])
				}
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

func TestIngestHIBPDirMatchesFile(t *testing.T) {
	for _, kind := range []string{"sha1", "ntlm"} {
		t.Run(kind, func(t *testing.T) {
			a, b := newIndex(t), newIndex(t)
			sa := ingestOK(t, a, Config{Inputs: []string{td("hibp-" + kind + "-dir")}, AllowShrink: true})
			ingestOK(t, b, Config{Inputs: []string{td("hibp-" + kind + ".txt")}})
			in := sa.Jobs[0].Inputs[0]
			if in.Format != FormatHIBPDir || in.Kind != kind || in.Files != 6 || in.MissingFiles != 1<<20-6 || in.Accepted != 6 {
				t.Errorf("dir summary %+v", in)
			}
			da, db := dumpEntries(t, a), dumpEntries(t, b)
			if da != db {
				t.Errorf("directory and file ingests differ:\n%s\n---\n%s", da, db)
			}
			if !strings.Contains(da, ": 6 records") {
				t.Errorf("want 6 records:\n%s", da)
			}
		})
	}
}

func TestIngestNewerDownloadReplacesAndKeepsBreachCounts(t *testing.T) {
	ix := newIndex(t)
	ingestOK(t, ix, Config{Inputs: []string{td("hibp-sha1.txt")}})
	// A breach adds one occurrence of "password" (row Petit of the dump).
	ingestOK(t, ix, Config{Inputs: []string{td("dump-fr.csv")}, Manifest: td("manifest.json")})
	wantCount(t, ix, index.KindSHA1, sha1Password, 3730471+1)

	// The newer download: "password" more frequent, "azerty" gone.
	newer := filepath.Join(t.TempDir(), "newer.txt")
	data, err := os.ReadFile(td("hibp-sha1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(sha1Password+":3730471"), []byte(sha1Password+":4000000"), 1)
	data = bytes.Replace(data, []byte(sha1Azerty+":702291\r\n"), nil, 1)
	if err := os.WriteFile(newer, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := ingestOK(t, ix, Config{Inputs: []string{newer}})
	if sum.Jobs[0].Status != StatusIngested {
		t.Fatalf("newer download: %+v", sum.Jobs[0])
	}
	wantCount(t, ix, index.KindSHA1, sha1Password, 4000000+1)
	wantCount(t, ix, index.KindSHA1, sha1Azerty, 0)
	wantCount(t, ix, index.KindSHA1, pwSoleil[0], 178240+2) // two dump rows use "soleil"
}

func TestIngestMalformedHIBP(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("hibp-malformed.txt")}, Kind: index.KindSHA1})
	in := sum.Jobs[0].Inputs[0]
	if in.Lines != 8 || in.Accepted != 2 || in.Rejected != 6 {
		t.Errorf("lines %d accepted %d rejected %d, want 8, 2, 6", in.Lines, in.Accepted, in.Rejected)
	}
	want := map[Reason][]int64{ReasonBadHash: {2, 5}, ReasonBadCount: {3, 4, 7}, ReasonEmpty: {6}}
	if got := reasonLines(in); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reasons %v, want %v", got, want)
	}
	wantCount(t, ix, index.KindSHA1, sha1Password, 10)
	wantCount(t, ix, index.KindSHA1, "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3", 5)
	wantCount(t, ix, index.KindSHA1, sha1Azerty, 0)
}

func TestIngestTooLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.txt")
	data := sha1Password + ":1\n" + strings.Repeat("A", MaxLineLen+10) + "\n" + sha1Azerty + ":2\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{path}})
	in := sum.Jobs[0].Inputs[0]
	if in.Lines != 3 || in.Accepted != 2 || fmt.Sprint(reasonLines(in)) != fmt.Sprint(map[Reason][]int64{ReasonTooLong: {2}}) {
		t.Errorf("summary %+v", in)
	}
	wantCount(t, ix, index.KindSHA1, sha1Azerty, 2)
}

func TestIngestUnsortedFallsBack(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("unsorted-sha1.txt")}})
	if sum.Jobs[0].Sorted {
		t.Error("summary says sorted")
	}
	if in := sum.Jobs[0].Inputs[0]; in.Lines != 6 || in.Accepted != 6 {
		t.Errorf("summary %+v", in)
	}
	wantCount(t, ix, index.KindSHA1, pwSoleil[0], 2)
	wantCount(t, ix, index.KindSHA1, sha1Password, 3+1) // listed twice: counts summed
	wantCount(t, ix, index.KindSHA1, pw123456[0], 4)
	wantCount(t, ix, index.KindSHA1, sha1Azerty, 5)
	wantCount(t, ix, index.KindSHA1, pwEte2024[0], 6)
}

func TestIngestDuplicateInSortedInputIsSummed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dup.txt")
	data := sha1Password + ":1\n" + sha1Password + ":2\n" + sha1Azerty + ":3\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{path}})
	if !sum.Jobs[0].Sorted {
		t.Error("sorted input with a duplicate fell back to unsorted")
	}
	wantCount(t, ix, index.KindSHA1, sha1Password, 3)
	wantCount(t, ix, index.KindSHA1, sha1Azerty, 3)
}

func TestIngestDumpCSV(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("dump-fr.csv")}, Manifest: td("manifest.json")})
	j := sum.Jobs[0]
	if j.Status != StatusIngested || j.Target != "breach ExempleFR" || j.Identifiers != 9 || j.Passwords != 7 {
		t.Errorf("job %+v", j)
	}
	in := j.Inputs[0]
	if in.Format != FormatDump || in.Lines != 12 || in.Accepted != 7 || in.Rejected != 4 {
		t.Errorf("lines %d accepted %d rejected %d, want 12, 7, 4", in.Lines, in.Accepted, in.Rejected)
	}
	want := map[Reason][]int64{
		ReasonEmpty: {10}, ReasonBadEmail: {5}, ReasonBadPhone: {12},
		ReasonBadQuoting: {9}, ReasonFieldCount: {11},
	}
	if got := reasonLines(in); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reasons %v, want %v", got, want)
	}
	br, ok := ix.BreachByName("ExempleFR")
	if !ok {
		t.Fatal("breach not in catalog")
	}
	if br.Title != "Exemple.fr" || br.Domain != "exemple.fr" || br.BreachDate != "2024-03-15" || br.PwnCount != 7 ||
		!br.IsVerified || !slices.Equal(br.DataClasses, []string{"Email addresses", "Names", "Phone numbers", "Passwords"}) ||
		!br.AddedDate.Equal(fixedNow()) {
		t.Errorf("breach %+v", br)
	}
	for _, e := range []string{emailElodie, emailJerome, emailZoe, emailAnne, emailMarc, emailJean} {
		wantBreaches(t, ix, index.KindEmail, e, "ExempleFR")
	}
	for _, p := range []string{phoneElodie, phoneJerome, phoneLuc} {
		wantBreaches(t, ix, index.KindPhone, p, "ExempleFR")
	}
	wantPassword(t, ix, pwSoleil, 2)
	wantPassword(t, ix, pwMotdepasse, 1)
	wantPassword(t, ix, pwEte2024, 1)
	wantPassword(t, ix, pwPassword, 1)
	wantPassword(t, ix, pw123456, 1)
	wantPassword(t, ix, pwPSemiW, 1)
	if n := ix.Meta().Counts[index.KindEmail]; n != 6 {
		t.Errorf("%d e-mail records, want 6", n)
	}
	if n := ix.Meta().Counts[index.KindPhone]; n != 3 {
		t.Errorf("%d phone records, want 3", n)
	}
	// The rejected row's password ("azerty") is not counted.
	wantPassword(t, ix, [2]string{sha1Azerty, "BFAD8787F5DC64B730028C20A64EBA94"}, 0)
}

func TestIngestDumpWindows1252TSV(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("dump-cp1252.tsv")}, Manifest: td("manifest.json")})
	if in := sum.Jobs[0].Inputs[0]; in.Accepted != 2 || in.Rejected != 0 {
		t.Errorf("summary %+v", in)
	}
	wantBreaches(t, ix, index.KindEmail, emailRene, "ExempleFR")
	wantBreaches(t, ix, index.KindEmail, emailNoel, "ExempleFR")
	wantBreaches(t, ix, index.KindPhone, phoneRene, "ExempleFR")
	wantPassword(t, ix, pwEte2024, 1) // decoded from Windows-1252 before hashing
	wantPassword(t, ix, pwSoleil, 1)
}

func TestIngestCombo(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("combo.txt")}, Manifest: td("manifest.json")})
	in := sum.Jobs[0].Inputs[0]
	if in.Format != FormatCombo || in.Lines != 8 || in.Accepted != 5 || in.Rejected != 3 {
		t.Errorf("summary %+v", in)
	}
	want := map[Reason][]int64{ReasonEmpty: {5}, ReasonBadEmail: {4, 7}}
	if got := reasonLines(in); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reasons %v, want %v", got, want)
	}
	for _, e := range []string{emailAlice, emailBob, emailCarol, emailDave} {
		wantBreaches(t, ix, index.KindEmail, e, "ExempleFR")
	}
	wantPassword(t, ix, pwHunter2, 2)
	wantPassword(t, ix, pwPaSsWord, 1)
	wantPassword(t, ix, pwPAtSsW0rd, 1)
	if sum.Jobs[0].Passwords != 4 || sum.Jobs[0].Identifiers != 5 {
		t.Errorf("job %+v", sum.Jobs[0])
	}
}

func TestIngestHashes(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("hashes-email.txt")}, Manifest: td("manifest-partner.json")})
	in := sum.Jobs[0].Inputs[0]
	if in.Format != FormatHashes || in.Kind != "email hashes" || in.Lines != 4 || in.Accepted != 2 ||
		fmt.Sprint(reasonLines(in)) != fmt.Sprint(map[Reason][]int64{ReasonBadHash: {3, 4}}) {
		t.Errorf("summary %+v", in)
	}
	wantBreaches(t, ix, index.KindEmail, emailFrank, "PartnerList")
	wantBreaches(t, ix, index.KindEmail, emailGrace, "PartnerList")

	// Phone hashes of the same partner are another part of its breach.
	sum = ingestOK(t, ix, Config{Inputs: []string{td("hashes-phone.txt")}, Kind: index.KindPhone,
		Manifest: td("manifest-partner.json"), Append: true})
	if sum.Jobs[0].Inputs[0].Kind != "phone hashes" {
		t.Errorf("summary %+v", sum.Jobs[0].Inputs[0])
	}
	wantBreaches(t, ix, index.KindPhone, phoneElodie, "PartnerList")
	wantBreaches(t, ix, index.KindPhone, phonePartner, "PartnerList")
	wantBreaches(t, ix, index.KindEmail, emailFrank, "PartnerList")
}

func TestIngestBreachTwiceCountsOnce(t *testing.T) {
	ix := newIndex(t)
	cfg := Config{Inputs: []string{td("combo.txt")}, Manifest: td("manifest.json")}
	ingestOK(t, ix, cfg)
	sum := ingestOK(t, ix, cfg)
	if sum.Jobs[0].Status != StatusSkipped {
		t.Errorf("second run: %+v", sum.Jobs[0])
	}
	wantPassword(t, ix, pwHunter2, 2)

	// Another file for the same breach without --append is refused...
	before := dumpEntries(t, ix)
	_, err := Run(context.Background(), ix, Config{Inputs: []string{td("dump-fr.csv")}, Manifest: td("manifest.json")}, nil)
	if !errors.Is(err, ErrBreachExists) {
		t.Fatalf("err = %v, want ErrBreachExists", err)
	}
	if after := dumpEntries(t, ix); after != before {
		t.Error("refused run changed the index")
	}
	// ...and accepted with it: one breach, both parts.
	ingestOK(t, ix, Config{Inputs: []string{td("dump-fr.csv")}, Manifest: td("manifest.json"), Append: true})
	if n := len(ix.Breaches()); n != 1 {
		t.Errorf("%d breaches, want 1", n)
	}
	wantBreaches(t, ix, index.KindEmail, emailAlice, "ExempleFR")
	wantBreaches(t, ix, index.KindEmail, emailElodie, "ExempleFR")
	wantPassword(t, ix, pwHunter2, 2)
	wantPassword(t, ix, pwSoleil, 2)
}

func TestIngestSeveralBreaches(t *testing.T) {
	ix := newIndex(t)
	ingestOK(t, ix, Config{Inputs: []string{td("combo.txt")}, Manifest: td("manifest.json")})
	// The partner lists alice too, hashed.
	list := filepath.Join(t.TempDir(), "partner.txt")
	if err := os.WriteFile(list, []byte(strings.ToLower(emailAlice)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ingestOK(t, ix, Config{Inputs: []string{list}, Manifest: td("manifest-partner.json")})
	wantBreaches(t, ix, index.KindEmail, emailAlice, "ExempleFR", "PartnerList")
	wantBreaches(t, ix, index.KindEmail, emailBob, "ExempleFR")
}

func TestIngestBadInputLeavesIndexUnchanged(t *testing.T) {
	dir := t.TempDir()
	noPrefix := filepath.Join(dir, "empty-dir")
	if err := os.Mkdir(noPrefix, 0o755); err != nil {
		t.Fatal(err)
	}
	badDir := filepath.Join(dir, "bad-dir")
	if err := os.Mkdir(badDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badDir, "5BAA6.txt"), []byte("hello world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.txt")
	if err := os.WriteFile(junk, []byte("hello world\nthis is not breach data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manyBad := filepath.Join(dir, "many-bad.txt")
	if err := os.WriteFile(manyBad, []byte(sha1Password+":1\n"+strings.Repeat("garbage\n", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		target  error
		inError []string // substrings of the message
	}{
		{"missing file", Config{Inputs: []string{td("nope.txt")}}, ErrBadInput, []string{"nope.txt", "cannot read"}},
		{"empty file", Config{Inputs: []string{td("empty.txt")}}, ErrBadInput, []string{"empty.txt", "empty file"}},
		{"blank file", Config{Inputs: []string{td("blank.txt")}}, ErrBadInput, []string{"blank.txt", "empty file"}},
		{"binary file", Config{Inputs: []string{td("binary.bin")}}, ErrBadInput, []string{"binary.bin", "binary"}},
		{"csv as hibp", Config{Inputs: []string{td("dump-fr.csv")}, Format: FormatHIBP}, ErrBadInput, []string{"dump-fr.csv", "first line"}},
		{"csv as sha1 hibp", Config{Inputs: []string{td("dump-fr.csv")}, Format: FormatHIBP, Kind: index.KindSHA1},
			ErrBadInput, []string{"dump-fr.csv", "line 1", "no valid Pwned Passwords sha1 line"}},
		{"ntlm as sha1", Config{Inputs: []string{td("hibp-ntlm.txt")}, Kind: index.KindSHA1}, ErrBadInput, []string{"line 1", "bad hash"}},
		{"no e-mail column", Config{Inputs: []string{td("no-email-column.csv")}, Manifest: td("manifest.json")},
			ErrBadInput, []string{"no-email-column.csv", "line 1", "no e-mail or phone column"}},
		{"combo without manifest", Config{Inputs: []string{td("combo.txt")}}, ErrUsage, []string{"manifest"}},
		{"bad manifest", Config{Inputs: []string{td("combo.txt")}, Manifest: td("manifest-bad.json")},
			ErrBadInput, []string{"manifest-bad.json", "invalid manifest"}},
		{"manifest without name", Config{Inputs: []string{td("combo.txt")}, Manifest: td("manifest-noname.json")},
			ErrBadInput, []string{"Name is required"}},
		{"manifest without breach input", Config{Inputs: []string{td("hibp-sha1.txt")}, Manifest: td("manifest.json")}, ErrUsage, nil},
		{"two sha1 downloads", Config{Inputs: []string{td("hibp-sha1.txt"), td("hibp-sha1-dir")}}, ErrUsage, []string{"both"}},
		{"dir without prefix files", Config{Inputs: []string{noPrefix}}, ErrBadInput, []string{"no Pwned Passwords prefix files"}},
		{"dir of garbage", Config{Inputs: []string{badDir}}, ErrBadInput, []string{"5BAA6.txt"}},
		{"dir as dump", Config{Inputs: []string{td("hibp-sha1-dir")}, Format: FormatDump, Manifest: td("manifest.json")}, ErrBadInput, []string{"directory"}},
		{"file as dir", Config{Inputs: []string{td("hibp-sha1.txt")}, Format: FormatHIBPDir}, ErrBadInput, []string{"directory"}},
		{"email kind for hibp", Config{Inputs: []string{td("hibp-sha1.txt")}, Kind: index.KindEmail}, ErrUsage, nil},
		{"no input", Config{}, ErrUsage, nil},
		{"junk text", Config{Inputs: []string{junk}, Manifest: td("manifest.json")}, ErrBadInput,
			[]string{"junk.txt", "line 1", "not a recognised input"}},
		// A bad second part aborts the whole breach job: the good first
		// part is not committed either.
		{"bad second part", Config{Inputs: []string{td("combo.txt"), td("hibp-malformed.txt")}, Format: FormatCombo,
			Manifest: td("manifest.json")}, ErrBadInput, []string{"hibp-malformed.txt", "no valid email:password line"}},
		// Too many garbage lines in a row before any good one.
		{"garbage after one good line", Config{Inputs: []string{manyBad}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := newIndex(t)
			_, err := Run(context.Background(), ix, tt.cfg, nil)
			if tt.target == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			for _, s := range tt.inError {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if m := ix.Meta(); m.Version != 0 || m.Breaches != 0 || len(ix.Breaches()) != 0 {
				t.Errorf("index changed: %+v", m)
			}
		})
	}
}

// TestIngestWrongFormatStopsEarly: a long file where no line is valid stops
// after earlyCheckLines lines instead of reading it all.
func TestIngestWrongFormatStopsEarly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, bytes.Repeat([]byte("some text that is not a hash\n"), 3*earlyCheckLines), 0o644); err != nil {
		t.Fatal(err)
	}
	ix := newIndex(t)
	_, err := Run(context.Background(), ix, Config{Inputs: []string{path}, Format: FormatHIBP, Kind: index.KindSHA1}, nil)
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), fmt.Sprintf("in %d lines read", earlyCheckLines)) {
		t.Fatalf("err = %v", err)
	}
}

// TestIngestPlaintextNeverStored: after ingesting the dumps, no file of the
// index and no summary contains an identifier or password in clear.
func TestIngestPlaintextNeverStored(t *testing.T) {
	dir := t.TempDir()
	ix := openIndex(t, dir)
	var out bytes.Buffer
	for _, cfg := range []Config{
		{Inputs: []string{td("dump-fr.csv"), td("combo.txt")}, Manifest: td("manifest.json")},
	} {
		sum := ingestOK(t, ix, cfg)
		if err := sum.WriteText(&out); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"elodie", "Elodie", "dupont", "jerome", "orange.fr", "laposte", "612345678", "12 34 56",
		"soleil", "motdepasse", "hunter2", "pa:ss:word", "alice@", "example.com", "exemple.fr"}
	check := func(what string, data []byte) {
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains %q", what, s)
			}
		}
	}
	check("summary", out.Bytes())
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		check(p, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "lines read: 12, accepted: 7, rejected: 4") {
		t.Errorf("summary lacks the line counts:\n%s", out.String())
	}
}

func TestSummaryText(t *testing.T) {
	ix := newIndex(t)
	sum := ingestOK(t, ix, Config{Inputs: []string{td("hibp-malformed.txt")}})
	var b bytes.Buffer
	if err := sum.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"pwned-passwords sha1: ingested", "lines read: 8, accepted: 2, rejected: 6",
		"bad hash:", "2 (first at line 2, 5)", "bad count:", "3 (first at line 3, 4, 7)"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, b.String())
		}
	}
}

func TestProgressDraw(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b}
	p.label.Store("pwned.txt")
	p.setPhase("reading", 1000)
	p.start.Store(time.Now().Add(-2 * time.Second).UnixNano())
	p.bytes.Store(250)
	p.lines.Store(2_000_000)
	p.draw()
	s := b.String()
	// 25% read in 2 s: 6 s left at 1M lines/s.
	for _, want := range []string{"pwned.txt", "reading", " 25.0%", "2.00M lines", "1.00M lines/s", "ETA 6s"} {
		if !strings.Contains(s, want) {
			t.Errorf("progress line %q lacks %q", s, want)
		}
	}
}
