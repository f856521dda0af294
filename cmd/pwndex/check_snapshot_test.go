package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/index"
)

func TestCheckSnapshot(t *testing.T) {
	ix, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	b, err := ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "s", Sorted: true, ExpectedKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := index.Hash(sha1.Sum([]byte("password")))
	if err := b.SetBase(&h, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap, err := ix.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	if err := snap.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--snapshot", dir}, nil, &out, &errb); code != 0 || !strings.HasSuffix(out.String(), "ok\n") {
		t.Fatalf("check of a sound snapshot: %d %s %s", code, out.String(), errb.String())
	}
	var victim string
	for _, f := range snap.Manifest.Files {
		if strings.HasSuffix(f.Path, "ranges.txt") {
			victim = f.Path
		}
	}
	p := filepath.Join(dir, filepath.FromSlash(victim))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"check", "--snapshot", dir}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), victim) {
		t.Fatalf("check of a damaged snapshot: %d %s", code, errb.String())
	}
}
