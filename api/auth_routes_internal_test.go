package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/service"
)

// TestEveryRouteAuthenticates is the "no code path skips authentication"
// check: every route of the table but the open ones answers 401 to a
// request without a token or with a bad one, before any storage is
// touched but the audit trail, and Echo serves no route the table does
// not list.

// auditOnlyStore is a storage that only keeps audit records: any other
// call fails the test, since an unauthenticated request must reach
// nothing else.
type auditOnlyStore struct {
	service.Store // nil: a method not overridden below panics
	t             *testing.T
	mu            sync.Mutex
	audits        []service.AuditRecord
}

func (s *auditOnlyStore) touched(what string) error {
	s.t.Errorf("an unauthenticated request reached storage: %s", what)
	return service.ErrUnavailable
}

func (s *auditOnlyStore) Current(context.Context, string, string) (service.Record, error) {
	return service.Record{}, s.touched("Current")
}

func (s *auditOnlyStore) Version(context.Context, string, string, int) (service.Record, error) {
	return service.Record{}, s.touched("Version")
}

func (s *auditOnlyStore) Put(context.Context, service.Record, int) error { return s.touched("Put") }

func (s *auditOnlyStore) History(context.Context, service.HistoryQuery) ([]service.Record, error) {
	return nil, s.touched("History")
}

func (s *auditOnlyStore) Search(context.Context, service.SearchQuery) (service.SearchResult, error) {
	return service.SearchResult{}, s.touched("Search")
}

func (s *auditOnlyStore) Audit(context.Context, string) (service.AuditRecord, error) {
	return service.AuditRecord{}, s.touched("Audit")
}

func (s *auditOnlyStore) AppendAudit(_ context.Context, rec service.AuditRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audits = append(s.audits, rec)
	return nil
}

func (s *auditOnlyStore) lastAudit() (service.AuditRecord, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.audits) == 0 {
		return service.AuditRecord{}, 0
	}
	return s.audits[len(s.audits)-1], len(s.audits)
}

// concretePath fills a route's parameters.
func concretePath(p string) string {
	return strings.NewReplacer(":type", "Goal", ":id", "x", ":vid", "1").Replace(p)
}

func TestEveryRouteAuthenticates(t *testing.T) {
	dir := t.TempDir()
	jwks, signer, err := auth.EnsureDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	const base = "http://matcare.test/fhir"
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		Issuers: []string{"https://idp.test/routes"}, Audience: base, Algs: []string{auth.AlgES256}, JWKSFile: jwks,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	store := &auditOnlyStore{t: t}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s, err := New(log, service.New(store), Config{BaseURL: base, Verifier: v, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	// A token that is valid in every respect but its audience.
	wrongAud, err := signer.Mint(jwt.MapClaims{"iss": "https://idp.test/routes", "aud": "http://elsewhere.test/fhir",
		"sub": "c", "scope": "system/*.* matcare:admin matcare:audit", "health_board": "S08000031"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	serve := func(method, path, authz string) *httptest.ResponseRecorder {
		var body io.Reader
		if method == http.MethodPost || method == http.MethodPut {
			body = strings.NewReader(`{"resourceType":"Goal","id":"x","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p"}}`)
		}
		req := httptest.NewRequest(method, "http://matcare.test"+path, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}

	table := map[string]route{}
	open := 0
	for _, r := range routes() {
		table[r.Method+" "+r.Path] = r
		methods := []string{r.Method}
		if r.Method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		path := concretePath(r.Path)
		if r.Open {
			open++
			for _, m := range methods {
				if w := serve(m, path, ""); w.Code != http.StatusOK {
					t.Errorf("open route %s %s without a token: %d %s", m, path, w.Code, w.Body)
				}
			}
			continue
		}
		for _, m := range methods {
			for _, authz := range []string{"", "Bearer " + wrongAud, "Bearer x", "Basic eDp4"} {
				_, before := store.lastAudit()
				w := serve(m, path, authz)
				if w.Code != http.StatusUnauthorized {
					t.Errorf("%s %s (Authorization %.20q): status %d, want 401; body %s", m, path, authz, w.Code, w.Body)
					continue
				}
				ch := w.Header().Get("WWW-Authenticate")
				switch {
				case authz == "" && ch != "Bearer":
					t.Errorf("%s %s without a token: WWW-Authenticate %q, want Bearer", m, path, ch)
				case authz != "" && !strings.HasPrefix(ch, `Bearer error="invalid_token"`):
					t.Errorf("%s %s with a bad token: WWW-Authenticate %q", m, path, ch)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
					t.Errorf("%s %s: Content-Type %q", m, path, ct)
				}
				if m != http.MethodHead {
					var oo struct {
						ResourceType string           `json:"resourceType"`
						Issue        []map[string]any `json:"issue"`
					}
					if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
						t.Errorf("%s %s: 401 body is not an OperationOutcome: %s", m, path, w.Body)
					}
				}
				rec, after := store.lastAudit()
				if after != before+1 {
					t.Errorf("%s %s: %d audit records for one refused request, want 1", m, path, after-before)
				} else if rec.Client != "" || rec.Board != "" || !strings.Contains(string(rec.Body), `"outcome":"4"`) {
					t.Errorf("%s %s: audit record of a refused request: client %q board %q %s", m, path, rec.Client, rec.Board, rec.Body)
				}
			}
		}
	}
	if open != 4 {
		t.Errorf("%d open routes, want 4 (healthz, readyz, metadata, SMART configuration): a route was opened or closed", open)
	}

	// Echo serves exactly the table (and HEAD for its GETs): no route
	// registered elsewhere escapes the guard.
	for _, r := range s.echo.Routes() {
		m, p := r.Method, r.Path
		if m == http.MethodHead {
			m = http.MethodGet
		}
		if _, ok := table[m+" "+p]; !ok {
			t.Errorf("Echo serves %s %s, which is not in the route table", r.Method, r.Path)
		}
	}
}
