package quality

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian bool) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 0, 2+2*len(u))
	if bigEndian {
		out = append(out, 0xFE, 0xFF)
	} else {
		out = append(out, 0xFF, 0xFE)
	}
	for _, c := range u {
		if bigEndian {
			out = append(out, byte(c>>8), byte(c))
		} else {
			out = append(out, byte(c), byte(c>>8))
		}
	}
	return out
}

func readAll(t *testing.T, tb *Table) []Row {
	t.Helper()
	var rows []Row
	for {
		r, err := tb.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, r)
	}
}

func TestOpenTableEncodings(t *testing.T) {
	const text = "Prénom;Nom;Courriel;Ville\r\nÉlodie;Lefèvre;e@x.fr;Orléans\r\nJosé;Prix 5 €;\"a;b\";« Paris »\r\n"
	want := [][]string{{"Élodie", "Lefèvre", "e@x.fr", "Orléans"}, {"José", "Prix 5 €", "a;b", "« Paris »"}}
	// Windows-1252 bytes written by hand: é=E9 É=C9 è=E8 €=80 «=AB »=BB.
	cp1252 := []byte("Pr\xe9nom;Nom;Courriel;Ville\r\n\xc9lodie;Lef\xe8vre;e@x.fr;Orl\xe9ans\r\nJos\xe9;Prix 5 \x80;\"a;b\";\xab Paris \xbb\r\n")
	cases := []struct {
		name, enc string
		in        []byte
	}{
		{"utf8", EncUTF8, []byte(text)},
		{"utf8bom", EncUTF8BOM, append([]byte{0xEF, 0xBB, 0xBF}, text...)},
		{"utf16le", EncUTF16LE, utf16Bytes(text, false)},
		{"utf16be", EncUTF16BE, utf16Bytes(text, true)},
		{"cp1252", EncWindows1252, cp1252},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb, err := OpenTable(strings.NewReader(string(c.in)), "f.csv", TableOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tb.Encoding() != c.enc {
				t.Errorf("encoding %q, want %q", tb.Encoding(), c.enc)
			}
			if tb.Delimiter() != ';' {
				t.Errorf("delimiter %q", tb.Delimiter())
			}
			if got := tb.Header()[0]; got != "Prénom" {
				t.Errorf("header[0] = %q", got)
			}
			rows := readAll(t, tb)
			if len(rows) != 2 {
				t.Fatalf("%d rows", len(rows))
			}
			for i, r := range rows {
				if !reflect.DeepEqual(r.Fields, want[i]) {
					t.Errorf("row %d = %q, want %q", i, r.Fields, want[i])
				}
				if r.Line != i+2 {
					t.Errorf("row %d line %d", i, r.Line)
				}
			}
			if tb.Get(rows[0], FieldFirstName) != "Élodie" || tb.Get(rows[1], FieldEmail) != "a;b" || tb.Get(rows[0], FieldPhone) != "" {
				t.Errorf("Get mismatch")
			}
		})
	}
}

