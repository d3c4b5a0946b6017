package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api/auth"
)

func discardLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// prodKey is a non-development ES256 key with its public JWKS file.
func prodKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES256, KID: "idp-1", USE: jwkset.UseSig},
	})
	if err != nil {
		t.Fatal(err)
	}
	store := jwkset.NewMemoryStorage()
	if err := store.KeyWrite(context.Background(), jwk); err != nil {
		t.Fatal(err)
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return key, p
}

// TestProductionRefusesToStart runs matcare in production without keys,
// without issuers, with a missing JWKS file and with the development
// JWKS: each stops with an error naming the variable, before storage.
func TestProductionRefusesToStart(t *testing.T) {
	devJWKS, _, err := auth.EnsureDevKey(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	_, prodJWKS := prodKey(t)
	cases := []struct {
		env  []string
		want []string
	}{
		{nil, []string{"MATCARE_ENV=production", "MATCARE_JWKS_FILE", "MATCARE_JWKS_URL", "MATCARE_JWT_HS256_SECRET"}},
		{[]string{"MATCARE_JWKS_FILE", prodJWKS}, []string{"MATCARE_JWT_ISSUERS"}},
		{[]string{"MATCARE_JWT_HS256_SECRET", testSecret}, []string{"MATCARE_JWT_ISSUERS"}},
		{[]string{"MATCARE_JWKS_FILE", devJWKS, "MATCARE_JWT_ISSUERS", "matcare-dev"}, []string{"MATCARE_JWKS_FILE", "development key"}},
		{[]string{"MATCARE_JWKS_FILE", filepath.Join(t.TempDir(), "absent.json"), "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWKS_FILE"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		env := envOf(append(c.env, "MATCARE_ENV", "production", "MATCARE_DATA_DIR", dir, "MATCARE_ADDR", "127.0.0.1:0")...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := run(ctx, env, io.Discard, nil)
		cancel()
		if err == nil {
			t.Errorf("%q: started", c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not name %s", c.env, err, w)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%q: the data directory holds %v; want nothing (no key, no storage)", c.env, entries)
		}
	}
}

// TestProductionVerifier checks the production verifier: it accepts the
// identity provider's tokens, and refuses development-key tokens even when
// a JWKS URL serves the development key (RejectDevKeys), with no
// development warning in the log.
func TestProductionVerifier(t *testing.T) {
	devJWKS, dev, err := auth.EnsureDevKey(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(devJWKS)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(raw) }))
	defer srv.Close()
	key, prodJWKS := prodKey(t)

	cfg, err := configFrom(envOf("MATCARE_ENV", "production", "MATCARE_JWKS_FILE", prodJWKS, "MATCARE_JWKS_URL", srv.URL+"/jwks",
		"MATCARE_JWT_ISSUERS", "https://idp.example, matcare-dev"))
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	v, err := newVerifier(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	claims := jwt.MapClaims{"iss": "https://idp.example", "aud": "http://localhost:8080/fhir", "client_id": "c",
		"scope": "system/*.*", "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix()}
	good := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	good.Header["kid"] = "idp-1"
	signed, err := good.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), signed); err != nil {
		t.Errorf("identity provider's token: %v", err)
	}
	devTok, err := dev.Mint(jwt.MapClaims{"iss": "matcare-dev", "aud": "http://localhost:8080/fhir", "client_id": "c", "scope": "system/*.*"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var te *auth.TokenError
	if _, err := v.Verify(context.Background(), devTok); !errors.As(err, &te) || te.Reason != auth.ReasonUnknownKey {
		t.Errorf("development token in production: %v, want %s", err, auth.ReasonUnknownKey)
	}
	if strings.Contains(logs.String(), "development keys are trusted") || !strings.Contains(logs.String(), `"env":"production"`) {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestDevelopmentVerifier checks development mode: the development key is
// created under MATCARE_DATA_DIR/keys and trusted with issuer matcare-dev,
// one warning says so; with an HS256 secret instead there is no warning and
// the secret stays out of the log.
func TestDevelopmentVerifier(t *testing.T) {
	dir := t.TempDir()
	env := envOf("MATCARE_DATA_DIR", dir, "MONGODB_URI", "mongodb://unused")
	cfg, err := configFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	v, err := newVerifier(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := os.Stat(filepath.Join(dir, "keys", auth.DevKeyFile)); err != nil {
		t.Errorf("no development key under the data directory: %v", err)
	}
	p, err := v.Verify(context.Background(), testToken(t, env))
	if err != nil || p.Issuer != "matcare-dev" || p.Board != "S08000031" || !p.Has("matcare:admin") {
		t.Errorf("test token: %+v, %v", p, err)
	}
	if n := strings.Count(logs.String(), "development keys are trusted"); n != 1 || !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("%d development warnings in:\n%s", n, logs.String())
	}

	secret := testSecret + "-PLUGH"
	cfg, err = configFrom(envOf("MATCARE_DATA_DIR", t.TempDir(), "MATCARE_JWT_HS256_SECRET", secret, "MATCARE_JWT_ISSUERS", "local"))
	if err != nil {
		t.Fatal(err)
	}
	logs = lockedBuffer{}
	v2, err := newVerifier(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "local", "aud": "http://localhost:8080/fhir",
		"sub": "s", "exp": time.Now().Add(time.Minute).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(context.Background(), hs); err != nil {
		t.Errorf("HS256 token: %v", err)
	}
	if strings.Contains(logs.String(), "PLUGH") || strings.Contains(logs.String(), "development keys are trusted") {
		t.Errorf("log:\n%s", logs.String())
	}
}
