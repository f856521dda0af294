//go:build unix

package quality

import "syscall"

// allocBytes maps n zeroed bytes of anonymous memory (the kernel backs
// pages only when touched). It falls back to the heap if mmap fails.
func allocBytes(n int) []byte {
	if n <= 0 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// freeBytes unmaps memory from allocBytes (heap fallbacks are left to the
// collector: munmap refuses them).
func freeBytes(b []byte) {
	if len(b) > 0 {
		_ = syscall.Munmap(b)
	}
}
