package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Supported signing algorithms.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgHS256 = "HS256"
)

// DefaultBoardClaim is the claim that carries the health board by default.
const DefaultBoardClaim = "health_board"

// Limits and defaults of the verifier.
const (
	// MaxTokenLength is the longest bearer token accepted, in bytes.
	MaxTokenLength = 16 << 10
	// MaxLeeway is the largest clock-skew leeway a configuration may set.
	MaxLeeway = 5 * time.Minute
	// MinHS256SecretLength is the shortest HS256 secret accepted, in bytes.
	MinHS256SecretLength = 32
	// DefaultJWKSRefreshInterval is how often a JWKS URL is refreshed.
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultUnknownKIDRefreshInterval is the least time between two JWKS URL
	// refreshes triggered by tokens with unknown key ids.
	DefaultUnknownKIDRefreshInterval = time.Minute
)

// Config configures a Verifier.
type Config struct {
	// Issuers lists the accepted "iss" values; at least one is required.
	Issuers []string
	// Audience is the required "aud" value (string or array member).
	Audience string
	// Algs lists the accepted algorithms among RS256, ES256 and HS256;
	// empty means RS256 and ES256.
	Algs []string
	// Leeway is the clock-skew allowance for exp, nbf and iat, at most MaxLeeway.
	Leeway time.Duration
	// JWKSFile is a JWK Set file loaded once at start.
	JWKSFile string
	// JWKSURL is a JWK Set URL, fetched at start, refreshed periodically and
	// on an unknown kid (rate limited). It must be https unless it names a
	// loopback host.
	JWKSURL string
	// HS256Secret is the shared secret for HS256; required exactly when Algs
	// contains HS256.
	HS256Secret []byte
	// BoardClaim names the claim carrying the health board; empty means
	// DefaultBoardClaim.
	BoardClaim string

	// CacheTTL is how long a verified token is remembered (never beyond
	// its exp): 0 means DefaultCacheTTL, negative turns the cache off.
	CacheTTL time.Duration
	// RejectDevKeys refuses tokens signed with a development key (key id
	// starting with DevKIDPrefix), whatever the JWKS holds; production sets it.
	RejectDevKeys bool
	// HTTPClient fetches JWKSURL; nil means a client with a 10 second timeout.
	HTTPClient *http.Client
	// JWKSRefreshInterval is the periodic refresh interval of JWKSURL; zero
	// means DefaultJWKSRefreshInterval.
	JWKSRefreshInterval time.Duration
	// UnknownKIDRefreshInterval is the least time between refreshes of
	// JWKSURL caused by unknown key ids; zero means
	// DefaultUnknownKIDRefreshInterval. Tokens with unknown key ids that
	// arrive while the limit applies fail at once without a fetch.
	UnknownKIDRefreshInterval time.Duration
}

// Principal is the verified identity and authority carried by a token.
type Principal struct {
	// ClientID is the "client_id" claim, or "sub" when that is absent.
	ClientID string
	// Subject is the "sub" claim.
	Subject string
	// Issuer is the "iss" claim.
	Issuer string
	// Scopes are the SMART resource scopes from "scope" or "scp".
	Scopes Scopes
	// Granted is every scope string in "scope" and "scp", SMART or not
	// (deployment scopes such as an administrative one are matched here).
	Granted []string
	// Patient is the "patient" claim, for patient-context scopes.
	Patient string
	// Board is the health board claim.
	Board string
	// ExpiresAt is the "exp" claim.
	ExpiresAt time.Time
	// TokenID is the "jti" claim.
	TokenID string
}

// Reasons a token is rejected, used as TokenError.Reason.
const (
	ReasonMissing     = "missing"
	ReasonMalformed   = "malformed"
	ReasonAlgorithm   = "algorithm"
	ReasonUnknownKey  = "unknown_key"
	ReasonSignature   = "signature"
	ReasonExpired     = "expired"
	ReasonNotYetValid = "not_yet_valid"
	ReasonIssuedLater = "issued_in_future"
	ReasonAudience    = "audience"
	ReasonIssuer      = "issuer"
	ReasonClaims      = "claims"
)

