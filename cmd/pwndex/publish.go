package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/objstore"
)

const publishUsage = `usage: pwndex publish [--index DIR] --to s3://BUCKET/PATH[?endpoint=HOST:PORT&region=R&disable_https=true] [--force] [--keep N]

Upload the index's committed state as an immutable snapshot to S3-compatible
object storage: each file under its SHA-256 (files the store already holds
are not uploaded again), then the manifest, last. Replicas started with
'pwndex serve --from URL' pick it up. Credentials come from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ~/.aws/credentials or the
instance role). Publishing an unchanged index again uploads nothing.

Exit codes: 0 published, 2 usage or unusable index, 3 object store error.

flags:
`

// cmdPublish implements "pwndex publish".
func cmdPublish(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("publish", publishUsage, stderr)
	dir := fs.String("index", "./data", "index `directory`")
	to := fs.String("to", "", "object store `URL` (s3://bucket/path)")
	force := fs.Bool("force", false, "upload every file even if the store holds one of that name and size")
	keep := fs.Int("keep", 0, "after publishing, delete all but the newest `N` snapshots and the files only they used (0: keep everything)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pwndex publish: --to URL is required and takes no arguments")
		fs.Usage()
		return 2
	}
	st, err := objstore.Open(*to, objstore.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "pwndex publish: %v\n", err)
		return 2
	}
	ix, err := index.Open(index.Options{Dir: *dir, ReadOnly: true})
	if err != nil {
		fmt.Fprintf(stderr, "pwndex publish: %v\n", err)
		return 2
	}
	defer ix.Close()
	start := time.Now()
	snap, err := ix.Snapshot()
	if err != nil {
		fmt.Fprintf(stderr, "pwndex publish: %v\n", err)
		return 3
	}
	ps, err := st.Publish(ctx, snap, *force)
	if err != nil {
		fmt.Fprintf(stderr, "pwndex publish: %v\n", err)
		return 3
	}
	what := "published"
	if ps.Existed {
		what = "already published"
	}
	fmt.Fprintf(stdout, "%s index version %d as %s (%d files: %d uploaded, %.1f MB, %d already there) in %s\n",
		what, snap.Manifest.Version, ps.Name, ps.Files, ps.Uploaded, float64(ps.UploadedBytes)/1e6, ps.Reused,
		time.Since(start).Round(time.Millisecond))
	if *keep > 0 {
		// Files younger than an hour may belong to a publish in progress
		// elsewhere: they are left for a later run.
		pr, err := st.Prune(ctx, *keep, time.Hour)
		if err != nil {
			fmt.Fprintf(stderr, "pwndex publish: %v\n", err)
			return 3
		}
		fmt.Fprintf(stdout, "pruned %d older snapshots and %d unused files (%.1f MB)\n", pr.Manifests, pr.Blobs, float64(pr.Bytes)/1e6)
	}
	return 0
}

// replicaConfig configures serve --from.
type replicaConfig struct {
	url, cache  string
	poll, retry time.Duration
	store       objstore.Options
}

// serveReplica serves, on ln (bound by the caller, so a bad --addr is a
// usage error before anything is downloaded), the newest snapshot
// published at cfg.url from a local cache and follows newer ones,
// switching between requests. When the store cannot be reached at start,
// it serves the newest cached snapshot.
func serveReplica(ctx context.Context, cfg replicaConfig, ln net.Listener, opts api.Options,
	uploadsFor func(*index.Index) map[string]api.Upload, log *slog.Logger, stderr io.Writer) int {
	served := false
	defer func() {
		if !served {
			ln.Close()
		}
	}()
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return code
	}
	if cfg.poll <= 0 {
		return fail(2, errors.New("--poll must be positive"))
	}
	if cfg.retry <= 0 {
		cfg.retry = 5 * time.Minute
	}
	st, err := objstore.Open(cfg.url, cfg.store)
	if err != nil {
		return fail(2, err)
	}
	rep, err := objstore.NewReplica(st, cfg.cache)
	if err != nil {
		return fail(2, err)
	}
	dir, name, passed, err := rep.Start(ctx, 3)
	if err != nil {
		return fail(2, err)
	}
	for _, e := range passed {
		log.Warn("replica: passed over a newer snapshot at start", "err", e)
	}
	ix, err := index.OpenSnapshot(dir, index.Options{Logger: log})
	if err != nil {
		return fail(2, err)
	}
	live, err := api.NewLive(ix, opts, uploadsFor, func() { ix.Close() })
	if err != nil {
		ix.Close()
		return fail(3, err)
	}
	if err := rep.Prune(dir); err != nil {
		log.Warn("replica: pruning the cache failed", "err", err)
	}
	log.Info("replica: serving snapshot", "snapshot", name, "index_version", ix.Version(), "addr", opts.Addr)
	install := func(dir, name string) error {
		nix, err := index.OpenSnapshot(dir, index.Options{Logger: log})
		if err != nil {
			return err
		}
		if err := live.Swap(nix, func() { nix.Close() }); err != nil {
			nix.Close()
			return err
		}
		log.Info("replica: serving snapshot", "snapshot", name, "index_version", nix.Version())
		if err := rep.Prune(dir); err != nil {
			log.Warn("replica: pruning the cache failed", "err", err)
		}
		return nil
	}
	report := func(name string, err error) {
		var ce *objstore.CorruptError
		if errors.As(err, &ce) {
			log.Error("replica: corrupted snapshot refused; still serving the previous one", "err", err)
			return
		}
		log.Warn("replica: update failed; still serving the previous snapshot", "snapshot", name, "err", err)
	}
	fctx, stop := context.WithCancel(ctx)
	// SIGHUP: look for a newer snapshot now.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wake := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-fctx.Done():
				return
			case <-hup:
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		rep.Follow(fctx, name, cfg.poll, cfg.retry, wake, install, report)
	}()
	served = true // Serve closes ln
	err = live.Serve(ctx, ln)
	stop()
	<-followed
	if err != nil {
		return fail(3, err)
	}
	log.Info("stopped")
	return 0
}
