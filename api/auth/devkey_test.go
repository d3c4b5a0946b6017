package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestEnsureDevKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	jwksPath, s1, err := EnsureDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(jwksPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"d"`) {
		t.Error("JWKS file contains private key material")
	}
	if !IsDevKID(s1.KID()) {
		t.Errorf("kid %q lacks the development prefix", s1.KID())
	}
	if dev, err := IsDevKey(jwksPath); err != nil || !dev {
		t.Errorf("IsDevKey = %v, %v", dev, err)
	}

	// A later call reuses the same key and kid.
	jwks2, s2, err := EnsureDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if jwks2 != jwksPath || s2.KID() != s1.KID() || !s2.key.Equal(s1.key) {
		t.Error("second call did not reuse the key")
	}

	// Minted tokens verify against the development JWKS.
	v := newTestVerifier(t, Config{JWKSFile: jwksPath, Algs: []string{AlgES256}})
	tok, err := s1.Mint(jwt.MapClaims{"iss": testIss, "aud": testAud, "client_id": "dev", "scope": "system/*.*", "health_board": "b"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != "dev" || p.Board != "b" || p.TokenID == "" || time.Until(p.ExpiresAt) > time.Minute {
		t.Errorf("principal %+v", p)
	}
	if ok, _ := p.Scopes.Allows(Delete, "Goal"); !ok {
		t.Error("system/*.* did not allow delete")
	}
	if _, err := s1.Mint(nil, 0); err == nil {
		t.Error("zero ttl accepted")
	}
}

func TestEnsureDevKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	kids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, s, err := EnsureDevKey(dir)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = s.KID()
		}()
	}
	wg.Wait()
	for _, k := range kids[1:] {
		if k != kids[0] {
			t.Fatalf("concurrent calls made different keys: %v", kids)
		}
	}
}

func TestEnsureDevKeyRefusesOpenKey(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := EnsureDevKey(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, DevKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EnsureDevKey(dir); err == nil {
		t.Fatal("world-readable key accepted")
	}
}

func TestIsDevKey(t *testing.T) {
	rk, _, _ := testKeys(t)
	if dev, err := IsDevKey(writeJWKS(t, rk)); err != nil || dev {
		t.Errorf("IsDevKey(production JWKS) = %v, %v", dev, err)
	}
	if _, err := IsDevKey(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("missing file gave no error")
	}
	if _, err := JWKSHasDevKey([]byte("nope")); err == nil {
		t.Error("bad JSON gave no error")
	}
}
