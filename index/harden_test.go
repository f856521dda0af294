package index

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestCountsSaturate: base + breach occurrences and duplicate staged counts
// saturate at MaxCount instead of wrapping, and the range body, Lookup and
// Check agree on the saturated value.
func TestCountsSaturate(t *testing.T) {
	const maxCount = uint64(9999999999999999999) // 10^19-1, written out independently
	tests := []struct {
		name   string
		sorted bool
		counts []uint64 // SetBase calls for one hash (unsorted builds combine duplicates)
		add    uint64   // breach occurrences added afterwards
		want   uint64
	}{
		{"max base plus breach", true, []uint64{maxCount}, 224, maxCount},
		{"uint64 max clamped", true, []uint64{1<<64 - 1}, 0, maxCount},
		{"unsorted duplicates past 2^64", false, []uint64{1 << 63, 1 << 63, 5}, 0, maxCount},
		{"small sum exact", false, []uint64{3, 4}, 2, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := openTest(t, t.TempDir())
			h := sha1Of("saturate")
			other := sha1Of("other")
			b, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{Sorted: tt.sorted, MemoryBudget: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			if tt.sorted {
				if err := b.SetBase(&h, tt.counts[0]); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, c := range tt.counts {
					if err := b.SetBase(&h, c); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := b.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.add > 0 {
				bb, err := ix.NewBreachBuilder(Breach{Name: "B"}, BuildOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if err := bb.AddPassword(KindSHA1, &h, tt.add); err != nil {
					t.Fatal(err)
				}
				if err := bb.AddPassword(KindSHA1, &other, 1); err != nil {
					t.Fatal(err)
				}
				if _, err := bb.Commit(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			e, found, err := ix.Lookup(KindSHA1, &h)
			if err != nil || !found || e.Count != tt.want {
				t.Fatalf("Lookup = %d %v %v, want %d", e.Count, found, err, tt.want)
			}
			body, _ := ix.PasswordRange(KindSHA1, h.Prefix(5), Identity)
			wantLine := fmt.Sprintf("%X:%d", h[:], tt.want)[5:]
			if !strings.Contains(string(body), wantLine) {
				t.Fatalf("range body %q lacks %q", body, wantLine)
			}
			mustCheck(t, ix)
		})
	}
}
