package main

import (
	"context"
	"fmt"
	"io"
)

func cmdVet(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pwndex vet: not implemented yet")
	return 3
}
