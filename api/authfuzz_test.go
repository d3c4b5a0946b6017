package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/service"
)

// bearerToken is what the server takes for the token of an Authorization
// header value: the part after a case-insensitive "Bearer" scheme and a
// space, without surrounding white space.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// memStore keeps resources and audit records in memory: enough storage
// for the fuzz target's create and reads. Other methods are not called.
type memStore struct {
	service.Store // nil: methods not overridden panic
	mu            sync.Mutex
	recs          map[string]service.Record
	audits        int
}

func (m *memStore) Current(_ context.Context, typ, id string) (service.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.recs[typ+"/"+id]
	if !ok {
		return service.Record{}, service.ErrNotFound
	}
	return rec, nil
}

func (m *memStore) Put(_ context.Context, rec service.Record, prev int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs[rec.Type+"/"+rec.ID].Version != prev {
		return service.ErrVersionConflict
	}
	m.recs[rec.Type+"/"+rec.ID] = rec
	return nil
}

func (m *memStore) AppendAudit(context.Context, service.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audits++
	return nil
}

// FuzzAuthorizationHeader sends arbitrary Authorization header values
// through the real handler, reading a Goal that exists. Whatever the
// value, the server never fails (5xx), grants access only to the valid
// token, answers every refusal with an OperationOutcome, challenges every
// 401 and never echoes the presented token back.
func FuzzAuthorizationHeader(f *testing.F) {
	// The real handler and verifier on a storage in memory: the fuzzer
	// explores the handler, not the database driver.
	const base = "http://matcare.test/fhir"
	mem := &memStore{recs: map[string]service.Record{}}
	h, err := api.New(slog.New(slog.NewJSONHandler(io.Discard, nil)), service.New(mem),
		api.Config{BaseURL: base, MaxBodyBytes: 256 << 10, Verifier: newVerifier(f, base), RateLimit: -1})
	if err != nil {
		f.Fatal(err)
	}
	valid := mint(f, base, jwt.MapClaims{"scope": fullScope, "health_board": boardA})
	req := httptest.NewRequest(http.MethodPost, base+"/Goal",
		strings.NewReader(`{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"fuzz"},"subject":{"reference":"Patient/p1"}}`))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+valid)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		f.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil || created.ID == "" {
		f.Fatalf("create: %s", w.Body)
	}
	path := base + "/Goal/" + created.ID

	parts := strings.Split(valid, ".")
	b64 := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	claims := jwt.MapClaims{"iss": testIssuer, "aud": base, "sub": "fuzz", "scope": fullScope, "health_board": boardB, "exp": 4102444800}
	for _, s := range []string{
		"Bearer " + valid,
		"bearer " + valid,
		"Bearer  " + valid + " ",
		valid,
		"Bearer " + valid + valid,
		"Bearer " + valid + ".",
		"Bearer " + parts[0] + "." + b64(claims) + "." + parts[2],
		"Bearer " + parts[0] + "." + parts[1] + ".",
		"Bearer " + parts[0] + "." + parts[1],
		"Bearer " + b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims) + ".",
		"Bearer " + b64(map[string]string{"alg": "HS256", "kid": "x"}) + "." + b64(claims) + "." + parts[2],
		"Bearer " + mint(f, "https://other.example/fhir", jwt.MapClaims{"scope": fullScope, "health_board": boardA}),
		"Bearer " + mint(f, base, jwt.MapClaims{"scope": fullScope, "health_board": "a b"}),
		"Bearer " + strings.Repeat("A", 17<<10),
		"Bearer " + strings.Repeat("a.", 5000),
		"Basic dXNlcjpwYXNz",
		"Bearer",
		"Bearer ",
		"",
		" ",
		"Bearer ☃.☃.☃",
		"Bearer \x00\xff\xfe",
		"Bearer e30.e30.",
		"Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
		"Negotiate YIIB",
		"Bearer a, Bearer b",
	} {
		f.Add(s)
	}

	// The server's own words: a token made of them is not reflected when
	// they appear in a response.
	var vocab strings.Builder
	for _, r := range []string{auth.ReasonMissing, auth.ReasonMalformed, auth.ReasonAlgorithm, auth.ReasonUnknownKey,
		auth.ReasonSignature, auth.ReasonExpired, auth.ReasonNotYetValid, auth.ReasonIssuedLater, auth.ReasonAudience,
		auth.ReasonIssuer, auth.ReasonClaims, "other"} {
		te := &auth.TokenError{Reason: r}
		vocab.WriteString(te.Error() + "\n" + te.WWWAuthenticate() + "\n")
	}
	for _, authz := range []string{"", "Bearer x"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", authz)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		vocab.WriteString(w.Body.String() + "\n")
	}
	words := vocab.String()

	f.Fuzz(func(t *testing.T, authz string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", authz)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		res := w.Result()
		body := w.Body.Bytes()

		if res.StatusCode >= 500 {
			t.Fatalf("status %d for Authorization %q: %s", res.StatusCode, authz, body)
		}
		tok, isBearer := bearerToken(authz)
		granted := isBearer && tok == valid
		if res.StatusCode < 300 && !granted {
			t.Fatalf("status %d for Authorization %q, which is not the valid token", res.StatusCode, authz)
		}
		if granted {
			if res.StatusCode != http.StatusOK {
				t.Fatalf("the valid token got %d: %s", res.StatusCode, body)
			}
			return
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
			t.Fatalf("status %d: Content-Type %q", res.StatusCode, ct)
		}
		var oo struct {
			ResourceType string           `json:"resourceType"`
			Issue        []map[string]any `json:"issue"`
		}
		if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
			t.Fatalf("status %d: not an OperationOutcome: %s", res.StatusCode, body)
		}
		if res.StatusCode == http.StatusUnauthorized {
			if ch := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
				t.Fatalf("401 with WWW-Authenticate %q", ch)
			}
		}
		// The token's text is never reflected (long enough to tell).
		if tok := strings.TrimSpace(tok); len(tok) >= 12 && !strings.Contains(words, tok) {
			hdrs := res.Header.Get("WWW-Authenticate")
			if bytes.Contains(body, []byte(tok)) || strings.Contains(hdrs, tok) {
				t.Fatalf("response echoes the presented token: %s / %s", hdrs, body)
			}
		}
	})
}
