package main

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/fhir/content"
)

// Deployment environments (MATCARE_ENV).
const (
	envDevelopment = "development"
	envProduction  = "production"
)

// devIssuer is the issuer of development tokens (matcare token) and the
// trusted issuer when development keys are used and MATCARE_JWT_ISSUERS is
// unset.
const devIssuer = "matcare-dev"

// config is matcare's configuration, read from the environment.
type config struct {
	addr         string
	baseURL      string
	mongoURI     string // "" starts the embedded server
	db           string
	dataDir      string
	maxBodyBytes int64
	logLevel     slog.Level
	grace        time.Duration
	writeTimeout time.Duration
	failpoint    string
	// canonicalBase is the base of matcare's canonical URLs (code
	// systems, value sets, …; MATCARE_CANONICAL_BASE): an absolute
	// http(s) URL without a trailing slash.
	canonicalBase string

	// Authentication (SMART backend services bearer tokens).
	env         string // envDevelopment or envProduction
	jwksFile    string
	jwksURL     string
	hs256Secret []byte // never log or print a config
	// devKeys is set in development when no JWKS file or URL and no HS256
	// secret is configured: the development key under <dataDir>/keys is
	// created or reused and trusted.
	devKeys    bool
	issuers    []string
	audience   string
	algs       []string // accepted and advertised; defaults filled in
	leeway     time.Duration
	boardClaim string
	// tokenEndpoint is advertised in the SMART configuration ("" = none).
	tokenEndpoint string
	// Deployment scopes; "" leaves the API's defaults (matcare:admin,
	// matcare:national, matcare:audit).
	adminScope, nationalScope, auditorScope string
	// rateLimit is requests per second per client: 0 = the API's default,
	// negative = off (MATCARE_RATE_LIMIT=off).
	rateLimit float64
	// rateBurst is the burst per client; 0 = the API's default.
	rateBurst int
	// conditionalDeleteMax is how many resources one conditional delete
	// may delete (MATCARE_CONDITIONAL_DELETE_MAX; default 1).
	conditionalDeleteMax int
	// bundleMaxBytes and bundleMaxEntries limit batch and transaction
	// Bundles (MATCARE_BUNDLE_MAX_BYTES, MATCARE_BUNDLE_MAX_ENTRIES).
	bundleMaxBytes   int64
	bundleMaxEntries int
}

// keysDir is where the development key lives: <MATCARE_DATA_DIR>/keys,
// whether or not the embedded storage is used.
func (c config) keysDir() string { return filepath.Join(c.dataDir, "keys") }

// reservedClaims may not carry the health board (MATCARE_BOARD_CLAIM).
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "scp", "client_id", "patient", "cnf", "azp"}

