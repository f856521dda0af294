//go:build !unix

package quality

// allocBytes returns n zeroed bytes from the Go heap on platforms without
// anonymous mappings.
func allocBytes(n int) []byte {
	if n <= 0 {
		return nil
	}
	return make([]byte, n)
}

// freeBytes leaves b to the collector.
func freeBytes([]byte) {}
