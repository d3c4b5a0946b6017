package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/service"
)

// The attack tests run every way of getting at data without the right to
// it through the real HTTP server, and check each is refused with the
// right status, an OperationOutcome and, for 401, an RFC 6750 challenge;
// that nothing another board or patient holds can be told apart from an
// absent id; and that no refused write changed anything.

// attackRSAKID is the key id of the RSA key the attack server trusts.
const attackRSAKID = "attack-rsa-1"

// attackKeys are the keys the attack tests sign with, made once.
var attackKeys struct {
	once     sync.Once
	rsa      *rsa.PrivateKey // trusted, kid attackRSAKID
	rsaOther *rsa.PrivateKey // untrusted, signs with kid attackRSAKID too
	ecOther  *ecdsa.PrivateKey
	err      error
}

func loadAttackKeys(t testing.TB) {
	t.Helper()
	attackKeys.once.Do(func() {
		k := &attackKeys
		if k.rsa, k.err = rsa.GenerateKey(rand.Reader, 2048); k.err != nil {
			return
		}
		if k.rsaOther, k.err = rsa.GenerateKey(rand.Reader, 2048); k.err != nil {
			return
		}
		k.ecOther, k.err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	if attackKeys.err != nil {
		t.Fatal(attackKeys.err)
	}
}

// auditCounter wraps the store to count the audit records written and
// keep their ids.
type auditCounter struct {
	*repository.Store
	mu  sync.Mutex
	ids []string
}

func (a *auditCounter) AppendAudit(ctx context.Context, rec service.AuditRecord) error {
	err := a.Store.AppendAudit(ctx, rec)
	if err == nil {
		a.mu.Lock()
		a.ids = append(a.ids, rec.ID)
		a.mu.Unlock()
	}
	return err
}

func (a *auditCounter) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

func (a *auditCounter) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ids) == 0 {
		return ""
	}
	return a.ids[len(a.ids)-1]
}

// attackEnv is a server on the store of a newEnv whose verifier trusts a
// JWKS file holding an RSA public key (kid attackRSAKID) and the EC
// development key, accepting RS256 and ES256: the set-up where algorithm
// confusion would bite.
type attackEnv struct {
	*env
	audits *auditCounter
	devKID string
}

