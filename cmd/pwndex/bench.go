package main

import (
	"context"
	"fmt"
	"io"
)

func cmdBench(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pwndex bench: not implemented yet")
	return 3
}
