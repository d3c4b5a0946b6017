package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api/auth"
)

// BenchmarkAuthorize is the per-request cost of authentication and
// authorisation with cached keys: bearer parsing, ES256 verification,
// claims, scope checks and the access decision for a read of a Goal, with
// the signature checked on every request (uncached) and with the token
// reused within the verified-token cache's TTL (cached, the usual case
// for a backend service). Compare it with BenchmarkRead (package
// api_test) for the fraction of a read it costs.
func BenchmarkAuthorize(b *testing.B) {
	b.Run("uncached", func(b *testing.B) { benchAuthorize(b, -1) })
	b.Run("cached", func(b *testing.B) { benchAuthorize(b, 0) })
}

func benchAuthorize(b *testing.B, cacheTTL time.Duration) {
	dir := b.TempDir()
	jwks, signer, err := auth.EnsureDevKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	const aud = "http://bench/fhir"
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuers: []string{"iss"}, Audience: aud, JWKSFile: jwks, CacheTTL: cacheTTL})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	tok, err := signer.Mint(jwt.MapClaims{"iss": "iss", "aud": aud, "sub": "c", "scope": "system/*.read system/Goal.rs openid",
		"health_board": "S08000031"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(nil, nil, Config{BaseURL: aud, Verifier: v})
	if err != nil {
		b.Fatal(err)
	}
	var read route
	for _, r := range routes() {
		if r.Interaction == "read" && r.Type == "" {
			read = r
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/fhir/Goal/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for b.Loop() {
		c := s.echo.NewContext(req, httptest.NewRecorder())
		p, err := s.authenticate(c)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.decide(p, read, "Goal"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditRecord is the cost of describing one exchange as an
// AuditEvent (building and encoding it), without storing it.
func BenchmarkAuditRecord(b *testing.B) {
	s, err := New(nil, nil, Config{BaseURL: "http://bench/fhir", Verifier: noVerifier{}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/fhir/Goal/x?_count=2", nil)
	c := s.echo.NewContext(req, httptest.NewRecorder())
	c.SetParamNames("type", "id")
	c.SetParamValues("Goal", "x")
	c.Set(keyPrincipal, &auth.Principal{ClientID: "c", Issuer: "iss", Board: "S08000031"})
	r := route{Interaction: "read", Level: "instance"}
	for b.Loop() {
		_ = s.auditRecord(c, r, http.StatusOK)
	}
}

type noVerifier struct{}

func (noVerifier) Verify(context.Context, string) (*auth.Principal, error) {
	return nil, &auth.TokenError{Reason: auth.ReasonMissing}
}
