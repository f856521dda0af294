// Package audit reports how exposed a CRM base is to known breaches,
// against a local pwndex index or a remote pwndex (or any HIBP-compatible
// service) through the k-anonymity range API, so that no customer
// identifier ever leaves the company.
//
// Run streams the input with quality.OpenTable (any encoding, delimiter,
// French or English headers), normalises and hashes every e-mail address
// and phone number with index/ident, and resolves them in three stages:
//
//  1. scan: each valid identifier becomes a 32-byte record (SHA-1, kind,
//     source line) appended to one of P spill files chosen by the first
//     bits of its hash. The spill holds hashes and line numbers only.
//  2. resolve: each spill partition is loaded (memory is bounded by one
//     partition), sorted, and every distinct 6-hex prefix in it is looked
//     up once, concurrently; range entries are matched against the full
//     hashes locally, and the hits are written sorted by line.
//  3. report: the partitions' hits are merged by line into the per-customer
//     exposed.csv and the totals of report.json and report.html.
//
// Both lookups (Local and Remote) return the same thing, breach names per
// full hash, resolved against the same catalog, so the two modes give
// identical reports on the same data (a remote key needs the "sensitive"
// scope for sensitive breaches, which a local index always reports).
// Remote uses fasthttp's client: keep-alive connections, a bounded number
// of requests in flight, a per-request timeout, retries with exponential
// backoff and jitter. Requests are paced to the key's rate (the Rpm of
// the subscription status, else learnt from 429s); a 429 pauses every
// worker for its Retry-After and is never a failure. Before the lookups,
// a plan (Plan) counts the base's distinct prefixes at every length and,
// on a pwndex server with an audit key, picks per kind the prefix length
// (1 to 6 hex, compact route) that costs least in requests and bytes.
//
// Everything lives in a work directory inside the output directory; a
// checkpoint (written atomically) records progress, so a run killed at any
// point is resumed by running the same command again. The work directory
// is removed once the outputs are written.
//
// Minimisation: exposed.csv holds the source line, the customer ID column
// when the file has one, which kind of identifier matched and the breach
// details; never the e-mail address or phone number itself.
package audit
