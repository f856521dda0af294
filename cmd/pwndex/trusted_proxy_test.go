package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

func TestTrustedProxyFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the prefixes, comma-separated; "" with err
		err  string
	}{
		{nil, "", ""},
		{[]string{"--trusted-proxy", "172.28.0.10"}, "172.28.0.10/32", ""},
		{[]string{"--trusted-proxy", "2001:db8::10"}, "2001:db8::10/128", ""},
		{[]string{"--trusted-proxy", "172.28.0.0/16"}, "172.28.0.0/16", ""},
		{[]string{"--trusted-proxy", "172.28.1.2/16"}, "172.28.0.0/16", ""}, // masked
		{[]string{"--trusted-proxy", "10.0.0.1, 10.0.0.2,fd00::/8"}, "10.0.0.1/32,10.0.0.2/32,fd00::/8", ""},
		{[]string{"--trusted-proxy", "10.0.0.1", "--trusted-proxy=192.168.0.0/24,::ffff:10.0.0.3"}, "10.0.0.1/32,192.168.0.0/24,::ffff:10.0.0.3/128", ""},
		{[]string{"--trusted-proxy", ""}, "", `"" is not an IP address or CIDR prefix`},
		{[]string{"--trusted-proxy", "nginx"}, "", `"nginx" is not an IP address`},
		{[]string{"--trusted-proxy", "10.0.0.0/33"}, "", `"10.0.0.0/33" is not`},
		{[]string{"--trusted-proxy", "10.0.0.1,,10.0.0.2"}, "", `"" is not`},
		{[]string{"--trusted-proxy", "10.0.0.1,bad"}, "", `"bad" is not`},
		{[]string{"--trusted-proxy", "fe80::1%eth0"}, "", `"fe80::1%eth0" is not`},
		{[]string{"--trusted-proxy", "10.0.0.256"}, "", `"10.0.0.256" is not`},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var l proxyList
		fs.Var(&l, "trusted-proxy", "")
		err := fs.Parse(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || l.String() != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.args, l.String(), err, tc.want)
		}
	}
	// Through the command: exit 2 and the bad value named, before the
	// index or the address are looked at.
	for _, v := range []string{"nginx", "10.0.0.0/33", "10.0.0.1,"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"serve", "--index", t.TempDir(), "--addr", "127.0.0.1:1", "--trusted-proxy", v}, nil, &out, &errb)
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != 2 || !strings.Contains(first, "-trusted-proxy") || !strings.Contains(first, "is not an IP address or CIDR prefix") {
			t.Errorf("serve --trusted-proxy %q: exit %d, first line %q; want 2 and the bad value named", v, code, first)
		}
		if strings.Contains(errb.String(), "msg=serving") {
			t.Errorf("serve --trusted-proxy %q started serving", v)
		}
	}
}

// clientFrom is an HTTP client whose connections leave from the loopback
// address local (any of 127.0.0.0/8 on Linux).
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
}

// statusFrom sends GET base+path from c with header pairs and returns the
// status and the response.
func statusFrom(t *testing.T, c *http.Client, url string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// serveFixtures ingests the ingest fixtures into a fresh index with a key
// of scope range and runs `pwndex serve` on it with flags until the test
// ends (serveCmd). It returns the base URL and the key.
func serveFixtures(t *testing.T, flags ...string) (base, key string) {
	t.Helper()
	dir, key := fixtureIndex(t, api.ScopeRange)
	return serveCmd(t, dir, flags...), key
}

// fixtureIndex ingests the ingest fixtures (dump-fr.csv and its manifest)
// into a fresh index and adds a key with scopes; it returns the index
// directory and the key.
func fixtureIndex(t *testing.T, scopes ...string) (dir, key string) {
	t.Helper()
	fixtures := filepath.Join("..", "..", "ingest", "testdata")
	dir = filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	if code := cmdIngest(context.Background(), []string{"--index", dir, "--manifest", filepath.Join(fixtures, "manifest.json"),
		filepath.Join(fixtures, "dump-fr.csv")}, nil, &out, &errb); code != 0 {
		t.Fatalf("ingest: %d %s", code, errb.String())
	}
	ix, err := index.Open(index.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	key, err = ix.CreateAPIKey(index.APIKey{Name: "t", Scopes: scopes})
	ix.Close()
	if err != nil {
		t.Fatal(err)
	}
	return dir, key
}

// serveCmd runs `pwndex serve --index dir` with flags in process on
// 127.0.0.1 until the test ends, and returns its base URL once it answers.
// At the end serve must exit 0 and its logs must hold no client address.
func serveCmd(t *testing.T, dir string, flags ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncBuffer{}
	go func() {
		done <- cmdServe(ctx, append([]string{"--index", dir, "--addr", addr}, flags...), nil, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, logs.String())
		}
		if strings.Contains(logs.String(), "203.0.113.") {
			t.Errorf("serve logged a client address:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	if !waitFor(20*time.Second, func() bool { r, err := httpGet(base, "/healthz"); return err == nil && r.status == 200 }) {
		t.Fatalf("serve did not start: %s", logs.String())
	}
	return base
}

// TestServeTrustedProxy: with --trusted-proxy naming the proxy's address,
// two clients forwarded by it are throttled apart (one locked out after
// its failed authentications, the other not); without it, everything
// from the proxy is one client and both are locked out.
func TestServeTrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		flags       []string
		otherStatus int
	}{
		{[]string{"--trusted-proxy", "10.9.0.0/16,127.0.0.1"}, 401},
		{nil, 429},
	} {
		base, key := serveFixtures(t, tc.flags...)
		url := base + "/api/v3/breachedaccount/range/ABCDEF"
		proxy := clientFrom("127.0.0.1")
		for i := range 20 {
			if st, _, _ := statusFrom(t, proxy, url, "X-Forwarded-For", "203.0.113.66"); st != 401 {
				t.Fatalf("%v: failure %d: %d, want 401", tc.flags, i+1, st)
			}
		}
		if st, _, _ := statusFrom(t, proxy, url, "hibp-api-key", key, "X-Forwarded-For", "203.0.113.66"); st != 429 {
			t.Errorf("%v: the failing client: %d, want 429", tc.flags, st)
		}
		if st, _, _ := statusFrom(t, proxy, url, "X-Forwarded-For", "203.0.113.77"); st != tc.otherStatus {
			t.Errorf("%v: another client behind the proxy: %d, want %d", tc.flags, st, tc.otherStatus)
		}
	}
}
