package ingest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// Frozen vectors computed independently (Python hashlib; NTLM with
// `iconv -t UTF-16LE | openssl dgst -provider legacy -md4`).
const (
	sha1Password = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" // SHA-1("password")
	ntlmPassword = "8846F7EAEE8FB117AD06BDD830B7586C"         // NTLM("password")
	sha1Azerty   = "9CF95DACD226DCF43DA376CDB6CBBA7035218921" // SHA-1("azerty")
)

// hashOf decodes a hex hash for test expectations (independent of the code
// under test: encoding/hex).
func hashOf(t testing.TB, s string) index.Hash {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) > 20 {
		t.Fatalf("bad test hash %q", s)
	}
	var h index.Hash
	copy(h[:], b)
	return h
}

func TestParseHashCount(t *testing.T) {
	tests := []struct {
		name  string
		kind  index.Kind
		line  string
		hash  string
		count uint64
		r     Reason
	}{
		{"sha1 LF", index.KindSHA1, sha1Password + ":3730471\n", sha1Password, 3730471, ReasonNone},
		{"sha1 CRLF", index.KindSHA1, sha1Password + ":1\r\n", sha1Password, 1, ReasonNone},
		{"sha1 no EOL", index.KindSHA1, sha1Password + ":42", sha1Password, 42, ReasonNone},
		{"sha1 lower case", index.KindSHA1, strings.ToLower(sha1Password) + ":7\n", sha1Password, 7, ReasonNone},
		{"ntlm", index.KindNTLM, ntlmPassword + ":5\r\n", ntlmPassword, 5, ReasonNone},
		{"max count", index.KindSHA1, sha1Password + ":9999999999999999999", sha1Password, 9999999999999999999, ReasonNone},
		{"10^19 out of range", index.KindSHA1, sha1Password + ":10000000000000000000", "", 0, ReasonBadCount},
		{"uint64 max out of range", index.KindSHA1, sha1Password + ":18446744073709551615", "", 0, ReasonBadCount},
		{"overflow", index.KindSHA1, sha1Password + ":18446744073709551616", "", 0, ReasonBadCount},
		{"zero count", index.KindSHA1, sha1Password + ":0", "", 0, ReasonBadCount},
		{"empty count", index.KindSHA1, sha1Password + ":\n", "", 0, ReasonBadCount},
		{"signed count", index.KindSHA1, sha1Password + ":+3", "", 0, ReasonBadCount},
		{"count with space", index.KindSHA1, sha1Password + ":3 \n", "", 0, ReasonBadCount},
		{"no colon", index.KindSHA1, sha1Password + "\n", "", 0, ReasonBadHash},
		{"short hash", index.KindSHA1, sha1Password[:39] + ":3", "", 0, ReasonBadHash},
		{"long hash", index.KindSHA1, sha1Password + "0:3", "", 0, ReasonBadHash},
		{"non-hex", index.KindSHA1, "G" + sha1Password[1:] + ":3", "", 0, ReasonBadHash},
		{"ntlm line as sha1", index.KindSHA1, ntlmPassword + ":3", "", 0, ReasonBadHash},
		{"sha1 line as ntlm", index.KindNTLM, sha1Password + ":3", "", 0, ReasonBadHash},
		{"empty", index.KindSHA1, "\r\n", "", 0, ReasonEmpty},
		{"nothing", index.KindSHA1, "", "", 0, ReasonEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, r := ParseHashCount(tt.kind, []byte(tt.line))
			if r != tt.r {
				t.Fatalf("reason = %v, want %v", r, tt.r)
			}
			if r != ReasonNone {
				return
			}
			if want := hashOf(t, tt.hash); h != want || c != tt.count {
				t.Errorf("got %X:%d, want %s:%d", h, c, tt.hash, tt.count)
			}
		})
	}
}

