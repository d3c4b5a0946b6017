// Command matcare serves the matcare FHIR R4 API.
//
// With MONGODB_URI unset it runs an embedded MongoDB-wire server
// (FerretDB on SQLite) keeping its data under MATCARE_DATA_DIR, so
// `go run ./cmd/matcare` is all a developer needs. The README lists the
// configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/schema"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/embedded"
	"github.com/matcare/matcare/service"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: matcare [serve]
       matcare token --scope SCOPES [--board BOARD] [--patient ID] [--client NAME] [--ttl DURATION]
       matcare seed [--patients N] [--boards CODES] [--seed N] [--goals N] [--epoch DATE]
       matcare help

serve (the default) serves the matcare FHIR R4 API. Configuration comes from
the environment (MATCARE_ADDR, MATCARE_BASE_URL, MONGODB_URI, MATCARE_DB,
MATCARE_DATA_DIR, MATCARE_MAX_BODY_BYTES, MATCARE_LOG_LEVEL,
MATCARE_SHUTDOWN_GRACE, MATCARE_WRITE_TIMEOUT, MATCARE_CANONICAL_BASE;
authentication: MATCARE_ENV, MATCARE_JWKS_FILE, MATCARE_JWKS_URL,
MATCARE_JWT_ISSUERS, MATCARE_JWT_AUDIENCE, MATCARE_JWT_ALGS,
MATCARE_JWT_HS256_SECRET, MATCARE_JWT_LEEWAY, MATCARE_BOARD_CLAIM,
MATCARE_TOKEN_ENDPOINT, MATCARE_ADMIN_SCOPE, MATCARE_NATIONAL_SCOPE,
MATCARE_AUDITOR_SCOPE, MATCARE_RATE_LIMIT, MATCARE_RATE_BURST); see README.md. In development (MATCARE_ENV unset) without
configured keys, a development key under MATCARE_DATA_DIR/keys is trusted.

token prints a development bearer token signed with that key, e.g.
  matcare token --scope 'system/*.*' --board S08000031
(development only; "matcare token -h" lists its flags).

seed writes a reproducible synthetic population into the configured storage
("matcare seed -h" lists its flags).
`

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "serve":
	case args[0] == "token":
		os.Exit(tokenMain(args[1:], os.Getenv, os.Stdout, os.Stderr))
	case args[0] == "seed":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := seedMain(ctx, args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	case len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "matcare: unknown arguments %q\n%s", args, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintf(os.Stderr, "matcare: %v\n", err)
		os.Exit(1)
	}
}

// run is main without the process: tests call it with their own
// environment and log writer, and cancel ctx to stop it. If ready is not
// nil, the listening address is sent on it once the server accepts
// connections.
func run(ctx context.Context, getenv func(string) string, logw io.Writer, ready chan<- string) error {
	cfg, err := configFrom(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: cfg.logLevel}))
	// Authentication first: a bad key setup stops matcare before storage.
	verifier, err := newVerifier(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer verifier.Close()
	// Compile the served types' schemas now, not in the first request.
	if err := schema.Preload(fhir.TypeNames()...); err != nil {
		return fmt.Errorf("R4 schema: %w", err)
	}
	// matcare's clinical content (code systems, value sets, profiles,
	// questionnaires), under the configured base.
	clin, err := service.NewContent(cfg.canonicalBase)
	if err != nil {
		return fmt.Errorf("content: %w", err)
	}
	if cfg.env == envProduction && cfg.canonicalBase == content.DefaultBase {
		log.WarnContext(ctx, "MATCARE_CANONICAL_BASE is the example domain; set the deployment's own before go-live", "canonical_base", cfg.canonicalBase)
	}

	store, closeStorage, err := openStorage(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStorage()

	resources := service.New(store).WithContent(clin)
	// The content resources are stored (or updated) so they can be read
	// and searched like any other: CodeSystem/mat-standard and so on.
	if n, err := resources.LoadContent(ctx); err != nil {
		return fmt.Errorf("content: %w", err)
	} else if n > 0 {
		log.InfoContext(ctx, "content stored", "resources", n)
	}
	handler, err := api.New(log, resources, api.Config{
		BaseURL: cfg.baseURL, MaxBodyBytes: cfg.maxBodyBytes, Ping: store.Ping, Version: version,
		Verifier: verifier, BoardClaim: cfg.boardClaim, AdminScope: cfg.adminScope, NationalScope: cfg.nationalScope,
		AuditorScope: cfg.auditorScope, TokenEndpoint: cfg.tokenEndpoint, Algs: cfg.algs,
		RateLimit: cfg.rateLimit, RateBurst: cfg.rateBurst, ConditionalDeleteMax: cfg.conditionalDeleteMax,
		BundleMaxBytes: cfg.bundleMaxBytes, BundleMaxEntries: cfg.bundleMaxEntries, Terminology: clin.Terms,
		CanonicalBase: cfg.canonicalBase,
	})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("MATCARE_ADDR: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "base_url", cfg.baseURL, "canonical_base", cfg.canonicalBase, "version", version)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-errc:
		return err // never http.ErrServerClosed: Shutdown has not been called
	case <-ctx.Done():
	}
	log.InfoContext(ctx, "shutting down", "grace", cfg.grace.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.InfoContext(ctx, "stopped")
	return nil
}

// openStorage connects to MONGODB_URI or starts the embedded server under
// the locked data directory, and opens the repository on it. closeAll
// releases everything in reverse order.
func openStorage(ctx context.Context, cfg config, log *slog.Logger) (_ *repository.Store, _ func(), err error) {
	// The results are nil by the time a failure runs the deferred cleanup,
	// so it works on locals only.
	var undo []func()
	closeAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	uri := cfg.mongoURI
	var emb *embedded.Server
	if uri == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.dataDir, "ferretdb"))
		if err != nil {
			return nil, nil, fmt.Errorf("MATCARE_DATA_DIR: %w", err)
		}
		release, err := lockDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("MATCARE_DATA_DIR: %w", err)
		}
		undo = append(undo, release)
		emb, err = embedded.Start(ctx, embedded.Config{Dir: dir, Log: log})
		if err != nil {
			return nil, nil, fmt.Errorf("embedded storage: %w", err)
		}
		undo = append(undo, func() { emb.Close() })
		uri = emb.URI()
		log.InfoContext(ctx, "embedded storage started (MONGODB_URI unset)", "dir", dir)
	}
	store, err := repository.Open(ctx, log, uri, cfg.db, repository.Options{WriteTimeout: cfg.writeTimeout, Failpoint: cfg.failpoint, BaseURL: cfg.baseURL})
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, func() { store.Close(context.WithoutCancel(ctx)) })
	if emb != nil {
		if err := emb.IndexIDs(ctx, cfg.db); err != nil {
			return nil, nil, fmt.Errorf("index embedded storage: %w", err)
		}
	}
	return store, closeAll, nil
}
