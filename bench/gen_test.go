package bench

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

func hibpBytes(t *testing.T, k index.Kind, n int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	got, err := WriteHIBP(&buf, k, HIBP(k, n, seed))
	if err != nil || got != int64(n) {
		t.Fatalf("WriteHIBP: %d lines, %v; want %d", got, err, n)
	}
	return buf.Bytes()
}

// parseHIBPLines checks the Pwned Passwords download format with regular
// expressions and returns the hashes and counts.
func parseHIBPLines(t *testing.T, data []byte, hexLen int) (hashes []string, counts []uint64) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Fatalf("file does not end with CRLF")
	}
	re := regexp.MustCompile(`^[0-9A-F]{` + strconv.Itoa(hexLen) + `}:[1-9][0-9]*$`)
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n") {
		if !re.MatchString(line) {
			t.Fatalf("line %d: %q does not match %s", i+1, line, re)
		}
		h, c, _ := strings.Cut(line, ":")
		n, err := strconv.ParseUint(c, 10, 64)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		hashes, counts = append(hashes, h), append(counts, n)
	}
	return hashes, counts
}

func TestHIBPFormat(t *testing.T) {
	for _, tc := range []struct {
		kind   index.Kind
		hexLen int
	}{{index.KindSHA1, 40}, {index.KindNTLM, 32}} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			const n = 20000
			data := hibpBytes(t, tc.kind, n, 1)
			hashes, counts := parseHIBPLines(t, data, tc.hexLen)
			if len(hashes) != n {
				t.Fatalf("%d lines, want %d", len(hashes), n)
			}
			for i := 1; i < len(hashes); i++ {
				if hashes[i-1] >= hashes[i] {
					t.Fatalf("lines %d and %d not strictly increasing: %s, %s", i, i+1, hashes[i-1], hashes[i])
				}
			}
			// Uniform: each first hex digit holds about 1/16 of the hashes.
			var first [16]int
			for _, h := range hashes {
				v, _ := strconv.ParseUint(h[:1], 16, 8)
				first[v]++
			}
			for d, c := range first {
				if c < n/16*8/10 || c > n/16*12/10 {
					t.Errorf("first digit %X: %d hashes, want about %d", d, c, n/16)
				}
			}
			// Heavy tail: mostly small counts, a few huge ones.
			sorted := slices.Clone(counts)
			slices.Sort(sorted)
			if med, top := sorted[n/2], sorted[n-1]; med > 20 || top < 10000 {
				t.Errorf("counts: median %d, max %d; want a heavy tail (median <= 20, max >= 10000)", med, top)
			}
		})
	}
}

func TestHIBPDeterministic(t *testing.T) {
	a := hibpBytes(t, index.KindSHA1, 3000, 7)
	b := hibpBytes(t, index.KindSHA1, 3000, 7)
	c := hibpBytes(t, index.KindSHA1, 3000, 8)
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different files")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same file")
	}
	if _, err := WriteHIBP(io.Discard, index.KindEmail, HIBP(index.KindEmail, 1, 1)); err == nil {
		t.Error("WriteHIBP accepted a non-password kind")
	}
}

func TestDense(t *testing.T) {
	const buckets, per = 16, DensePerBucket
	prefixes := DensePrefixes(buckets, 3)
	if len(prefixes) != buckets {
		t.Fatalf("%d prefixes, want %d", len(prefixes), buckets)
	}
	for i, p := range prefixes {
		if lo, hi := uint32(i)<<20/buckets, uint32(i+1)<<20/buckets; p < lo || p >= hi {
			t.Errorf("prefix %d = %05X outside its slice [%05X, %05X)", i, p, lo, hi)
		}
	}
	var buf bytes.Buffer
	if _, err := WriteHIBP(&buf, index.KindSHA1, Dense(index.KindSHA1, buckets, per, 3)); err != nil {
		t.Fatal(err)
	}
	hashes, _ := parseHIBPLines(t, buf.Bytes(), 40)
	perPrefix := map[string]int{}
	for i, h := range hashes {
		if i > 0 && hashes[i-1] >= h {
			t.Fatalf("line %d not increasing", i+1)
		}
		perPrefix[h[:5]]++
	}
	for _, p := range prefixes {
		key := strings.ToUpper(strconv.FormatUint(uint64(p)|1<<20, 16)[1:])
		if perPrefix[key] != per {
			t.Errorf("prefix %s: %d hashes, want %d", key, perPrefix[key], per)
		}
		delete(perPrefix, key)
	}
	if len(perPrefix) != 0 {
		t.Errorf("hashes outside the dense prefixes: %v", perPrefix)
	}
}

