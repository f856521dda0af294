package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"go.yaml.in/yaml/v3"
)

var updateDeploy = flag.Bool("update", false, "rewrite deploy/nginx.conf and deploy/compose.yaml from their templates")

// deployConfig holds the values of deploy/*.tmpl. shippedDeploy gives the
// values of the shipped files; testNginxConfig those of the nginx that
// TestReplicasBehindNginx runs, from the same template.
type deployConfig struct {
	// nginx.conf
	User, Workers, PidFile, ErrorLog, AccessLog, TempDir string
	CacheDir, CacheMaxSize, CacheValid, Listen           string
	Upstreams                                            []string
	// compose.yaml
	Replicas                  []string
	ReplicaPort, PublicPort   int
	Bucket, SnapshotURL, Poll string
	// Subnet is the compose network's; ProxyAddr, in it, nginx's address,
	// the one the replicas trust (serve --trusted-proxy).
	Subnet, ProxyAddr string
}

func shippedDeploy() deployConfig {
	c := deployConfig{
		User: "www-data", Workers: "auto", PidFile: "/run/nginx.pid", ErrorLog: "/var/log/nginx/error.log",
		AccessLog: "off", CacheDir: "/var/cache/nginx/pwndex", CacheMaxSize: "2g", CacheValid: "60s", Listen: "80",
		Replicas: []string{"replica1", "replica2"}, ReplicaPort: 8080, PublicPort: 8080, Bucket: "pwndex",
		SnapshotURL: "s3://pwndex/snapshots?endpoint=minio:9000&disable_https=true", Poll: "10s",
		Subnet: "172.28.0.0/24", ProxyAddr: "172.28.0.10",
	}
	for _, r := range c.Replicas {
		c.Upstreams = append(c.Upstreams, r+":8080")
	}
	return c
}

// testNginxConfig is the shipped configuration with the test's addresses,
// paths in dir, one worker and a 1 s cache validity.
func testNginxConfig(dir, listen string, upstreams []string) deployConfig {
	c := shippedDeploy()
	c.User = ""
	if os.Geteuid() == 0 {
		c.User = "root" // workers must write the temporary cache directory
	}
	c.Workers, c.Listen, c.Upstreams, c.CacheValid = "1", listen, upstreams, "1s"
	c.PidFile = filepath.Join(dir, "nginx.pid")
	c.ErrorLog = filepath.Join(dir, "error.log")
	c.AccessLog = filepath.Join(dir, "access.log")
	c.TempDir = filepath.Join(dir, "tmp")
	c.CacheDir = filepath.Join(dir, "cache")
	return c
}

// renderTemplate renders deploy/<name> with c.
func renderTemplate(t *testing.T, name string, c deployConfig) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := template.New(name).Funcs(template.FuncMap{"join": strings.Join}).Option("missingkey=error").Parse(string(src))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tm.Execute(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDeployFiles checks that the shipped deploy/nginx.conf and
// deploy/compose.yaml are their templates rendered with shippedDeploy:
// the nginx configuration operators deploy is the one the integration
// test runs, and compose's replicas are nginx's upstreams.
func TestDeployFiles(t *testing.T) {
	c := shippedDeploy()
	for _, f := range []string{"nginx.conf", "compose.yaml"} {
		want := renderTemplate(t, f+".tmpl", c)
		p := filepath.Join("..", "..", "deploy", f)
		if *updateDeploy {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/%s is not its template rendered with the shipped values: run go test ./cmd/pwndex -run TestDeployFiles -update", f)
		}
	}
	conf := string(renderTemplate(t, "nginx.conf.tmpl", c))
	var compose struct {
		Services map[string]struct {
			Command   []string `yaml:"command"`
			DependsOn []string `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(renderTemplate(t, "compose.yaml.tmpl", c), &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, r := range c.Replicas {
		svc, ok := compose.Services[r]
		cmd := strings.Join(svc.Command, " ")
		if !ok || !strings.Contains(cmd, "serve --from "+c.SnapshotURL) || !strings.Contains(cmd, "--addr 0.0.0.0:8080") {
			t.Errorf("compose service %s does not serve the snapshots on :8080: %q", r, cmd)
		}
		if !strings.Contains(conf, "server "+r+":8080 ") {
			t.Errorf("replica %s is not an nginx upstream", r)
		}
		if !strings.Contains(strings.Join(compose.Services["cache"].DependsOn, " "), r) {
			t.Errorf("the cache does not depend on %s", r)
		}
	}
}
