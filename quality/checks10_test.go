package quality

import "testing"

func TestRepairMojibake(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"FranÃ§ois", "François", true},
		{"NÃ®mes", "Nîmes", true},
		{"Ã‰lodie", "Élodie", true},
		{"LÃ©a MÃ¼ller", "Léa Müller", true},
		{"lâ€™Atelier", "l’Atelier", true},
		{"François", "François", false},   // already right
		{"São Paulo", "São Paulo", false}, // a real Ã-free accent
		{"ÃO", "ÃO", false},               // a real Ã: re-encoding is not UTF-8
		{"Paris", "Paris", false},
	}
	for _, c := range cases {
		got, ok := RepairMojibake(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("RepairMojibake(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestIsSensitiveComment(t *testing.T) {
	cases := map[string]bool{
		"diabétique, appeler après 18h": true, "Enceinte": true, "syndiqué CGT": true, "adhérent CFDT": true,
		"musulman pratiquant": true, "a fait de la prison": true, "casier judiciaire vierge": true,
		"suivi psychiatrique": true, "militant écologiste": true, "Témoin de Jéhovah": true,
		"homosexuel": true, "pregnant, call later": true, "trade union member": true, "VIH+": true,
		"rappeler en juin": false, "intéressé par l'offre pro": false, "client fidèle": false, "": false,
		"partie commune": false, "particulier": false, "préfère le matin": false, "unionville": false,
	}
	for in, want := range cases {
		if got := IsSensitiveComment(in); got != want {
			t.Errorf("IsSensitiveComment(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsFirstName(t *testing.T) {
	cases := map[string]bool{"Marie": true, "JEAN-PIERRE": true, "élodie": true, "Marie Claire": true,
		"Dupont": false, "Lefèvre": false, "Xq": false, "": false}
	for in, want := range cases {
		if got := IsFirstName(in); got != want {
			t.Errorf("IsFirstName(%q) = %v, want %v", in, got, want)
		}
	}
}
