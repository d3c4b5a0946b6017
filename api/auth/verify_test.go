package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const (
	testIss = "https://idp.example.test"
	testAud = "https://matcare.example.test/fhir"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-shared")

// testKey is a signing key with its kid.
type testKey struct {
	kid    string
	alg    string
	signer crypto.Signer
}

var (
	keysOnce sync.Once
	rsaKey   testKey
	ecKey    testKey
	otherRSA testKey
)

func testKeys(t testing.TB) (testKey, testKey, testKey) {
	t.Helper()
	keysOnce.Do(func() {
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		o, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = testKey{"rsa-1", AlgRS256, r}
		ecKey = testKey{"ec-1", AlgES256, e}
		otherRSA = testKey{"rsa-1", AlgRS256, o} // same kid, different key
	})
	return rsaKey, ecKey, otherRSA
}

// jwksJSON builds a public JWK Set document for the keys.
func jwksJSON(t testing.TB, keys ...testKey) []byte {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.signer.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.ALG(k.alg), KID: k.kid, USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func writeJWKS(t testing.TB, keys ...testKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, jwksJSON(t, keys...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func baseClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":          testIss,
		"aud":          testAud,
		"sub":          "client-sub",
		"iat":          now.Unix(),
		"nbf":          now.Unix(),
		"exp":          now.Add(5 * time.Minute).Unix(),
		"jti":          "jti-1",
		"scope":        "openid system/Goal.read patient/CarePlan.rs",
		"health_board": "board-a",
	}
}

func sign(t testing.TB, k testKey, claims jwt.MapClaims) string {
	t.Helper()
	var m jwt.SigningMethod = jwt.SigningMethodRS256
	if k.alg == AlgES256 {
		m = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signHS(t testing.TB, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func b64(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func newTestVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	if cfg.Issuers == nil {
		cfg.Issuers = []string{testIss}
	}
	if cfg.Audience == "" {
		cfg.Audience = testAud
	}
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestVerifyAttacks(t *testing.T) {
	rk, ek, other := testKeys(t)
	v := newTestVerifier(t, Config{JWKSFile: writeJWKS(t, rk, ek), Leeway: 30 * time.Second})
	now := time.Now()

	rsaPub, err := x509.MarshalPKIXPublicKey(rk.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPub})
	confusion := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, baseClaims())
		tok.Header["kid"] = rk.kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := sign(t, rk, baseClaims())
	parts := strings.Split(valid, ".")

	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"no token", "", ReasonMissing},
		{"malformed", "not-a-jwt", ReasonMalformed},
		{"malformed base64", "a.b.c", ReasonMalformed},
		{"two parts", parts[0] + "." + parts[1], ReasonMalformed},
		{"too long", strings.Repeat("a", MaxTokenLength+1), ReasonMalformed},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(baseClaims()) + ".", ReasonAlgorithm},
		{"alg none with kid", b64(map[string]string{"alg": "none", "kid": rk.kid}) + "." + b64(baseClaims()) + ".", ReasonAlgorithm},
		{"HS256 with RSA public key PEM", confusion(pubPEM), ReasonAlgorithm},
		{"HS256 with RSA public key DER", confusion(rsaPub), ReasonAlgorithm},
		{"RS384 not configured", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS384, baseClaims())
			tok.Header["kid"] = rk.kid
			s, _ := tok.SignedString(rk.signer)
			return s
		}(), ReasonAlgorithm},
		{"expired", sign(t, rk, with(baseClaims(), "exp", now.Add(-time.Minute).Unix())), ReasonExpired},
		{"no exp", sign(t, rk, with(baseClaims(), "exp", nil)), ReasonExpired},
		{"not yet valid", sign(t, rk, with(baseClaims(), "nbf", now.Add(time.Minute).Unix())), ReasonNotYetValid},
		{"issued in future", sign(t, rk, with(baseClaims(), "iat", now.Add(time.Minute).Unix())), ReasonIssuedLater},
		{"wrong aud", sign(t, rk, with(baseClaims(), "aud", "https://other.example.test")), ReasonAudience},
		{"wrong aud array", sign(t, rk, with(baseClaims(), "aud", []string{"a", "b"})), ReasonAudience},
		{"no aud", sign(t, rk, with(baseClaims(), "aud", nil)), ReasonAudience},
		{"wrong iss", sign(t, rk, with(baseClaims(), "iss", "https://evil.example.test")), ReasonIssuer},
		{"no iss", sign(t, rk, with(baseClaims(), "iss", nil)), ReasonIssuer},
		{"unknown kid", sign(t, testKey{"nope", AlgRS256, rk.signer}, baseClaims()), ReasonUnknownKey},
		{"no kid", sign(t, testKey{"", AlgRS256, rk.signer}, baseClaims()), ReasonUnknownKey},
		{"ES256 header with RSA kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodES256, baseClaims())
			tok.Header["kid"] = rk.kid
			s, _ := tok.SignedString(ek.signer)
			return s
		}(), ReasonUnknownKey},
		{"unknown critical header", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, baseClaims())
			tok.Header["kid"] = rk.kid
			tok.Header["crit"] = []string{"urn:example:must-understand"}
			tok.Header["urn:example:must-understand"] = true
			s, _ := tok.SignedString(rk.signer)
			return s
		}(), ReasonMalformed},
		{"tampered payload", parts[0] + "." + b64(with(baseClaims(), "scope", "system/*.*")) + "." + parts[2], ReasonSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 256)), ReasonSignature},
		{"signed by another key", sign(t, other, baseClaims()), ReasonSignature},
		{"board not a string", sign(t, rk, with(baseClaims(), "health_board", 7)), ReasonClaims},
		{"scope not a string", sign(t, rk, with(baseClaims(), "scope", []string{"system/*.*"})), ReasonClaims},
		{"no client identity", sign(t, rk, with(baseClaims(), "sub", nil)), ReasonClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("verified: %+v", p)
			}
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %T %v is not a *TokenError", err, err)
			}
			if te.Reason != tt.reason {
				t.Fatalf("reason %q (%v), want %q", te.Reason, te.Unwrap(), tt.reason)
			}
			msg := te.Error() + te.WWWAuthenticate()
			if tt.token != "" && strings.Contains(msg, tt.token) || strings.Contains(msg, "board-a") {
				t.Errorf("error leaks token contents: %s", msg)
			}
			if tt.reason != ReasonMissing && !strings.HasPrefix(te.WWWAuthenticate(), `Bearer error="invalid_token", error_description="`) {
				t.Errorf("WWW-Authenticate = %s", te.WWWAuthenticate())
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	rk, _, _ := testKeys(t)
	v := newTestVerifier(t, Config{JWKSFile: writeJWKS(t, rk), Leeway: 30 * time.Second})
	now := time.Now()
	tok := sign(t, rk, with(baseClaims(),
		"exp", now.Add(-10*time.Second).Unix(),
		"nbf", now.Add(10*time.Second).Unix(),
		"iat", now.Add(10*time.Second).Unix()))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("token within leeway rejected: %v", err)
	}
}