var reasonText = map[string]string{
	ReasonMissing:     "no bearer token",
	ReasonMalformed:   "the token is malformed",
	ReasonAlgorithm:   "the token's signing algorithm is not accepted",
	ReasonUnknownKey:  "the token's signing key is unknown",
	ReasonSignature:   "the token's signature is invalid",
	ReasonExpired:     "the token has expired or has no expiry",
	ReasonNotYetValid: "the token is not valid yet",
	ReasonIssuedLater: "the token was issued in the future",
	ReasonAudience:    "the token is not meant for this server",
	ReasonIssuer:      "the token's issuer is not trusted",
	ReasonClaims:      "the token's claims are invalid",
}

// TokenError says why a token was rejected. Its message never contains token
// contents, so it is safe as an RFC 6750 error_description.
type TokenError struct {
	// Reason is one of the Reason constants.
	Reason string
	cause  error
}

// Error returns a fixed, human-readable description of the reason.
func (e *TokenError) Error() string {
	if s, ok := reasonText[e.Reason]; ok {
		return s
	}
	return "the token is invalid"
}

// Unwrap returns the underlying cause, for server-side logs only; it may
// contain values such as a key id taken from the token header.
func (e *TokenError) Unwrap() error { return e.cause }

// WWWAuthenticate returns the value of a WWW-Authenticate response header for
// this error, as RFC 6750 describes.
func (e *TokenError) WWWAuthenticate() string {
	if e.Reason == ReasonMissing {
		return `Bearer`
	}
	return `Bearer error="invalid_token", error_description="` + e.Error() + `"`
}

func tokenErr(reason string, cause error) *TokenError {
	return &TokenError{Reason: reason, cause: cause}
}

// Has reports whether the token granted the scope string exactly.
func (p *Principal) Has(scope string) bool {
	return scope != "" && slices.Contains(p.Granted, scope)
}

// Verifier verifies bearer tokens. It is safe for concurrent use.
type Verifier struct {
	parser     *jwt.Parser
	issuers    []string
	algs       []string
	secret     []byte
	keys       keyfunc.Keyfunc
	boardClaim string
	rejectDev  bool
	cache      *tokenCache
	cancel     context.CancelFunc
}

// NewVerifier checks cfg and builds a Verifier, loading the JWKS file and
// fetching the JWKS URL at once. The context bounds the JWKS URL's background
// refresh; Close stops it too.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	algs := cfg.Algs
	if len(algs) == 0 {
		algs = []string{AlgRS256, AlgES256}
	}
	var asym, hs bool
	for _, a := range algs {
		switch a {
		case AlgRS256, AlgES256:
			asym = true
		case AlgHS256:
			hs = true
		default:
			return nil, fmt.Errorf("auth: algorithm %q is not supported (use RS256, ES256 or HS256)", a)
		}
	}
	if len(cfg.Issuers) == 0 || slices.Contains(cfg.Issuers, "") {
		return nil, errors.New("auth: at least one non-empty issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: an audience is required")
	}
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("auth: leeway must be between 0 and %v", MaxLeeway)
	}
	if hs && len(cfg.HS256Secret) < MinHS256SecretLength {
		return nil, fmt.Errorf("auth: HS256 needs a secret of at least %d bytes", MinHS256SecretLength)
	}
	if !hs && len(cfg.HS256Secret) > 0 {
		return nil, errors.New("auth: an HS256 secret is configured but HS256 is not an accepted algorithm")
	}
	haveJWKS := cfg.JWKSFile != "" || cfg.JWKSURL != ""
	if asym && !haveJWKS {
		return nil, errors.New("auth: RS256 and ES256 need a JWKS file or URL")
	}
	if !asym && haveJWKS {
		return nil, errors.New("auth: a JWKS is configured but neither RS256 nor ES256 is an accepted algorithm")
	}

	v := &Verifier{
		issuers:    slices.Clone(cfg.Issuers),
		algs:       slices.Clone(algs),
		secret:     slices.Clone(cfg.HS256Secret),
		boardClaim: cfg.BoardClaim,
		rejectDev:  cfg.RejectDevKeys,
		cache:      newTokenCache(cfg.CacheTTL),
	}
	if v.boardClaim == "" {
		v.boardClaim = DefaultBoardClaim
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(cfg.Audience),
	}
	if len(v.issuers) == 1 {
		opts = append(opts, jwt.WithIssuer(v.issuers[0]))
	}
	v.parser = jwt.NewParser(opts...)

	if asym {
		kctx, cancel := context.WithCancel(ctx)
		kf, err := newKeyfunc(kctx, cfg)
		if err != nil {
			cancel()
			return nil, err
		}
		v.keys, v.cancel = kf, cancel
	}
	return v, nil
}

