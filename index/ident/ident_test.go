package ident

import (
	"errors"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// Vectors frozen from independent tools: sha1sum(1) for SHA-1, the
// published NTLM test values, RFC 3492-style punycode from IDNA references.
func TestEmail(t *testing.T) {
	tests := []struct {
		in, norm, sha1 string
		err            error
	}{
		{"test@example.com", "test@example.com", "567159D622FFBB50B11B0EFD307BE358624A26EE", nil},
		{"  Test@Example.COM \t", "test@example.com", "567159D622FFBB50B11B0EFD307BE358624A26EE", nil},
		{"<test@example.com>", "test@example.com", "567159D622FFBB50B11B0EFD307BE358624A26EE", nil},
		{"Jean.Dupont@BÜCHER.de", "jean.dupont@xn--bcher-kva.de", "E18CBFD97A1181E4ADE07F5E7C4FBC4421F71C5B", nil},
		{"jean.dupont@xn--bcher-kva.de", "jean.dupont@xn--bcher-kva.de", "E18CBFD97A1181E4ADE07F5E7C4FBC4421F71C5B", nil},
		{"a@münchen.de", "a@xn--mnchen-3ya.de", "", nil},
		{"", "", "", ErrEmpty},
		{"   ", "", "", ErrEmpty},
		{"no-at-sign", "", "", ErrEmailSyntax},
		{"@example.com", "", "", ErrEmailSyntax},
		{"user@", "", "", ErrEmailSyntax},
		{"us er@example.com", "", "", ErrEmailSyntax},
		{"user@localhost", "", "", ErrEmailDomain},
		{"user@exa mple.com", "", "", ErrEmailDomain},
		{"user@-bad.com", "", "", ErrEmailDomain},
		{"user@example..com", "", "", ErrEmailDomain},
	}
	for _, tt := range tests {
		h, norm, err := Email(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Email(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Email(%q): %v", tt.in, err)
			continue
		}
		if norm != tt.norm {
			t.Errorf("Email(%q) = %q, want %q", tt.in, norm, tt.norm)
		}
		if tt.sha1 != "" {
			if got := h.Hex(3); got != tt.sha1 {
				t.Errorf("Email(%q) hash = %s, want %s", tt.in, got, tt.sha1)
			}
		}
	}
}

func TestPhone(t *testing.T) {
	tests := []struct {
		in, region, e164, gotRegion string
		typ                         phonenumbers.PhoneNumberType
		err                         error
	}{
		{"06 12 34 56 78", "", "+33612345678", "FR", phonenumbers.MOBILE, nil},
		{"06.12.34.56.78", "FR", "+33612345678", "FR", phonenumbers.MOBILE, nil},
		{"+33 6 12 34 56 78", "BE", "+33612345678", "FR", phonenumbers.MOBILE, nil},
		{"+33 (0)6 12 34 56 78", "", "+33612345678", "FR", phonenumbers.MOBILE, nil},
		{"0033612345678", "", "+33612345678", "FR", phonenumbers.MOBILE, nil},
		{"01 42 68 53 00", "fr", "+33142685300", "FR", phonenumbers.FIXED_LINE, nil},
		// A Belgian mobile written nationally: only the BE hint gets it right.
		{"0470 12 34 56", "BE", "+32470123456", "BE", phonenumbers.MOBILE, nil},
		{"079 123 45 67", "CH", "+41791234567", "CH", phonenumbers.MOBILE, nil},
		{"0690 12 34 56", "GP", "+590690123456", "GP", phonenumbers.MOBILE, nil},
		{"", "", "", "", 0, ErrEmpty},
		{"abc", "", "", "", 0, ErrPhoneParse},
		{"06 12", "", "", "", 0, ErrPhoneValid},
	}
	for _, tt := range tests {
		p, err := ParsePhone(tt.in, tt.region)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParsePhone(%q, %q) error = %v, want %v", tt.in, tt.region, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePhone(%q, %q): %v", tt.in, tt.region, err)
			continue
		}
		if p.E164 != tt.e164 || p.Region != tt.gotRegion || p.Type != tt.typ {
			t.Errorf("ParsePhone(%q, %q) = %+v, want %s %s %v", tt.in, tt.region, p, tt.e164, tt.gotRegion, tt.typ)
		}
	}
	h, _, err := PhoneHash("06 12 34 56 78", "")
	if err != nil || h.Hex(4) != "6632E47B4C91B2CBAF36EFBF6D7FA6425B4943E2" { // sha1sum of "+33612345678"
		t.Errorf("PhoneHash = %s, %v", h.Hex(4), err)
	}
}

func TestPasswords(t *testing.T) {
	tests := []struct{ pw, sha1, ntlm string }{
		{"password", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8", "8846F7EAEE8FB117AD06BDD830B7586C"},
		{"", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "31D6CFE0D16AE931B73C59D7E0C089C0"},
	}
	for _, tt := range tests {
		s := PasswordSHA1([]byte(tt.pw))
		if got := s.Hex(1); got != tt.sha1 {
			t.Errorf("SHA1(%q) = %s, want %s", tt.pw, got, tt.sha1)
		}
		n := PasswordNTLM([]byte(tt.pw))
		if got := n.Hex(2); got != tt.ntlm {
			t.Errorf("NTLM(%q) = %s, want %s", tt.pw, got, tt.ntlm)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"test@example.com", "A@BÜCHER.de", "x@y", "@", "a@b.c.", "<a@b.co>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		// Normalisation is idempotent: the same person hashes the same way.
		n2, err := NormalizeEmail(n)
		if err != nil || n2 != n {
			t.Fatalf("NormalizeEmail not idempotent: %q -> %q -> %q, %v", s, n, n2, err)
		}
	})
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"06 12 34 56 78", "+32470123456", "0690123456", "", "++", "(0)"} {
		f.Add(s, "FR")
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		p, err := ParsePhone(s, region)
		if err != nil {
			return
		}
		p2, err := ParsePhone(p.E164, "")
		if err != nil || p2.E164 != p.E164 {
			t.Fatalf("E.164 %q does not reparse to itself: %q, %v", p.E164, p2.E164, err)
		}
	})
}

