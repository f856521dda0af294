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
// bench imports only index and index/ident among pwndex's packages.
// Benchmarks that exercise ingest, api or quality are registered by
// cmd/pwndex, which may import them, and use this package's helpers.
package bench
