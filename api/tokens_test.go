package api_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/service"
)

// Tokens in these tests are real ES256 JWTs signed with a development key
// and verified by auth.Verifier against its JWKS file, as in production.

const (
	testIssuer = "https://idp.test/matcare"
	boardA     = "S08000031" // Greater Glasgow and Clyde
	boardB     = "S08000024" // Lothian
	// fullScope is what the default test client holds.
	fullScope = "system/*.* matcare:admin"
)

var testKey struct {
	once   sync.Once
	dir    string
	jwks   string
	signer *auth.DevSigner
	err    error
}

// devKey returns the test signing key, made once per test binary.
func devKey(t testing.TB) (string, *auth.DevSigner) {
	t.Helper()
	testKey.once.Do(func() {
		testKey.dir, testKey.err = os.MkdirTemp("", "matcare-api-keys-")
		if testKey.err == nil {
			testKey.jwks, testKey.signer, testKey.err = auth.EnsureDevKey(testKey.dir)
		}
	})
	if testKey.err != nil {
		t.Fatal(testKey.err)
	}
	return testKey.jwks, testKey.signer
}

// newVerifier verifies test tokens for audience aud.
func newVerifier(t testing.TB, aud string) *auth.Verifier {
	t.Helper()
	jwks, _ := devKey(t)
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		Issuers: []string{testIssuer}, Audience: aud, Algs: []string{auth.AlgES256}, JWKSFile: jwks, Leeway: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// mint signs claims (iss, aud, sub added unless given) for aud.
func mint(t testing.TB, aud string, claims jwt.MapClaims) string {
	t.Helper()
	_, signer := devKey(t)
	c := jwt.MapClaims{"iss": testIssuer, "aud": aud, "sub": "test-client"}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	tok, err := signer.Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// as returns a copy of e whose requests carry a token with the scope and
// board given, plus extra claims.
func (e *env) as(scope, board string, extra ...any) *env {
	e.t.Helper()
	c := jwt.MapClaims{"scope": scope}
	if board != "" {
		c["health_board"] = board
	}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	cp := *e
	cp.token = mint(e.t, e.base, c)
	return &cp
}

// asAdmin is a context with full access to board A, for calling the
// service directly in benchmarks.
func asAdmin() context.Context {
	return service.WithAccess(context.Background(), service.Access{Client: "test", Board: boardA, Admin: true})
}