func TestParseSuffixCount(t *testing.T) {
	tests := []struct {
		name   string
		kind   index.Kind
		prefix uint32
		line   string
		hash   string
		count  uint64
		r      Reason
	}{
		{"sha1", index.KindSHA1, 0x5BAA6, sha1Password[5:] + ":3730471\r\n", sha1Password, 3730471, ReasonNone},
		{"sha1 last line", index.KindSHA1, 0x5BAA6, strings.ToLower(sha1Password[5:]) + ":2", sha1Password, 2, ReasonNone},
		{"ntlm", index.KindNTLM, 0x8846F, ntlmPassword[5:] + ":9\n", ntlmPassword, 9, ReasonNone},
		{"prefix 0", index.KindSHA1, 0, strings.Repeat("0", 34) + "1:1", "00000" + strings.Repeat("0", 34) + "1", 1, ReasonNone},
		{"prefix FFFFF", index.KindSHA1, 0xFFFFF, strings.Repeat("F", 35) + ":1", strings.Repeat("F", 40), 1, ReasonNone},
		{"full hash", index.KindSHA1, 0x5BAA6, sha1Password + ":1", "", 0, ReasonBadHash},
		{"short", index.KindSHA1, 0x5BAA6, sha1Password[6:] + ":1", "", 0, ReasonBadHash},
		{"non-hex first", index.KindSHA1, 0x5BAA6, "x" + sha1Password[6:] + ":1", "", 0, ReasonBadHash},
		{"non-hex last", index.KindSHA1, 0x5BAA6, sha1Password[5:39] + "g:1", "", 0, ReasonBadHash},
		{"bad count", index.KindNTLM, 0x8846F, ntlmPassword[5:] + ":x", "", 0, ReasonBadCount},
		{"empty", index.KindNTLM, 0x8846F, "\n", "", 0, ReasonEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, r := ParseSuffixCount(tt.kind, tt.prefix, []byte(tt.line))
			if r != tt.r {
				t.Fatalf("reason = %v, want %v", r, tt.r)
			}
			if r != ReasonNone {
				return
			}
			if want := hashOf(t, tt.hash); h != want || c != tt.count {
				t.Errorf("got %X:%d, want %s:%d", h, c, tt.hash, tt.count)
			}
		})
	}
}

func TestParseHashLine(t *testing.T) {
	tests := []struct {
		line, hash string
		r          Reason
	}{
		{sha1Azerty + "\n", sha1Azerty, ReasonNone},
		{strings.ToLower(sha1Azerty) + "\r\n", sha1Azerty, ReasonNone},
		{"  " + sha1Azerty + "\t\r\n", sha1Azerty, ReasonNone},
		{sha1Azerty[:39], "", ReasonBadHash},
		{sha1Azerty + ":1", "", ReasonBadHash},
		{ntlmPassword, "", ReasonBadHash},
		{"not a hash", "", ReasonBadHash},
		{" \r\n", "", ReasonEmpty},
	}
	for _, tt := range tests {
		h, r := ParseHashLine([]byte(tt.line))
		if r != tt.r {
			t.Errorf("%q: reason = %v, want %v", tt.line, r, tt.r)
			continue
		}
		if r == ReasonNone && h != hashOf(t, tt.hash) {
			t.Errorf("%q: hash %X, want %s", tt.line, h, tt.hash)
		}
	}
}

func TestSplitCombo(t *testing.T) {
	tests := []struct {
		line, email, pw string
		r               Reason
	}{
		{"alice@example.com:hunter2\n", "alice@example.com", "hunter2", ReasonNone},
		{"alice@example.com;hunter2\r\n", "alice@example.com", "hunter2", ReasonNone},
		{"alice@example.com\thunter2", "alice@example.com", "hunter2", ReasonNone},
		{"bob@example.com;pa:ss:word", "bob@example.com", "pa:ss:word", ReasonNone},
		{"carol@example.org:p@ss;w0rd", "carol@example.org", "p@ss;w0rd", ReasonNone},
		{"dave@example.org:", "dave@example.org", "", ReasonNone},
		{"dave@example.org", "dave@example.org", "", ReasonNone},
		{"erin@example.org: spaced pass ", "erin@example.org", " spaced pass ", ReasonNone},
		{"not-an-email:foo", "", "", ReasonBadEmail},
		{"user:p@ss", "", "", ReasonBadEmail},
		{"   \r\n", "", "", ReasonEmpty},
		{"a@b.c\x00:x", "", "", ReasonBinary},
	}
	for _, tt := range tests {
		e, p, r := SplitCombo([]byte(tt.line))
		if r != tt.r || string(e) != tt.email || string(p) != tt.pw {
			t.Errorf("SplitCombo(%q) = %q, %q, %v; want %q, %q, %v", tt.line, e, p, r, tt.email, tt.pw, tt.r)
		}
	}
}

