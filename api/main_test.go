package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/mongotest"
	"github.com/matcare/matcare/service"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

// env is one matcare HTTP server on a fresh database.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	base  string
	store *repository.Store
	res   *service.Resources // the interactions the server runs, content checks on
	uri   string             // the storage server's URI and the database's name
	db    string
	// token is sent as the bearer token unless a request sets
	// Authorization itself ("" to send none).
	token string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	store, uri, db := openStore(t)
	e := startServer(t, store, store, api.Config{MaxBodyBytes: 256 << 10, RateLimit: -1})
	e.uri, e.db = uri, db
	return e
}

// openStore opens a fresh database on the test server, indexed as the
// embedded server indexes its own; it is closed when the test ends.
func openStore(t testing.TB) (store *repository.Store, uri, db string) {
	t.Helper()
	ms := mongotest.Start(t)
	db = ms.NewDatabase(t)
	ctx := context.Background()
	store, err := repository.Open(ctx, testLog, ms.URI(), db, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close(context.Background()) })
	if err := ms.Optimize(ctx, db); err != nil {
		t.Fatal(err)
	}
	return store, ms.URI(), db
}

// testLog discards the server's logs.
var testLog = slog.New(slog.NewJSONHandler(io.Discard, nil))

// startServer serves the interactions on backend (store, or a wrapper of
// it) over HTTP with cfg, whose BaseURL, Ping and Verifier it fills in;
// the env's requests carry a full-scope token of board A.
func startServer(t testing.TB, store *repository.Store, backend service.Store, cfg api.Config) *env {
	t.Helper()
	e := &env{t: t, store: store}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/fhir"
	cfg.BaseURL, cfg.Ping, cfg.Verifier = e.base, store.Ping, newVerifier(t, e.base)
	content, err := testContent()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Terminology == nil {
		cfg.Terminology = content.Terms
	}
	e.res = service.New(backend).WithContent(content)
	h, err := api.New(testLog, e.res, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = h
	return e.as(fullScope, boardA)
}

// testContent is the clinical content under the default canonical base,
// loaded once for every test server.
var testContent = sync.OnceValues(func() (*service.Content, error) { return service.NewContent("") })

// newContentEnv is newEnv with the content resources stored, as
// cmd/matcare stores them at start-up (the Questionnaires a response is
// checked against, the CodeSystems).
func newContentEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t)
	if _, err := e.res.LoadContent(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// response is a finished HTTP exchange.
type response struct {
	*http.Response
	body []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("response body is not JSON: %v: %q", err, r.body)
	}
	return m
}

// do sends a request; headers alternate names and values.
func (e *env) do(method, path string, body string, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.send(req)
}

// send sends req and reads the whole response.
func (e *env) send(req *http.Request) response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res, b}
}

// wantStatus fails unless r has the status; an error response must be an
// OperationOutcome with FHIR's content type.
func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
			t.Errorf("error Content-Type = %q", ct)
		}
		if m := r.json(t); m["resourceType"] != "OperationOutcome" {
			t.Errorf("error body is not an OperationOutcome: %s", r.body)
		}
	}
}

// issue returns the first issue of an OperationOutcome response.
func issue(t testing.TB, r response) map[string]any {
	t.Helper()
	m := r.json(t)
	is, _ := m["issue"].([]any)
	if len(is) == 0 {
		t.Fatalf("no issue in %s", r.body)
	}
	return is[0].(map[string]any)
}
