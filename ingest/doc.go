// Package ingest feeds breach data into a pwndex index as hashes only.
//
// It reads three kinds of input:
//
//   - Have I Been Pwned Pwned Passwords downloads, SHA-1 or NTLM: one file of
//     HASH:COUNT lines, or the downloader's directory of per-prefix files
//     (XXXXX.txt holding SUFFIX:COUNT lines). Each replaces the base counts of
//     its kind (index.Index.NewBaseBuilder).
//   - Raw breach dumps with a JSON manifest describing the breach: CSV/TSV
//     files with a header, and email:password combo lists. Identifiers are
//     normalised and hashed by index/ident; passwords are hashed to SHA-1 and
//     NTLM and counted. Plaintext stays in memory only: it never reaches the
//     index, a temporary file or a log line, and rejections are reported by
//     line number and reason, never by content.
//   - Lists of pre-hashed identifiers (40 hex digits of SHA-1 per line) from
//     partners who will not share plaintext, with a manifest too.
//
// Every input is streamed through a bounded buffer. Each ingest is one index
// commit, fingerprinted by a source ID derived from the input (see
// SourceID); a source already recorded by the index is skipped, so running
// the same command twice changes nothing, and a run killed at any point
// leaves the index as it was, so running the command again completes it.
//
// Line parsers (ParseHashCount, ParseSuffixCount, ParseHashLine,
// SplitCombo, SplitFields) do not allocate and have fuzz targets and
// benchmarks beside them.
package ingest
