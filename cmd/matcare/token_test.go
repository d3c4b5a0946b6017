package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api/auth"
)

// verifyAsServer verifies a token the way a development server with the
// default configuration would: issuer matcare-dev, audience the base URL,
// the development JWKS under dataDir/keys. It is configured here by hand,
// not through configFrom, so it checks the token command independently.
func verifyAsServer(t *testing.T, dataDir, issuer, audience, boardClaim, tok string) *auth.Principal {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		Issuers:    []string{issuer},
		Audience:   audience,
		JWKSFile:   filepath.Join(dataDir, "keys", auth.DevJWKSFile),
		BoardClaim: boardClaim,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return p
}

// claimsOf returns a token's header and claims without verifying it.
func claimsOf(t *testing.T, tok string) (map[string]any, jwt.MapClaims) {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Header, claims
}

// runToken runs the token subcommand in-process.
func runToken(env func(string) string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = tokenMain(args, env, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	env := envOf("MATCARE_DATA_DIR", dir)

	code, out, errs := runToken(env, "--scope", "system/*.* matcare:admin", "--board", "S08000031",
		"--patient", "p1", "--client", "c1", "--ttl", "10m")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	tok, ok := strings.CutSuffix(out, "\n")
	if !ok || tok == "" || strings.ContainsAny(tok, " \n\t") {
		t.Fatalf("stdout %q: want the token and one newline", out)
	}
	p := verifyAsServer(t, dir, "matcare-dev", "http://localhost:8080/fhir", "", tok)
	if p.ClientID != "c1" || p.Subject != "c1" || p.Issuer != "matcare-dev" || p.Board != "S08000031" || p.Patient != "p1" ||
		!slices.Equal(p.Granted, []string{"system/*.*", "matcare:admin"}) || !p.Has("matcare:admin") {
		t.Errorf("principal %+v", p)
	}
	if d := time.Until(p.ExpiresAt); d > 10*time.Minute || d < 9*time.Minute {
		t.Errorf("expires in %v, want 10m", d)
	}
	h, c := claimsOf(t, tok)
	if h["alg"] != "ES256" || !auth.IsDevKID(h["kid"].(string)) {
		t.Errorf("header %v", h)
	}
	if c["aud"] != "http://localhost:8080/fhir" || c["scope"] != "system/*.* matcare:admin" || c["client_id"] != "c1" {
		t.Errorf("claims %v", c)
	}

	// Defaults: client dev-client, one hour; no board or patient claim
	// when not given. The key is reused.
	code, out, errs = runToken(env, "--scope", "system/*.*")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	tok = strings.TrimSuffix(out, "\n")
	p = verifyAsServer(t, dir, "matcare-dev", "http://localhost:8080/fhir", "", tok)
	if p.ClientID != "dev-client" || p.Subject != "dev-client" || p.Board != "" || p.Patient != "" {
		t.Errorf("principal %+v", p)
	}
	if d := time.Until(p.ExpiresAt); d > time.Hour || d < 59*time.Minute {
		t.Errorf("expires in %v, want 1h", d)
	}
	if _, c := claimsOf(t, tok); c["health_board"] != nil || c["patient"] != nil {
		t.Errorf("claims %v", c)
	}

	// The server's environment decides issuer, audience and board claim,
	// and the server built from the same environment accepts the token.
	env = envOf("MATCARE_DATA_DIR", dir, "MATCARE_JWT_ISSUERS", "https://a.example, https://b.example",
		"MATCARE_BASE_URL", "https://fhir.example.scot/fhir", "MATCARE_BOARD_CLAIM", "nhs_board")
	code, out, errs = runToken(env, "--scope", "system/Goal.rs", "--board", "S08000015")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	tok = strings.TrimSuffix(out, "\n")
	p = verifyAsServer(t, dir, "https://a.example", "https://fhir.example.scot/fhir", "nhs_board", tok)
	if p.Board != "S08000015" {
		t.Errorf("principal %+v", p)
	}
	cfg, err := configFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	v, err := newVerifier(context.Background(), cfg, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("the server's verifier refuses the token: %v", err)
	}
}

func TestTokenCommandErrors(t *testing.T) {
	usage := [][]string{
		{},
		{"--scope", " "},
		{"--scope", "system/*.*", "extra"},
		{"--scope", "system/*.*", "--nope"},
		{"--scope", "system/*.*", "--ttl", "0s"},
		{"--scope", "system/*.*", "--ttl", "-1h"},
		{"--scope", "system/*.*", "--ttl", "soon"},
		{"--scope", "system/*.*", "--client", ""},
	}
	for _, args := range usage {
		dir := t.TempDir()
		code, out, errs := runToken(envOf("MATCARE_DATA_DIR", dir), args...)
		if code != 2 || out != "" || !strings.Contains(errs, "usage: matcare token") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, the usage", args, code, out, errs)
		}
	}
	if code, out, errs := runToken(envOf(), "-h"); code != 0 || out != "" || !strings.Contains(errs, "-scope") {
		t.Errorf("-h: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	refused := []struct {
		env  []string
		want []string
	}{
		// Production is refused before anything else is looked at.
		{[]string{"MATCARE_ENV", "production"}, []string{"MATCARE_ENV=production"}},
		{[]string{"MATCARE_ENV", "production", "MATCARE_JWKS_FILE", "/k.json", "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_ENV=production"}},
		// Configured keys: the server would not trust the development key.
		{[]string{"MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWT_HS256_SECRET"}},
		{[]string{"MATCARE_JWKS_FILE", "/k.json", "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWKS_FILE"}},
		// Bad configuration is reported as the server would.
		{[]string{"MATCARE_JWT_LEEWAY", "1h"}, []string{"MATCARE_JWT_LEEWAY"}},
	}
	for _, r := range refused {
		dir := t.TempDir()
		code, out, errs := runToken(envOf(append(r.env, "MATCARE_DATA_DIR", dir)...), "--scope", "system/*.*")
		if code != 1 || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want 1 and nothing", r.env, code, out)
		}
		for _, w := range r.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%q: stderr %q does not name %s", r.env, errs, w)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "keys")); !os.IsNotExist(err) {
			t.Errorf("%q: a key directory was created (%v)", r.env, err)
		}
	}
}