func TestProbesAbsent(t *testing.T) {
	set := map[index.Hash]bool{}
	for h := range HIBP(index.KindSHA1, 50000, 1) {
		set[h] = true
	}
	probes := Probes(index.KindSHA1, 50000, 1)
	for _, p := range probes {
		if set[p] {
			t.Fatalf("probe %s is a generated hash", p.Hex(index.KindSHA1))
		}
	}
	ntlm := Probes(index.KindNTLM, 10, 1)
	for _, p := range ntlm {
		if [4]byte(p[16:]) != [4]byte{} {
			t.Fatalf("NTLM probe %x has bytes past 16", p)
		}
	}
}

func TestWriteDump(t *testing.T) {
	dir := t.TempDir()
	f, err := WriteDump(dir, DumpOptions{Name: "Acme", N: 400, Seed: 5, BadEvery: 25})
	if err != nil {
		t.Fatal(err)
	}
	// Manifest: the breach in HIBP's JSON shape.
	mj, err := os.ReadFile(f.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(mj, &m); err != nil {
		t.Fatal(err)
	}
	if m["Name"] != "Acme" || m["BreachDate"] != "2025-11-02" || m["PwnCount"] != float64(400) {
		t.Errorf("manifest = %s", mj)
	}
	// CSV: read with encoding/csv, lenient on the bad rows' field count.
	cf, err := os.Open(f.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	r := csv.NewReader(cf)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "id,email,username,password,phone,country" {
		t.Errorf("header %q", got)
	}
	good, bad, phones := 0, 0, 0
	for _, rec := range recs[1:] {
		if len(rec) != 6 {
			bad++
			continue
		}
		good++
		if _, _, err := ident.Email(rec[1]); err != nil {
			t.Errorf("e-mail %q: %v", rec[1], err)
		}
		if rec[4] != "" {
			phones++
			if p, err := ident.ParsePhone(rec[4], "FR"); err != nil || p.Region != "FR" {
				t.Errorf("phone %q: %+v, %v", rec[4], p, err)
			}
		}
	}
	if good != f.Rows || good+bad != 200 || bad != 8 {
		t.Errorf("CSV: %d good, %d bad rows; WriteDump said %d rows", good, bad, f.Rows)
	}
	if phones < good/3 || phones > good*4/5 {
		t.Errorf("%d of %d rows carry a phone, want about 60%%", phones, good)
	}
	// Combo list.
	data, err := os.ReadFile(f.Combo)
	if err != nil {
		t.Fatal(err)
	}
	good, bad = 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		email, pw, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			bad++
			continue
		}
		good++
		if _, _, err := ident.Email(email); err != nil || pw == "" {
			t.Errorf("combo %q: %v", sc.Text(), err)
		}
	}
	if good != f.Combos || good+bad != 200 || f.Bad != 16 {
		t.Errorf("combo: %d good, %d bad; WriteDump said %+v", good, bad, f)
	}
}

func TestWriteCRM(t *testing.T) {
	const seed, dumpN, n = 11, 1000, 300
	dir := t.TempDir()
	if _, err := WriteDump(dir, DumpOptions{N: dumpN, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	inDump := map[string]bool{}
	for _, name := range []string{"SyntheticBreach.csv", "SyntheticBreach-combo.txt"} {
		data, _ := os.ReadFile(dir + "/" + name)
		for _, w := range regexp.MustCompile(`[a-z0-9.]+@[a-z0-9.]+`).FindAllString(string(data), -1) {
			inDump[w] = true
		}
	}
	var buf bytes.Buffer
	o := CRMOptions{N: n, Seed: seed, DumpN: dumpN, ExposedPercent: 30, Windows1252: true}
	exposed, err := WriteCRM(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("é")) {
		t.Fatal("Windows-1252 output contains UTF-8 é")
	}
	utf8, err := charmap.Windows1252.NewDecoder().Bytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(utf8))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "Civilité" || recs[0][3] != "Adresse e-mail" || len(recs) != n+1 {
		t.Fatalf("header %q, %d records", recs[0], len(recs))
	}
	found := 0
	for _, rec := range recs[1:] {
		norm, err := ident.NormalizeEmail(rec[3])
		if err != nil {
			t.Fatalf("e-mail %q: %v", rec[3], err)
		}
		if inDump[norm] {
			found++
		}
		if !regexp.MustCompile(`^0[67]( \d\d){4}$`).MatchString(rec[4]) {
			t.Errorf("phone %q not in French format", rec[4])
		}
		if p, err := ident.ParsePhone(rec[4], "FR"); err != nil || p.Region != "FR" {
			t.Errorf("phone %q: %+v, %v", rec[4], p, err)
		}
		if !regexp.MustCompile(`^\d\d/\d\d/20\d\d$`).MatchString(rec[7]) {
			t.Errorf("date %q not DD/MM/YYYY", rec[7])
		}
	}
	if found != exposed || exposed != n*30/100 {
		t.Errorf("%d CRM rows found in the dump, WriteCRM says %d exposed, want %d", found, exposed, n*30/100)
	}
}
