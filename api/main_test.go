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
	uri   string // the storage server's URI and the database's name
	db    string
	// token is sent as the bearer token unless a request sets
	// Authorization itself ("" to send none).
	token string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ms := mongotest.Start(t)
	db := ms.NewDatabase(t)
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	store, err := repository.Open(ctx, log, ms.URI(), db, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close(context.Background()) })
	if err := ms.Optimize(ctx, db); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, uri: ms.URI(), db: db}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	e.base = e.srv.URL + "/fhir"
	h, err := api.New(log, service.New(store), api.Config{BaseURL: e.base, MaxBodyBytes: 256 << 10, Ping: store.Ping,
		Verifier: newVerifier(t, e.base), RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = h
	t.Cleanup(e.srv.Close)
	return e.as(fullScope, boardA)
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