func newAttackEnv(t *testing.T) *attackEnv {
	t.Helper()
	loadAttackKeys(t)
	base := newEnv(t)
	devJWKS, signer := devKey(t)

	// The JWKS: the development key's document plus the RSA key.
	raw, err := os.ReadFile(devJWKS)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkset.NewJWKFromKey(&attackKeys.rsa.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgRS256, KID: attackRSAKID, USE: jwkset.UseSig},
	})
	if err != nil {
		t.Fatal(err)
	}
	rk, err := json.Marshal(jwk.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	set.Keys = append(set.Keys, rk)
	raw, err = json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	jwksPath := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	url := srv.URL + "/fhir"
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		Issuers: []string{testIssuer}, Audience: url, Algs: []string{auth.AlgRS256, auth.AlgES256},
		JWKSFile: jwksPath, Leeway: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	audits := &auditCounter{Store: base.store}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, err := api.New(log, service.New(audits), api.Config{BaseURL: url, MaxBodyBytes: 256 << 10, Ping: base.store.Ping,
		Verifier: v, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	e := &env{t: t, srv: srv, base: url, store: base.store}
	return &attackEnv{env: e.as(fullScope, boardA), audits: audits, devKID: signer.KID()}
}

// claims returns valid claims for the attack server (RS256-signable):
// full scope on board A, five minutes to live; kv overrides, nil deletes.
func (a *attackEnv) claims(kv ...any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": testIssuer, "aud": a.base, "sub": "attacker", "jti": rand.Text(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"scope": fullScope, "health_board": boardA,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// signWith signs claims with key under method, with kid in the header
// unless it is "", and the extra header parameters hdr (name, value).
func signWith(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims, hdr ...any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		tok.Header[hdr[i].(string)] = hdr[i+1]
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rs signs claims with the trusted RSA key.
func (a *attackEnv) rs(claims jwt.MapClaims) string {
	return signWith(a.t, jwt.SigningMethodRS256, attackKeys.rsa, attackRSAKID, claims)
}

// rsHdr signs claims with the trusted RSA key and extra header parameters.
func (a *attackEnv) rsHdr(claims jwt.MapClaims, hdr ...any) string {
	return signWith(a.t, jwt.SigningMethodRS256, attackKeys.rsa, attackRSAKID, claims, hdr...)
}

// attackerJWK is the untrusted RSA key as a JWK, for embedding in a header.
func attackerJWK(t testing.TB) map[string]any {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(&attackKeys.rsaOther.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgRS256, KID: attackRSAKID},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(jwk.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func b64json(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// attackDo sends a request with exactly the Authorization header values
// given (none for nil), whatever e's token.
func attackDo(e *env, method, path, body string, authz []string, headers ...string) response {
	e.t.Helper()
	cp := *e
	cp.token = ""
	if len(authz) == 1 {
		return cp.do(method, path, body, append([]string{"Authorization", authz[0]}, headers...)...)
	}
	if len(authz) == 0 {
		return cp.do(method, path, body, headers...)
	}
	// Several values: net/http sends each as its own header line.
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header["Authorization"] = authz
	return e.send(req)
}

func attackGoal(id, patient, text string) string {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Sprintf(`{"resourceType":"Goal",%s"lifecycleStatus":"active","description":{"text":%q},"subject":{"reference":"Patient/%s"}}`,
		idField, text, patient)
}

func attackCreate(e *env, path, body string) string {
	e.t.Helper()
	r := e.do("POST", path, body)
	wantStatus(e.t, r, http.StatusCreated)
	return r.json(e.t)["id"].(string)
}

// versionOf reads path as e and returns meta.versionId, or fails.
func versionOf(t testing.TB, e *env, path string) string {
	t.Helper()
	r := e.do("GET", path, "")
	wantStatus(t, r, http.StatusOK)
	meta, _ := r.json(t)["meta"].(map[string]any)
	v, _ := meta["versionId"].(string)
	if v == "" {
		t.Fatalf("GET %s: no versionId in %s", path, r.body)
	}
	return v
}

// wantChallenge checks the RFC 6750 challenge of a 401: bare "Bearer" for
// a request without credentials, invalid_token for a bad token, either
// for credentials of another scheme (RFC 6750 3.1 says such a request
// lacks authentication information; the brief calls it a bad token).
func wantChallenge(t testing.TB, r response, presented bool) {
	wantChallengeOf(t, r, map[bool]string{true: "invalid_token", false: "none"}[presented])
}

// otherScheme reports whether authz is credentials of a scheme other
// than Bearer.
func otherScheme(authz []string) bool {
	return len(authz) == 1 && strings.HasPrefix(authz[0], "Basic ")
}

func wantChallengeOf(t testing.TB, r response, want string) {
	t.Helper()
	h := r.Header.Values("WWW-Authenticate")
	if len(h) != 1 || !strings.HasPrefix(h[0], "Bearer") {
		t.Fatalf("WWW-Authenticate = %q, want one Bearer challenge", h)
	}
	switch {
	case want == "invalid_token" && !strings.HasPrefix(h[0], `Bearer error="invalid_token"`):
		t.Errorf("WWW-Authenticate = %q, want error=\"invalid_token\" for a presented token", h[0])
	case want == "none" && strings.Contains(h[0], "error="):
		t.Errorf("WWW-Authenticate = %q: no error code without credentials (RFC 6750 3.1)", h[0])
	case want == "either" && strings.Contains(h[0], "error=") && !strings.HasPrefix(h[0], `Bearer error="invalid_token"`):
		t.Errorf("WWW-Authenticate = %q", h[0])
	}
}

// noVersionHeaders fails if a refusal carries anything about a version.
func noVersionHeaders(t testing.TB, r response) {
	t.Helper()
	for _, k := range []string{"ETag", "Last-Modified", "Location", "Content-Location"} {
		if v := r.Header.Get(k); v != "" {
			t.Errorf("%s %s: refusal carries %s: %s", r.Request.Method, r.Request.URL.Path, k, v)
		}
	}
}

// sameAsAbsent fails unless got (about id) is exactly what absent (about
// absentID) was, id for absentID: status, headers that could tell the two
// apart, and the whole body.
func sameAsAbsent(t testing.TB, got, absent response, id, absentID string) {
	t.Helper()
	if got.StatusCode != absent.StatusCode {
		t.Errorf("%s %s: status %d, but %d for an absent id", got.Request.Method, got.Request.URL.Path, got.StatusCode, absent.StatusCode)
	}
	for _, k := range []string{"ETag", "Last-Modified", "Location", "Content-Type", "WWW-Authenticate"} {
		if g, a := got.Header.Get(k), absent.Header.Get(k); g != a {
			t.Errorf("%s %s: %s %q, but %q for an absent id", got.Request.Method, got.Request.URL.Path, k, g, a)
		}
	}
	if g, a := string(got.body), strings.ReplaceAll(string(absent.body), absentID, id); g != a {
		t.Errorf("%s %s: body differs from an absent id's:\n got    %s\n absent %s", got.Request.Method, got.Request.URL.Path, g, a)
	}
}

// bundleEntries returns the entries of a Bundle response, as JSON text.
func bundleEntries(t testing.TB, r response) []string {
	t.Helper()
	m := r.json(t)
	if m["resourceType"] != "Bundle" {
		t.Fatalf("not a Bundle: %s", r.body)
	}
	list, _ := m["entry"].([]any)
	out := make([]string, 0, len(list))
	for _, ent := range list {
		b, err := json.Marshal(ent)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// bundleTotal returns a Bundle response's total as text ("" if none).
func bundleTotal(t testing.TB, r response) string {
	t.Helper()
	m := r.json(t)
	if m["resourceType"] != "Bundle" {
		t.Fatalf("not a Bundle: %s", r.body)
	}
	if v, ok := m["total"]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

func TestAttacks(t *testing.T) {
	a := newAttackEnv(t)
	e := a.env // board A, full scope, dev-key ES256 token

	// Board A's data: a Goal of patient p1, a Goal of p2, a deleted Goal.
	own := attackCreate(e, "/Goal", attackGoal("", "p1", "secret plan of p1"))
	p2 := attackCreate(e, "/Goal", attackGoal("", "p2", "secret plan of p2"))
	gone := attackCreate(e, "/Goal", attackGoal("", "p1", "deleted plan"))
	wantStatus(t, e.do("DELETE", "/Goal/"+gone, ""), http.StatusOK)
	admin := e // fullScope holds matcare:admin
	q := attackCreate(admin, "/Questionnaire", `{"resourceType":"Questionnaire","status":"draft","title":"intake"}`)
	ownPath, qPath := "/Goal/"+own, "/Questionnaire/"+q
	absent := rand.Text() // the shape of a server-assigned id
	auditor := e.as(fullScope+" "+api.DefaultAuditorScope, boardA)

	// unchanged checks, as the owner, that no refused write changed
	// board A's resources.
	unchanged := func(t *testing.T) {
		t.Helper()
		if v := versionOf(t, e, ownPath); v != "1" {
			t.Errorf("%s is at version %s after refused writes, want 1", ownPath, v)
		}
		if v := versionOf(t, e, "/Goal/"+p2); v != "1" {
			t.Errorf("Goal/%s is at version %s after refused writes, want 1", p2, v)
		}
		if v := versionOf(t, e, qPath); v != "1" {
			t.Errorf("%s is at version %s after refused writes, want 1", qPath, v)
		}
		r := e.do("GET", "/Goal/"+gone, "")
		wantStatus(t, r, http.StatusGone)
		if et := r.Header.Get("ETag"); et != `W/"2"` {
			t.Errorf("deleted Goal/%s: ETag %s after refused writes, want W/\"2\"", gone, et)
		}
	}

	// Sanity: both kinds of valid token read the Goal, so each refusal
	// below is the server's doing, not a broken fixture.
	valid := a.rs(a.claims())
	wantStatus(t, attackDo(e, "GET", ownPath, "", []string{"Bearer " + valid}), http.StatusOK)
	wantStatus(t, e.do("GET", ownPath, ""), http.StatusOK)
	auditID := a.audits.last() // of a board A client's read

	t.Run("401", func(t *testing.T) {
		now := time.Now()
		parts := strings.Split(valid, ".")
		der, err := x509.MarshalPKIXPublicKey(&attackKeys.rsa.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		pubJWK, _ := json.Marshal(map[string]string{"kty": "RSA", "kid": attackRSAKID})
		none := func(kid string) string {
			h := map[string]string{"alg": "none", "typ": "JWT"}
			if kid != "" {
				h["kid"] = kid
			}
			return b64json(t, h) + "." + b64json(t, a.claims()) + "."
		}
		// A token for board A read-only, then its payload swapped.
		narrow := a.rs(a.claims("scope", "system/Goal.read"))
		np := strings.Split(narrow, ".")
		swap := func(claims jwt.MapClaims) string { return np[0] + "." + b64json(t, claims) + "." + np[2] }

		tests := []struct {
			name      string
			authz     []string
			presented bool
		}{
			{"no token", nil, false},
			{"garbage", []string{"Bearer not-a-jwt"}, true},
			{"garbage three parts", []string{"Bearer a.b.c"}, true},
			{"two parts", []string{"Bearer " + parts[0] + "." + parts[1]}, true},
			{"wrong scheme Basic", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))}, true},
			{"Basic scheme carrying the JWT", []string{"Basic " + valid}, true},
			{"token without scheme", []string{valid}, true},
			{"two Authorization headers", []string{"Bearer " + valid, "Bearer " + valid}, true},
			{"two Authorization headers, one bad", []string{"Bearer " + valid, "Bearer x"}, true},
			{"Bearer with empty token", []string{"Bearer "}, true},
			{"Bearer with spaces only", []string{"Bearer    "}, true},
			{"too long", []string{"Bearer " + strings.Repeat("a", auth.MaxTokenLength+1)}, true},
			{"alg none", []string{"Bearer " + none("")}, true},
			{"alg none with trusted kid", []string{"Bearer " + none(attackRSAKID)}, true},
			{"alg none with valid signature kept", []string{"Bearer " + strings.TrimSuffix(none(attackRSAKID), ".") + "." + parts[2]}, true},
			{"HS256 keyed with the RSA public key PEM", []string{"Bearer " + signWith(t, jwt.SigningMethodHS256, pubPEM, attackRSAKID, a.claims())}, true},
			{"HS256 keyed with the RSA public key DER", []string{"Bearer " + signWith(t, jwt.SigningMethodHS256, der, attackRSAKID, a.claims())}, true},
			{"HS256 keyed with the JWK", []string{"Bearer " + signWith(t, jwt.SigningMethodHS256, pubJWK, attackRSAKID, a.claims())}, true},
			{"HS256 keyed with the dev key kid", []string{"Bearer " + signWith(t, jwt.SigningMethodHS256, []byte(a.devKID), a.devKID, a.claims())}, true},
			{"RS384 not accepted", []string{"Bearer " + signWith(t, jwt.SigningMethodRS384, attackKeys.rsa, attackRSAKID, a.claims())}, true},
			{"ES256 header on the RSA kid", []string{"Bearer " + signWith(t, jwt.SigningMethodES256, attackKeys.ecOther, attackRSAKID, a.claims())}, true},
			{"RS256 header on the EC dev kid", []string{"Bearer " + signWith(t, jwt.SigningMethodRS256, attackKeys.rsa, a.devKID, a.claims())}, true},
			{"expired", []string{"Bearer " + a.rs(a.claims("exp", now.Add(-time.Minute).Unix()))}, true},
			{"expired beyond leeway", []string{"Bearer " + a.rs(a.claims("exp", now.Add(-10*time.Second).Unix()))}, true},
			{"not yet valid", []string{"Bearer " + a.rs(a.claims("nbf", now.Add(time.Minute).Unix()))}, true},
			{"issued in the future", []string{"Bearer " + a.rs(a.claims("iat", now.Add(time.Minute).Unix()))}, true},
			{"missing exp", []string{"Bearer " + a.rs(a.claims("exp", nil))}, true},
			{"exp as a string", []string{"Bearer " + a.rs(a.claims("exp", fmt.Sprint(now.Add(time.Hour).Unix())))}, true},
			{"wrong aud", []string{"Bearer " + a.rs(a.claims("aud", "https://other.example/fhir"))}, true},
			{"no aud", []string{"Bearer " + a.rs(a.claims("aud", nil))}, true},
			{"wrong iss", []string{"Bearer " + a.rs(a.claims("iss", "https://evil.example/"))}, true},
			{"iss with trailing slash", []string{"Bearer " + a.rs(a.claims("iss", testIssuer+"/"))}, true},
			{"no iss", []string{"Bearer " + a.rs(a.claims("iss", nil))}, true},
			{"no client identity", []string{"Bearer " + a.rs(a.claims("sub", nil))}, true},
			{"unknown kid", []string{"Bearer " + signWith(t, jwt.SigningMethodRS256, attackKeys.rsa, "nope", a.claims())}, true},
			{"no kid", []string{"Bearer " + signWith(t, jwt.SigningMethodRS256, attackKeys.rsa, "", a.claims())}, true},
			{"tampered board", []string{"Bearer " + swap(a.claims("scope", "system/Goal.read", "health_board", boardB))}, true},
			{"tampered scope", []string{"Bearer " + swap(a.claims("scope", fullScope+" "+api.DefaultNationalScope))}, true},
			{"tampered signature", []string{"Bearer " + parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 256))}, true},
			{"signature stripped", []string{"Bearer " + parts[0] + "." + parts[1] + "."}, true},
			{"another RSA key with the trusted kid", []string{"Bearer " + signWith(t, jwt.SigningMethodRS256, attackKeys.rsaOther, attackRSAKID, a.claims())}, true},
			{"another EC key with the dev kid", []string{"Bearer " + signWith(t, jwt.SigningMethodES256, attackKeys.ecOther, a.devKID, a.claims())}, true},
			{"board not a valid code", []string{"Bearer " + a.rs(a.claims("health_board", "a b"))}, true},
			{"board with a path", []string{"Bearer " + a.rs(a.claims("health_board", "../"+boardA))}, true},
			{"board not a string", []string{"Bearer " + a.rs(a.claims("health_board", 7))}, true},
			{"board an array", []string{"Bearer " + a.rs(a.claims("health_board", []string{boardA, boardB}))}, true},
			{"scope not a string", []string{"Bearer " + a.rs(a.claims("scope", []string{"system/*.*"}))}, true},
			{"patient claim not a string", []string{"Bearer " + a.rs(a.claims("patient", 1))}, true},
			{"embedded jwk of the attacker's key", []string{"Bearer " + signWith(t, jwt.SigningMethodRS256, attackKeys.rsaOther, attackRSAKID, a.claims(),
				"jwk", attackerJWK(t))}, true},
			{"jku pointing elsewhere", []string{"Bearer " + signWith(t, jwt.SigningMethodRS256, attackKeys.rsaOther, attackRSAKID, a.claims(),
				"jku", "https://evil.example/jwks.json")}, true},
			// RFC 7515 4.1.11: a JWS listing a critical header parameter
			// the recipient does not understand is invalid.
			{"unknown critical header", []string{"Bearer " + a.rsHdr(a.claims(), "crit", []string{"urn:example:must-understand"}, "urn:example:must-understand", true)}, true},
			{"dev-signed token for another audience", []string{"Bearer " + mint(t, "https://other.example/fhir", jwt.MapClaims{"scope": fullScope, "health_board": boardA})}, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := a.audits.count()
				r := attackDo(e, "GET", ownPath, "", tt.authz)
				wantStatus(t, r, http.StatusUnauthorized)
				if otherScheme(tt.authz) {
					wantChallengeOf(t, r, "either")
				} else {
					wantChallenge(t, r, tt.presented)
				}
				noVersionHeaders(t, r)
				if is := issue(t, r); is["code"] != "login" {
					t.Errorf("issue code %v, want login", is["code"])
				}
				if strings.Contains(string(r.body), "secret plan") {
					t.Errorf("401 leaks the resource: %s", r.body)
				}
				if n := a.audits.count() - before; n != 1 {
					t.Errorf("%d AuditEvents for a refused request, want 1", n)
				}
			})
		}
		// A token anywhere but the Authorization header is not a token.
		for _, p := range []string{ownPath + "?access_token=" + valid, ownPath + "?_format=json&access_token=" + valid} {
			r := attackDo(e, "GET", p, "", nil)
			wantStatus(t, r, http.StatusUnauthorized)
			wantChallenge(t, r, false)
		}
		r := attackDo(e, "POST", "/Goal", "access_token="+valid, nil, "Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, r, http.StatusUnauthorized)
		wantChallenge(t, r, false)
		r = attackDo(e, "GET", ownPath, "", nil, "Cookie", "access_token="+valid)
		wantStatus(t, r, http.StatusUnauthorized)

		// A refused token changes nothing: the same attacks as writes.
		for _, tt := range tests[:8] {
			for _, w := range []struct{ method, path, body string }{
				{"PUT", ownPath, attackGoal(own, "p1", "overwritten")},
				{"DELETE", ownPath, ""},
				{"POST", "/Goal", attackGoal("", "p1", "planted")},
			} {
				r := attackDo(e, w.method, w.path, w.body, tt.authz)
				wantStatus(t, r, http.StatusUnauthorized)
				if !otherScheme(tt.authz) {
					wantChallenge(t, r, tt.presented)
				}
			}
		}
		unchanged(t)
	})

	t.Run("403", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			client                   *env
			diag                     string // in the diagnostics
		}{
			{"openid only", "GET", ownPath, "", e.as("openid", boardA), "system/Goal.r"},
			{"no scope at all", "GET", ownPath, "", e.as("", boardA), "system/Goal.r"},
			{"deployment scopes only", "GET", ownPath, "", e.as(api.DefaultAdminScope+" "+api.DefaultNationalScope, boardA), "system/Goal.r"},
			{"scope with a query restriction", "GET", ownPath, "", e.as("system/Goal.rs?subject=Patient/p1", boardA), "system/Goal.r"},
			{"malformed scope", "GET", ownPath, "", e.as("system/Goal.sr system/Goal system/goal.read", boardA), "system/Goal.r"},
			{"scope for another type", "GET", ownPath, "", e.as("system/Patient.read", boardA), "system/Goal.r"},
			{"scope for another type, vread", "GET", ownPath + "/_history/1", "", e.as("system/Patient.read", boardA), "system/Goal.r"},
			{"scope for another type, history", "GET", ownPath + "/_history", "", e.as("system/Patient.read", boardA), "system/Goal.r"},
			{"scope for another type, search", "GET", "/Goal", "", e.as("system/Patient.read", boardA), "system/Goal.s"},
			{"read scope creates", "POST", "/Goal", attackGoal("", "p1", "planted"), e.as("system/Goal.read", boardA), "system/Goal.c"},
			{"read scope updates", "PUT", ownPath, attackGoal(own, "p1", "overwritten"), e.as("system/Goal.read", boardA), "system/Goal.u"},
			{"read scope updates as create", "PUT", "/Goal/" + absent, attackGoal(absent, "p1", "planted"), e.as("system/Goal.read", boardA), "system/Goal.u"},
			{"read scope deletes", "DELETE", ownPath, "", e.as("system/Goal.read", boardA), "system/Goal.d"},
			{"v2 rs creates", "POST", "/Goal", attackGoal("", "p1", "planted"), e.as("system/Goal.rs", boardA), "system/Goal.c"},
			{"v2 rs updates", "PUT", ownPath, attackGoal(own, "p1", "overwritten"), e.as("system/Goal.rs", boardA), "system/Goal.u"},
			{"v2 rs deletes", "DELETE", ownPath, "", e.as("system/Goal.rs", boardA), "system/Goal.d"},
			{"v2 c reads", "GET", ownPath, "", e.as("system/Goal.c", boardA), "system/Goal.r"},
			{"v2 s reads", "GET", ownPath, "", e.as("system/Goal.s", boardA), "system/Goal.r"},
			{"write scope reads", "GET", ownPath, "", e.as("system/Goal.write", boardA), "system/Goal.r"},
			{"write scope for another type", "PUT", ownPath, attackGoal(own, "p1", "overwritten"), e.as("system/CarePlan.write", boardA), "system/Goal.u"},
			{"patient scope without patient claim", "GET", ownPath, "", e.as("patient/Goal.read", boardA), "patient claim"},
			{"patient wildcard without patient claim", "GET", "/Goal", "", e.as("patient/*.rs", boardA), "patient claim"},
			{"no board claim", "GET", ownPath, "", e.as("system/*.*", ""), "health_board"},
			{"no board claim, search", "GET", "/Goal", "", e.as("system/*.*", ""), "health_board"},
			{"no board claim, write", "POST", "/Goal", attackGoal("", "p1", "planted"), e.as("system/*.*", ""), "health_board"},
			{"no board claim, empty board", "GET", ownPath, "", e.as("system/*.*", "", "health_board", ""), "health_board"},
			{"admin scope look-alikes", "POST", "/Questionnaire", `{"resourceType":"Questionnaire","status":"draft"}`,
				e.as("system/*.* matcare:admin2 xmatcare:admin matcare:Admin system/matcare:admin", boardA), "Questionnaire"},
			{"auditor scope look-alikes", "GET", "/AuditEvent/" + auditID, "", e.as(fullScope+" matcare:audit2 matcare:auditor matcare:Audit", boardA), api.DefaultAuditorScope},
			{"no admin writes a Questionnaire", "POST", "/Questionnaire", `{"resourceType":"Questionnaire","status":"draft"}`, e.as("system/*.*", boardA), "Questionnaire"},
			{"no admin updates a Questionnaire", "PUT", qPath, `{"resourceType":"Questionnaire","id":"` + q + `","status":"retired"}`, e.as("system/*.*", boardA), "Questionnaire"},
			{"no admin deletes a Questionnaire", "DELETE", qPath, "", e.as("system/*.*", boardA), "Questionnaire"},
			{"national scope cannot write elsewhere", "PUT", ownPath, attackGoal(own, "p1", "overwritten"), e.as("system/*.* "+api.DefaultNationalScope, ""), "board"},
			{"AuditEvent without auditor scope", "GET", "/AuditEvent/" + auditID, "", e.as(fullScope+" "+api.DefaultNationalScope, boardA), api.DefaultAuditorScope},
			{"AuditEvent with resource scopes only", "GET", "/AuditEvent/" + auditID, "", e.as("system/AuditEvent.read system/*.*", boardA), api.DefaultAuditorScope},
			{"AuditEvent search without auditor scope", "GET", "/AuditEvent?date=ge2020", "", e.as(fullScope+" "+api.DefaultNationalScope, boardA), api.DefaultAuditorScope},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.client.do(tt.method, tt.path, tt.body)
				wantStatus(t, r, http.StatusForbidden)
				noVersionHeaders(t, r)
				is := issue(t, r)
				if is["code"] != "forbidden" {
					t.Errorf("issue code %v, want forbidden", is["code"])
				}
				if d, _ := is["diagnostics"].(string); !strings.Contains(d, tt.diag) {
					t.Errorf("diagnostics %q do not name %q", d, tt.diag)
				}
				// RFC 6750 3.1 allows a 403 to challenge with insufficient_scope.
				if h := r.Header.Get("WWW-Authenticate"); h != "" && !strings.HasPrefix(h, `Bearer error="insufficient_scope"`) {
					t.Errorf("403 carries WWW-Authenticate %q", h)
				}
				if strings.Contains(string(r.body), "secret plan") {
					t.Errorf("403 leaks the resource: %s", r.body)
				}
			})
		}
		unchanged(t)
	})

	t.Run("patient compartment", func(t *testing.T) {
		p1 := e.as("patient/Goal.read", boardA, "patient", "p1")
		r := p1.do("GET", ownPath, "")
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), "secret plan of p1") {
			t.Errorf("own Goal: %s", r.body)
		}
		for _, suffix := range []string{"", "/_history/1", "/_history"} {
			got := p1.do("GET", "/Goal/"+p2+suffix, "")
			abs := p1.do("GET", "/Goal/"+absent+suffix, "")
			wantStatus(t, got, http.StatusNotFound)
			sameAsAbsent(t, got, abs, p2, absent)
		}
		// Search and type history hold only p1's Goals.
		for _, path := range []string{"/Goal", "/Goal?_id=" + p2, "/Goal/_history"} {
			r := p1.do("GET", path, "")
			wantStatus(t, r, http.StatusOK)
			n := 0
			for _, ent := range bundleEntries(t, r) {
				if strings.Contains(ent, p2) || strings.Contains(ent, "Patient/p2") {
					t.Errorf("GET %s as patient p1 shows p2's Goal: %s", path, ent)
				}
				n++
			}
			if path == "/Goal" && n == 0 {
				t.Errorf("GET /Goal as patient p1 shows not even p1's Goals: %s", r.body)
			}
		}
		// A patient-confined writer cannot change or delete p2's Goal.
		pw := e.as("patient/Goal.*", boardA, "patient", "p1")
		r = pw.do("PUT", "/Goal/"+p2, attackGoal(p2, "p1", "moved to p1"))
		wantStatus(t, r, http.StatusConflict)
		noVersionHeaders(t, r)
		got := pw.do("DELETE", "/Goal/"+p2, "")
		abs := pw.do("DELETE", "/Goal/"+absent, "")
		sameAsAbsent(t, got, abs, p2, absent)
		r = pw.do("POST", "/Goal", attackGoal("", "p2", "planted for p2"))
		wantStatus(t, r, http.StatusForbidden)
		// Nor move its own Goal out of its compartment.
		r = pw.do("PUT", ownPath, attackGoal(own, "p2", "moved to p2"))
		wantStatus(t, r, http.StatusForbidden)
		noVersionHeaders(t, r)
		// Counting tells no more than reading.
		for _, q := range []string{"?_id=%s&_total=accurate", "?_id=%s&_count=0", "?_id=%s&_total=estimate"} {
			got := p1.do("GET", "/Goal"+fmt.Sprintf(q, p2), "")
			abs := p1.do("GET", "/Goal"+fmt.Sprintf(q, absent), "")
			wantStatus(t, got, http.StatusOK)
			if g, a := bundleTotal(t, got), bundleTotal(t, abs); g != a || g != "0" {
				t.Errorf("GET /Goal%s as patient p1: total %s, absent id %s, want 0", fmt.Sprintf(q, p2), g, a)
			}
		}
		unchanged(t)

		// Patient resources: a patient sees its own record only.
		pid := attackCreate(e, "/Patient", `{"resourceType":"Patient","name":[{"family":"One"}]}`)
		other := attackCreate(e, "/Patient", `{"resourceType":"Patient","name":[{"family":"Other"}]}`)
		pp := e.as("patient/Patient.read", boardA, "patient", pid)
		wantStatus(t, pp.do("GET", "/Patient/"+pid, ""), http.StatusOK)
		got = pp.do("GET", "/Patient/"+other, "")
		abs = pp.do("GET", "/Patient/"+absent, "")
		wantStatus(t, got, http.StatusNotFound)
		sameAsAbsent(t, got, abs, other, absent)

		// A Goal that was p2's and is now p1's: p1 sees the current
		// version, never the version in p2's compartment.
		mv := attackCreate(e, "/Goal", attackGoal("", "p2", "p2's old plan"))
		wantStatus(t, e.do("PUT", "/Goal/"+mv, attackGoal(mv, "p1", "p1's new plan")), http.StatusOK)
		got = p1.do("GET", "/Goal/"+mv+"/_history/1", "")
		abs = p1.do("GET", "/Goal/"+absent+"/_history/1", "")
		wantStatus(t, got, http.StatusNotFound)
		sameAsAbsent(t, got, abs, mv, absent)
		wantStatus(t, p1.do("GET", "/Goal/"+mv+"/_history/2", ""), http.StatusOK)
		for _, path := range []string{"/Goal/" + mv + "/_history", "/Goal/_history", "/_history"} {
			r := e.as("patient/*.read", boardA, "patient", "p1").do("GET", path, "")
			wantStatus(t, r, http.StatusOK)
			for _, ent := range bundleEntries(t, r) {
				if strings.Contains(ent, "p2's old plan") || strings.Contains(ent, "Patient/p2") || strings.Contains(ent, p2) {
					t.Errorf("GET %s as patient p1 shows a version in p2's compartment: %s", path, ent)
				}
			}
		}
	})

	t.Run("system history by scope", func(t *testing.T) {
		for _, tc := range []struct {
			client *env
			want   []string // the only types allowed in the entries
		}{
			{e.as("system/Goal.read", boardA), []string{"Goal"}},
			{e.as("system/Questionnaire.read system/Goal.c", boardA), []string{"Questionnaire"}},
			{e.as("system/*.read", ""), []string{"Questionnaire"}}, // no board: shared content only
			{e.as("system/*.read", boardB), []string{"Questionnaire"}},
		} {
			r := tc.client.do("GET", "/_history?_count=1000", "")
			wantStatus(t, r, http.StatusOK)
			for _, ent := range bundleEntries(t, r) {
				var m struct {
					Request struct{ URL string } `json:"request"`
				}
				if err := json.Unmarshal([]byte(ent), &m); err != nil {
					t.Fatal(err)
				}
				typ, _, _ := strings.Cut(m.Request.URL, "/")
				if !slices.Contains(tc.want, typ) {
					t.Errorf("system history for a client allowed %v shows %s", tc.want, ent)
				}
			}
		}
	})

	t.Run("cross-board", func(t *testing.T) {
		b := e.as(fullScope, boardB)
		// Reads of a live and a deleted board A Goal: exactly as absent.
		for _, id := range []string{own, gone} {
			for _, suffix := range []string{"", "/_history/1", "/_history/2", "/_history"} {
				got := b.do("GET", "/Goal/"+id+suffix, "")
				abs := b.do("GET", "/Goal/"+absent+suffix, "")
				wantStatus(t, got, http.StatusNotFound)
				sameAsAbsent(t, got, abs, id, absent)
				// HEAD too.
				got = b.do("HEAD", "/Goal/"+id+suffix, "")
				abs = b.do("HEAD", "/Goal/"+absent+suffix, "")
				if got.StatusCode != http.StatusNotFound {
					t.Errorf("HEAD /Goal/%s%s: status %d, want 404", id, suffix, got.StatusCode)
				}
				sameAsAbsent(t, got, abs, id, absent)
			}
		}
		// Conditional reads are no oracle either.
		for _, hdr := range [][]string{{"If-None-Match", `W/"1"`}, {"If-None-Match", `W/"2"`}, {"If-Modified-Since", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}} {
			for _, id := range []string{own, gone} {
				got := b.do("GET", "/Goal/"+id, "", hdr...)
				abs := b.do("GET", "/Goal/"+absent, "", hdr...)
				wantStatus(t, got, http.StatusNotFound)
				sameAsAbsent(t, got, abs, id, absent)
			}
		}
		// Nor is counting.
		for _, q := range []string{"?_id=%s&_total=accurate", "?_id=%s&_count=0", "?_id=%s&_total=estimate"} {
			for _, id := range []string{own, gone} {
				got := b.do("GET", "/Goal"+fmt.Sprintf(q, id), "")
				abs := b.do("GET", "/Goal"+fmt.Sprintf(q, absent), "")
				wantStatus(t, got, http.StatusOK)
				if g, a := bundleTotal(t, got), bundleTotal(t, abs); g != a || g != "0" {
					t.Errorf("GET /Goal%s as board B: total %s, absent id %s, want 0", fmt.Sprintf(q, id), g, a)
				}
			}
		}
		// A national reader does see it (so the 404s above are tenancy).
		wantStatus(t, e.as(fullScope+" "+api.DefaultNationalScope, boardB).do("GET", ownPath, ""), http.StatusOK)

		// Search and history of board B hold nothing of board A.
		for _, path := range []string{"/Goal", "/Goal?_id=" + own, "/Goal/_history", "/_history"} {
			r := b.do("GET", path, "")
			wantStatus(t, r, http.StatusOK)
			for _, ent := range bundleEntries(t, r) {
				for _, leak := range []string{own, gone, p2, "secret plan", "deleted plan", boardA} {
					if strings.Contains(ent, leak) {
						t.Errorf("GET %s as board B shows board A's data (%s): %s", path, leak, ent)
					}
				}
			}
		}

		// Update-as-create on board A's ids: 409, the same for a live and
		// a deleted resource, revealing nothing of either.
		var conflicts []response
		for _, id := range []string{own, gone} {
			for _, im := range []string{"", `W/"1"`, `W/"2"`} {
				r := b.do("PUT", "/Goal/"+id, attackGoal(id, "p1", "board B's plan"), "If-Match", im)
				wantStatus(t, r, http.StatusConflict)
				noVersionHeaders(t, r)
				body := string(r.body)
				for _, leak := range []string{"secret plan", "deleted plan", boardA, "versionId", "lastUpdated", "Patient/p1", `"1"`, `"2"`} {
					if strings.Contains(body, leak) {
						t.Errorf("PUT /Goal/%s (If-Match %q) as board B: 409 reveals %q: %s", id, im, leak, body)
					}
				}
				conflicts = append(conflicts, r)
			}
		}
		for i := 1; i < len(conflicts); i++ {
			g := strings.ReplaceAll(string(conflicts[i].body), gone, own)
			if g != string(conflicts[0].body) {
				t.Errorf("409 bodies differ with the state of the hidden resource:\n%s\n%s", conflicts[0].body, conflicts[i].body)
			}
		}

		// Reading nationally is no licence to write elsewhere.
		nb := e.as(fullScope+" "+api.DefaultNationalScope, boardB)
		r := nb.do("PUT", ownPath, attackGoal(own, "p1", "national overwrite"))
		wantStatus(t, r, http.StatusConflict)
		noVersionHeaders(t, r)
		got := nb.do("DELETE", ownPath, "")
		abs := nb.do("DELETE", "/Goal/"+absent, "")
		sameAsAbsent(t, got, abs, own, absent)

		// Delete: exactly what deleting an absent id answers.
		for _, id := range []string{own, gone} {
			for _, hdr := range [][]string{nil, {"If-Match", `W/"1"`}, {"If-Match", `W/"2"`}, {"Prefer", "return=minimal"}} {
				got := b.do("DELETE", "/Goal/"+id, "", hdr...)
				abs := b.do("DELETE", "/Goal/"+absent, "", hdr...)
				if got.StatusCode >= 500 {
					t.Fatalf("DELETE: %d %s", got.StatusCode, got.body)
				}
				sameAsAbsent(t, got, abs, id, absent)
			}
		}
		// The absent id stayed absent through all that.
		wantStatus(t, e.do("GET", "/Goal/"+absent, ""), http.StatusNotFound)
		wantStatus(t, b.do("GET", "/Goal/"+absent, ""), http.StatusNotFound)
		unchanged(t)
	})

	t.Run("AuditEvent", func(t *testing.T) {
		id := auditID
		if id == "" {
			t.Fatal("no AuditEvent recorded")
		}
		before := auditor.do("GET", "/AuditEvent/"+id, "")
		wantStatus(t, before, http.StatusOK)
		auditorB := e.as(fullScope+" "+api.DefaultAuditorScope, boardB)
		got := auditorB.do("GET", "/AuditEvent/"+id, "")
		abs := auditorB.do("GET", "/AuditEvent/"+absent, "")
		wantStatus(t, got, http.StatusNotFound)
		sameAsAbsent(t, got, abs, id, absent)

		ev := strings.Replace(string(before.body), `"outcome":"0"`, `"outcome":"8"`, 1)
		for _, c := range []*env{e, auditor} {
			for _, w := range []struct{ method, path, body string }{
				{"POST", "/AuditEvent", ev},
				{"PUT", "/AuditEvent/" + id, ev},
				{"PUT", "/AuditEvent/" + absent, strings.ReplaceAll(ev, id, absent)},
				{"DELETE", "/AuditEvent/" + id, ""},
			} {
				r := c.do(w.method, w.path, w.body)
				wantStatus(t, r, http.StatusMethodNotAllowed)
			}
		}
		// AuditEvent has no history: whatever these answer, it is a refusal.
		for _, c := range []*env{e, auditor} {
			for _, p := range []string{"/AuditEvent/" + id + "/_history", "/AuditEvent/" + id + "/_history/1", "/AuditEvent/_history"} {
				r := c.do("GET", p, "")
				if r.StatusCode < 400 || r.StatusCode >= 500 {
					t.Errorf("GET %s: status %d, want a 4xx refusal; body %s", p, r.StatusCode, r.body)
					continue
				}
				wantStatus(t, r, r.StatusCode)
			}
		}
		after := auditor.do("GET", "/AuditEvent/"+id, "")
		wantStatus(t, after, http.StatusOK)
		if string(after.body) != string(before.body) {
			t.Errorf("AuditEvent changed:\n%s\n%s", before.body, after.body)
		}
		wantStatus(t, auditor.do("GET", "/AuditEvent/"+absent, ""), http.StatusNotFound)
	})

	t.Run("open routes", func(t *testing.T) {
		root := strings.TrimSuffix(a.base, "/fhir")
		for _, p := range []string{a.base + "/metadata", a.base + "/.well-known/smart-configuration", root + "/healthz", root + "/readyz"} {
			for _, m := range []string{"GET", "HEAD"} {
				r := attackDo(e, m, p, "", nil)
				if r.StatusCode != http.StatusOK {
					t.Errorf("%s %s without a token: %d %s", m, p, r.StatusCode, r.body)
				}
			}
		}
	})

	t.Run("FHIR routes need a token", func(t *testing.T) {
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/_history", ""},
			{"GET", "/Goal", ""},
			{"POST", "/Goal", attackGoal("", "p1", "x")},
			{"GET", "/Goal/_history", ""},
			{"GET", ownPath, ""},
			{"PUT", ownPath, attackGoal(own, "p1", "x")},
			{"DELETE", ownPath, ""},
			{"GET", ownPath + "/_history", ""},
			{"GET", ownPath + "/_history/1", ""},
			{"GET", "/AuditEvent/" + auditID, ""},
			{"POST", "/AuditEvent", "{}"},
			{"GET", "/Encounter/1", ""},
			{"GET", "/Goal/a_b", ""},
		} {
			for _, m := range []string{rq.method, "HEAD"} {
				if m == "HEAD" && rq.method != "GET" {
					continue
				}
				r := attackDo(e, m, rq.path, rq.body, nil)
				if r.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s without a token: %d %s", m, rq.path, r.StatusCode, r.body)
					continue
				}
				wantChallenge(t, r, false)
			}
		}
		unchanged(t)
	})
}
