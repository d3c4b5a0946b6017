package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/repository/embedded"
)

// TestStorageDown stops the database under a running server: readiness
// and every interaction answer 503 with an OperationOutcome, never 500.
func TestStorageDown(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	emb, err := embedded.Start(ctx, embedded.Config{Dir: t.TempDir(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	store, err := repository.Open(ctx, log, emb.URI(), "down", repository.Options{SelectionTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	e := startServer(t, store, store, api.Config{})
	srv := e.srv
	id := e.create(goalBody)
	if err := emb.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", srv.URL+"/readyz", "")
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with storage down: %d", r.StatusCode)
	}
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/Goal/" + id, ""},
		{"GET", "/Goal/" + id + "/_history/1", ""},
		{"PUT", "/Goal/" + id, goalWithID(id, "active")},
		{"POST", "/Goal", goalBody},
		{"DELETE", "/Goal/" + id, ""},
		{"GET", "/Goal", ""},
		{"GET", "/_history", ""},
	} {
		r := e.do(req.method, req.path, req.body)
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After", req.method, req.path)
		}
	}
}
