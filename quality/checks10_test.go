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
