package api

import (
	"context"
	"crypto/sha1"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// TestRangeWithoutCompressedCopies: an index built without gzip and brotli
// copies (the CLI default) answers every client with the exact identity
// body, unpadded and padded, whatever its Accept-Encoding, with the
// identity ETag; nothing is compressed per request.
func TestRangeWithoutCompressedCopies(t *testing.T) {
	ix, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	// 400 passwords whose SHA-1 share the bucket of "password"'s, rendered
	// by the test itself: a dense (> 1 KiB) body.
	rows := map[string]uint64{}
	bucket := sha1Hex("password")[:5]
	for i := 0; len(rows) < 400; i++ {
		h := fmt.Sprintf("%X", sha1.Sum([]byte(fmt.Sprint("n", i))))
		rows[bucket+h[5:]] = uint64(i + 1)
	}
	b, err := ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "nocopies"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for full, n := range rows {
		h := mustHash(index.KindSHA1, full)
		if err := b.SetBase(&h, n); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s:%d", full[5:], n))
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	want := strings.Join(lines, "\r\n")
	_, base := serveIndex(t, ix, Options{})
	for _, accept := range []string{"gzip", "gzip, deflate, br", "*", "br;q=1.0, gzip;q=0.8", ""} {
		for _, padded := range []bool{false, true} {
			hdr := []string{"Accept-Encoding: " + accept}
			if padded {
				hdr = append(hdr, "Add-Padding: true")
			}
			resp, body := get(t, "GET", base+"/range/"+bucket, hdr...)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" {
				t.Fatalf("%q padded=%v: status %d, Content-Encoding %q", accept, padded, resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			if !padded && string(body) != want {
				t.Fatalf("%q: body differs from the rows (%d vs %d bytes)", accept, len(body), len(want))
			}
			if padded && !strings.HasPrefix(string(body), want+"\r\n") {
				t.Fatalf("%q padded: body does not start with the rows", accept)
			}
			if et := resp.Header.Get("ETag"); !padded && (strings.Contains(et, "gzip") || strings.Contains(et, "br")) {
				t.Errorf("%q: ETag %q of a coding that was not sent", accept, et)
			}
		}
	}
}
