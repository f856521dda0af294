package main

import (
	"crypto/sha1"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// seenRequest is what the recording upstream received.
type seenRequest struct {
	host, xff, realIP string
	close             bool
}

// TestNginxForwardsClientAddress runs the shipped nginx configuration in
// front of an upstream that records the headers it receives: every
// location (the cached /range/, the uncached key-protected /range/search/
// and /range/subscribe, and /) forwards X-Forwarded-For with the client's
// address appended to what the client sent, X-Real-IP set to the client's
// address whatever the client sent, the client's Host, and keeps the
// upstream connection alive.
func TestNginxForwardsClientAddress(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]seenRequest{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = seenRequest{r.Host, strings.Join(r.Header.Values("X-Forwarded-For"), ","), r.Header.Get("X-Real-IP"), r.Close}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go up.Serve(ln)
	t.Cleanup(func() { up.Close() })
	base := startTestNginx(t, ln.Addr().String())
	client := clientFrom("127.0.0.2")
	for _, path := range []string{"/range/00000", "/range/search/ABCDEF", "/range/subscribe", "/api/v3/breachedaccount/range/ABCDEF", "/healthz"} {
		for _, spoof := range []bool{false, true} {
			p := path
			if spoof {
				p += "x"
			}
			var hdr []string
			if spoof {
				hdr = []string{"X-Forwarded-For", "198.51.100.7", "X-Real-IP", "198.51.100.8"}
			}
			if st, _, body := statusFrom(t, client, base+p, hdr...); st != 200 || string(body) != "ok" {
				t.Fatalf("%s through nginx: %d %q", p, st, body)
			}
			mu.Lock()
			got, ok := seen[p]
			mu.Unlock()
			wantXFF := "127.0.0.2"
			if spoof {
				wantXFF = "198.51.100.7, 127.0.0.2"
			}
			if !ok || got.xff != wantXFF || got.realIP != "127.0.0.2" || got.host != "127.0.0.1" || got.close {
				t.Errorf("%s: upstream saw %+v (seen %v); want X-Forwarded-For %q, X-Real-IP 127.0.0.2, Host 127.0.0.1, a kept-alive connection",
					p, got, ok, wantXFF)
			}
		}
	}
}

// TestNginxThrottlePerClient runs `pwndex serve --trusted-proxy 127.0.0.1`
// behind the shipped nginx configuration and two clients leaving from
// different loopback addresses (127.0.0.2, 127.0.0.3), which is what nginx
// sees and forwards: the first is locked out by its failed
// authentications, on every location, even when it names the other in its
// own X-Forwarded-For; the second is not. And the enterprise range
// (/range/search/, key-protected, under the cached /range/) is never
// cached: a keyless request after keyed ones is refused.
func TestNginxThrottlePerClient(t *testing.T) {
	up, key := serveFixtures(t, "--trusted-proxy", "127.0.0.1")
	base := startTestNginx(t, strings.TrimPrefix(up, "http://"))
	attacker, other := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	acct := base + "/api/v3/breachedaccount/range/ABCDEF"
	// The range of an address of the dump (pwned in ExempleFR).
	sum := sha1.Sum([]byte("elodie.dupont@exemple.fr"))
	prefix := fmt.Sprintf("%X", sum[:3])
	search := base + "/range/search/" + prefix

	// The enterprise range: 200 with a key (twice: a cache would now hold
	// it), 401 without, never a cache status.
	for i := range 2 {
		st, h, body := statusFrom(t, other, search, "Hibp-Enterprise-Api-Key", key)
		if st != 200 || h.Get("X-Cache-Status") != "" || !strings.Contains(string(body), "ExempleFR") {
			t.Errorf("keyed enterprise range %d: %d %q, X-Cache-Status %q", i, st, body, h.Get("X-Cache-Status"))
		}
	}
	for _, u := range []string{search, base + "/range//search/" + prefix, base + "/range/./search/" + prefix} {
		st, h, body := statusFrom(t, other, u)
		if st != 401 {
			t.Errorf("keyless %s after keyed ones: %d %q X-Cache-Status %q (a cached answer for a key)", strings.TrimPrefix(u, base), st, body, h.Get("X-Cache-Status"))
		}
	}
	// The request above and these 19 are the other client's 3 failures
	// plus the attacker's 20.
	for i := range 20 {
		u := acct
		if i%2 == 1 {
			u = search
		}
		if st, _, _ := statusFrom(t, attacker, u, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)); st != 401 {
			t.Fatalf("attacker failure %d: %d, want 401", i+1, st)
		}
	}
	for _, tc := range []struct {
		u   string
		hdr []string
	}{
		{acct, []string{"hibp-api-key", key}},
		{search, []string{"Hibp-Enterprise-Api-Key", key}},
		{acct, []string{"hibp-api-key", key, "X-Forwarded-For", "127.0.0.3", "X-Real-IP", "127.0.0.3"}},
	} {
		if st, _, _ := statusFrom(t, attacker, tc.u, tc.hdr...); st != 429 {
			t.Errorf("attacker %s %v: %d, want 429", strings.TrimPrefix(tc.u, base), tc.hdr[2:], st)
		}
	}
	if st, _, _ := statusFrom(t, other, acct, "hibp-api-key", key); st != 200 {
		t.Errorf("the other client: %d, want 200", st)
	}
	if st, _, _ := statusFrom(t, other, search, "Hibp-Enterprise-Api-Key", key); st != 200 {
		t.Errorf("the other client's enterprise range: %d, want 200", st)
	}
}