func TestVerifyAccepts(t *testing.T) {
	rk, ek, _ := testKeys(t)
	v := newTestVerifier(t, Config{
		JWKSFile:    writeJWKS(t, rk, ek),
		Algs:        []string{AlgRS256, AlgES256, AlgHS256},
		HS256Secret: testSecret,
		Issuers:     []string{"https://other-idp.example.test", testIss},
		BoardClaim:  "board",
	})
	exp := time.Now().Add(5 * time.Minute).Truncate(time.Second)
	tests := []struct {
		name     string
		token    string
		client   string
		board    string
		patient  string
		scopeRaw []string
	}{
		{"RS256", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "board", "b1")), "client-sub", "b1", "", []string{"system/Goal.read", "patient/CarePlan.rs"}},
		{"ES256", sign(t, ek, with(baseClaims(), "exp", exp.Unix(), "client_id", "ehr-1")), "ehr-1", "", "", []string{"system/Goal.read", "patient/CarePlan.rs"}},
		{"HS256", signHS(t, testSecret, with(baseClaims(), "exp", exp.Unix(), "patient", "p-9")), "client-sub", "", "p-9", []string{"system/Goal.read", "patient/CarePlan.rs"}},
		{"scp array", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "scope", nil, "scp", []string{"system/Goal.rs", "openid"})), "client-sub", "", "", []string{"system/Goal.rs"}},
		{"scope and scp", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "scope", "system/A.r", "scp", []string{"system/B.s"})), "client-sub", "", "", []string{"system/A.r", "system/B.s"}},
		{"aud array", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "aud", []string{"https://x.test", testAud})), "client-sub", "", "", []string{"system/Goal.read", "patient/CarePlan.rs"}},
		{"client_id over sub", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "client_id", "the-client", "sub", "someone")), "the-client", "", "", []string{"system/Goal.read", "patient/CarePlan.rs"}},
		{"no scope", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "scope", nil)), "client-sub", "", "", nil},
		{"other issuer", sign(t, rk, with(baseClaims(), "exp", exp.Unix(), "iss", "https://other-idp.example.test")), "client-sub", "", "", []string{"system/Goal.read", "patient/CarePlan.rs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if err != nil {
				t.Fatalf("rejected: %v (%v)", err, errors.Unwrap(err))
			}
			var raws []string
			for _, s := range p.Scopes {
				raws = append(raws, s.Raw)
			}
			if p.ClientID != tt.client || p.Board != tt.board || p.Patient != tt.patient || !slices.Equal(raws, tt.scopeRaw) {
				t.Errorf("principal %+v, scopes %v", p, raws)
			}
			if !p.ExpiresAt.Equal(exp) || p.TokenID != "jti-1" || p.Issuer == "" {
				t.Errorf("exp %v jti %q iss %q", p.ExpiresAt, p.TokenID, p.Issuer)
			}
		})
	}
}