func TestSplitFields(t *testing.T) {
	tests := []struct {
		line string
		sep  byte
		want []string
		ok   bool
	}{
		{"a;b;c", ';', []string{"a", "b", "c"}, true},
		{"a;;c;", ';', []string{"a", "", "c", ""}, true},
		{"", ',', []string{""}, true},
		{`"a;b";c`, ';', []string{"a;b", "c"}, true},
		{`x;"Marc, dit ""le grand""";y`, ';', []string{"x", `Marc, dit "le grand"`, "y"}, true},
		{`"";""`, ';', []string{"", ""}, true},
		{"a\tb c\td", '\t', []string{"a", "b c", "d"}, true},
		{`"open;b`, ';', nil, false},
		{`"a"b;c`, ';', nil, false},
		{`a"b;c`, ';', nil, false},
		{`a;b"`, ';', nil, false},
	}
	for _, tt := range tests {
		got, ok := SplitFields(nil, []byte(tt.line), tt.sep)
		if ok != tt.ok {
			t.Errorf("SplitFields(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		var gs []string
		for _, f := range got {
			gs = append(gs, string(f))
		}
		if strings.Join(gs, "|") != strings.Join(tt.want, "|") || len(gs) != len(tt.want) {
			t.Errorf("SplitFields(%q) = %q, want %q", tt.line, gs, tt.want)
		}
	}
}

func TestDetectSep(t *testing.T) {
	tests := []struct {
		header string
		want   byte
	}{
		{"Nom;Prénom;Adresse e-mail;Téléphone", ';'},
		{"email,password", ','},
		{"email\tpassword\tphone", '\t'},
		{"email|pass", '|'},
		{`"a,b";c;d`, ';'},
		{"email", ','},
	}
	for _, tt := range tests {
		if got := detectSep([]byte(tt.header)); got != tt.want {
			t.Errorf("detectSep(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestMapColumns(t *testing.T) {
	tests := []struct {
		header                          []string
		email, password, phone, country int
		weak                            bool
	}{
		{[]string{"Nom", "Prénom", "Adresse e-mail", "Téléphone", "Mot de passe", "Pays"}, 2, 4, 3, 5, false},
		{[]string{"\ufeffEMAIL", "Password"}, 0, 1, -1, -1, false},
		{[]string{"username", "E-Mail", "password_hash", "pwd"}, 1, 3, -1, -1, false},
		{[]string{"login", "passwd", "Tél. portable", "country_code"}, 0, 1, 2, 3, true},
		{[]string{"Courriel", "mdp", "Mobile"}, 0, 1, 2, -1, false},
		{[]string{"nom", "ville", "télécopie"}, -1, -1, -1, -1, false},
		{[]string{"id", "phone_number"}, -1, -1, 1, -1, false},
	}
	for _, tt := range tests {
		var h [][]byte
		for _, s := range tt.header {
			h = append(h, []byte(s))
		}
		c := mapColumns(h)
		if c.email != tt.email || c.password != tt.password || c.phone != tt.phone || c.country != tt.country || c.emailWeak != tt.weak {
			t.Errorf("mapColumns(%q) = %+v, want email %d password %d phone %d country %d weak %v",
				tt.header, c, tt.email, tt.password, tt.phone, tt.country, tt.weak)
		}
	}
}

func TestRegionOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"FR", "FR"}, {"be", "BE"}, {" Belgique ", "BE"}, {"Suisse", "CH"},
		{"", "FR"}, {"Atlantis", "FR"}, {"33", "FR"},
	}
	for _, tt := range tests {
		if got := regionOf([]byte(tt.in), "FR"); got != tt.want {
			t.Errorf("regionOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParsersDoNotAllocate(t *testing.T) {
	sha := []byte(sha1Password + ":3730471\r\n")
	suf := []byte(sha1Password[5:] + ":3730471\r\n")
	hl := []byte(sha1Password + "\n")
	combo := []byte("alice@example.com:hunter2\n")
	csvLine := []byte(`Dupont;"Élodie";elodie@exemple.fr;06 12 34 56 78`)
	fields := make([][]byte, 0, 8)
	for name, fn := range map[string]func(){
		"ParseHashCount":   func() { ParseHashCount(index.KindSHA1, sha) },
		"ParseSuffixCount": func() { ParseSuffixCount(index.KindSHA1, 0x5BAA6, suf) },
		"ParseHashLine":    func() { ParseHashLine(hl) },
		"SplitCombo":       func() { SplitCombo(combo) },
		"SplitFields":      func() { fields, _ = SplitFields(fields[:0], csvLine, ';') },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}

// refParseHashCount is a slow reference parser built from the standard
// library, for differential fuzzing.
func refParseHashCount(k index.Kind, line []byte) (index.Hash, uint64, bool) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	hs, cs, ok := strings.Cut(s, ":")
	if !ok || len(hs) != k.HexLen() || len(cs) > 20 { // longer counts are refused, even zero-padded
		return index.Hash{}, 0, false
	}
	b, err := hex.DecodeString(hs)
	if err != nil {
		return index.Hash{}, 0, false
	}
	for _, c := range cs {
		if c < '0' || c > '9' {
			return index.Hash{}, 0, false
		}
	}
	n, err := strconv.ParseUint(cs, 10, 64)
	if err != nil || n == 0 {
		return index.Hash{}, 0, false
	}
	var h index.Hash
	copy(h[:], b)
	return h, n, true
}

func FuzzParseHashCount(f *testing.F) {
	for _, s := range []string{sha1Password + ":3730471\r\n", ntlmPassword + ":1\n", sha1Password + ":0", "x:1", "", ":\r\n",
		sha1Password + ":18446744073709551616", sha1Password + ":00000000000000000000001"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
			h, c, r := ParseHashCount(k, line)
			rh, rc, ok := refParseHashCount(k, line)
			if (r == ReasonNone) != ok {
				t.Fatalf("%s %q: reason %v, reference ok %v", k, line, r, ok)
			}
			if ok && (h != rh || c != rc) {
				t.Fatalf("%s %q: got %X:%d, reference %X:%d", k, line, h, c, rh, rc)
			}
		}
	})
}

func FuzzParseSuffixCount(f *testing.F) {
	f.Add(uint32(0x5BAA6), []byte(sha1Password[5:]+":3730471\r\n"))
	f.Add(uint32(0x8846F), []byte(ntlmPassword[5:]+":1"))
	f.Add(uint32(0), []byte(":"))
	f.Fuzz(func(t *testing.T, prefix uint32, line []byte) {
		prefix &= 1<<20 - 1
		for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
			h, c, r := ParseSuffixCount(k, prefix, line)
			// Reference: the prefix in hex in front of the line makes a
			// full HASH:COUNT line.
			full := append([]byte(fmt.Sprintf("%05X", prefix)), line...)
			rh, rc, ok := refParseHashCount(k, full)
			if (r == ReasonNone) != ok {
				t.Fatalf("%s %05X %q: reason %v, reference ok %v", k, prefix, line, r, ok)
			}
			if ok && (h != rh || c != rc) {
				t.Fatalf("%s %05X %q: got %X:%d, reference %X:%d", k, prefix, line, h, c, rh, rc)
			}
		}
	})
}

func FuzzParseHashLine(f *testing.F) {
	f.Add([]byte(sha1Azerty + "\r\n"))
	f.Add([]byte(" " + strings.ToLower(sha1Azerty)))
	f.Add([]byte("zz"))
	f.Fuzz(func(t *testing.T, line []byte) {
		h, r := ParseHashLine(line)
		s := strings.Trim(strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), " \t")
		b, err := hex.DecodeString(s)
		ok := err == nil && len(b) == 20
		if (r == ReasonNone) != ok {
			t.Fatalf("%q: reason %v, reference ok %v", line, r, ok)
		}
		if ok && !bytes.Equal(h[:], b) {
			t.Fatalf("%q: got %X, reference %X", line, h, b)
		}
	})
}

func FuzzSplitCombo(f *testing.F) {
	for _, s := range []string{"alice@example.com:hunter2\n", "bob@example.com;pa:ss", "x:y@z", "@:", "a@b", "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, p, r := SplitCombo(line)
		if r != ReasonNone {
			return
		}
		body := trimEOL(line)
		// The e-mail holds exactly one run up to the separator and contains
		// an '@' and no separator; e + sep + p rebuilds the line.
		if bytes.IndexByte(e, '@') < 0 || bytes.ContainsAny(e, comboSeps) {
			t.Fatalf("%q: e-mail part %q", line, e)
		}
		if p == nil {
			if !bytes.Equal(e, body) {
				t.Fatalf("%q: e-mail %q without password is not the line", line, e)
			}
			return
		}
		if len(e)+1+len(p) != len(body) || !bytes.HasPrefix(body, e) || !bytes.HasSuffix(body, p) ||
			!strings.ContainsRune(comboSeps, rune(body[len(e)])) {
			t.Fatalf("%q: split into %q and %q", line, e, p)
		}
	})
}

