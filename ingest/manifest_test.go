package ingest

import (
	"testing"
	"time"
)

// TestManifestHIBPFields ingests with manifests and reads the catalog
// back: every HIBP field given is kept (Attribution included), fields left
// out take HIBP's defaults (false, null).
func TestManifestHIBPFields(t *testing.T) {
	ix := newIndex(t)
	ingestOK(t, ix, Config{Inputs: []string{td("hashes-email.txt")}, Manifest: td("manifest-hibp-fields.json")})
	b, ok := ix.BreachByName("stealerdrop")
	if !ok {
		t.Fatal("StealerDrop not in the catalog")
	}
	if !b.IsSubscriptionFree || !b.IsStealerLog || !b.IsMalware || !b.IsSpamList || !b.IsFabricated || !b.IsVerified ||
		b.Attribution == nil || *b.Attribution != "A. Researcher" ||
		b.DisclosureUrl == nil || *b.DisclosureUrl != "https://example.org/disclosure" ||
		b.LogoPath != "https://logos.example/stealer.png" ||
		!b.AddedDate.Equal(time.Date(2025, 2, 10, 8, 30, 0, 0, time.UTC)) ||
		!b.ModifiedDate.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("manifest fields lost: %+v", b)
	}

	ix = newIndex(t)
	ingestOK(t, ix, Config{Inputs: []string{td("hashes-email.txt")}, Manifest: td("manifest-partner.json")})
	b, _ = ix.BreachByName("PartnerList")
	if b.Attribution == nil || *b.Attribution != "unknown" {
		t.Errorf("Attribution of manifest-partner.json dropped: %+v", b.Attribution)
	}
	if b.IsSubscriptionFree || b.IsStealerLog || b.DisclosureUrl != nil {
		t.Errorf("defaults: IsSubscriptionFree %v IsStealerLog %v DisclosureUrl %v", b.IsSubscriptionFree, b.IsStealerLog, b.DisclosureUrl)
	}
}
