package index

import (
	"context"
	"testing"
)

func TestEmptyBuilds(t *testing.T) {
	ix := openTest(t, t.TempDir())
	for _, sorted := range []bool{true, false} {
		b, err := ix.NewBaseBuilder(KindSHA1, BuildOptions{Sorted: sorted})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := ix.NewBreachBuilder(Breach{Name: "Empty"}, BuildOptions{})
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if body, ok := ix.PasswordRange(KindSHA1, 0x12345, Identity); !ok || len(body) != 0 {
		t.Fatalf("empty range %q %v", body, ok)
	}
	mustCheck(t, ix)
}