func TestHS256WrongSecret(t *testing.T) {
	v := newTestVerifier(t, Config{Algs: []string{AlgHS256}, HS256Secret: testSecret})
	_, err := v.Verify(context.Background(), signHS(t, []byte("another-secret-another-secret-xx"), baseClaims()))
	var te *TokenError
	if !errors.As(err, &te) || te.Reason != ReasonSignature {
		t.Fatalf("err = %v", err)
	}
	// An RS256 token is refused when only HS256 is configured.
	rk, _, _ := testKeys(t)
	_, err = v.Verify(context.Background(), sign(t, rk, baseClaims()))
	if !errors.As(err, &te) || te.Reason != ReasonAlgorithm {
		t.Fatalf("err = %v", err)
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	rk, _, _ := testKeys(t)
	jwks := writeJWKS(t, rk)
	ok := Config{Issuers: []string{testIss}, Audience: testAud, JWKSFile: jwks}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"none", func(c *Config) { c.Algs = []string{"RS256", "none"} }},
		{"unknown alg", func(c *Config) { c.Algs = []string{"PS256"} }},
		{"HS256 without secret", func(c *Config) { c.Algs = []string{"RS256", "HS256"} }},
		{"HS256 short secret", func(c *Config) { c.Algs = []string{"HS256"}; c.HS256Secret = []byte("short") }},
		{"secret without HS256", func(c *Config) { c.HS256Secret = testSecret }},
		{"no key source", func(c *Config) { c.JWKSFile = "" }},
		{"JWKS without asymmetric alg", func(c *Config) { c.Algs = []string{"HS256"}; c.HS256Secret = testSecret }},
		{"no issuer", func(c *Config) { c.Issuers = nil }},
		{"empty issuer", func(c *Config) { c.Issuers = []string{""} }},
		{"no audience", func(c *Config) { c.Audience = "" }},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }},
		{"huge leeway", func(c *Config) { c.Leeway = time.Hour }},
		{"missing JWKS file", func(c *Config) { c.JWKSFile = filepath.Join(t.TempDir(), "absent.json") }},
		{"bad JWKS file", func(c *Config) {
			p := filepath.Join(t.TempDir(), "bad.json")
			os.WriteFile(p, []byte("{not json"), 0o600)
			c.JWKSFile = p
		}},
		{"plain http JWKS URL", func(c *Config) { c.JWKSFile = ""; c.JWKSURL = "http://idp.example.test/jwks" }},
		{"relative JWKS URL", func(c *Config) { c.JWKSFile = ""; c.JWKSURL = "/jwks" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			if v, err := NewVerifier(context.Background(), cfg); err == nil {
				v.Close()
				t.Fatal("config accepted")
			}
		})
	}
	v, err := NewVerifier(context.Background(), ok)
	if err != nil {
		t.Fatalf("good config rejected: %v", err)
	}
	v.Close()
}