// configFrom reads the configuration through getenv, applying defaults,
// and names the variable of any bad value.
func configFrom(getenv func(string) string) (config, error) {
	cfg := config{
		addr:          "127.0.0.1:8080",
		baseURL:       "http://localhost:8080/fhir",
		db:            "matcare",
		dataDir:       "./data",
		maxBodyBytes:  1 << 20,
		logLevel:      slog.LevelInfo,
		grace:         15 * time.Second,
		writeTimeout:  10 * time.Second,
		canonicalBase: content.DefaultBase,
	}
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	str("MATCARE_ADDR", &cfg.addr)
	str("MATCARE_BASE_URL", &cfg.baseURL)
	str("MONGODB_URI", &cfg.mongoURI)
	str("MATCARE_DB", &cfg.db)
	str("MATCARE_DATA_DIR", &cfg.dataDir)
	str("MATCARE_FAILPOINT", &cfg.failpoint)
	str("MATCARE_CANONICAL_BASE", &cfg.canonicalBase)

	if _, port, err := net.SplitHostPort(cfg.addr); err != nil || port == "" {
		return cfg, fmt.Errorf("MATCARE_ADDR=%q: want host:port, e.g. 127.0.0.1:8080", cfg.addr)
	}
	u, err := url.Parse(cfg.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("MATCARE_BASE_URL=%q: want an absolute http(s) URL such as http://localhost:8080/fhir", cfg.baseURL)
	}
	cfg.baseURL = strings.TrimRight(cfg.baseURL, "/")
	if err := checkCanonicalBase(cfg.canonicalBase); err != nil {
		return cfg, fmt.Errorf("MATCARE_CANONICAL_BASE=%q: %w", cfg.canonicalBase, err)
	}
	if cfg.mongoURI != "" && !strings.HasPrefix(cfg.mongoURI, "mongodb://") && !strings.HasPrefix(cfg.mongoURI, "mongodb+srv://") {
		return cfg, fmt.Errorf("MONGODB_URI: want a mongodb:// or mongodb+srv:// URI")
	}
	if strings.ContainsAny(cfg.db, `/\. "$`) || len(cfg.db) > 63 {
		return cfg, fmt.Errorf("MATCARE_DB=%q: a MongoDB database name without / \\ . space \" $, at most 63 bytes", cfg.db)
	}
	if v := getenv("MATCARE_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return cfg, fmt.Errorf("MATCARE_MAX_BODY_BYTES=%q: want a whole number of bytes from 1024 to 1073741824", v)
		}
		cfg.maxBodyBytes = n
	}
	if v := getenv("MATCARE_LOG_LEVEL"); v != "" {
		if err := cfg.logLevel.UnmarshalText([]byte(strings.TrimSpace(v))); err != nil {
			return cfg, fmt.Errorf("MATCARE_LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"MATCARE_SHUTDOWN_GRACE", &cfg.grace}, {"MATCARE_WRITE_TIMEOUT", &cfg.writeTimeout}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || t <= 0 {
				return cfg, fmt.Errorf("%s=%q: want a positive duration such as 10s", d.name, v)
			}
			*d.dst = t
		}
	}
	if err := authFrom(getenv, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// authFrom reads the authentication and rate-limit variables into cfg.
// It runs after the base URL is checked, since that is the default
// audience. Secret values are never part of an error.
func authFrom(getenv func(string) string, cfg *config) error {
	cfg.env = envDevelopment
	if v := strings.TrimSpace(getenv("MATCARE_ENV")); v != "" {
		if v != envDevelopment && v != envProduction {
			return fmt.Errorf("MATCARE_ENV=%q: want development or production", v)
		}
		cfg.env = v
	}
	cfg.jwksFile = strings.TrimSpace(getenv("MATCARE_JWKS_FILE"))
	cfg.jwksURL = strings.TrimSpace(getenv("MATCARE_JWKS_URL"))
	if cfg.jwksURL != "" {
		if err := auth.CheckJWKSURL(cfg.jwksURL); err != nil {
			return fmt.Errorf("MATCARE_JWKS_URL: %w", err)
		}
	}
	// The secret is taken as is: surrounding spaces would be part of it.
	if v := getenv("MATCARE_JWT_HS256_SECRET"); v != "" {
		if len(v) < auth.MinHS256SecretLength {
			return fmt.Errorf("MATCARE_JWT_HS256_SECRET: want at least %d bytes (the value is not shown)", auth.MinHS256SecretLength)
		}
		cfg.hs256Secret = []byte(v)
	}
	haveJWKS := cfg.jwksFile != "" || cfg.jwksURL != ""
	haveSecret := len(cfg.hs256Secret) > 0
	if cfg.env == envProduction && !haveJWKS && !haveSecret {
		return fmt.Errorf("MATCARE_ENV=production: set MATCARE_JWKS_FILE, MATCARE_JWKS_URL or MATCARE_JWT_HS256_SECRET " +
			"(production never trusts the development key)")
	}
	cfg.devKeys = cfg.env == envDevelopment && !haveJWKS && !haveSecret

	if v := getenv("MATCARE_JWT_ISSUERS"); strings.TrimSpace(v) != "" {
		list, err := commaList(v)
		if err != nil {
			return fmt.Errorf("MATCARE_JWT_ISSUERS=%q: %w", v, err)
		}
		cfg.issuers = list
	}
	switch {
	case len(cfg.issuers) > 0:
	case cfg.env == envProduction:
		return fmt.Errorf("MATCARE_ENV=production: set MATCARE_JWT_ISSUERS to the trusted token issuers (comma-separated)")
	case cfg.devKeys:
		cfg.issuers = []string{devIssuer}
	default:
		return fmt.Errorf("MATCARE_JWT_ISSUERS: set the trusted token issuers (comma-separated) when " +
			"MATCARE_JWKS_FILE, MATCARE_JWKS_URL or MATCARE_JWT_HS256_SECRET is set")
	}

	cfg.audience = cfg.baseURL
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	str("MATCARE_JWT_AUDIENCE", &cfg.audience)

	if v := getenv("MATCARE_JWT_ALGS"); strings.TrimSpace(v) != "" {
		list, err := commaList(strings.ToUpper(v))
		if err != nil {
			return fmt.Errorf("MATCARE_JWT_ALGS=%q: %w", v, err)
		}
		for _, a := range list {
			if a != auth.AlgRS256 && a != auth.AlgES256 && a != auth.AlgHS256 {
				return fmt.Errorf("MATCARE_JWT_ALGS=%q: %q is not supported; want RS256, ES256 and/or HS256", v, a)
			}
			if !slices.Contains(cfg.algs, a) {
				cfg.algs = append(cfg.algs, a)
			}
		}
		asym := slices.Contains(cfg.algs, auth.AlgRS256) || slices.Contains(cfg.algs, auth.AlgES256)
		hs := slices.Contains(cfg.algs, auth.AlgHS256)
		switch {
		case hs && !haveSecret:
			return fmt.Errorf("MATCARE_JWT_ALGS=%q lists HS256 but MATCARE_JWT_HS256_SECRET is not set", v)
		case !hs && haveSecret:
			return fmt.Errorf("MATCARE_JWT_ALGS=%q: MATCARE_JWT_HS256_SECRET is set, so list HS256 (or unset the secret)", v)
		case cfg.devKeys && !slices.Contains(cfg.algs, auth.AlgES256):
			return fmt.Errorf("MATCARE_JWT_ALGS=%q: the development key signs ES256; list ES256 or set MATCARE_JWKS_FILE or MATCARE_JWKS_URL", v)
		case asym && !haveJWKS && !cfg.devKeys:
			return fmt.Errorf("MATCARE_JWT_ALGS=%q lists RS256/ES256 but neither MATCARE_JWKS_FILE nor MATCARE_JWKS_URL is set", v)
		case !asym && haveJWKS:
			return fmt.Errorf("MATCARE_JWT_ALGS=%q: a JWKS is set (MATCARE_JWKS_FILE/MATCARE_JWKS_URL), so list RS256 and/or ES256", v)
		}
	} else {
		// Default: whatever the configured keys can verify.
		if haveJWKS || cfg.devKeys {
			cfg.algs = []string{auth.AlgRS256, auth.AlgES256}
		}
		if haveSecret {
			cfg.algs = append(cfg.algs, auth.AlgHS256)
		}
	}

	cfg.leeway = 30 * time.Second
	if v := getenv("MATCARE_JWT_LEEWAY"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 || d > auth.MaxLeeway {
			return fmt.Errorf("MATCARE_JWT_LEEWAY=%q: want a duration from 0s to %v, such as 30s", v, auth.MaxLeeway)
		}
		cfg.leeway = d
	}

	cfg.boardClaim = auth.DefaultBoardClaim
	str("MATCARE_BOARD_CLAIM", &cfg.boardClaim)
	if slices.Contains(reservedClaims, cfg.boardClaim) || strings.ContainsAny(cfg.boardClaim, " \t\r\n") {
		return fmt.Errorf("MATCARE_BOARD_CLAIM=%q: want a claim name without spaces that is not a registered or SMART claim (%s)",
			cfg.boardClaim, strings.Join(reservedClaims, ", "))
	}

	str("MATCARE_TOKEN_ENDPOINT", &cfg.tokenEndpoint)
	if cfg.tokenEndpoint != "" {
		u, err := url.Parse(cfg.tokenEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("MATCARE_TOKEN_ENDPOINT=%q: want an absolute http(s) URL such as https://auth.example.scot/token", cfg.tokenEndpoint)
		}
	}

	for _, s := range []struct {
		name string
		dst  *string
	}{{"MATCARE_ADMIN_SCOPE", &cfg.adminScope}, {"MATCARE_NATIONAL_SCOPE", &cfg.nationalScope}, {"MATCARE_AUDITOR_SCOPE", &cfg.auditorScope}} {
		str(s.name, s.dst)
		if *s.dst != "" && !isScopeToken(*s.dst) {
			return fmt.Errorf("%s=%q: want one OAuth scope token (printable ASCII without spaces, quotes or backslashes)", s.name, *s.dst)
		}
	}

	if v := strings.TrimSpace(getenv("MATCARE_RATE_LIMIT")); v != "" {
		if strings.EqualFold(v, "off") {
			cfg.rateLimit = -1
		} else {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || !(r > 0) || math.IsInf(r, 0) || r > 1e6 {
				return fmt.Errorf("MATCARE_RATE_LIMIT=%q: want requests per second per client, a positive number such as 20 or 0.5, or off", v)
			}
			cfg.rateLimit = r
		}
	}
	if v := strings.TrimSpace(getenv("MATCARE_RATE_BURST")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1e6 {
			return fmt.Errorf("MATCARE_RATE_BURST=%q: want a whole number of requests from 1 to 1000000", v)
		}
		cfg.rateBurst = n
	}
	if v := strings.TrimSpace(getenv("MATCARE_CONDITIONAL_DELETE_MAX")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return fmt.Errorf("MATCARE_CONDITIONAL_DELETE_MAX=%q: want a whole number from 1 (a conditional delete deletes one resource) to 100", v)
		}
		cfg.conditionalDeleteMax = n
	}
	if v := strings.TrimSpace(getenv("MATCARE_BUNDLE_MAX_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return fmt.Errorf("MATCARE_BUNDLE_MAX_BYTES=%q: want a whole number of bytes from 1024 to 1073741824", v)
		}
		cfg.bundleMaxBytes = n
	}
	if v := strings.TrimSpace(getenv("MATCARE_BUNDLE_MAX_ENTRIES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return fmt.Errorf("MATCARE_BUNDLE_MAX_ENTRIES=%q: want a whole number from 1 to 100000", v)
		}
		cfg.bundleMaxEntries = n
	}
	return nil
}

// checkCanonicalBase checks a canonical base: an absolute http(s) URL
// with a host, without query, fragment, user information or a trailing
// slash (canonicals are the base, "/", type and id).
func checkCanonicalBase(base string) error {
	u, err := url.Parse(base)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("want an absolute http(s) URL such as %s", content.DefaultBase)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("want a URL without query, fragment or user information")
	case strings.HasSuffix(base, "/"):
		return fmt.Errorf("want no trailing slash (canonicals are <base>/CodeSystem/<id>)")
	case strings.ContainsAny(base, " \t\r\n|"):
		return fmt.Errorf("want a URL without spaces or '|'")
	}
	return nil
}

// commaList splits a comma-separated list, trimming each item; an empty
// item is an error.
func commaList(v string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty item in the comma-separated list")
		}
		out = append(out, item)
	}
	return out, nil
}

// isScopeToken reports whether s is one RFC 6749 scope-token:
// %x21 / %x23-5B / %x5D-7E.
func isScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}