func FuzzSplitFields(f *testing.F) {
	for _, s := range []string{`a;b;c`, `"a;b";"c""d"`, `"open`, `x"y`, `;;`, ``} {
		f.Add([]byte(s), byte(';'))
	}
	f.Fuzz(func(t *testing.T, line []byte, sep byte) {
		if sep == '"' {
			return
		}
		orig := bytes.Clone(line)
		fields, ok := SplitFields(nil, line, sep)
		if !ok {
			return
		}
		// Re-encoding the fields (quoting those that need it) and splitting
		// again gives the same fields.
		var enc []byte
		for i, fl := range fields {
			if i > 0 {
				enc = append(enc, sep)
			}
			if bytes.IndexByte(fl, sep) >= 0 || bytes.IndexByte(fl, '"') >= 0 {
				enc = append(enc, '"')
				enc = append(enc, bytes.ReplaceAll(fl, []byte(`"`), []byte(`""`))...)
				enc = append(enc, '"')
			} else {
				enc = append(enc, fl...)
			}
		}
		want := make([]string, len(fields))
		for i, fl := range fields {
			want[i] = string(fl)
		}
		again, ok := SplitFields(nil, enc, sep)
		if !ok || len(again) != len(want) {
			t.Fatalf("%q -> %q -> %q: not stable", orig, want, enc)
		}
		for i := range again {
			if string(again[i]) != want[i] {
				t.Fatalf("%q -> %q -> %q: field %d differs", orig, want, enc, i)
			}
		}
		// Without quotes the fields are exactly bytes.Split.
		if bytes.IndexByte(orig, '"') < 0 {
			parts := bytes.Split(orig, []byte{sep})
			if len(parts) != len(want) {
				t.Fatalf("%q: %d fields, bytes.Split gives %d", orig, len(want), len(parts))
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"Name":"Adobe","BreachDate":"2013-10-04","PwnCount":152445165,"DataClasses":["Email addresses"]}`))
	f.Add([]byte(`{"Name":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseManifest(data)
		if err != nil {
			return
		}
		if b.Name == "" || len(b.Name) > 64 || b.Title == "" || b.PwnCount < 0 || b.ID != 0 {
			t.Fatalf("%q: accepted invalid breach %+v", data, b)
		}
	})
}

func BenchmarkParseHashCount(b *testing.B) {
	line := []byte(sha1Password + ":3730471\r\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, _, r := ParseHashCount(index.KindSHA1, line); r != ReasonNone {
			b.Fatal(r)
		}
	}
}

func BenchmarkParseSuffixCount(b *testing.B) {
	line := []byte(sha1Password[5:] + ":3730471\r\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, _, r := ParseSuffixCount(index.KindSHA1, 0x5BAA6, line); r != ReasonNone {
			b.Fatal(r)
		}
	}
}

