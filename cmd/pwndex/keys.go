package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

const keysUsage = `usage: pwndex keys add    [--index DIR] [--scopes range,sensitive,audit] [--rate N] NAME
       pwndex keys list   [--index DIR] [--json]
       pwndex keys delete [--index DIR] NAME
       pwndex keys oprf-rotate [--index DIR]

Manage the API keys of an index (hibp-api-key header). 'add' prints the new
secret once on stdout; only its SHA-256 is stored. Scopes: range (e-mail and
phone ranges, and account search), search (account search
/api/v3/breachedaccount/{account} only), sensitive (sensitive breaches in
answers), audit (POST /v1/audit with full hashes, and the short-prefix
ranges of /v1/range that remote audits use), vet (POST /v1/vet); any other
scope is refused. --rate is the key's requests per minute (GET
/api/v3/subscription/status tells it to clients).
'oprf-rotate' replaces the index's OPRF key (private lookups, file oprf.key,
mode 0600) and recomputes every private lookup value from the stored hashes;
the old key stays live until it completes, and running it again after an
interruption completes it. It is also the fix for a lost key (oprf.key
damaged, or deleted while private/ holds artefacts, as 'pwndex check' and
'pwndex repair' report): it does not read the old key, and nothing else
makes a new one.
Key changes run while 'pwndex serve --index' runs: each one is committed
and exported as a local snapshot that serve picks up within a second. Two
writers (keys, ingest) do not run at once.

Exit codes: 0 ok, 2 usage or unknown key, 3 internal error.
`

// validScopes are the scopes a key may carry: api's scope constants and
// the scope of POST /v1/vet (serve --vet-scope, default "vet").
var validScopes = []string{api.ScopeRange, api.ScopeSearch, api.ScopeSensitive, api.ScopeAudit, "vet"}

// cmdKeys implements "pwndex keys".
func cmdKeys(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub := args[0]
	fs := newFlagSet("keys "+sub, keysUsage+"\nflags:\n", stderr)
	dir := fs.String("index", "./data", "index `directory`")
	var scopes *string
	var rate *int
	var asJSON *bool
	switch sub {
	case "add":
		scopes = fs.String("scopes", "range", "comma-separated `scopes`")
		rate = fs.Int("rate", 0, "requests per minute (0: the server default)")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON")
	case "delete", "rm":
	case "oprf-rotate":
	default:
		fmt.Fprintf(stderr, "pwndex keys: unknown subcommand %q\n", sub)
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return flagError(err)
	}
	want := 1
	if sub == "list" || sub == "oprf-rotate" {
		want = 0
	}
	if fs.NArg() != want {
		fmt.Fprintf(stderr, "pwndex keys %s: want %d argument(s), got %d\n", sub, want, fs.NArg())
		fs.Usage()
		return 2
	}
	var key index.APIKey
	if sub == "add" {
		key = index.APIKey{Name: strings.TrimSpace(fs.Arg(0)), RatePerMinute: *rate}
		if key.Name == "" {
			fmt.Fprintln(stderr, "pwndex keys add: empty key name")
			return 2
		}
		if *rate < 0 {
			fmt.Fprintln(stderr, "pwndex keys add: --rate must not be negative")
			return 2
		}
		for _, s := range strings.Split(*scopes, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !slices.Contains(validScopes, s) {
				fmt.Fprintf(stderr, "pwndex keys add: unknown scope %q (valid scopes: %s)\n", s, strings.Join(validScopes, ", "))
				return 2
			}
			key.Scopes = append(key.Scopes, s)
		}
	}

	ix, err := index.Open(index.Options{Dir: *dir, ReadOnly: sub == "list"})
	if err != nil {
		fmt.Fprintf(stderr, "pwndex keys: %v%s\n", err, openHint(err))
		if index.IsNoSpace(err) {
			return 3
		}
		return 2
	}
	defer ix.Close()
	switch sub {
	case "add":
		secret, err := ix.CreateAPIKey(key)
		if err != nil {
			fmt.Fprintf(stderr, "pwndex keys add: %v%s\n", err, openHint(err))
			if strings.Contains(err.Error(), "exists") {
				return 2
			}
			return 3
		}
		fmt.Fprintln(stdout, secret)
		if exportLocal(ix, "keys add", stderr) != nil {
			return 3
		}
		fmt.Fprintf(stderr, "created key %q with scopes [%s]; the secret above is shown only once\n",
			key.Name, strings.Join(key.Scopes, ","))
	case "list":
		keys := ix.APIKeys()
		if *asJSON {
			if keys == nil {
				keys = []index.APIKey{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(keys); err != nil {
				fmt.Fprintf(stderr, "pwndex keys list: %v\n", err)
				return 3
			}
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCOPES\tRATE/MIN\tCREATED")
		for _, k := range keys {
			r := "default"
			if k.RatePerMinute > 0 {
				r = fmt.Sprint(k.RatePerMinute)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, strings.Join(k.Scopes, ","), r, k.Created.Format(time.RFC3339))
		}
		tw.Flush()
	case "oprf-rotate":
		start := time.Now()
		if err := ix.RotatePrivateKey(ctx); err != nil {
			fmt.Fprintf(stderr, "pwndex keys oprf-rotate: %v (run it again to complete the rotation)\n", err)
			return 3
		}
		info, err := ix.PrivateKeyInfo()
		if err != nil {
			fmt.Fprintf(stderr, "pwndex keys oprf-rotate: %v\n", err)
			return 3
		}
		if exportLocal(ix, "keys oprf-rotate", stderr) != nil {
			return 3
		}
		fmt.Fprintf(stderr, "new OPRF key %s (%s), private lookup values recomputed in %s\n",
			info.KeyID, info.Suite, time.Since(start).Round(time.Millisecond))
	case "delete", "rm":
		if err := ix.DeleteAPIKey(fs.Arg(0)); err != nil {
			fmt.Fprintf(stderr, "pwndex keys delete: %v\n", err)
			if strings.Contains(err.Error(), "no API key") {
				return 2
			}
			return 3
		}
		if exportLocal(ix, "keys delete", stderr) != nil {
			return 3
		}
		fmt.Fprintf(stderr, "deleted key %q\n", fs.Arg(0))
	}
	return 0
}

// openHint returns a hint for an error opening an index for writing (or
// writing to it): what the operator can do about it.
func openHint(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.EROFS) || strings.Contains(msg, "read-only file system"):
		return " (the index is on a read-only file system: change API keys and ingest where it is writable; serve, check and audit work here)"
	case index.IsNoSpace(err):
		return " (free some space and run again; the index is unchanged)"
	case strings.Contains(msg, "Cannot acquire directory lock"):
		return " (a serve, audit, check or ingest is using the index: writers need it alone)"
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return " (permission denied: run as the index's owner)"
	}
	return ""
}

// exportLocal exports the committed state of the writer ix as the local
// snapshot a running 'pwndex serve --index' follows, and reports a failure
// on stderr (what was committed stays committed).
func exportLocal(ix *index.Index, cmd string, stderr io.Writer) error {
	if _, err := ix.ExportLocal(); err != nil {
		fmt.Fprintf(stderr, "pwndex %s: committed, but exporting the snapshot for serve failed: %v (serve keeps the previous state; the next ingest or key change exports it)\n", cmd, err)
		return err
	}
	return nil
}
