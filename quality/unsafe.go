package quality

import "unsafe"

// unsafeString views b as a string without copying; b must not change
// while the string is in use (the dedupe arena is append-only).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