// TestTokenCommandProcess runs `matcare token` as its own process (this
// test binary re-executed): stdout is the token and a newline, nothing
// else, quickly and without storage; production refuses it.
func TestTokenCommandProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	matcare := func(env []string, args ...string) (int, string, string) {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "MATCARE_TEST_CHILD=1", "MATCARE_DATA_DIR="+dir, "MATCARE_ENV=",
			"MATCARE_BASE_URL=", "MATCARE_JWT_ISSUERS=", "MATCARE_JWT_AUDIENCE=", "MATCARE_BOARD_CLAIM=",
			"MATCARE_JWKS_FILE=", "MATCARE_JWKS_URL=", "MATCARE_JWT_HS256_SECRET=")
		cmd.Env = append(cmd.Env, env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}

	start := time.Now()
	code, out, errs := matcare(nil, "token", "--scope", "system/*.*", "--board", "S08000031")
	took := time.Since(start)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if took > 20*time.Second {
		t.Errorf("matcare token took %v", took)
	}
	tok, ok := strings.CutSuffix(out, "\n")
	if !ok || strings.Contains(tok, "\n") {
		t.Fatalf("stdout %q: want one line", out)
	}
	p := verifyAsServer(t, dir, "matcare-dev", "http://localhost:8080/fhir", "", tok)
	if p.ClientID != "dev-client" || p.Board != "S08000031" || !slices.Equal(p.Granted, []string{"system/*.*"}) {
		t.Errorf("principal %+v", p)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "keys" {
		t.Errorf("data directory after matcare token: %v %v; want only keys (no storage)", entries, err)
	}

	if code, out, errs := matcare([]string{"MATCARE_ENV=production"}, "token", "--scope", "system/*.*"); code != 1 || out != "" ||
		!strings.Contains(errs, "production") {
		t.Errorf("production: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, _ := matcare(nil, "token"); code != 2 || out != "" {
		t.Errorf("no --scope: exit %d, stdout %q", code, out)
	}
	if code, out, _ := matcare(nil, "help"); code != 0 || !strings.Contains(out, "matcare token --scope") {
		t.Errorf("help: exit %d, stdout %q", code, out)
	}
	if code, _, errs := matcare(nil, "serve", "now"); code != 2 || !strings.Contains(errs, "usage:") {
		t.Errorf("bad arguments: exit %d, stderr %q", code, errs)
	}
}
