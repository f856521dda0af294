package main

import (
	"context"
	"fmt"
	"io"
)

func cmdAudit(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pwndex audit: not implemented yet")
	return 3
}
