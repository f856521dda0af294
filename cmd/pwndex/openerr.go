package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pwndex/pwndex/index"
)

// exitLocked is the exit code of every command that finds its index held by
// another process: the input (the index) is unusable right now.
const exitLocked = 2

// reportOpen reports an error opening the index dir for command name and
// returns its exit code: one line and exitLocked when another process
// holds the index, else the error (with a hint) and code.
func reportOpen(stderr io.Writer, name, dir string, err error, code int) int {
	if index.IsLocked(err) {
		fmt.Fprintf(stderr, "pwndex %s: index %s is in use by another process (a serve, ingest, keys, check, vet or audit holds its lock; writers need it alone): stop it or wait, then run again\n", name, dir)
		return exitLocked
	}
	fmt.Fprintf(stderr, "pwndex %s: %v%s\n", name, err, openHint(err))
	return code
}

// checkInputs returns an error naming the first of paths that cannot be
// read, so that a command reports a missing input before it opens (and
// perhaps waits for) the index.
func checkInputs(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("input %s: no such file or directory", p)
			}
			return fmt.Errorf("input %s: %w", p, err)
		}
	}
	return nil
}

// dirCreatedBy returns a function that removes dir if it did not exist when
// dirCreatedBy was called and is empty when the function runs: a failed
// command leaves no empty output folder behind (a folder holding a resumable
// checkpoint or earlier outputs is kept).
func dirCreatedBy(dir string) func() {
	if _, err := os.Stat(dir); err == nil {
		return func() {}
	}
	return func() { os.Remove(dir) } // fails, as wanted, when dir is not empty
}
