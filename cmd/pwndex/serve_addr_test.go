package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pwndex/pwndex/api"
)

// TestServeBadAddr: a malformed --addr or a port in use is a usage error
// (exit 2) reported in one line naming the address, before any "serving".
func TestServeBadAddr(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	m, c := writeLiveBreach(t, t.TempDir(), "Addr", "pw")
	livePwndex(t, "ingest", "--index", dir, "--manifest", m, c)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1", "missing port"},
		{"127.0.0.1:notaport", "notaport"},
		{"127.0.0.1:70000", "70000"},
		{busy.Addr().String(), "address already in use"},
	} {
		// The local index, and a replica of a store that does not answer
		// (port 1): the address is checked before the store is asked.
		for _, src := range [][]string{{"--index", dir}, {"--from", "s3://bucket/p?endpoint=127.0.0.1:1&disable_https=true", "--cache", t.TempDir()}} {
			var out, errb bytes.Buffer
			code := run(context.Background(), append(append([]string{"serve"}, src...), "--addr", tc.addr), nil, &out, &errb)
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], tc.addr) || !strings.Contains(lines[0], tc.want) {
				t.Errorf("serve %s --addr %q: exit %d, stderr %q; want exit 2 and one line naming it and %q", src[0], tc.addr, code, errb.String(), tc.want)
			}
			if strings.Contains(errb.String(), "serving") {
				t.Errorf("serve %s --addr %q: logged serving", src[0], tc.addr)
			}
		}
	}
}

// TestKeysAddScopes: keys add accepts the known scopes and refuses any
// other, listing the valid ones.
func TestKeysAddScopes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		scopes string
		code   int
		want   string
	}{
		{"range,search,sensitive,audit,vet", 0, "created key"},
		{"range,admin", 2, `unknown scope "admin" (valid scopes: range, search, sensitive, audit, vet)`},
		{"Range", 2, `unknown scope "Range"`},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"keys", "add", "--index", dir, "--scopes", tc.scopes, "k-" + tc.scopes}, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("--scopes %s: exit %d, stderr %q; want %d and %q", tc.scopes, code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestServeOldIndex: an index written before local snapshots (none on
// disk) is served: serve exports its first snapshot at start. A pointer to
// a snapshot this pwndex cannot read is replaced the same way.
func TestServeOldIndex(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	prefix, pws, suffixes := livePasswords(1)
	m, c := writeLiveBreach(t, tmp, "Old", pws[0])
	livePwndex(t, "ingest", "--index", dir, "--manifest", m, c)
	for _, damage := range []string{"no snapshots", "unreadable snapshot"} {
		switch damage {
		case "no snapshots":
			if err := os.RemoveAll(filepath.Join(dir, "snapshots")); err != nil {
				t.Fatal(err)
			}
		case "unreadable snapshot":
			cur := currentSnapshot(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "snapshots", cur, "manifest.json"), []byte(`{"format":"pwndex-snapshot/0"}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		base, log, cmd := startServe(t, dir)
		r := mustGet(t, base, "/range/"+prefix)
		if r.status != 200 || !present(r.body, suffixes)[0] || r.h.Get(api.SnapshotHeader) == "" {
			t.Errorf("%s: status %d, snapshot %q, body %q\n%s", damage, r.status, r.h.Get(api.SnapshotHeader), r.body, log.String())
		}
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
}
