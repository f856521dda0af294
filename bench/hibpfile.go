package bench

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/pwndex/pwndex/index"
)

// WriteHIBP writes seq in the Pwned Passwords download format: one
// `HASH:COUNT` line per record, upper-case hex (40 digits for SHA-1, 32 for
// NTLM), each line ended by CRLF. It returns the number of lines written.
func WriteHIBP(w io.Writer, k index.Kind, seq iter.Seq2[index.Hash, uint64]) (int64, error) {
	if !k.IsPassword() {
		return 0, fmt.Errorf("bench: write hibp: kind %s is not a password kind", k)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var (
		line []byte
		n    int64
	)
	for h, c := range seq {
		line = h.AppendHex(line[:0], k)
		line = append(line, ':')
		line = strconv.AppendUint(line, c, 10)
		line = append(line, '\r', '\n')
		if _, err := bw.Write(line); err != nil {
			return n, fmt.Errorf("bench: write hibp: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("bench: write hibp: %w", err)
	}
	return n, nil
}
