package main

import (
	"context"
	"fmt"
	"io"
)

func cmdKeys(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pwndex keys: not implemented yet")
	return 3
}
