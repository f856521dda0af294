package main

import (
	"context"
	"fmt"
	"io"
)

func cmdIngest(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pwndex ingest: not implemented yet")
	return 3
}
