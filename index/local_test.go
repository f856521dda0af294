package index

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalSnapshotsGC exports local snapshots while a reader holds one:
// the held snapshot survives every GC, is removed by the first GC after
// the reader closes it, and the current one is never removed. A crashed
// export's leftover directory is removed too.
func TestLocalSnapshotsGC(t *testing.T) {
	ix, _, secret := snapshotSource(t)
	dir := ix.Dir()
	first, err := ix.ExportLocal()
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := CurrentLocalSnapshot(dir); err != nil || cur != first {
		t.Fatalf("CURRENT = %q, %v; want %q", cur, err, first)
	}
	if again, err := ix.ExportLocal(); err != nil || again != first {
		t.Fatalf("export of an unchanged state: %q, %v; want %q", again, err, first)
	}
	reader, err := OpenLocalSnapshot(dir, first, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reader.AuthAPIKey(secret); !ok {
		t.Fatal("the snapshot lacks the API key")
	}
	// A key change is a commit: it exports a new current snapshot by itself.
	if _, err := ix.CreateAPIKey(APIKey{Name: "second", Scopes: []string{"range"}}); err != nil {
		t.Fatal(err)
	}
	second, err := CurrentLocalSnapshot(dir)
	if err != nil || second == first {
		t.Fatalf("after a key change CURRENT = %q, %v; want a new snapshot", second, err)
	}
	leftover := filepath.Join(dir, LocalSnapshotsDir, ".tmp-v1-crashed-1")
	if err := os.MkdirAll(filepath.Join(leftover, "gens"), 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := ix.GCLocalSnapshots()
	if err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(dir, LocalSnapshotsDir, first, ManifestName)) == false {
		t.Fatalf("GC removed %s while a reader holds it (removed %v)", first, removed)
	}
	if exists(leftover) {
		t.Fatal("GC left an interrupted export's directory")
	}
	// The held snapshot still serves after the GC.
	if _, ok := reader.AuthAPIKey(secret); !ok {
		t.Fatal("the held snapshot stopped answering")
	}
	reader.Close()
	if removed, err = ix.GCLocalSnapshots(); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(dir, LocalSnapshotsDir, first)) {
		t.Fatalf("GC kept %s after its reader closed (removed %v)", first, removed)
	}
	if !exists(filepath.Join(dir, LocalSnapshotsDir, second, ManifestName)) {
		t.Fatal("GC removed the current snapshot")
	}
	// A reader that reaches for a removed snapshot is told it is gone.
	if _, err := OpenLocalSnapshot(dir, first, Options{}); err == nil || !strings.Contains(err.Error(), "garbage-collected") {
		t.Fatalf("opening a removed snapshot: %v", err)
	}
	if _, err := VerifySnapshot(filepath.Join(dir, LocalSnapshotsDir, second)); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
