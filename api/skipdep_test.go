package api

import (
	"os"
	"testing"
)

// skipMissingDep skips a test whose external dependency (a browser, the npm
// clients, a server binary) is not installed, with a "SKIPPING:" message
// that make test lists at the end; under CI=true (.ci/run installs every
// dependency) the test fails instead.
func skipMissingDep(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("missing test dependency under CI=true: " + msg)
	}
	t.Skip("SKIPPING: " + msg)
}
