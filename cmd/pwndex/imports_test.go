package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// modulePath is the project's module path.
const modulePath = "github.com/pwndex/pwndex"

// layerAllowed lists, for each top-level package tree, the other project
// trees it may import (its own tree is always allowed):
// cmd → bench → api, ingest, quality → index; quality never imports api or
// ingest; index imports none of them.
var layerAllowed = map[string][]string{
	"cmd":     {"api", "ingest", "quality", "bench", "index"},
	"api":     {"index"},
	"ingest":  {"index"},
	"quality": {"index"},
	"bench":   {"api", "ingest", "quality", "index"},
	"index":   {},
}

// layerOf returns the top-level tree of a project import path ("index" for
// ".../index/ident") and whether the path belongs to the project.
func layerOf(path string) (string, bool) {
	if path == modulePath {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, modulePath+"/")
	if !ok {
		return "", false
	}
	layer, _, _ := strings.Cut(rest, "/")
	return layer, true
}

// checkImports returns one message per forbidden edge of graph (package →
// imported packages), sorted. Packages outside known trees are violations
// too, so a new tree has to be placed in layerAllowed first.
func checkImports(graph map[string][]string) []string {
	var bad []string
	for from, imports := range graph {
		fl, ok := layerOf(from)
		if !ok {
			continue
		}
		allowed, known := layerAllowed[fl]
		if !known {
			bad = append(bad, fmt.Sprintf("%s: package outside the known trees (cmd, api, ingest, quality, bench, index)", from))
			continue
		}
		for _, to := range imports {
			tl, ok := layerOf(to)
			if !ok || tl == fl {
				continue
			}
			if !slices.Contains(allowed, tl) {
				bad = append(bad, fmt.Sprintf("%s imports %s: %s may import only %v among project packages", from, to, fl, allowed))
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// listedPackage is the part of `go list -json` output the check reads.
type listedPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// loadGraph runs `go list -e -json ./...` at the module root and returns
// each package's imports, test imports included (an external test package
// counts as its package).
func loadGraph(t *testing.T) map[string][]string {
	t.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = strings.TrimSpace(string(root))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		imps := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
		graph[p.ImportPath] = slices.DeleteFunc(imps, func(s string) bool { return s == p.ImportPath })
	}
	return graph
}

// TestImportRules enforces the project's import direction on the real
// package graph.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	graph := loadGraph(t)
	for _, must := range []string{modulePath + "/cmd/pwndex", modulePath + "/index", modulePath + "/index/ident"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("go list did not report %s; got %d packages", must, len(graph))
		}
	}
	if !slices.Contains(graph[modulePath+"/cmd/pwndex"], modulePath+"/index") {
		t.Fatalf("cmd/pwndex's imports were not read: %v", graph[modulePath+"/cmd/pwndex"])
	}
	for _, v := range checkImports(graph) {
		t.Error(v)
	}
}

// TestCheckImportsCatchesViolations runs the checker on a synthetic graph
// holding every kind of forbidden edge next to allowed ones.
func TestCheckImportsCatchesViolations(t *testing.T) {
	p := func(s string) string { return modulePath + "/" + s }
	graph := map[string][]string{
		// Allowed.
		p("cmd/pwndex"):  {p("api"), p("ingest"), p("quality"), p("bench"), p("index"), p("index/ident"), "fmt"},
		p("api"):         {p("index"), p("index/ident"), p("api/internal/etag"), "github.com/valyala/fasthttp"},
		p("index/ident"): {p("index")},
		p("bench"):       {p("api"), p("ingest"), p("quality"), p("index")},
		// Forbidden.
		p("ingest"):         {p("api")},
		p("quality"):        {p("ingest"), p("index")},
		p("quality/french"): {p("api")},
		p("bench/load"):     {p("cmd/pwndex")},
		p("api/handlers"):   {p("cmd/pwndex")},
		p("index"):          {p("bench")},
		p("api/x"):          {p("bench")},
		p("tools/gen"):      {p("index")},
	}
	want := []string{
		p("api/handlers") + " imports " + p("cmd/pwndex"),
		p("api/x") + " imports " + p("bench"),
		p("bench/load") + " imports " + p("cmd/pwndex"),
		p("index") + " imports " + p("bench"),
		p("ingest") + " imports " + p("api"),
		p("quality") + " imports " + p("ingest"),
		p("quality/french") + " imports " + p("api"),
		p("tools/gen") + ": package outside the known trees",
	}
	got := checkImports(graph)
	if len(got) != len(want) {
		t.Fatalf("checkImports found %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("violation %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}