func BenchmarkParseHashLine(b *testing.B) {
	line := []byte(sha1Password + "\n")
	for b.Loop() {
		if _, r := ParseHashLine(line); r != ReasonNone {
			b.Fatal(r)
		}
	}
}

func BenchmarkSplitCombo(b *testing.B) {
	line := []byte("elodie.dupont@exemple.fr:motdepasse123\r\n")
	for b.Loop() {
		if _, _, r := SplitCombo(line); r != ReasonNone {
			b.Fatal(r)
		}
	}
}

func BenchmarkSplitFields(b *testing.B) {
	src := []byte(`Dupont;"Élodie";elodie.dupont@exemple.fr;06 12 34 56 78;soleil;France`)
	line := make([]byte, len(src))
	fields := make([][]byte, 0, 16)
	for b.Loop() {
		copy(line, src)
		fields, _ = SplitFields(fields[:0], line, ';')
	}
}

// FuzzHeader feeds arbitrary first lines to format detection and header
// mapping: no panic, and the columns found exist and are distinct.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{"Nom;Prénom;Adresse e-mail;Téléphone;Mot de passe;Pays", "email,password",
		"\ufeffE-Mail\tTél\tpays", `"a;b";"courriel"`, "login|pwd", sha1Password + ":1", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		detectSample(line)
		firstLine(line)
		sep := detectSep(line)
		fields, ok := SplitFields(nil, bytes.Clone(line), sep)
		if !ok {
			return
		}
		c := mapColumns(fields)
		seen := map[int]bool{}
		for _, i := range []int{c.email, c.password, c.phone, c.country} {
			if i < -1 || i >= len(fields) {
				t.Fatalf("%q: column %d of %d fields", line, i, len(fields))
			}
			if i >= 0 && seen[i] {
				t.Fatalf("%q: column %d used twice: %+v", line, i, c)
			}
			seen[i] = true
		}
		for _, fl := range fields {
			if r := regionOf(fl, "FR"); len(r) != 2 {
				t.Fatalf("regionOf(%q) = %q", fl, r)
			}
		}
	})
}
