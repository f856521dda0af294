package main

import (
	"context"
	"fmt"
	"io"
)

func cmdCheck(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pwndex check: not implemented yet")
	return 3
}
