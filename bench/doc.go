// Package bench holds pwndex's benchmark suite support: seeded generators of
// test data (Pwned Passwords downloads, dense buckets, breach dumps, CRM
// bases), the benchmarks that need only the index package, a bounded HTTP
// load generator, a minimal fasthttp baseline server and the table printer
// used by `pwndex bench` and `make bench`.
//
// Every generator is deterministic: the same seed and sizes give the same
// bytes on every machine (math/rand/v2's PCG stream is specified). Generated
// identifiers and passwords are synthetic and are written only to the files
// the caller asks for.
//
// It also holds the harness behind `pwndex bench` (Run, List): the
// registered cases, their fixtures, the server and load children that
// `pwndex bench serve-baseline|serve-api|load` run in separate processes,
// and the ingest, vet, audit, private-lookup and hardening runs. bench sits
// beside cmd at the top of the import graph (cmd → bench → api, ingest,
// quality → index); cmd/pwndex only parses flags and prints the table.
package bench
