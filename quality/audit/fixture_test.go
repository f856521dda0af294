package audit

import (
	"context"
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// fixtureBreach is a breach with its identifiers written in normal form;
// their hashes come from crypto/sha1 directly, independently of ident.
type fixtureBreach struct {
	b      index.Breach
	emails []string // normalised e-mail addresses
	phones []string // E.164
}

func sha1Hash(s string) index.Hash { return index.Hash(sha1.Sum([]byte(s))) }

// fixtureBreaches: Alpha (2019, passwords) and Beta (2021, no passwords)
// hold e-mail addresses; Gamma (2020) holds phone numbers.
func fixtureBreaches() []fixtureBreach {
	return []fixtureBreach{
		{b: index.Breach{Name: "Alpha", Title: "Alpha Shop", Domain: "alpha.example", BreachDate: "2019-03-01",
			DataClasses: []string{"Email addresses", "Passwords"}, IsVerified: true},
			emails: []string{"alice@example.com", "carol@example.fr", "dave@xn--caf-dma.fr"}},
		{b: index.Breach{Name: "Beta", Title: "Beta Forum", Domain: "beta.example", BreachDate: "2021-07-15",
			DataClasses: []string{"Email addresses", "Usernames"}, IsVerified: true},
			emails: []string{"alice@example.com", "erin@example.org"}},
		{b: index.Breach{Name: "Gamma", Title: "Gamma Telecom", Domain: "gamma.example", BreachDate: "2020-11-30",
			DataClasses: []string{"Phone numbers", "Names"}},
			phones: []string{"+33612345678", "+33698765432"}},
	}
}

// buildIndex builds a real index in dir with the breaches and returns it
// open (closed at the end of the test).
func buildIndex(t testing.TB, dir string, bs []fixtureBreach) *index.Index {
	t.Helper()
	ix, err := makeIndex(dir, bs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func makeIndex(dir string, bs []fixtureBreach) (*index.Index, error) {
	ix, err := index.Open(index.Options{Dir: dir, FalsePositiveRate: 1e-4})
	if err != nil {
		return nil, err
	}
	for _, fb := range bs {
		if err := addBreach(ix, fb); err != nil {
			ix.Close()
			return nil, err
		}
	}
	return ix, nil
}

func addBreach(ix *index.Index, fb fixtureBreach) error {
	b, err := ix.NewBreachBuilder(fb.b, index.BuildOptions{SourceID: "test:" + fb.b.Name})
	if err != nil {
		return err
	}
	for _, e := range fb.emails {
		h := sha1Hash(e)
		if err := b.AddIdentifier(index.KindEmail, &h); err != nil {
			return err
		}
	}
	for _, p := range fb.phones {
		h := sha1Hash(p)
		if err := b.AddIdentifier(index.KindPhone, &h); err != nil {
			return err
		}
	}
	_, err = b.Commit(context.Background())
	return err
}

// shared is the fixture index, built once for the package's tests (a
// Badger commit is slow under -race).
var shared struct {
	once sync.Once
	dir  string
	ix   *index.Index
	err  error
}

func fixtureIndex(t testing.TB) *index.Index {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "audit-fixture-")
		if shared.err == nil {
			shared.ix, shared.err = makeIndex(shared.dir, fixtureBreaches())
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.ix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.ix != nil {
		shared.ix.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// crmCSV is a French CRM export. Expected outcome per line:
//
//	2 C001 alice: Alpha+Beta by e-mail
//	3 C002 bob not indexed; phone 06 12 34 56 78 in Gamma
//	4 C003 invalid e-mail, no phone: bad row, nothing checked
//	5 C004 nothing at all: bad row
//	6 malformed quote: bad row
//	7 C006 carol (upper case, spaces) in Alpha; phone +33 6 98 76 54 32 in Gamma
//	8 C007 frank, clean
//	9 C008 dave with an IDN domain (café.fr) in Alpha; phone invalid: bad row
const crmCSV = "Identifiant;Civilité;Prénom;Nom;Adresse e-mail;Téléphone;Code postal;Ville\r\n" +
	"C001;Mme;Alice;Martin;alice@example.com;;75001;Paris\r\n" +
	"C002;M.;Bob;Durand;bob@example.com;06 12 34 56 78;69001;Lyon\r\n" +
	"C003;M.;Chris;Petit;not-an-email;;13001;Marseille\r\n" +
	"C004;Mme;;;;;;\r\n" +
	"C005;M.;Bad\"Quote;X;x@example.com;;;\r\n" +
	"C006;Mme;Carol;Roux;  Carol@Example.FR ;+33 6 98 76 54 32;33000;Bordeaux\r\n" +
	"C007;M.;Frank;Blanc;frank@example.net;01 23;44000;Nantes\r\n" +
	"C008;M.;Dave;Café;dave@café.fr;12;59000;Lille\r\n"

// wantExposedCSV is exposed.csv for crmCSV, written by hand.
const wantExposedCSV = "line;customer_id;identifiers;breaches;breach_count;data_classes;latest_breach;passwords\n" +
	"2;C001;email;Alpha|Beta;2;Email addresses|Passwords|Usernames;2021-07-15;yes\n" +
	"3;C002;phone;Gamma;1;Names|Phone numbers;2020-11-30;no\n" +
	"7;C006;email+phone;Alpha|Gamma;2;Email addresses|Names|Passwords|Phone numbers;2020-11-30;yes\n" +
	"9;C008;email;Alpha;1;Email addresses|Passwords;2019-03-01;yes\n"

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// outputs reads the four output files of a run.
func outputs(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range []string{FileExposed, FileJSON, FileHTML, FileBadRows} {
		m[f] = readFile(t, filepath.Join(dir, f))
	}
	return m
}

func sameOutputs(t testing.TB, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s differs:\n got: %.600s\nwant: %.600s", name, got[name], w)
		}
	}
}

// containsAny reports which of the needles occur in s, case-insensitively.
func containsAny(s string, needles ...string) []string {
	var found []string
	ls := strings.ToLower(s)
	for _, n := range needles {
		if strings.Contains(ls, strings.ToLower(n)) {
			found = append(found, n)
		}
	}
	return found
}
