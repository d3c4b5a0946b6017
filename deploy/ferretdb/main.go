// Command ferretdb runs FerretDB v1 with its SQLite handler as a small static
// program, for the matcare-ferretdb test image and for tests that need a
// database server in a separate process.
//
// It wraps the embeddable github.com/FerretDB/FerretDB/ferretdb package,
// because FerretDB's own cmd/ferretdb panics when it is built from the module
// cache (it expects build/version files generated in its repository).
// Telemetry is disabled by that package; the program makes no outbound
// connections.
//
// Usage:
//
//	ferretdb [--listen-addr=127.0.0.1:27017] [--sqlite-dir=/data] [--log-level=warn]
//
// It prints "ferretdb: listening on mongodb://HOST:PORT/" to standard error
// once it accepts connections and exits with status 0 on SIGTERM or SIGINT.
//
// Build it with:
//
//	CGO_ENABLED=0 go build -o ferretdb ./deploy/ferretdb
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// run parses args, runs FerretDB until a signal arrives and returns an error
// if it cannot start.
func run(args []string) error {
	fs := flag.NewFlagSet("ferretdb", flag.ContinueOnError)
	listen := fs.String("listen-addr", "127.0.0.1:27017", "TCP `address` to listen on")
	dir := fs.String("sqlite-dir", "/data", "`directory` for the SQLite files, one per database; created if missing")
	level := fs.String("log-level", "warn", "minimum log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return err
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + (&url.URL{Path: abs + "/"}).EscapedPath(),
		Logger:    logger,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// FerretDB v1.24 binds the listener in New, so the URI is available and
	// connections are accepted from here on.
	fmt.Fprintln(os.Stderr, "ferretdb: listening on", f.MongoDBURI())

	err = <-done
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "ferretdb: stopped")
	}
	return err
}
