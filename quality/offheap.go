package quality

import "unsafe"

// The duplicate index is the only part of vet that grows with the file
// (about 100 bytes a clean row). It is pointer-free, so it lives outside
// the Go heap (see offheap_unix.go): the collector never scans it, and it
// does not count in the heap goal, which would otherwise let the heap grow
// to twice the index before a collection (GOGC=100), doubling vet's peak
// RSS on a 1M-row file. It is kept in fixed-size chunks, so growing it
// never copies or briefly holds two versions of it.

// chunkShift sets the number of elements of a chunk of a chunked array.
const chunkShift = 16

const chunkLen = 1 << chunkShift

// chunked is an append-only array of pointer-free T in off-heap chunks.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

// at returns the address of element i (< c.n).
func (c *chunked[T]) at(i int) *T { return &c.chunks[i>>chunkShift][i&(chunkLen-1)] }

// push appends v.
func (c *chunked[T]) push(v T) {
	if c.n>>chunkShift == len(c.chunks) {
		c.chunks = append(c.chunks, allocSlice[T](chunkLen))
	}
	*c.at(c.n) = v
	c.n++
}

// free releases the chunks; c is empty afterwards.
func (c *chunked[T]) free() {
	for _, ch := range c.chunks {
		freeSlice(ch)
	}
	c.chunks, c.n = nil, 0
}

// allocSlice returns a zeroed slice of n pointer-free T outside the Go
// heap (on the heap where the platform has no anonymous mappings). T must
// not contain pointers: the collector does not see this memory.
func allocSlice[T any](n int) []T {
	var zero T
	b := allocBytes(n * int(unsafe.Sizeof(zero)))
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// freeSlice releases a slice from allocSlice; s must not be used after.
func freeSlice[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var zero T
	s = s[:cap(s)]
	freeBytes(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(zero))))
}
