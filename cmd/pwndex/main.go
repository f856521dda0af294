// Command pwndex is a self-hosted breach-exposure checker and contact-data
// hygiene service: it indexes breach data as hashes (ingest), serves a
// k-anonymity range API (serve), vets purchased contact files (vet) and
// audits a CRM base's exposure (audit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. Run gets the arguments after the subcommand
// name and returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is the table of subcommands.
var commands = map[string]command{
	"ingest":  {"index breach data (Pwned Passwords, dumps, hashed lists)", cmdIngest},
	"serve":   {"serve the k-anonymity range API and the check page", cmdServe},
	"vet":     {"vet a purchased contact file before import", cmdVet},
	"audit":   {"report the breach exposure of a CRM base", cmdAudit},
	"check":   {"validate an index", cmdCheck},
	"repair":  {"rebuild an index's filters and range files from its records", cmdRepair},
	"publish": {"upload the index as a snapshot to object storage (S3)", cmdPublish},
	"keys":    {"manage API keys of an index", cmdKeys},
	"bench":   {"run the benchmark suite and print one table", cmdBench},
	"version": {"print the version", cmdVersion},
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// PWNDEX_CPUPROFILE=FILE writes a CPU profile of the command (go tool pprof).
	if p := os.Getenv("PWNDEX_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
		}
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	// PWNDEX_PEAKRSS_FILE=FILE records this process's peak RSS (VmHWM) for
	// the benchmarks: a parent's rusage Maxrss of a child is polluted by
	// the parent's own peak, which Linux carries over at exec.
	if p := os.Getenv("PWNDEX_PEAKRSS_FILE"); p != "" {
		if st, err := os.ReadFile("/proc/self/status"); err == nil {
			for _, line := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(line, "VmHWM:") {
					os.WriteFile(p, []byte(line+"\n"), 0o644)
				}
			}
		}
	}
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand. Exit codes: 0 success, 1 a negative
// verdict (vet, audit policy), 2 usage or unusable input, 3 internal error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pwndex: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
}

// newFlagSet returns a subcommand's flag set: parse errors go to stderr,
// and -h prints the usage text followed by the flags' defaults.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// flagError returns a subcommand's exit code after a flag parsing error: 0
// after -h (the usage was printed), 2 for a bad flag (already reported).
func flagError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pwndex <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'pwndex <command> -h' for a command's flags.")
}

func cmdVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "pwndex %s (index format %d)\n", version, indexFormat)
	return 0
}