// A file whose first 64 KiB are ASCII and which then holds a Windows-1252
// byte must still decode it as Windows-1252, not as U+FFFD.
func TestLateWindows1252Byte(t *testing.T) {
	var b strings.Builder
	b.WriteString("nom,ville\n")
	for b.Len() < 70000 {
		b.WriteString("Martin,Paris\n")
	}
	b.WriteString("Andr\xe9,Saint-\xc9tienne\n")
	tb, err := OpenTable(strings.NewReader(b.String()), "late.csv", TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Encoding() != EncUTF8 || tb.Delimiter() != ',' {
		t.Fatalf("enc %s delim %q", tb.Encoding(), tb.Delimiter())
	}
	rows := readAll(t, tb)
	last := rows[len(rows)-1]
	if last.Fields[0] != "André" || last.Fields[1] != "Saint-Étienne" {
		t.Errorf("last row %q", last.Fields)
	}
}

func TestEmbeddedNewlinesAndLines(t *testing.T) {
	in := "email|adresse|cp\n" +
		"a@b.fr|\"12 rue X\nBât. B|2\"|75001\n" +
		"\n" +
		"c@d.fr|\"Le \"\"Clos\"\"\"|69001\n"
	tb, err := OpenTable(strings.NewReader(in), "nl.csv", TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Delimiter() != '|' {
		t.Fatalf("delim %q", tb.Delimiter())
	}
	rows := readAll(t, tb)
	if len(rows) != 2 || rows[0].Fields[1] != "12 rue X\nBât. B|2" || rows[1].Fields[1] != `Le "Clos"` {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].Line != 2 || rows[1].Line != 5 {
		t.Errorf("lines %d %d, want 2 5", rows[0].Line, rows[1].Line)
	}
}

func TestSniffDelimiter(t *testing.T) {
	cases := []struct {
		in   string
		want byte
	}{
		{"a;b;c\n1;2,5;3\n4;5;6\n", ';'},
		{"a,b,c\n\"x;y\",2,3\n4,5,6\n", ','},
		{"a\tb\tc\n1\t2\t3\n", '\t'},
		{"a|b\n1|2\n", '|'},
		{"nom;adresse\nMartin;\"1, rue A, B\"\nDurand;\"2, rue C\"\n", ';'},
		{"email\nx@y.fr\n", ';'},
	}
	for _, c := range cases {
		if got, _ := SniffDelimiter([]byte(c.in), true); got != c.want {
			t.Errorf("SniffDelimiter(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMatchHeader(t *testing.T) {
	cases := map[string]Field{
		"Courriel": FieldEmail, "E-mail": FieldEmail, "MAIL": FieldEmail, "Adresse e-mail": FieldEmail,
		"Téléphone": FieldPhone, "Tél.": FieldPhone, "TEL": FieldPhone, "Mobile": FieldMobile,
		"Portable": FieldMobile, "Nom": FieldLastName, "Prénom": FieldFirstName, "PRENOM": FieldFirstName,
		"Adresse": FieldAddress, "Code postal": FieldPostcode, "CP": FieldPostcode, "code_postal": FieldPostcode,
		"Ville": FieldCity, "Pays": FieldCountry, "Date opt-in": FieldConsentDate,
		"Date de consentement": FieldConsentDate, "Source": FieldConsentSource,
		"Opt-in SMS": FieldOptinSMS, "Complément d'adresse": FieldAddress2, "Civilité": FieldCivility,
		"Téléphone portable pro": FieldMobile, "Date d'opt-in e-mail": FieldConsentDate, "Couleur": FieldNone,
	}
	for h, want := range cases {
		if got := MatchHeader(h); got != want {
			t.Errorf("MatchHeader(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestColumnOverrideAndErrors(t *testing.T) {
	in := "x;y;z\n1;2;3\n"
	if _, err := OpenTable(strings.NewReader(in), "f.csv", TableOptions{}); !errors.Is(err, ErrNoColumns) {
		t.Fatalf("err %v, want ErrNoColumns", err)
	}
	tb, err := OpenTable(strings.NewReader(in), "f.csv", TableOptions{Columns: map[Field]string{FieldEmail: "Y", FieldPhone: "#3"}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Col(FieldEmail) != 1 || tb.Col(FieldPhone) != 2 {
		t.Errorf("cols %v", tb.Columns())
	}
	_, err = OpenTable(strings.NewReader(in), "f.csv", TableOptions{Columns: map[Field]string{FieldEmail: "#9"}})
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != "f.csv" || ie.Line != 1 {
		t.Errorf("err %v", err)
	}
	// Bare quote: the error names file, line and column; reading goes on.
	tb, err = OpenTable(strings.NewReader("email;nom\na@b.fr;x\nc@d.fr;Le \"Y\"\ne@f.fr;z\n"), "q.csv", TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = tb.Next()
	if !errors.As(err, &ie) || ie.Line != 3 || ie.Column != 11 || err.Error() != `q.csv:3:11: bare " in non-quoted-field` {
		t.Errorf("err %v", err)
	}
	if r, err := tb.Next(); err != nil || r.Line != 4 || r.Fields[0] != "e@f.fr" {
		t.Errorf("after error: %+v %v", r, err)
	}
	if _, err := OpenTable(strings.NewReader(""), "e.csv", TableOptions{}); !errors.As(err, &ie) {
		t.Errorf("empty: %v", err)
	}
}

func TestExcelSepLine(t *testing.T) {
	in := "sep=,\r\nNom,Courriel\r\nMartin,a@b.fr\r\nDurand;x,\"c@d.fr\"\r\n"
	tb, err := OpenTable(strings.NewReader(in), "x.csv", TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Delimiter() != ',' || tb.Header()[1] != "Courriel" {
		t.Fatalf("delim %q header %q", tb.Delimiter(), tb.Header())
	}
	rows := readAll(t, tb)
	if len(rows) != 2 || rows[0].Line != 3 || rows[1].Line != 4 || rows[1].Fields[0] != "Durand;x" {
		t.Errorf("rows %+v", rows)
	}
}
