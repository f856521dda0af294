package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// camelKey matches a camelCase JSON key (no underscore, lower-case first
// letter); keys of free-form maps (counts by kind, columns, reasons) are
// data and skipped by the walk below.
var camelKey = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// jsonKeys walks a decoded JSON value and calls bad for each object key that
// is not camelCase, except inside objects listed in dataMaps (map-valued
// fields whose keys are data).
func jsonKeys(v any, path string, dataMaps map[string]bool, bad func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !camelKey.MatchString(k) {
				bad(path + "." + k)
			}
			if dataMaps[k] {
				continue
			}
			jsonKeys(e, path+"."+k, dataMaps, bad)
		}
	case []any:
		for _, e := range x {
			jsonKeys(e, path+"[]", dataMaps, bad)
		}
	}
}

// TestJSONReportsOneStyle runs every command that writes a JSON report (vet
// and audit report.json, check --json, ingest --json) and wants a numeric
// top-level "version" and camelCase keys throughout.
func TestJSONReportsOneStyle(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "idx")
	pw := writeFile(t, tmp, "pwned.txt", "0000000000000000000000000000000000000001:3\n000000000000000000000000000000000000000A:5\n")
	crm := writeFile(t, tmp, "crm.csv", "email;telephone;nom;source;date_consentement\r\nalice@example.fr;0612345678;Martin;web;2026-01-10\r\n")
	_, ingestJSON, stderr := runCLI(t, "ingest", "--quiet", "--no-private", "--json", "--index", dir, pw)
	if ingestJSON == "" {
		t.Fatalf("ingest --json printed nothing: %s", stderr)
	}
	_, checkJSON, _ := runCLI(t, "check", "--json", "--index", dir)
	if code, _, stderr := runCLI(t, "vet", "--now", "2026-06-01", "--out", filepath.Join(tmp, "vet"), crm); code > 1 {
		t.Fatalf("vet: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "audit", "--quiet", "--index", dir, "--out", filepath.Join(tmp, "audit"), crm); code != 0 {
		t.Fatalf("audit: %d %s", code, stderr)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dataMaps := map[string]bool{"counts": true, "kinds": true, "columns": true, "phoneTypes": true, "phoneRegions": true,
		"records": true, "byKind": true, "maxReasonRates": true,
		// The verdict echoes the --policy file, whose keys (max_reject_rate, …) are that
		// input format's, documented in quality/README.md.
		"policy": true}
	for name, doc := range map[string]string{
		"ingest --json": ingestJSON, "check --json": checkJSON,
		"vet report.json": read(filepath.Join(tmp, "vet", "report.json")), "audit report.json": read(filepath.Join(tmp, "audit", "report.json")),
	} {
		var v map[string]any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Errorf("%s: %v\n%s", name, err, doc)
			continue
		}
		if ver, ok := v["version"].(float64); !ok || ver < 1 {
			t.Errorf("%s: no numeric version field (got %v)", name, v["version"])
		}
		jsonKeys(v, "", dataMaps, func(k string) { t.Errorf("%s: key %s is not camelCase", name, k) })
	}
}