// TestDeployClientAddress checks the shipped files' wiring of client
// addresses: nginx sets X-Forwarded-For, X-Real-IP, Host and Connection in
// every location that proxies, the enterprise range has its own uncached
// location, compose gives nginx a fixed address in a fixed subnet, and
// every replica trusts exactly that address.
func TestDeployClientAddress(t *testing.T) {
	c := shippedDeploy()
	conf := string(renderTemplate(t, "nginx.conf.tmpl", c))
	blocks := regexp.MustCompile(`(?m)^\s*location ([^{]*)\{([^}]*)\}`).FindAllStringSubmatch(conf, -1)
	if len(blocks) != 4 {
		t.Fatalf("%d locations, want 4", len(blocks))
	}
	for _, m := range blocks {
		name, b := strings.TrimSpace(m[1]), m[2]
		if !strings.Contains(b, "proxy_pass ") {
			continue
		}
		for _, h := range []string{"X-Forwarded-For $proxy_add_x_forwarded_for;", "X-Real-IP $remote_addr;", "Host $host;", `Connection "";`} {
			if !strings.Contains(b, "proxy_set_header "+h) {
				t.Errorf("location %s does not set %s", name, h)
			}
		}
		cached := strings.Contains(b, "proxy_cache pwndex_ranges")
		if name == "^~ /range/search/" || name == "= /range/subscribe" {
			if cached || !strings.Contains(b, "proxy_cache off;") {
				t.Errorf("key-protected location %s may be cached", name)
			}
		}
		if cached && !strings.Contains(b, "$http_hibp_api_key $http_hibp_enterprise_api_key;") {
			t.Errorf("cached location %s caches requests with a key", name)
		}
	}
	if !strings.Contains(conf, "location ^~ /range/search/ {") {
		t.Error("no uncached location for the enterprise range /range/search/")
	}
	var compose struct {
		Services map[string]struct {
			Command  []string `yaml:"command"`
			Networks map[string]struct {
				IPv4 string `yaml:"ipv4_address"`
			} `yaml:"networks"`
		} `yaml:"services"`
		Networks map[string]struct {
			IPAM struct {
				Config []struct {
					Subnet string `yaml:"subnet"`
				} `yaml:"config"`
			} `yaml:"ipam"`
		} `yaml:"networks"`
	}
	if err := yaml.Unmarshal(renderTemplate(t, "compose.yaml.tmpl", c), &compose); err != nil {
		t.Fatal(err)
	}
	cfg := compose.Networks["default"].IPAM.Config
	if len(cfg) != 1 {
		t.Fatalf("compose network: %+v", compose.Networks)
	}
	subnet, err := netip.ParsePrefix(cfg[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netip.ParseAddr(compose.Services["cache"].Networks["default"].IPv4)
	if err != nil || !subnet.Contains(addr) {
		t.Fatalf("nginx address %v (%v) not in the subnet %v", addr, err, subnet)
	}
	for _, r := range c.Replicas {
		cmd := strings.Join(compose.Services[r].Command, " ")
		if !strings.HasSuffix(cmd, " --trusted-proxy "+addr.String()) {
			t.Errorf("replica %s does not trust nginx's address %v: %q", r, addr, cmd)
		}
	}
}
