// Package mongotest provides MongoDB-wire servers for tests.
//
// [Start] returns one server shared by all tests of a test binary. By
// default it is an embedded FerretDB (SQLite) in a temporary directory. With
// MATCARE_TEST_DOCKER=1 it is a container started with testcontainers-go from
// the image named by MATCARE_TEST_IMAGE (default "matcare-ferretdb:test",
// built by .ci/docker.sh; "mongo:7" works too); if Docker is not usable the
// test fails, it is never skipped. Images are not pulled unless
// MATCARE_TEST_PULL=1. Containers use host networking and listen on
// 127.0.0.1 only.
//
// Each test should work in its own database from [Server.NewDatabase]. A
// package that uses the shared server should stop it after its tests with
// [Main]:
//
//	func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }
//
// Without Main, the server lives until the test binary exits; its temporary
// files and containers are then removed by the next test binary that uses
// this package.
//
// [StartExternal] starts a separate FerretDB process per test, for tests
// that need a server outside the test process.
package mongotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/repository/embedded"
)

// Environment variables read by this package.
const (
	// EnvDocker selects a container instead of the embedded server when "1".
	EnvDocker = "MATCARE_TEST_DOCKER"
	// EnvImage names the container image; see DefaultImage.
	EnvImage = "MATCARE_TEST_IMAGE"
	// EnvPull allows pulling an image that is not present locally when "1".
	EnvPull = "MATCARE_TEST_PULL"
)

// DefaultImage is the image used under MATCARE_TEST_DOCKER=1 when
// MATCARE_TEST_IMAGE is not set. .ci/docker.sh builds it.
const DefaultImage = "matcare-ferretdb:test"

// Kinds of servers, as returned by [Server.Kind].
const (
	KindEmbedded  = "embedded"
	KindContainer = "container"
)

// Server is a running MongoDB-wire server for tests.
type Server struct {
	kind string
	uri  string
	emb  *embedded.Server // nil for containers
	stop func() error     // stops the server and releases its resources

	clientOnce sync.Once
	client     *mongo.Client // for dropping databases
	clientErr  error
}

// shared is the server of this test binary.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
	mu   sync.Mutex // guards stopped
	stop bool       // Main has stopped the server
}

// Start returns the server shared by the tests of this test binary,
// starting it on first use. It calls tb.Fatal if the server cannot be
// started, including when MATCARE_TEST_DOCKER=1 and Docker is unavailable.
func Start(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() {
		begin := time.Now()
		shared.srv, shared.err = startShared()
		if shared.err == nil {
			tb.Logf("mongotest: %s server %s started in %s", shared.srv.kind, shared.srv.uri, time.Since(begin).Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		tb.Fatalf("mongotest: %v", shared.err)
	}
	shared.mu.Lock()
	stopped := shared.stop
	shared.mu.Unlock()
	if stopped {
		tb.Fatal("mongotest: Start called after Main stopped the server")
	}
	return shared.srv
}

// Main runs the tests of m and then stops the shared server, if one was
// started, and removes its temporary files. It returns the exit code for
// os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	shared.stop = true
	shared.mu.Unlock()
	if err := stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stopAll stops the shared server and removes the temporary root.
func stopAll() error {
	var errs []error
	if s := shared.srv; s != nil {
		if s.client != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			errs = append(errs, s.client.Disconnect(ctx))
			cancel()
		}
		errs = append(errs, s.stop())
	}
	errs = append(errs, removeTempRoot())
	return errors.Join(errs...)
}

// startShared starts the server selected by the environment.
func startShared() (*Server, error) {
	if useDocker() {
		return startContainer(context.Background(), nil)
	}
	return startEmbedded()
}

// useDocker reports whether MATCARE_TEST_DOCKER asks for a container.
func useDocker() bool {
	v, _ := strconv.ParseBool(os.Getenv(EnvDocker))
	return v
}

// startEmbedded starts an embedded FerretDB in a new temporary directory.
func startEmbedded() (*Server, error) {
	root, err := tempRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(root, "embedded-")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	emb, err := embedded.Start(context.Background(), embedded.Config{Dir: dir, Log: log})
	if err != nil {
		return nil, err
	}
	return &Server{
		kind: KindEmbedded,
		uri:  emb.URI(),
		emb:  emb,
		stop: emb.Close,
	}, nil
}

// URI returns the MongoDB connection string of the server.
func (s *Server) URI() string { return s.uri }

// Kind returns "embedded" or "container".
func (s *Server) Kind() string { return s.kind }

// dbCounter numbers the databases of this process.
var dbCounter atomic.Int64

// NewDatabase returns the name of a database that no other test uses. The
// database is dropped when the test ends (best effort: failures are logged).
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := databaseName(tb.Name(), dbCounter.Add(1))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := s.dropClient()
		if err == nil {
			err = c.Database(name).Drop(ctx)
		}
		if err != nil {
			tb.Logf("mongotest: drop database %s: %v", name, err)
		}
	})
	return name
}

// databaseName makes a database name that is valid for MongoDB and for
// FerretDB ([a-zA-Z0-9_-]{1,63}) from a test name and a sequence number.
func databaseName(test string, n int64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 36 {
			break
		}
	}
	suffix := strings.ToLower(rand.Text()[:6])
	return fmt.Sprintf("t_%s_%d_%s", b.String(), n, suffix)
}

// dropClient returns the client used to drop databases.
func (s *Server) dropClient() (*mongo.Client, error) {
	s.clientOnce.Do(func() {
		s.client, s.clientErr = mongo.Connect(options.Client().ApplyURI(s.uri))
	})
	return s.client, s.clientErr
}

// Optimize creates the _id indexes FerretDB's SQLite backend lacks for the
// existing collections of db (see [embedded.Server.IndexIDs]) when the
// server is embedded. It does nothing for containers. Call it after the
// collections have been created.
func (s *Server) Optimize(ctx context.Context, db string) error {
	if s.emb == nil {
		return nil
	}
	return s.emb.IndexIDs(ctx, db)
}

// The temporary root holds everything this process creates on disk:
// embedded data, StartExternal binaries. Its name carries the process id
// so that later processes can remove it once this one has exited.
const tempPrefix = "matcare-mongotest-"

var temp struct {
	once sync.Once
	dir  string
	err  error
}

// tempRoot returns the temporary root of this process, creating it and
// removing the roots of dead processes on first use.
func tempRoot() (string, error) {
	temp.once.Do(func() {
		removeStaleRoots()
		temp.dir, temp.err = os.MkdirTemp("", fmt.Sprintf("%s%d-", tempPrefix, os.Getpid()))
	})
	return temp.dir, temp.err
}

// removeTempRoot removes the temporary root, if it was created.
func removeTempRoot() error {
	if temp.dir == "" {
		return nil
	}
	return os.RemoveAll(temp.dir)
}

// removeStaleRoots removes the temporary roots of processes that no longer
// run.
func removeStaleRoots() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), tempPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(m)
	}
}
