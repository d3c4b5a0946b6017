package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// DevKIDPrefix starts the key id of every development key, so production can
// recognise and refuse it.
const DevKIDPrefix = "matcare-dev-"

// File names of the development key material inside its directory.
const (
	DevKeyFile  = "dev-signing-key.pem"
	DevJWKSFile = "dev-jwks.json"
)

// DevSigner mints ES256 tokens with the development key.
type DevSigner struct {
	key *ecdsa.PrivateKey
	kid string
}

// KID returns the key id the signer puts in token headers.
func (s *DevSigner) KID() string { return s.kid }

// Mint signs a copy of claims with ES256 after setting iat and nbf to now,
// exp to now plus ttl, and a random jti (unless claims has one).
func (s *DevSigner) Mint(claims jwt.MapClaims, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", errors.New("auth: token lifetime must be positive")
	}
	c := maps.Clone(claims)
	if c == nil {
		c = jwt.MapClaims{}
	}
	now := time.Now()
	c["iat"] = now.Unix()
	c["nbf"] = now.Unix()
	c["exp"] = now.Add(ttl).Unix()
	if _, ok := c["jti"]; !ok {
		c["jti"] = rand.Text()
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

// EnsureDevKey returns the development JWKS path and a signer for the ES256
// development key under dir, creating the key (mode 0600) and its public JWKS
// on first use and reusing them afterwards. Concurrent first calls agree on
// one key.
func EnsureDevKey(dir string) (jwksPath string, signer *DevSigner, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("auth: creating key directory: %w", err)
	}
	keyPath := filepath.Join(dir, DevKeyFile)
	key, err := loadDevKey(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		err = createDevKey(dir, keyPath)
		if err == nil {
			key, err = loadDevKey(keyPath)
		}
	}
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", nil, fmt.Errorf("auth: encoding development public key: %w", err)
	}
	sum := sha256.Sum256(der)
	kid := DevKIDPrefix + base64.RawURLEncoding.EncodeToString(sum[:12])

	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES256, KID: kid, USE: jwkset.UseSig},
	})
	if err != nil {
		return "", nil, fmt.Errorf("auth: building development JWK: %w", err)
	}
	store := jwkset.NewMemoryStorage()
	if err := store.KeyWrite(context.Background(), jwk); err != nil {
		return "", nil, fmt.Errorf("auth: building development JWKS: %w", err)
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		return "", nil, fmt.Errorf("auth: encoding development JWKS: %w", err)
	}
	jwksPath = filepath.Join(dir, DevJWKSFile)
	if err := writeFileAtomic(dir, jwksPath, raw, 0o644); err != nil {
		return "", nil, err
	}
	return jwksPath, &DevSigner{key: key, kid: kid}, nil
}

func loadDevKey(path string) (*ecdsa.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth: development key %s is accessible by others (mode %v); make it 0600", path, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: %s holds no PKCS #8 private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: parsing %s: %w", path, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("auth: %s is not a P-256 key", path)
	}
	return ec, nil
}

// createDevKey writes a new key to a temporary file and links it into place,
// so the key file appears complete and is never overwritten.
func createDevKey(dir, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("auth: generating development key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("auth: encoding development key: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	tmp, err := writeTemp(dir, pemBytes, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, keyPath); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("auth: installing development key: %w", err)
	}
	return nil
}

func writeTemp(dir string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("auth: creating temporary file: %w", err)
	}
	name := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("auth: writing temporary file: %w", err)
	}
	return name, nil
}

func writeFileAtomic(dir, path string, data []byte, perm os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp, err := writeTemp(dir, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("auth: installing %s: %w", path, err)
	}
	return nil
}

// IsDevKID reports whether a key id is a development key id.
func IsDevKID(kid string) bool { return strings.HasPrefix(kid, DevKIDPrefix) }

// IsDevKey reports whether the JWKS file at path contains a development key,
// so production can refuse to trust it.
func IsDevKey(jwksPath string) (bool, error) {
	raw, err := os.ReadFile(jwksPath)
	if err != nil {
		return false, err
	}
	return JWKSHasDevKey(raw)
}

// JWKSHasDevKey reports whether a JWK Set document contains a development key.
func JWKSHasDevKey(raw []byte) (bool, error) {
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return false, fmt.Errorf("auth: reading JWKS: %w", err)
	}
	for _, k := range set.Keys {
		if IsDevKID(k.KID) {
			return true, nil
		}
	}
	return false, nil
}
