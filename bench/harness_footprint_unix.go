package bench

import (
	"fmt"
	"os"
	"syscall"
)

// diskBytes returns the bytes allocated to a file on disk (sparse files
// count what they use, as du reports).
func diskBytes(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no block count", path)
	}
	return st.Blocks * 512, nil
}
