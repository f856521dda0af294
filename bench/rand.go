package bench

import "math/rand/v2"

// Stream identifiers: each generator draws from its own PCG stream of the
// caller's seed, so changing one generator never shifts another's output.
const (
	streamTops uint64 = 0x9e3779b97f4a7c15 + iota
	streamTails
	streamCounts
	streamDense
	streamDump
	streamCRM
	streamProbe
)

// newRand returns a PCG generator for one stream of seed.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}
