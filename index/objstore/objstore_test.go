package objstore

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/objstore/miniotest"
)

// buildIndex writes an index with n SHA-1 passwords (compressed ranges)
// and a breach with e-mails, and returns it open.
func buildIndex(t *testing.T, n int) *index.Index {
	t.Helper()
	ix, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	hs := make([]index.Hash, n)
	for i := range hs {
		hs[i] = index.Hash(sha1.Sum(fmt.Appendf(nil, "pw-%d", i)))
	}
	sort.Slice(hs, func(i, j int) bool { return bytes.Compare(hs[i][:], hs[j][:]) < 0 })
	b, err := ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "t", Sorted: true, Compress: true, ExpectedKeys: n})
	if err != nil {
		t.Fatal(err)
	}
	for i := range hs {
		if err := b.SetBase(&hs[i], uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	bb, err := ix.NewBreachBuilder(index.Breach{Name: "Alpha", BreachDate: "2020-01-02", DataClasses: []string{"Email addresses"}}, index.BuildOptions{SourceID: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		h := index.Hash(sha1.Sum(fmt.Appendf(nil, "user%d@example.com", i)))
		if err := bb.AddIdentifier(index.KindEmail, &h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bb.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ix
}

func openStore(t *testing.T, srv *miniotest.Server, prefix string, opts Options) *Store {
	t.Helper()
	st, err := Open(srv.URL("snaps", prefix), opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func publish(t *testing.T, st *Store, ix *index.Index) PublishStats {
	t.Helper()
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := st.Publish(context.Background(), snap, false)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// sameFiles checks that every generation file of the writer's index has a
// byte-identical copy in the snapshot directory (hashed here with
// crypto/sha256, not through the manifest).
func sameFiles(t *testing.T, writerDir, snapDir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(writerDir, "gens"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(writerDir, p)
		a, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(snapDir, rel))
		if err != nil {
			return err
		}
		if sha256.Sum256(a) != sha256.Sum256(b) {
			return fmt.Errorf("%s differs", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d generation files compared", n)
	}
}

func TestPublishFetch(t *testing.T) {
	srv := miniotest.Start(t, "snaps")
	ix := buildIndex(t, 2000)
	st := openStore(t, srv, "prod/eu", Options{})
	ps := publish(t, st, ix)
	if ps.Existed || ps.Uploaded == 0 || ps.Uploaded+ps.Reused > ps.Files {
		t.Fatalf("first publish: %+v", ps)
	}
	again := publish(t, st, ix)
	if !again.Existed || again.Uploaded != 0 || again.Name != ps.Name {
		t.Fatalf("second publish of the same state: %+v", again)
	}
	latest, err := st.Latest(context.Background())
	if err != nil || latest != ps.Name {
		t.Fatalf("Latest = %q, %v; want %q", latest, err, ps.Name)
	}
	rep, err := NewReplica(st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := rep.Fetch(context.Background(), latest)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, ix.Dir(), dir)
	sx, err := index.OpenSnapshot(dir, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sx.Close()
	if sx.ETag() != ix.ETag() || len(sx.Breaches()) != 1 {
		t.Fatalf("replica etag %s breaches %d; writer %s", sx.ETag(), len(sx.Breaches()), ix.ETag())
	}
	h := index.Hash(sha1.Sum([]byte("pw-7")))
	for _, enc := range []index.Encoding{index.Identity, index.Gzip, index.Brotli} {
		a, _ := ix.PasswordRange(index.KindSHA1, h.Prefix(5), enc)
		b, _ := sx.PasswordRange(index.KindSHA1, h.Prefix(5), enc)
		if !bytes.Equal(a, b) || len(a) == 0 && enc == index.Identity {
			t.Fatalf("range of pw-7, encoding %d differs", enc)
		}
	}
	if d, n, ok := rep.Local(); !ok || d != dir || n != latest {
		t.Fatalf("Local = %q %q %v", d, n, ok)
	}
	// A second snapshot that only adds a breach shares the password
	// generation: the replica downloads only what changed.
	bb, err := ix.NewBreachBuilder(index.Breach{Name: "Beta", BreachDate: "2021-01-02"}, index.BuildOptions{SourceID: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	h2 := index.Hash(sha1.Sum([]byte("new@example.com")))
	bb.AddIdentifier(index.KindEmail, &h2)
	if _, err := bb.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	ps2 := publish(t, st, ix)
	if ps2.Reused == 0 || ps2.Name <= ps.Name {
		t.Fatalf("incremental publish: %+v", ps2)
	}
	if n, err := rep.Newer(context.Background(), latest); err != nil || n != ps2.Name {
		t.Fatalf("Newer = %q, %v", n, err)
	}
	dir2, err := rep.Fetch(context.Background(), ps2.Name)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, ix.Dir(), dir2)
	if err := rep.Prune(dir2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old snapshot not pruned: %v", err)
	}
	if _, err := index.VerifySnapshot(dir2); err != nil {
		t.Fatalf("pruning damaged the kept snapshot: %v", err)
	}
}

func TestCorruptObjectRefused(t *testing.T) {
	srv := miniotest.Start(t, "snaps")
	ix := buildIndex(t, 500)
	st := openStore(t, srv, "c", Options{})
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Bit rot in the store: a blob of the right name and size whose
	// content differs. Publish keeps it (same size), the replica refuses.
	var victim index.SnapshotFile
	for _, f := range snap.Manifest.Files {
		if strings.HasSuffix(f.Path, "filter.bf") {
			victim = f
		}
	}
	r, _ := snap.Open(victim.Path)
	b, _ := io.ReadAll(r)
	r.Close()
	b[len(b)/3] ^= 1
	if _, err := srv.Client.PutObject(context.Background(), "snaps", "c/blobs/"+victim.SHA256, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	ps, err := st.Publish(context.Background(), snap, false)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	rep, err := NewReplica(st, cache)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rep.Fetch(context.Background(), ps.Name)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Object != "blobs/"+victim.SHA256 || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("Fetch of a corrupted snapshot: %v", err)
	}
	if _, _, ok := rep.Local(); ok {
		t.Fatal("a refused snapshot is in the cache")
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "blobs", "*.part")); len(m) != 0 {
		t.Fatalf("partial downloads left: %v", m)
	}
	// Publishing again with --force repairs the store.
	if _, err := st.Publish(context.Background(), snap, true); err != nil {
		t.Fatal(err)
	}
	dir, err := rep.Fetch(context.Background(), ps.Name)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, ix.Dir(), dir)

	// A manifest whose content does not match its name is refused too.
	m, _ := index.MarshalManifest(&snap.Manifest)
	fake := strings.Replace(ps.Name, "00000000000000000002-", "00000000000000000009-", 1)
	if fake == ps.Name {
		t.Fatalf("unexpected name %s", ps.Name)
	}
	m = append(m, ' ')
	srv.Client.PutObject(context.Background(), "snaps", "c/"+fake, bytes.NewReader(m), int64(len(m)), minio.PutObjectOptions{})
	if _, err := rep.Fetch(context.Background(), fake); !errors.As(err, &ce) || ce.Object != fake {
		t.Fatalf("Fetch of a manifest not matching its name: %v", err)
	}
}

// cutTransport cancels the download context once n response bytes went
// through: the state a replica killed mid-download leaves behind.
type cutTransport struct {
	left   atomic.Int64
	cancel context.CancelFunc
}

type cutBody struct {
	io.ReadCloser
	t *cutTransport
}

func (b cutBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.t.left.Add(-int64(n)) < 0 {
		b.t.cancel()
	}
	return n, err
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = cutBody{resp.Body, c}
	}
	return resp, err
}

func TestInterruptedFetchConverges(t *testing.T) {
	srv := miniotest.Start(t, "snaps")
	ix := buildIndex(t, 3000)
	ps := publish(t, openStore(t, srv, "k", Options{}), ix)
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ct := &cutTransport{cancel: cancel}
	ct.left.Store(12 << 20) // about half of the snapshot
	rep, err := NewReplica(openStore(t, srv, "k", Options{Transport: ct}), cache)
	if err != nil {
		t.Fatal(err)
	}
	rep.Workers = 1
	if _, err := rep.Fetch(ctx, ps.Name); err == nil {
		t.Fatal("Fetch survived its cancellation")
	}
	blobs, _ := os.ReadDir(filepath.Join(cache, "blobs"))
	if len(blobs) == 0 {
		t.Fatal("nothing downloaded before the interruption")
	}
	if _, _, ok := rep.Local(); ok {
		t.Fatal("an incomplete snapshot counts as complete")
	}
	// Restart on the same cache.
	rep2, err := NewReplica(openStore(t, srv, "k", Options{}), cache)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := rep2.Fetch(context.Background(), ps.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := index.VerifySnapshot(dir); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, ix.Dir(), dir)
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Location
		err  string
	}{
		{"s3://bucket", Location{Bucket: "bucket", Endpoint: "s3.amazonaws.com"}, ""},
		{"s3://my.bucket-1/a/b/?region=eu-west-3", Location{Bucket: "my.bucket-1", Prefix: "a/b", Endpoint: "s3.amazonaws.com", Region: "eu-west-3"}, ""},
		{"s3://b12/p?endpoint=127.0.0.1:9000&disable_https=true", Location{Bucket: "b12", Prefix: "p", Endpoint: "127.0.0.1:9000", Insecure: true}, ""},
		{"http://bucket/p", Location{}, "scheme must be s3"},
		{"s3://Bucket/p", Location{}, "lower-case"},
		{"s3://ab/p", Location{}, "3 to 63"},
		{"s3://key:secret@bucket/p", Location{}, "credentials"},
		{"s3://bucket/a/../b", Location{}, "not a clean path"},
		{"s3://bucket/p?endpoint=http://x", Location{}, "HOST or HOST:PORT"},
		{"s3://bucket/p?disable_https=maybe", Location{}, "want true or false"},
		{"s3://bucket/p?foo=1", Location{}, "unknown parameter"},
		{"s3://bucket/p?region=a&region=b", Location{}, "given 2 times"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURL(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseURL = %+v, %v; want %+v", got, err, tc.want)
			}
			if again, err := ParseURL(got.String()); err != nil || again != got {
				t.Fatalf("round trip %s = %+v, %v", got.String(), again, err)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bucket/p?endpoint=127.0.0.1:9000&disable_https=true", "s3://b/../x", "s3://a.b-c/x/y?region=r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseURL(s)
		if err != nil {
			return
		}
		if checkBucket(l.Bucket) != nil || strings.Contains(l.Prefix, "..") && strings.Contains("/"+l.Prefix+"/", "/../") {
			t.Fatalf("accepted %q as %+v", s, l)
		}
		again, err := ParseURL(l.String())
		if err != nil || again != l {
			t.Fatalf("%q: round trip of %+v gives %+v, %v", s, l, again, err)
		}
	})
}

func TestManifestName(t *testing.T) {
	n := ManifestName(42, []byte("x"))
	sum := sha256.Sum256([]byte("x"))
	want := fmt.Sprintf("snapshots/00000000000000000042-%x.json", sum)
	if n != want {
		t.Fatalf("ManifestName = %s, want %s", n, want)
	}
	if s, ok := parseManifestName(n); !ok || s != want[len("snapshots/00000000000000000042-"):len(want)-5] {
		t.Fatalf("parseManifestName(%s) = %s %v", n, s, ok)
	}
	for _, bad := range []string{"snapshots/42-abc.json", "blobs/x", strings.Replace(n, ".json", ".txt", 1), strings.ToUpper(n)} {
		if _, ok := parseManifestName(bad); ok {
			t.Errorf("parseManifestName(%q) accepted", bad)
		}
	}
}

func TestPrune(t *testing.T) {
	srv := miniotest.Start(t, "snaps")
	ix := buildIndex(t, 300)
	st := openStore(t, srv, "g", Options{})
	var last PublishStats
	for i := range 3 {
		bb, err := ix.NewBreachBuilder(index.Breach{Name: fmt.Sprintf("B%d", i), BreachDate: "2022-01-01"}, index.BuildOptions{SourceID: fmt.Sprint("b", i)})
		if err != nil {
			t.Fatal(err)
		}
		h := index.Hash(sha1.Sum(fmt.Appendf(nil, "x%d@example.com", i)))
		bb.AddIdentifier(index.KindEmail, &h)
		if _, err := bb.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		last = publish(t, st, ix)
	}
	count := func(prefix string) int {
		n := 0
		for o := range srv.Client.ListObjects(context.Background(), "snaps", minio.ListObjectsOptions{Prefix: "g/" + prefix, Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		return n
	}
	if count("snapshots/") != 3 {
		t.Fatalf("%d manifests before pruning", count("snapshots/"))
	}
	// A grace longer than the test keeps every blob.
	ps, err := st.Prune(context.Background(), 1, time.Hour)
	if err != nil || ps.Manifests != 2 || ps.Blobs != 0 {
		t.Fatalf("Prune(1, 1h) = %+v, %v", ps, err)
	}
	ps, err = st.Prune(context.Background(), 1, 0)
	if err != nil || ps.Manifests != 0 || ps.Blobs == 0 {
		t.Fatalf("Prune(1, 0) = %+v, %v", ps, err)
	}
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	unique := map[string]bool{}
	for _, f := range snap.Manifest.Files {
		unique[f.SHA256] = true
	}
	if count("snapshots/") != 1 || count("blobs/") != len(unique) {
		t.Fatalf("after pruning: %d manifests, %d blobs; want 1 and %d", count("snapshots/"), count("blobs/"), len(unique))
	}
	rep, err := NewReplica(st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := rep.Fetch(context.Background(), last.Name)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, ix.Dir(), dir)
	if _, err := st.Prune(context.Background(), 0, 0); err == nil {
		t.Fatal("Prune(0) accepted")
	}
}

func TestStartFallsBack(t *testing.T) {
	srv := miniotest.Start(t, "snaps")
	ix := buildIndex(t, 300)
	st := openStore(t, srv, "s", Options{})
	good := publish(t, st, ix)
	// Version 3 with a corrupted blob in the store.
	bb, err := ix.NewBreachBuilder(index.Breach{Name: "Late", BreachDate: "2023-01-01"}, index.BuildOptions{SourceID: "late"})
	if err != nil {
		t.Fatal(err)
	}
	h := index.Hash(sha1.Sum([]byte("late@example.com")))
	bb.AddIdentifier(index.KindEmail, &h)
	if _, err := bb.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var victim index.SnapshotFile
	for _, f := range snap.Manifest.Files {
		if f.Path == "catalog.json" {
			victim = f
		}
	}
	bad := bytes.Repeat([]byte{'x'}, int(victim.Size))
	if _, err := srv.Client.PutObject(context.Background(), "snaps", "s/blobs/"+victim.SHA256, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	newest, err := st.Publish(context.Background(), snap, false)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	rep, err := NewReplica(st, cache)
	if err != nil {
		t.Fatal(err)
	}
	_, name, failed, err := rep.Start(context.Background(), 3)
	var ce *CorruptError
	if err != nil || name != good.Name || len(failed) != 1 || !errors.As(failed[0], &ce) || ce.Snapshot != newest.Name {
		t.Fatalf("Start = %s, %v, %v; want %s after refusing %s", name, failed, err, good.Name, newest.Name)
	}
	// The store unreachable: the cached snapshot.
	down, err := Open(fmt.Sprintf("s3://snaps/s?endpoint=127.0.0.1:%d&disable_https=true", miniotest.FreePort(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := NewReplica(down, cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, name, failed, err := rep2.Start(context.Background(), 3); err != nil || name != good.Name || len(failed) != 1 {
		t.Fatalf("Start with the store down = %s, %v, %v", name, failed, err)
	}
	// Nothing cached and nothing fetchable: an error naming the cause.
	rep3, err := NewReplica(down, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := rep3.Start(context.Background(), 3); err == nil || !strings.Contains(err.Error(), "list snapshots") {
		t.Fatalf("Start with nothing: %v", err)
	}
}