func newKeyfunc(ctx context.Context, cfg Config) (keyfunc.Keyfunc, error) {
	var given jwkset.Storage
	if cfg.JWKSFile != "" {
		raw, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: reading JWKS file: %w", err)
		}
		kf, err := keyfunc.NewJWKSetJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("auth: parsing JWKS file %s: %w", cfg.JWKSFile, err)
		}
		if cfg.JWKSURL == "" {
			return kf, nil
		}
		given = kf.Storage()
	}
	if err := CheckJWKSURL(cfg.JWKSURL); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	refresh := cfg.JWKSRefreshInterval
	if refresh <= 0 {
		refresh = DefaultJWKSRefreshInterval
	}
	unknown := cfg.UnknownKIDRefreshInterval
	if unknown <= 0 {
		unknown = DefaultUnknownKIDRefreshInterval
	}
	noErrFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    client,
		Given:                     given,
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: &noErrFirst,
		// jwkset runs the unknown-kid refresh under this same deadline, so
		// it must leave room for the fetch (a 1 ms bound made every refresh
		// over a real network fail). A rate-limited lookup still fails at
		// once: the limiter refuses a wait longer than the deadline, and
		// the unknown-kid interval (default 1 min) is longer.
		RateLimitWaitMax:        10 * time.Second,
		RefreshInterval:         refresh,
		RefreshUnknownKID:       rate.NewLimiter(rate.Every(unknown), 1),
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) { return func(context.Context, error) {} },
	})
	if err != nil {
		return nil, fmt.Errorf("auth: loading JWKS URL: %w", err)
	}
	return kf, nil
}

// CheckJWKSURL reports whether raw may serve keys: an absolute https URL,
// or plain http only for localhost or a loopback address.
func CheckJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" {
		return errors.New("auth: the JWKS URL is not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return errors.New("auth: the JWKS URL must use https (plain http only for localhost or a loopback address)")
}

// Close stops background JWKS refreshes. It is safe to call more than once.
func (v *Verifier) Close() {
	if v.cancel != nil {
		v.cancel()
	}
}

// Verify verifies a raw bearer token (without the "Bearer " prefix) and
// returns its principal, which callers must not modify (it may be shared
// with other requests carrying the same token). Every failure is a
// *TokenError.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	if raw == "" {
		return nil, tokenErr(ReasonMissing, nil)
	}
	if len(raw) > MaxTokenLength {
		return nil, tokenErr(ReasonMalformed, errors.New("token too long"))
	}
	now := time.Now()
	if p := v.cache.get(raw, now); p != nil {
		return p, nil
	}
	p, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	v.cache.put(raw, p, now)
	return p, nil
}

func (v *Verifier) verify(ctx context.Context, raw string) (*Principal, error) {
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(raw, claims, v.keyfunc(ctx))
	if err != nil {
		return nil, v.classify(tok, err)
	}
	if !tok.Valid {
		return nil, tokenErr(ReasonSignature, nil)
	}
	return v.principal(claims)
}

func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		// RFC 7515 4.1.11: a token naming critical extensions the server
		// does not understand is invalid; matcare understands none.
		if _, ok := t.Header["crit"]; ok {
			return nil, errCrit
		}
		alg := t.Method.Alg()
		if !slices.Contains(v.algs, alg) {
			return nil, errAlg
		}
		if alg == AlgHS256 {
			return v.secret, nil
		}
		if v.keys == nil {
			return nil, errAlg
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKID
		}
		if v.rejectDev && IsDevKID(kid) {
			return nil, errUnknownKey
		}
		key, err := v.keys.KeyfuncCtx(ctx)(t)
		if err != nil {
			return nil, errors.Join(errUnknownKey, err)
		}
		// Only accept a key whose type matches the algorithm, whatever the
		// JWKS holds; this stops any key-type confusion.
		switch k := key.(type) {
		case *rsa.PublicKey:
			if alg == AlgRS256 {
				return k, nil
			}
		case *ecdsa.PublicKey:
			if alg == AlgES256 && k.Curve == elliptic.P256() {
				return k, nil
			}
		}
		return nil, errKeyType
	}
}