var phoneInputs = []struct{ s, region string }{
	{"06 12 34 56 78", ""}, {"01 42 68 53 00", "FR"}, {"+33 7 81 23 45 67", ""},
	{"0470 12 34 56", "BE"}, {"0690 12 34 56", "GP"}, {"0262 12 34 56", "RE"},
}

func BenchmarkParsePhone(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in := phoneInputs[i%len(phoneInputs)]
		if _, err := ParsePhone(in.s, in.region); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Email("  Jean.Dupont@Example.FR "); err != nil {
			b.Fatal(err)
		}
	}
}

// slowPhone is ParsePhone's library-only path, the reference fastPhone
// must agree with.
func slowPhone(s, region string) (Phone, error) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return Phone{}, err
	}
	if !phonenumbers.IsValidNumber(num) {
		return Phone{}, ErrPhoneValid
	}
	return Phone{
		E164:   phonenumbers.Format(num, phonenumbers.E164),
		Region: phonenumbers.GetRegionCodeForNumber(num),
		Type:   phonenumbers.GetNumberType(num),
	}, nil
}

func TestFastPhoneAgreesWithLibrary(t *testing.T) {
	regions := []string{"FR", "GP", "MQ", "GF", "RE", "YT", "BE", "CH", "DE", "NL", "GB", "IT", "US", ""}
	inputs := []string{"0612345678", "0142685300", "0781234567", "0899123456", "0800123456", "0970123456",
		"0690123456", "0262123456", "0470123456", "0791234567", "030123456", "02012345678", "07912345678",
		"+33612345678", "0033612345678", "+590690123456", "+262692123456", "+32470123456", "+41791234567",
		"+4930123456", "+447912345678", "+390612345678", "+12025550123", "+33061234567", "0612"}
	for _, in := range inputs {
		for _, r := range regions {
			region := r
			if region == "" {
				region = DefaultRegion
			}
			fast, ok := fastPhone(in, region)
			if !ok {
				continue
			}
			slow, err := slowPhone(in, region)
			if err != nil || slow != fast {
				t.Errorf("fastPhone(%q, %q) = %+v, library says %+v %v", in, region, fast, slow, err)
			}
		}
	}
}

// FuzzFastPhone is a differential test: whenever the hand-written fast
// path answers, phonenumbers.Parse must give the same number, region and
// type.
func FuzzFastPhone(f *testing.F) {
	for _, s := range []string{"0612345678", "+33612345678", "0033612345678", "0690123456", "+32470123456", "0470123456", "030123456"} {
		f.Add(s, uint8(0))
	}
	regions := []string{"FR", "GP", "MQ", "GF", "RE", "YT", "BE", "CH", "DE", "NL", "GB", "IT"}
	f.Fuzz(func(t *testing.T, s string, ri uint8) {
		c, ok := compactPhone(s)
		if !ok {
			return
		}
		region := regions[int(ri)%len(regions)]
		fast, ok := fastPhone(c, region)
		if !ok {
			return
		}
		slow, err := slowPhone(s, region)
		if err != nil || slow != fast {
			t.Fatalf("fastPhone(%q, %q) = %+v, library says %+v %v", s, region, fast, slow, err)
		}
	})
}

// TestFastPhoneExamples compares the fast path with the library on the
// library's own example number of every type in every fast region, and on
// 200 digit mutations of each, written nationally and internationally.
func TestFastPhoneExamples(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	rng := uint64(42)
	next := func(n int) int { rng = rng*6364136223846793005 + 1442695040888963407; return int(rng>>33) % n }
	checked, fast := 0, 0
	for region := range fastRegions {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			nat := "0" + phonenumbers.GetNationalSignificantNumber(ex)
			for i := 0; i <= 200; i++ {
				b := []byte(nat)
				if i > 0 { // mutate one or two digits after the trunk 0
					for j := 0; j < 1+i%2; j++ {
						b[1+next(len(b)-1)] = byte('0' + next(10))
					}
				}
				for _, in := range []string{string(b), "+" + strconv.Itoa(int(ex.GetCountryCode())) + string(b[1:])} {
					checked++
					got, ok := fastPhone(in, region)
					if !ok {
						continue
					}
					fast++
					want, err := slowPhone(in, region)
					if err != nil || want != got {
						t.Fatalf("fastPhone(%q, %s) = %+v, library says %+v %v", in, region, got, want, err)
					}
				}
			}
		}
	}
	if fast < checked/3 {
		t.Fatalf("fast path answered only %d of %d inputs", fast, checked)
	}
	t.Logf("%d inputs, %d answered by the fast path, all equal to the library", checked, fast)
}
