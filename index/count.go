package index

// MaxCount is the largest occurrence count an index stores: 10^19-1, the
// largest number of at most 19 decimal digits, which is what a range body
// line may carry (the range parsers refuse a 20th digit) and what a uint64
// holds without any overflow check.
//
// Invariants: every count written to a generation (base, extra and their
// sum as rendered in range bodies) is in [0, MaxCount]; sums saturate at
// MaxCount instead of wrapping (AddCounts); ingest rejects input counts
// above MaxCount as bad lines, and the builders clamp anything larger that
// reaches them.
const MaxCount uint64 = 9_999_999_999_999_999_999

// AddCounts returns a+b saturated at MaxCount. Inputs above MaxCount count
// as MaxCount.
func AddCounts(a, b uint64) uint64 {
	a, b = min(a, MaxCount), min(b, MaxCount)
	if a > MaxCount-b {
		return MaxCount
	}
	return a + b
}
