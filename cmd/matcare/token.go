package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const tokenUsage = `usage: matcare token --scope SCOPES [--board BOARD] [--patient ID] [--client NAME] [--ttl DURATION]

Development only: prints a bearer token signed (ES256) with the development
key under $MATCARE_DATA_DIR/keys, which a development server trusts. It reads
the same environment as the server (MATCARE_DATA_DIR, MATCARE_BASE_URL,
MATCARE_JWT_ISSUERS, MATCARE_JWT_AUDIENCE, MATCARE_BOARD_CLAIM) and starts no
storage. Refused with MATCARE_ENV=production and when keys are configured.

  curl -H "Authorization: Bearer $(matcare token --scope 'system/*.*' --board S08000031)" \
    http://localhost:8080/fhir/Goal

Flags:
`

// tokenMain is the token subcommand: it writes the token and a newline to
// stdout and nothing else, and returns the exit status (2 for usage
// errors, 1 for configuration errors).
func tokenMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matcare token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, tokenUsage)
		fs.PrintDefaults()
	}
	scope := fs.String("scope", "", "space-separated scopes granted, e.g. 'system/*.*' or 'system/Goal.rs matcare:admin' (required)")
	board := fs.String("board", "", "health board code put in the board claim, e.g. S08000031 (omitted if empty)")
	patient := fs.String("patient", "", "patient id put in the patient claim (omitted if empty)")
	clientName := fs.String("client", "dev-client", "client name, used as sub and client_id")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package has printed the error and the usage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "matcare token: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected arguments %q", fs.Args())
	case strings.TrimSpace(*scope) == "":
		return usageErr("--scope is required")
	case strings.TrimSpace(*clientName) == "":
		return usageErr("--client must not be empty")
	case *ttl <= 0:
		return usageErr("--ttl must be positive")
	}

	tok, err := mintToken(getenv, tokenRequest{scope: *scope, board: *board, patient: *patient, client: *clientName, ttl: *ttl})
	if err != nil {
		fmt.Fprintf(stderr, "matcare token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// tokenRequest holds what the token subcommand puts in a token.
type tokenRequest struct {
	scope, board, patient, client string
	ttl                           time.Duration
}

// mintToken signs a development token for the configuration in the
// environment: iss is the first trusted issuer, aud the audience.
func mintToken(getenv func(string) string, r tokenRequest) (string, error) {
	// Refuse production before anything else, whatever else is wrong.
	if strings.TrimSpace(getenv("MATCARE_ENV")) == envProduction {
		_, err := devSigner(config{env: envProduction})
		return "", err
	}
	cfg, err := configFrom(getenv)
	if err != nil {
		return "", err
	}
	signer, err := devSigner(cfg)
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{
		"iss":       cfg.issuers[0],
		"aud":       cfg.audience,
		"sub":       r.client,
		"client_id": r.client,
		"scope":     r.scope,
	}
	if r.board != "" {
		claims[cfg.boardClaim] = r.board
	}
	if r.patient != "" {
		claims["patient"] = r.patient
	}
	return signer.Mint(claims, r.ttl)
}