// jwksServer serves a JWK Set that the test can replace, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	fetches atomic.Int32
	delay   atomic.Int64 // each response waits this long, as over a network
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		time.Sleep(time.Duration(s.delay.Load()))
		s.mu.Lock()
		b := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(b []byte) {
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

func TestJWKSURLRotationAndRateLimit(t *testing.T) {
	rk, ek, _ := testKeys(t)
	srv := newJWKSServer(t, jwksJSON(t, rk))
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on 127.0.0.1: %s", srv.URL)
	}
	v := newTestVerifier(t, Config{JWKSURL: srv.URL, UnknownKIDRefreshInterval: time.Hour})
	ctx := context.Background()
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start, want 1", n)
	}
	if _, err := v.Verify(ctx, sign(t, rk, baseClaims())); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after a known kid, want 1 (cached)", n)
	}

	// The issuer rotates in a new key; a token with its kid triggers one
	// refresh, which may take as long as a fetch over a real network.
	srv.set(jwksJSON(t, rk, ek))
	srv.delay.Store(int64(50 * time.Millisecond))
	if _, err := v.Verify(ctx, sign(t, ek, baseClaims())); err != nil {
		t.Fatalf("rotated key not found: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after rotation, want 2", n)
	}

	// A flood of unknown kids, concurrently, fetches nothing more and fails fast.
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := testKey{kid: "flood-" + string(rune('a'+i%26)) + time.Now().String(), alg: AlgES256, signer: ek.signer}
			_, err := v.Verify(ctx, sign(t, k, baseClaims()))
			var te *TokenError
			if !errors.As(err, &te) || te.Reason != ReasonUnknownKey {
				t.Errorf("flood token: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids, want 2", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("flood took %v; rate-limited lookups should fail fast", d)
	}
	// Known keys keep working throughout.
	if _, err := v.Verify(ctx, sign(t, rk, baseClaims())); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSURLAndFile(t *testing.T) {
	rk, ek, _ := testKeys(t)
	srv := newJWKSServer(t, jwksJSON(t, ek))
	v := newTestVerifier(t, Config{JWKSURL: srv.URL, JWKSFile: writeJWKS(t, rk)})
	for _, k := range []testKey{rk, ek} {
		if _, err := v.Verify(context.Background(), sign(t, k, baseClaims())); err != nil {
			t.Errorf("%s: %v", k.kid, err)
		}
	}
}

func TestJWKSURLUnavailableAtStart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	if v, err := NewVerifier(context.Background(), Config{Issuers: []string{testIss}, Audience: testAud, JWKSURL: srv.URL}); err == nil {
		v.Close()
		t.Fatal("verifier built without its keys")
	}
}

// TestRejectDevKeys checks that RejectDevKeys refuses a token signed with
// the development key even when the trusted JWKS is the development JWKS
// itself, and that the same token verifies without it.
func TestRejectDevKeys(t *testing.T) {
	jwksPath, dev, err := EnsureDevKey(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := dev.Mint(jwt.MapClaims{"iss": testIss, "aud": testAud, "client_id": "dev", "scope": "system/*.*"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	open := newTestVerifier(t, Config{JWKSFile: jwksPath})
	if p, err := open.Verify(context.Background(), tok); err != nil || p.ClientID != "dev" {
		t.Fatalf("without RejectDevKeys: %+v, %v", p, err)
	}
	strict := newTestVerifier(t, Config{JWKSFile: jwksPath, RejectDevKeys: true})
	_, err = strict.Verify(context.Background(), tok)
	var te *TokenError
	if !errors.As(err, &te) || te.Reason != ReasonUnknownKey {
		t.Fatalf("with RejectDevKeys: %v, want reason %s", err, ReasonUnknownKey)
	}
	// A production key in the same kind of configuration still verifies.
	_, ek, _ := testKeys(t)
	strict = newTestVerifier(t, Config{JWKSFile: writeJWKS(t, ek), RejectDevKeys: true})
	if _, err := strict.Verify(context.Background(), sign(t, ek, baseClaims())); err != nil {
		t.Fatalf("production key with RejectDevKeys: %v", err)
	}
}
