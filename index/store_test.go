package index

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	//lint:ignore SA1019 NTLM is MD4 of UTF-16LE by definition.
	"golang.org/x/crypto/md4"
)

func openTest(t *testing.T, dir string) *Index {
	t.Helper()
	ix, err := Open(Options{Dir: dir, FalsePositiveRate: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// pw is a password with the SHA-1 computed by the standard library, the
// independent reference for the expected range bodies.
type pw struct {
	h     Hash
	count uint64
}

func sha1Of(s string) Hash { return Hash(sha1.Sum([]byte(s))) }

func passwords(n int) []pw {
	out := make([]pw, n)
	for i := range out {
		out[i] = pw{sha1Of(fmt.Sprintf("password-%d", i)), uint64(i%97 + 1)}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].h[:], out[j].h[:]) < 0 })
	return out
}

func buildBase(t *testing.T, ix *Index, k Kind, ps []pw, sorted bool) {
	t.Helper()
	b, err := ix.NewBaseBuilder(k, BuildOptions{SourceID: fmt.Sprintf("test-%d-%v", len(ps), sorted), Sorted: sorted, ExpectedKeys: len(ps), Compress: true, MemoryBudget: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if err := b.SetBase(&ps[i].h, ps[i].count); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// expectedBody renders a range body the way api.pwnedpasswords.com does,
// independently of the index code: fmt's %X and strings.Join.
func expectedBody(ps []pw, prefix uint32, counts map[Hash]uint64) string {
	var lines []string
	for _, p := range ps {
		full := fmt.Sprintf("%X", p.h[:])
		if full[:5] != fmt.Sprintf("%05X", prefix) {
			continue
		}
		c := p.count
		if counts != nil {
			c = counts[p.h]
		}
		lines = append(lines, fmt.Sprintf("%s:%d", full[5:], c))
	}
	return strings.Join(lines, "\r\n")
}

func mustCheck(t *testing.T, ix *Index) CheckReport {
	t.Helper()
	rep, err := ix.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("check: %v", rep.Problems)
	}
	return rep
}

func TestBaseBuildAndRanges(t *testing.T) {
	for _, sorted := range []bool{true, false} {
		t.Run(fmt.Sprintf("sorted=%v", sorted), func(t *testing.T) {
			ix := openTest(t, t.TempDir())
			ps := passwords(5000) // MemoryBudget 64 KiB forces several sort runs
			in := append([]pw(nil), ps...)
			if !sorted {
				for i := range in { // deterministic shuffle
					j := (i * 7919) % len(in)
					in[i], in[j] = in[j], in[i]
				}
			}
			buildBase(t, ix, KindSHA1, in, sorted)
			for _, p := range ps[:50] {
				prefix := p.h.Prefix(5)
				body, ok := ix.PasswordRange(KindSHA1, prefix, Identity)
				if !ok || string(body) != expectedBody(ps, prefix, nil) {
					t.Fatalf("range %05X = %q, want %q", prefix, body, expectedBody(ps, prefix, nil))
				}
				e, found, err := ix.Lookup(KindSHA1, &p.h)
				if err != nil || !found || e.Count != p.count {
					t.Fatalf("Lookup = %+v %v %v, want count %d", e, found, err, p.count)
				}
			}
			absent := sha1Of("not-in-the-index")
			if _, found, _ := ix.Lookup(KindSHA1, &absent); found {
				t.Fatal("absent hash found")
			}
			if body, ok := ix.PasswordRange(KindSHA1, 0xFFFFF, Identity); !ok || len(body) != 0 && expectedBody(ps, 0xFFFFF, nil) == "" {
				t.Fatalf("empty range: %q %v", body, ok)
			}
			if ix.Meta().Counts[KindSHA1] != uint64(len(ps)) {
				t.Fatalf("count %d", ix.Meta().Counts[KindSHA1])
			}
			rep := mustCheck(t, ix)
			if rep.Kinds[KindSHA1].Records != uint64(len(ps)) {
				t.Fatalf("check records %d", rep.Kinds[KindSHA1].Records)
			}
		})
	}
}

func TestSortedRejectsOutOfOrder(t *testing.T) {
	ix := openTest(t, t.TempDir())
	b, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{Sorted: true})
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := sha1Of("b"), sha1Of("a") // e9d71f5e... > 86f7e437...
	if err := b.SetBase(&h1, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.SetBase(&h2, 1); !errors.Is(err, ErrUnsorted) {
		t.Fatalf("got %v, want ErrUnsorted", err)
	}
	b.Abort()
	if ix.Meta().Version != 0 {
		t.Fatal("aborted build changed the index")
	}
}

func TestNTLMRange(t *testing.T) {
	ix := openTest(t, t.TempDir())
	var ps []pw
	for i := 0; i < 300; i++ {
		m := md4.New()
		for _, r := range fmt.Sprintf("pw%d", i) {
			m.Write([]byte{byte(r), 0})
		}
		var h Hash
		m.Sum(h[:0])
		ps = append(ps, pw{h, uint64(i + 1)})
	}
	sort.Slice(ps, func(i, j int) bool { return bytes.Compare(ps[i].h[:], ps[j].h[:]) < 0 })
	buildBase(t, ix, KindNTLM, ps, true)
	p := ps[0].h.Prefix(5)
	body, _ := ix.PasswordRange(KindNTLM, p, Identity)
	want := ""
	for _, x := range ps {
		full := fmt.Sprintf("%X", x.h[:16])
		if full[:5] == fmt.Sprintf("%05X", p) {
			if want != "" {
				want += "\r\n"
			}
			want += fmt.Sprintf("%s:%d", full[5:], x.count)
		}
	}
	if string(body) != want || strings.Index(want, ":") != 27 {
		t.Fatalf("NTLM body %q, want %q", body, want)
	}
	mustCheck(t, ix)
}

func TestBreachesAndReplacement(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	ps := passwords(200)
	buildBase(t, ix, KindSHA1, ps, true)

	emails := []string{"a@example.com", "b@example.com", "c@example.org"}
	addBreach := func(name string, ems []string, pws []string, sensitive bool) {
		t.Helper()
		b, err := ix.NewBreachBuilder(Breach{Name: name, BreachDate: "2021-04-03", DataClasses: []string{"Email addresses", "Passwords"}, IsSensitive: sensitive}, BuildOptions{SourceID: "breach:" + name})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ems {
			h := sha1Of(e)
			if err := b.AddIdentifier(KindEmail, &h); err != nil {
				t.Fatal(err)
			}
			if err := b.AddIdentifier(KindEmail, &h); err != nil { // twice is harmless
				t.Fatal(err)
			}
		}
		for _, p := range pws {
			h := sha1Of(p)
			if err := b.AddPassword(KindSHA1, &h, 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	addBreach("Alpha", emails[:2], []string{"password-0", "password-0", "brand-new"}, false)
	addBreach("Beta", emails[1:], nil, true)

	alpha, ok := ix.BreachByName("alpha")
	beta, ok2 := ix.BreachByName("BETA")
	if !ok || !ok2 || alpha.ID != 1 || beta.ID != 2 || alpha.PwnCount != 2 || alpha.AddedDate.IsZero() {
		t.Fatalf("catalog: %+v %+v", alpha, beta)
	}
	if !ix.HasSource("breach:Alpha") || ix.HasSource("breach:Gamma") {
		t.Fatal("source markers wrong")
	}
	want := map[string][]BreachID{"a@example.com": {1}, "b@example.com": {1, 2}, "c@example.org": {2}}
	for e, ids := range want {
		h := sha1Of(e)
		got, found, err := ix.Lookup(KindEmail, &h)
		if err != nil || !found || fmt.Sprint(got.Breaches) != fmt.Sprint(ids) {
			t.Errorf("Lookup(%s) = %v %v %v, want %v", e, got.Breaches, found, err, ids)
		}
		es, err := ix.AppendRange(nil, KindEmail, Prefix{Value: h.Prefix(6), Digits: 6})
		if err != nil || len(es) != 1 || es[0].Hash != h || fmt.Sprint(es[0].Breaches) != fmt.Sprint(ids) {
			t.Errorf("AppendRange(%s) = %+v, %v", e, es, err)
		}
	}
	// Dump occurrences add to the download's base count.
	counts := map[Hash]uint64{}
	for _, p := range ps {
		counts[p.h] = p.count
	}
	h0 := sha1Of("password-0")
	if e, _, _ := ix.Lookup(KindSHA1, &h0); e.Count != counts[h0]+2 {
		t.Fatalf("password-0 count %d, want %d", e.Count, counts[h0]+2)
	}
	// A newer download replaces base counts but keeps dump occurrences:
	// password-0 gets base 1000, other old hashes vanish, brand-new stays.
	newer := []pw{{h0, 1000}}
	buildBase(t, ix, KindSHA1, newer, true)
	if e, _, _ := ix.Lookup(KindSHA1, &h0); e.Count != 1002 {
		t.Fatalf("after replacement count %d, want 1002", e.Count)
	}
	hn := sha1Of("brand-new")
	if e, found, _ := ix.Lookup(KindSHA1, &hn); !found || e.Count != 1 {
		t.Fatalf("dump-only password lost: %+v %v", e, found)
	}
	h1 := ps[1].h
	if h1 == h0 {
		h1 = ps[2].h
	}
	if _, found, _ := ix.Lookup(KindSHA1, &h1); found {
		t.Fatal("old base-only password survived replacement")
	}
	if ix.Meta().Counts[KindSHA1] != 2 {
		t.Fatalf("sha1 count %d, want 2", ix.Meta().Counts[KindSHA1])
	}
	mustCheck(t, ix)

	// Everything persists across reopen, and only live generations remain.
	etag := ix.ETag()
	ix.Close()
	ix2 := openTest(t, dir)
	if ix2.ETag() != etag || len(ix2.Breaches()) != 2 {
		t.Fatal("state not persisted")
	}
	h := sha1Of("b@example.com")
	if e, found, _ := ix2.Lookup(KindEmail, &h); !found || len(e.Breaches) != 2 {
		t.Fatal("records not persisted")
	}
	gens, _ := os.ReadDir(filepath.Join(dir, "gens"))
	if len(gens) != 2 {
		t.Fatalf("gens = %d dirs, want 2 (sha1, email)", len(gens))
	}
	mustCheck(t, ix2)
}

func TestInterruptedBuildLeavesIndexUnchanged(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	ps := passwords(100)
	buildBase(t, ix, KindSHA1, ps, true)
	before := ix.ETag()

	// A build that writes its generation but never commits (as after kill -9).
	b, err := ix.NewBreachBuilder(Breach{Name: "Crash"}, BuildOptions{MemoryBudget: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		h := sha1Of(fmt.Sprint(i))
		b.AddIdentifier(KindEmail, &h)
	}
	w := b.genWriter(KindEmail, 500)
	src, err := b.sorters[KindEmail].source()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.write(context.Background(), nil, src); err != nil {
		t.Fatal(err)
	}
	// Simulate the process dying here: no Commit, no Abort, no Close.
	ix.view.Load().closeGens()
	ix.meta.Close()
	ix.meta = nil

	ix2 := openTest(t, dir)
	if ix2.ETag() != before || len(ix2.Breaches()) != 0 {
		t.Fatal("uncommitted build became visible")
	}
	gens, _ := os.ReadDir(filepath.Join(dir, "gens"))
	if len(gens) != 1 {
		t.Fatalf("leftover generations not removed: %d dirs", len(gens))
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("tmp not removed")
	}
	mustCheck(t, ix2)
}

func TestOneBuilderAtATime(t *testing.T) {
	ix := openTest(t, t.TempDir())
	b, err := ix.NewBreachBuilder(Breach{Name: "X"}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second builder: %v", err)
	}
	b.Abort()
	b2, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b2.Abort()
}

func TestCorruptFilesDetected(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	buildBase(t, ix, KindSHA1, passwords(100), true)
	gen := ix.view.Load().gens[KindSHA1].dir
	ix.Close()
	for _, name := range []string{fileFilter, fileText} {
		p := filepath.Join(gen, name)
		orig, _ := os.ReadFile(p)
		bad := append([]byte(nil), orig...)
		if name == fileFilter {
			bad[len(bad)/2] ^= 0xff
		} else {
			bad[len(bad)-1] ^= 0xff // in the body
		}
		os.WriteFile(p, bad, 0o644)
		ix2, err := Open(Options{Dir: dir})
		if name == fileFilter && err == nil {
			ix2.Close()
			t.Fatalf("corrupt %s not detected at open", name)
		}
		if name == fileText {
			if err != nil {
				t.Fatal(err) // body checksums are verified by Check, not Open
			}
			rep, _ := ix2.Check(context.Background())
			ix2.Close()
			if rep.OK() {
				t.Fatalf("corrupt %s not detected by Check", name)
			}
		}
		os.WriteFile(p, orig, 0o644)
	}
}

func TestAPIKeys(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	secret, err := ix.CreateAPIKey(APIKey{Name: "audit-team", Scopes: []string{"range", "audit"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.CreateAPIKey(APIKey{Name: "audit-team"}); err == nil {
		t.Fatal("duplicate name accepted")
	}
	k, ok := ix.AuthAPIKey(secret)
	if !ok || k.Name != "audit-team" || !k.HasScope("audit") || k.HasScope("sensitive") {
		t.Fatalf("auth: %+v %v", k, ok)
	}
	if _, ok := ix.AuthAPIKey(secret + "x"); ok {
		t.Fatal("wrong secret accepted")
	}
	ix.Close()
	ix = openTest(t, dir)
	if _, ok := ix.AuthAPIKey(secret); !ok {
		t.Fatal("key not persisted")
	}
	if err := ix.DeleteAPIKey("audit-team"); err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.AuthAPIKey(secret); ok || len(ix.APIKeys()) != 0 {
		t.Fatal("key not deleted")
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in     string
		digits int
		want   uint32
		err    error
	}{
		{"21BD1", 5, 0x21BD1, nil},
		{"21bd1", 5, 0x21BD1, nil},
		{"21BD", 5, 0, ErrPrefixFormat},
		{"21BD12", 5, 0, ErrPrefixFormat},
		{"21BDZ", 5, 0, ErrPrefixHex},
		{"ABCDEF", 6, 0xABCDEF, nil},
	}
	for _, tt := range tests {
		p, err := ParsePrefix([]byte(tt.in), tt.digits)
		if err != tt.err || err == nil && (p.Value != tt.want || p.String() != strings.ToUpper(tt.in)) {
			t.Errorf("ParsePrefix(%q) = %v %v", tt.in, p, err)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add([]byte("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"))
	f.Add([]byte("8846f7eaee8fb117ad06bdd830b7586c"))
	f.Fuzz(func(t *testing.T, s []byte) {
		for _, k := range []Kind{KindSHA1, KindNTLM} {
			h, err := ParseHash(k, s)
			if err != nil {
				continue
			}
			if got := h.Hex(k); !strings.EqualFold(got, string(s)) {
				t.Fatalf("round trip %q -> %q", s, got)
			}
		}
	})
}

func TestReadOnlyOpensShare(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	buildBase(t, ix, KindSHA1, passwords(10), true)
	ix.Close()
	a, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	defer b.Close()
	if a.Meta().Counts[KindSHA1] != 10 || b.Meta().Counts[KindSHA1] != 10 {
		t.Fatal("readers see different states")
	}
	if _, err := a.NewBaseBuilder(KindSHA1, BuildOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("builder on a read-only index: %v", err)
	}
	if _, err := Open(Options{Dir: dir}); err == nil {
		t.Fatal("a writer opened an index held by readers")
	}
}

func TestOpenSomeKinds(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	buildBase(t, ix, KindSHA1, passwords(10), true)
	b, err := ix.NewBreachBuilder(Breach{Name: "B"}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	he := sha1Of("a@example.com")
	b.AddIdentifier(KindEmail, &he)
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ro, err := Open(Options{Dir: dir, ReadOnly: true, Kinds: []Kind{KindEmail}})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, found, _ := ro.Lookup(KindEmail, &he); !found {
		t.Fatal("e-mail not found")
	}
	hp := passwords(10)[0].h
	if ro.MayContain(KindSHA1, &hp) || ro.view.Load().gens[KindSHA1] != nil {
		t.Fatal("sha1 generation loaded although not asked for")
	}
	if _, err := Open(Options{Dir: dir, Kinds: []Kind{KindEmail}}); err == nil {
		t.Fatal("Kinds accepted on a writable open")
	}
}
