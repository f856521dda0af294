// Package quality vets purchased contact files (typically French prospect
// files) before import: it reads them whatever their encoding and delimiter,
// checks every field (e-mail, phone, names, postal address, consent), finds
// exact and near duplicates, checks an opt-out list of hashed identifiers
// and, given an index, the records' breach exposure, then writes a cleaned
// file, a rejects file and a report, and gives a verdict against a policy.
//
// Reading is shared with the audit command: OpenTable detects the encoding
// (UTF-8 with or without BOM, UTF-16 with BOM, otherwise Windows-1252),
// sniffs the delimiter, maps French and English headers to Fields and then
// streams rows, so a file of any size is read in bounded memory.
//
// Identifiers are normalised and hashed only through index/ident.
package quality
