package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matcare/matcare/service"
)

func TestConfigFrom(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := configFrom(env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:8080" || cfg.baseURL != "http://localhost:8080/fhir" || cfg.dataDir != "./data" ||
		cfg.db != "matcare" || cfg.mongoURI != "" || cfg.maxBodyBytes != 1<<20 || cfg.logLevel != slog.LevelInfo {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = configFrom(env("MATCARE_ADDR", ":9000", "MATCARE_BASE_URL", "https://fhir.example.scot/fhir/",
		"MONGODB_URI", "mongodb://db:27017/?replicaSet=rs0", "MATCARE_DB", "mat", "MATCARE_MAX_BODY_BYTES", "2048",
		"MATCARE_LOG_LEVEL", "debug", "MATCARE_SHUTDOWN_GRACE", "3s", "MATCARE_WRITE_TIMEOUT", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":9000" || cfg.baseURL != "https://fhir.example.scot/fhir" || cfg.db != "mat" || cfg.maxBodyBytes != 2048 ||
		cfg.logLevel != slog.LevelDebug || cfg.grace != 3*time.Second || cfg.writeTimeout != 2*time.Second {
		t.Errorf("set: %+v", cfg)
	}
	bad := []struct{ name, value string }{
		{"MATCARE_ADDR", "8080"},
		{"MATCARE_BASE_URL", "localhost:8080/fhir"},
		{"MATCARE_BASE_URL", "ftp://x/fhir"},
		{"MATCARE_BASE_URL", "http://x/fhir?a=b"},
		{"MONGODB_URI", "postgres://x"},
		{"MATCARE_DB", "a.b"},
		{"MATCARE_MAX_BODY_BYTES", "lots"},
		{"MATCARE_MAX_BODY_BYTES", "10"},
		{"MATCARE_LOG_LEVEL", "loud"},
		{"MATCARE_SHUTDOWN_GRACE", "-1s"},
		{"MATCARE_WRITE_TIMEOUT", "soon"},
	}
	for _, b := range bad {
		_, err := configFrom(env(b.name, b.value))
		if err == nil || !strings.Contains(err.Error(), b.name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", b.name, b.value, err)
		}
	}
}

func TestConfigCanonicalBase(t *testing.T) {
	cfg, err := configFrom(envOf())
	if err != nil || cfg.canonicalBase != "http://matcare.example/fhir" {
		t.Fatalf("default: %q %v", cfg.canonicalBase, err)
	}
	for _, good := range []string{"https://fhir.nhs.scot/matcare", "http://localhost:8080", " https://x.example/a/b "} {
		cfg, err := configFrom(envOf("MATCARE_CANONICAL_BASE", good))
		if err != nil || cfg.canonicalBase != strings.TrimSpace(good) {
			t.Errorf("%q: %q %v", good, cfg.canonicalBase, err)
		}
	}
	for _, bad := range []string{"https://fhir.nhs.scot/matcare/", "fhir.nhs.scot/matcare", "urn:oid:1.2.3", "ftp://x/fhir",
		"https:///fhir", "https://x/fhir?v=1", "https://x/fhir#a", "https://u:p@x/fhir", "https://x/a b", "https://x/a|b", "/fhir"} {
		_, err := configFrom(envOf("MATCARE_CANONICAL_BASE", bad))
		if err == nil || !strings.Contains(err.Error(), "MATCARE_CANONICAL_BASE") {
			t.Errorf("%q: error %v, want one naming MATCARE_CANONICAL_BASE", bad, err)
		}
	}
	// The content loads under any valid base.
	for _, base := range []string{"http://matcare.example/fhir", "https://fhir.nhs.scot/matcare"} {
		clin, err := service.NewContent(base)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := clin.Terms.CodeSystem(base + "/CodeSystem/mat-standard"); !ok {
			t.Errorf("%s: no mat-standard code system", base)
		}
	}
}

// envOf is a getenv over key/value pairs.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

const testSecret = "0123456789abcdef0123456789abcdef-test"

func TestConfigAuth(t *testing.T) {
	cfg, err := configFrom(envOf())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.env != envDevelopment || !cfg.devKeys || !slices.Equal(cfg.issuers, []string{"matcare-dev"}) ||
		cfg.audience != "http://localhost:8080/fhir" || !slices.Equal(cfg.algs, []string{"RS256", "ES256"}) ||
		cfg.leeway != 30*time.Second || cfg.boardClaim != "health_board" || cfg.tokenEndpoint != "" ||
		cfg.adminScope != "" || cfg.nationalScope != "" || cfg.auditorScope != "" || cfg.rateLimit != 0 || cfg.rateBurst != 0 ||
		cfg.keysDir() != filepath.Join("data", "keys") {
		t.Errorf("defaults: %+v", cfg)
	}

	good := []struct {
		name  string
		env   []string
		check func(config) bool
	}{
		{"base URL is the audience", []string{"MATCARE_BASE_URL", "https://x.scot/fhir/"},
			func(c config) bool { return c.audience == "https://x.scot/fhir" }},
		{"dev keys with the data dir, also with MONGODB_URI", []string{"MATCARE_DATA_DIR", "/srv/m", "MONGODB_URI", "mongodb://db"},
			func(c config) bool { return c.devKeys && c.keysDir() == "/srv/m/keys" }},
		{"dev keys with own issuers", []string{"MATCARE_JWT_ISSUERS", " a , b "},
			func(c config) bool { return c.devKeys && slices.Equal(c.issuers, []string{"a", "b"}) }},
		{"JWKS file", []string{"MATCARE_JWKS_FILE", "/k.json", "MATCARE_JWT_ISSUERS", "https://idp"},
			func(c config) bool {
				return !c.devKeys && c.jwksFile == "/k.json" && slices.Equal(c.algs, []string{"RS256", "ES256"})
			}},
		{"JWKS URL on loopback", []string{"MATCARE_JWKS_URL", "http://127.0.0.1:9/jwks", "MATCARE_JWT_ISSUERS", "i"},
			func(c config) bool { return !c.devKeys && c.jwksURL == "http://127.0.0.1:9/jwks" }},
		{"secret alone: HS256 only", []string{"MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWT_ISSUERS", "i"},
			func(c config) bool {
				return !c.devKeys && string(c.hs256Secret) == testSecret && slices.Equal(c.algs, []string{"HS256"})
			}},
		{"secret and JWKS", []string{"MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWKS_URL", "https://idp/jwks", "MATCARE_JWT_ISSUERS", "i"},
			func(c config) bool { return slices.Equal(c.algs, []string{"RS256", "ES256", "HS256"}) }},
		{"algs listed, case and spaces", []string{"MATCARE_JWT_ALGS", " es256 ,ES256"},
			func(c config) bool { return slices.Equal(c.algs, []string{"ES256"}) }},
		{"production with JWKS and issuers", []string{"MATCARE_ENV", "production", "MATCARE_JWKS_FILE", "/k.json", "MATCARE_JWT_ISSUERS", "https://idp"},
			func(c config) bool { return c.env == envProduction && !c.devKeys }},
		{"production with a secret", []string{"MATCARE_ENV", " production ", "MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWT_ISSUERS", "i"},
			func(c config) bool { return c.env == envProduction && slices.Equal(c.algs, []string{"HS256"}) }},
		{"explicit development", []string{"MATCARE_ENV", "development"}, func(c config) bool { return c.devKeys }},
		{"audience, leeway, claim, endpoint, scopes", []string{"MATCARE_JWT_AUDIENCE", "urn:matcare", "MATCARE_JWT_LEEWAY", "0s",
			"MATCARE_BOARD_CLAIM", "nhs_board", "MATCARE_TOKEN_ENDPOINT", "https://auth.example.scot/token",
			"MATCARE_ADMIN_SCOPE", "matcare:ops", "MATCARE_NATIONAL_SCOPE", "phs:national", "MATCARE_AUDITOR_SCOPE", "matcare:auditor"},
			func(c config) bool {
				return c.audience == "urn:matcare" && c.leeway == 0 && c.boardClaim == "nhs_board" &&
					c.tokenEndpoint == "https://auth.example.scot/token" && c.adminScope == "matcare:ops" &&
					c.nationalScope == "phs:national" && c.auditorScope == "matcare:auditor"
			}},
		{"leeway at most 5m", []string{"MATCARE_JWT_LEEWAY", "5m"}, func(c config) bool { return c.leeway == 5*time.Minute }},
		{"rate limit", []string{"MATCARE_RATE_LIMIT", "0.5", "MATCARE_RATE_BURST", "40"},
			func(c config) bool { return c.rateLimit == 0.5 && c.rateBurst == 40 }},
		{"rate limit off", []string{"MATCARE_RATE_LIMIT", "OFF"}, func(c config) bool { return c.rateLimit < 0 }},
	}
	for _, g := range good {
		cfg, err := configFrom(envOf(g.env...))
		if err != nil {
			t.Errorf("%s: %v", g.name, err)
		} else if !g.check(cfg) {
			t.Errorf("%s: %+v", g.name, cfg)
		}
	}

	bad := []struct {
		env  []string
		want []string // each must be in the error
	}{
		{[]string{"MATCARE_ENV", "prod"}, []string{"MATCARE_ENV"}},
		{[]string{"MATCARE_ENV", "Production"}, []string{"MATCARE_ENV"}},
		{[]string{"MATCARE_ENV", "production"}, []string{"MATCARE_ENV", "MATCARE_JWKS_FILE", "MATCARE_JWKS_URL", "MATCARE_JWT_HS256_SECRET"}},
		{[]string{"MATCARE_ENV", "production", "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWKS_FILE"}},
		{[]string{"MATCARE_ENV", "production", "MATCARE_JWKS_FILE", "/k.json"}, []string{"MATCARE_JWT_ISSUERS"}},
		{[]string{"MATCARE_JWKS_FILE", "/k.json"}, []string{"MATCARE_JWT_ISSUERS"}},
		{[]string{"MATCARE_JWKS_URL", "http://idp.example/jwks", "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWKS_URL"}},
		{[]string{"MATCARE_JWKS_URL", "/jwks", "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWKS_URL"}},
		{[]string{"MATCARE_JWT_ISSUERS", "a,,b"}, []string{"MATCARE_JWT_ISSUERS"}},
		{[]string{"MATCARE_JWT_ISSUERS", "a,"}, []string{"MATCARE_JWT_ISSUERS"}},
		{[]string{"MATCARE_JWT_ALGS", "RS256,none"}, []string{"MATCARE_JWT_ALGS"}},
		{[]string{"MATCARE_JWT_ALGS", "RS256,"}, []string{"MATCARE_JWT_ALGS"}},
		{[]string{"MATCARE_JWT_ALGS", "RS256"}, []string{"MATCARE_JWT_ALGS", "ES256"}},
		{[]string{"MATCARE_JWT_ALGS", "HS256"}, []string{"MATCARE_JWT_ALGS", "MATCARE_JWT_HS256_SECRET"}},
		{[]string{"MATCARE_JWT_ALGS", "ES256", "MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWT_ISSUERS", "i"},
			[]string{"MATCARE_JWT_ALGS", "MATCARE_JWT_HS256_SECRET"}},
		{[]string{"MATCARE_JWT_ALGS", "HS256", "MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWKS_FILE", "/k", "MATCARE_JWT_ISSUERS", "i"},
			[]string{"MATCARE_JWT_ALGS", "MATCARE_JWKS_FILE"}},
		{[]string{"MATCARE_JWT_ALGS", "RS256,HS256", "MATCARE_JWT_HS256_SECRET", testSecret, "MATCARE_JWT_ISSUERS", "i"},
			[]string{"MATCARE_JWT_ALGS", "MATCARE_JWKS_FILE"}},
		{[]string{"MATCARE_JWT_HS256_SECRET", "short", "MATCARE_JWT_ISSUERS", "i"}, []string{"MATCARE_JWT_HS256_SECRET"}},
		{[]string{"MATCARE_JWT_LEEWAY", "6m"}, []string{"MATCARE_JWT_LEEWAY"}},
		{[]string{"MATCARE_JWT_LEEWAY", "-1s"}, []string{"MATCARE_JWT_LEEWAY"}},
		{[]string{"MATCARE_JWT_LEEWAY", "30"}, []string{"MATCARE_JWT_LEEWAY"}},
		{[]string{"MATCARE_BOARD_CLAIM", "sub"}, []string{"MATCARE_BOARD_CLAIM"}},
		{[]string{"MATCARE_BOARD_CLAIM", "health board"}, []string{"MATCARE_BOARD_CLAIM"}},
		{[]string{"MATCARE_TOKEN_ENDPOINT", "/token"}, []string{"MATCARE_TOKEN_ENDPOINT"}},
		{[]string{"MATCARE_TOKEN_ENDPOINT", "ftp://auth/token"}, []string{"MATCARE_TOKEN_ENDPOINT"}},
		{[]string{"MATCARE_ADMIN_SCOPE", "matcare admin"}, []string{"MATCARE_ADMIN_SCOPE"}},
		{[]string{"MATCARE_NATIONAL_SCOPE", `a"b`}, []string{"MATCARE_NATIONAL_SCOPE"}},
		{[]string{"MATCARE_AUDITOR_SCOPE", "audit\\x"}, []string{"MATCARE_AUDITOR_SCOPE"}},
		{[]string{"MATCARE_RATE_LIMIT", "0"}, []string{"MATCARE_RATE_LIMIT"}},
		{[]string{"MATCARE_RATE_LIMIT", "-3"}, []string{"MATCARE_RATE_LIMIT"}},
		{[]string{"MATCARE_RATE_LIMIT", "NaN"}, []string{"MATCARE_RATE_LIMIT"}},
		{[]string{"MATCARE_RATE_LIMIT", "Inf"}, []string{"MATCARE_RATE_LIMIT"}},
		{[]string{"MATCARE_RATE_LIMIT", "fast"}, []string{"MATCARE_RATE_LIMIT"}},
		{[]string{"MATCARE_RATE_BURST", "0"}, []string{"MATCARE_RATE_BURST"}},
		{[]string{"MATCARE_RATE_BURST", "1.5"}, []string{"MATCARE_RATE_BURST"}},
	}
	for _, b := range bad {
		_, err := configFrom(envOf(b.env...))
		if err == nil {
			t.Errorf("%q: accepted", b.env)
			continue
		}
		for _, w := range b.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not name %s", b.env, err, w)
			}
		}
	}

	// The secret never appears in an error.
	long := testSecret + "-XYZZY"
	for _, env := range [][]string{
		{"MATCARE_JWT_HS256_SECRET", "XYZZY-too-short", "MATCARE_JWT_ISSUERS", "i"},
		{"MATCARE_JWT_HS256_SECRET", long, "MATCARE_JWT_ALGS", "ES256", "MATCARE_JWT_ISSUERS", "i"},
		{"MATCARE_JWT_HS256_SECRET", long},
	} {
		if _, err := configFrom(envOf(env...)); err == nil || strings.Contains(err.Error(), "XYZZY") {
			t.Errorf("secret error: %v", err)
		}
	}
}

// TestRunShutsDownGracefully starts run in-process on the embedded
// server, checks it serves, that a second process cannot take the same
// data directory, and that cancelling the context stops it cleanly.
func TestRunShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		return map[string]string{"MATCARE_ADDR": "127.0.0.1:0", "MATCARE_DATA_DIR": dir, "MATCARE_RATE_LIMIT": "off"}[k]
	}
	token := testToken(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, env, &logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("not ready")
	}
	st, _, _, err := call(ctx, token, "GET", "http://"+addr+"/readyz", "")
	if err != nil || st != 200 {
		t.Fatalf("readyz: %d %v", st, err)
	}
	// The same data directory is refused to a second server.
	if err := run(context.Background(), env, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second run on the same data dir: %v", err)
	}
	// An in-flight request finishes during shutdown.
	pr, pw := io.Pipe()
	reqDone := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/fhir/Goal", pr)
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			reqDone <- -1
			return
		}
		res.Body.Close()
		reqDone <- res.StatusCode
	}()
	body := goalJSON("x", "in flight")
	pw.Write([]byte(body[:20]))
	time.Sleep(200 * time.Millisecond) // the request is being read
	cancel()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	pw.Write([]byte(body[20:]))
	pw.Close()
	if st := <-reqDone; st != http.StatusCreated {
		t.Errorf("in-flight request during shutdown: %d", st)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("no shutdown record in the log")
	}
	for _, secret := range []string{"in flight", "/fhir/Goal?", "Patient/p1"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
