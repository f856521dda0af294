//go:build race

package ingest

// raceEnabled scales down the process-killing test under the race
// detector, which slows the index's writers about tenfold.
const raceEnabled = true
