package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pwndex/pwndex/index"
)

const repairUsage = `usage: pwndex repair [--index DIR]

Rebuilds what is derived in an index (bloom filters, range files with their
gzip and brotli copies and per-bucket checksums) from the records of each
generation (Badger; for password kinds ranges.txt plus the breach counts in
Badger), after verifying those records; rewrites range files of an older
format. When records themselves are damaged, it changes nothing in
that generation and names the sources to ingest again into a new index.
Then it rebuilds the private lookup files (private/*.opr artefacts and
their .vals sidecars) that are missing, damaged or left unfinished by an
interrupted ingest, under the same OPRF key and byte for byte as ingest
writes them, adds a checksum to an oprf.key that has none and removes
leftover temporary files. It never makes a new OPRF key: when oprf.key is
damaged, or missing while artefacts remain, it says so, changes nothing
private and exits 1 ('pwndex keys oprf-rotate' makes a new key; clients
must then fetch its public key).
Stop serve, ingest and keys first (repair refuses a running writer; a
running serve keeps the old files until it restarts). Interrupted, it is
completed by running it again.

Exit codes: 0 repaired (check is clean), 1 records damaged (ingest the
listed sources again into a new index) or OPRF key lost, 2 usage or
unusable index, 3 internal error.

flags:
`

// cmdRepair implements `pwndex repair`.
func cmdRepair(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("repair", repairUsage, stderr)
	dir := fs.String("index", "./data", "index `directory`")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pwndex repair: unexpected argument %q (the index is given with --index DIR)\n", fs.Arg(0))
		return 2
	}
	rep, err := index.Repair(ctx, *dir)
	if err != nil {
		if index.IsLocked(err) {
			return reportOpen(stderr, "repair", *dir, err, 2)
		}
		fmt.Fprintf(stderr, "pwndex repair: %v\n", err)
		return 3
	}
	for _, g := range rep.Rebuilt {
		fmt.Fprintf(stdout, "rebuilt %s: filter and range files from its records\n", g)
	}
	for _, a := range rep.PrivateRebuilt {
		fmt.Fprintf(stdout, "rebuilt private artefact %s under the same OPRF key\n", a)
	}
	if rep.PrivateEvaluated > 0 {
		fmt.Fprintf(stdout, "private lookups: %d keyed values evaluated\n", rep.PrivateEvaluated)
	}
	for _, f := range rep.PrivateRemoved {
		fmt.Fprintf(stdout, "removed leftover %s\n", f)
	}
	if rep.PrivateKeySummed {
		fmt.Fprintln(stdout, "oprf.key: checksum added (the key is unchanged)")
	}
	if rep.PrivateKey != "" {
		fmt.Fprintf(stdout, "LOST OPRF key: %s\n", rep.PrivateKey)
		fmt.Fprintln(stdout, "Private lookup files are left as they are: repair never makes a new key.")
	}
	for _, k := range index.Kinds {
		for _, p := range rep.Damaged[k] {
			fmt.Fprintf(stdout, "DAMAGED %s records: %s\n", k, p)
		}
	}
	if len(rep.Damaged) > 0 {
		fmt.Fprintln(stdout, "The records above cannot be repaired. Ingest these sources again into a new index directory:")
		for _, s := range rep.Sources {
			fmt.Fprintf(stdout, "  %s\n", s)
		}
		if len(rep.Sources) == 0 {
			fmt.Fprintln(stdout, "  (the index records no source markers: ingest your original files again)")
		}
		return 1
	}
	if rep.PrivateKey != "" {
		return 1
	}
	if len(rep.Remaining) > 0 {
		fmt.Fprintf(stdout, "PROBLEM after repair: %s\n", strings.Join(rep.Remaining, "\nPROBLEM after repair: "))
		return 1
	}
	fmt.Fprintln(stdout, "ok: pwndex check finds no problem")
	return 0
}