var (
	errAlg        = errors.New("algorithm not accepted")
	errNoKID      = errors.New("token header has no kid")
	errUnknownKey = errors.New("no key for kid")
	errKeyType    = errors.New("key type does not match algorithm")
	errIssuer     = errors.New("issuer not accepted")
	errCrit       = errors.New("token header names critical extensions")
)

func (v *Verifier) classify(tok *jwt.Token, err error) *TokenError {
	switch {
	case errors.Is(err, errAlg):
		return tokenErr(ReasonAlgorithm, err)
	case errors.Is(err, errCrit):
		return tokenErr(ReasonMalformed, err)
	case errors.Is(err, errNoKID), errors.Is(err, errUnknownKey), errors.Is(err, errKeyType):
		return tokenErr(ReasonUnknownKey, err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return tokenErr(ReasonMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// The parser reports a disallowed method as a signature error.
		if tok != nil {
			if alg, _ := tok.Header["alg"].(string); !slices.Contains(v.algs, alg) {
				return tokenErr(ReasonAlgorithm, err)
			}
		}
		return tokenErr(ReasonSignature, err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return tokenErr(missingClaimReason(tok), err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return tokenErr(ReasonExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return tokenErr(ReasonNotYetValid, err)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return tokenErr(ReasonIssuedLater, err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return tokenErr(ReasonAudience, err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return tokenErr(ReasonIssuer, err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return tokenErr(ReasonUnknownKey, err)
	}
	return tokenErr(ReasonClaims, err)
}

// missingClaimReason names the reason for a missing required claim.
func missingClaimReason(tok *jwt.Token) string {
	if tok != nil {
		if c, ok := tok.Claims.(jwt.MapClaims); ok {
			switch {
			case c["exp"] == nil:
				return ReasonExpired
			case c["aud"] == nil:
				return ReasonAudience
			case c["iss"] == nil:
				return ReasonIssuer
			}
		}
	}
	return ReasonClaims
}

func (v *Verifier) principal(c jwt.MapClaims) (*Principal, error) {
	p := &Principal{}
	var ok bool
	if p.Issuer, ok = c["iss"].(string); !ok || !slices.Contains(v.issuers, p.Issuer) {
		return nil, tokenErr(ReasonIssuer, errIssuer)
	}
	strs := []struct {
		name string
		dst  *string
	}{
		{"sub", &p.Subject}, {"client_id", &p.ClientID}, {"patient", &p.Patient},
		{v.boardClaim, &p.Board}, {"jti", &p.TokenID},
	}
	for _, s := range strs {
		val, present := c[s.name]
		if !present {
			continue
		}
		if *s.dst, ok = val.(string); !ok {
			return nil, tokenErr(ReasonClaims, fmt.Errorf("claim %q is not a string", s.name))
		}
	}
	if p.ClientID == "" {
		p.ClientID = p.Subject
	}
	if p.ClientID == "" {
		return nil, tokenErr(ReasonClaims, errors.New("no client_id or sub claim"))
	}
	if exp, err := c.GetExpirationTime(); err == nil && exp != nil {
		p.ExpiresAt = exp.Time
	}
	if raw, present := c["scope"]; present {
		s, ok := raw.(string)
		if !ok {
			return nil, tokenErr(ReasonClaims, errors.New(`claim "scope" is not a string`))
		}
		p.Granted = strings.Fields(s)
	}
	if raw, present := c["scp"]; present {
		list, err := stringList(raw)
		if err != nil {
			return nil, tokenErr(ReasonClaims, err)
		}
		for _, item := range list {
			p.Granted = append(p.Granted, strings.Fields(item)...)
		}
	}
	p.Scopes = ParseScopeList(p.Granted)
	return p, nil
}

// stringList accepts an "scp" claim that is a JSON array of strings or a
// single space-separated string.
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return strings.Fields(t), nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New(`claim "scp" has a non-string element`)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New(`claim "scp" is not an array of strings`)
}
