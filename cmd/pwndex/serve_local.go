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
	"path/filepath"
	"syscall"
	"time"

	"github.com/pwndex/pwndex/api"
	"github.com/pwndex/pwndex/index"
)

// localPoll is how often serve --index reads the local snapshot pointer by
// default (writers move it after every commit; SIGHUP reads it at once).
const localPoll = 250 * time.Millisecond

// listenAddr binds addr for serve. A malformed address or one that cannot
// be bound (in use, not local) is a usage error: one line naming it.
func listenAddr(ctx context.Context, addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("--addr %q: %v", addr, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		return nil, fmt.Errorf("cannot listen on %q: %v", addr, err)
	}
	return ln, nil
}

// ensureLocalSnapshot makes sure the index in dir has a local snapshot to
// serve. An index written before local snapshots existed gets one exported
// now if no writer holds it. It returns false (serve the index itself, the
// old way) when that is impossible: a writer or an old serve holds it, the
// file system is read-only, or dir is not an index.
func ensureLocalSnapshot(dir string, log *slog.Logger) bool {
	if name, err := index.CurrentLocalSnapshot(dir); err == nil {
		// A snapshot this pwndex cannot read (another index format) is
		// replaced by a fresh export below, as for an index without one.
		if _, err := index.ReadManifest(filepath.Join(dir, index.LocalSnapshotsDir, name)); err == nil {
			return true
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "meta")); err != nil {
		return false // not an index: the read-only open reports it
	}
	ix, err := index.Open(index.Options{Dir: dir, Logger: log})
	if err != nil {
		log.Warn("cannot export a local snapshot of the index; serving it directly (ingest and key changes need serve stopped)", "err", err)
		return false
	}
	defer ix.Close()
	name, err := ix.ExportLocal()
	if err != nil {
		log.Warn("cannot export a local snapshot of the index; serving it directly (ingest and key changes need serve stopped)", "err", err)
		return false
	}
	log.Info("exported a first local snapshot", "snapshot", name)
	return true
}

// openCurrent opens the newest local snapshot, reading the pointer again if
// a writer garbage-collected the one it named meanwhile.
func openCurrent(dir string, log *slog.Logger) (*index.Index, error) {
	var err error
	for range 10 {
		var name string
		if name, err = index.CurrentLocalSnapshot(dir); err != nil {
			return nil, err
		}
		var ix *index.Index
		if ix, err = index.OpenLocalSnapshot(dir, name, index.Options{Logger: log}); err == nil {
			return ix, nil
		}
		if !errors.Is(err, index.ErrSnapshotGone) {
			return nil, err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, err
}

// serveLocal serves the local snapshots of the index in dir through
// api.Live: it never opens the metadata store, so ingest and keys commit
// while it runs; it reads the pointer every `every` (and on SIGHUP) and
// switches to a newer snapshot between two requests.
func serveLocal(ctx context.Context, dir string, ln net.Listener, every time.Duration, opts api.Options,
	uploadsFor func(*index.Index) map[string]api.Upload, log *slog.Logger, stderr io.Writer) int {
	ix, err := openCurrent(dir, log)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 2
	}
	live, err := api.NewLive(ix, opts, uploadsFor, func() { ix.Close() })
	if err != nil {
		ix.Close()
		ln.Close()
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 3
	}
	live.SetSnapshotHeader(api.SnapshotHeader)
	logServing(log, ln.Addr().String(), ix)
	fctx, stop := context.WithCancel(ctx)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followLocal(fctx, dir, ix.SnapshotID(), every, live, hup, log)
	}()
	err = live.Serve(ctx, ln)
	stop()
	<-followed
	if err != nil {
		fmt.Fprintf(stderr, "pwndex serve: %v\n", err)
		return 3
	}
	log.Info("stopped")
	return 0
}

// followLocal swaps live to every newer local snapshot until ctx is done.
func followLocal(ctx context.Context, dir, cur string, every time.Duration, live *api.Live, hup <-chan os.Signal, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	failed := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-hup:
		}
		name, err := index.CurrentLocalSnapshot(dir)
		if err != nil || name == cur {
			continue
		}
		nix, err := index.OpenLocalSnapshot(dir, name, index.Options{Logger: log})
		if err != nil {
			if name != failed && !errors.Is(err, index.ErrSnapshotGone) {
				log.Warn("local snapshot: cannot open; still serving the previous one", "snapshot", name, "err", err)
				failed = name
			}
			continue
		}
		if err := live.Swap(nix, func() { nix.Close() }); err != nil {
			nix.Close()
			log.Warn("local snapshot: swap failed", "snapshot", name, "err", err)
			continue
		}
		cur = name
		log.Info("serving snapshot", "snapshot", name, "index_version", nix.Version())
	}
}

// logServing logs the "serving" line (after the port is bound).
func logServing(log *slog.Logger, addr string, ix *index.Index) {
	m := ix.Meta()
	log.Info("serving", "addr", addr, "snapshot", ix.SnapshotID(), "index_version", m.Version, "breaches", m.Breaches,
		"sha1", m.Counts[index.KindSHA1], "ntlm", m.Counts[index.KindNTLM],
		"email", m.Counts[index.KindEmail], "phone", m.Counts[index.KindPhone])
}
