// Package embedded runs FerretDB v1 with its SQLite handler inside the
// current process, so that matcare can be started and tested without a
// separate MongoDB server.
//
// The server listens on a random port of 127.0.0.1 only and stores one SQLite
// file per database in the configured directory. FerretDB's telemetry is
// disabled by the embeddable ferretdb package itself (it never creates a
// telemetry reporter), so the server makes no outbound connections.
//
// This is the only package of matcare that imports FerretDB.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Config configures an embedded server.
type Config struct {
	// Dir is the directory that holds the SQLite files, one per database.
	// It is created if it does not exist.
	Dir string

	// Log receives FerretDB's warnings and errors; informational messages
	// are dropped. If nil, slog.Default() is used.
	Log *slog.Logger
}

// Server is a running embedded FerretDB.
type Server struct {
	dir string
	uri string

	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	runErr error         // set before done is closed

	closeOnce sync.Once
}

// startTimeout bounds how long Start waits for the listener to accept
// connections.
const startTimeout = 30 * time.Second

// Start starts FerretDB on 127.0.0.1 with a random port, storing its data in
// cfg.Dir, and returns once the server accepts connections.
//
// The server runs until Close is called or ctx is canceled; callers should
// always call Close to wait for FerretDB to release its files.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded: Config.Dir is empty")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}

	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}

	// The trailing slash marks a directory for FerretDB's SQLite handler.
	// Escape the path as a URI path so that spaces and '?' or '#' survive.
	sqliteURL := "file:" + (&url.URL{Path: dir + "/"}).EscapedPath()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger:    QuietLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{
		dir:    dir,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		s.runErr = f.Run(runCtx)
		close(s.done)
	}()
	// Stop the server when the caller's context ends, as documented.
	stop := context.AfterFunc(ctx, cancel)
	go func() {
		<-s.done
		stop()
	}()

	// FerretDB v1.24 binds the listener in New, but MongoDBURI blocks until
	// the listener is ready, so ask for it only after Run has started and
	// confirm with a real connection.
	s.uri = f.MongoDBURI()
	u, err := url.Parse(s.uri)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("embedded: bad URI %q: %w", s.uri, err)
	}
	if err := waitForTCP(ctx, u.Host, s.done, startTimeout); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("embedded: %w", err)
	}
	return s, nil
}

// waitForTCP dials addr until a connection succeeds, done is closed, ctx
// ends or timeout passes.
func waitForTCP(ctx context.Context, addr string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("FerretDB is not accepting connections on %s after %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return errors.New("FerretDB stopped during start-up")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URI returns the MongoDB connection string of the server, for example
// "mongodb://127.0.0.1:40123/".
func (s *Server) URI() string { return s.uri }

// Dir returns the absolute directory that holds the server's SQLite files.
func (s *Server) Dir() string { return s.dir }

// Close stops the server and waits until FerretDB has closed its listener,
// its connections and its SQLite databases. FerretDB gives connected clients
// up to three seconds to disconnect, so disconnect clients first for a fast
// Close. Close is safe to call more than once and from several goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(s.cancel)
	<-s.done
	return s.runErr
}

// QuietLogger returns a logger that passes only warnings and more severe
// records of log to its handler. FerretDB logs every connection at the
// informational level, which is too noisy for an embedded server.
//
// FerretDB v1 also logs a full dump of every error response it sends
// (duplicate key, unknown command such as the driver's endSessions, …) as
// two warnings; the client receives these errors anyway, and matcare uses
// duplicate-key errors for normal control flow, so these warnings are
// dropped too, as is the harmless "Failed to set deadline: … use of closed
// network connection" warning FerretDB logs when a client disconnects.
func QuietLogger(log *slog.Logger) *slog.Logger {
	if log == nil {
		log = slog.Default()
	}
	return slog.New(minLevelHandler{min: slog.LevelWarn, h: log.Handler()})
}

// minLevelHandler is a slog.Handler that drops records below min and
// FerretDB's warnings about error responses.
//
// FerretDB derives a logger with attributes for every connection and
// command; most handlers format those attributes eagerly, which cost
// about 5% of matcare's CPU for records that are then dropped. So
// minLevelHandler only remembers WithAttrs and WithGroup calls and applies
// them to the wrapped handler for the rare record that passes.
type minLevelHandler struct {
	min  slog.Level
	h    slog.Handler
	with []func(slog.Handler) slog.Handler
}

// Enabled reports whether level is at least the minimum level and is
// enabled by the wrapped handler.
func (m minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= m.min && m.h.Enabled(ctx, level)
}

// Handle passes r to the wrapped handler unless it is a warning about an
// error response sent to a client.
func (m minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && isNoise(r.Message) {
		return nil
	}
	h := m.h
	for _, f := range m.with {
		h = f(h)
	}
	return h.Handle(ctx, r)
}

// WithAttrs records attrs, to be added if a record passes.
func (m minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return m.then(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

// WithGroup records the group, to be opened if a record passes.
func (m minLevelHandler) WithGroup(name string) slog.Handler {
	return m.then(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (m minLevelHandler) then(f func(slog.Handler) slog.Handler) minLevelHandler {
	with := make([]func(slog.Handler) slog.Handler, len(m.with), len(m.with)+1)
	copy(with, m.with)
	m.with = append(with, f)
	return m
}

// isNoise reports whether msg is one of the messages FerretDB's clientconn
// logs for each response that is not {ok: 1}, or for a connection that the
// client closed.
func isNoise(msg string) bool {
	return strings.HasPrefix(msg, "Response header: ") ||
		strings.HasPrefix(msg, "Response message:") ||
		strings.HasPrefix(msg, "Proxy response ") ||
		(strings.HasPrefix(msg, "Failed to set deadline: ") &&
			strings.HasSuffix(msg, "use of closed network connection"))
}
