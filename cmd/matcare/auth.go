package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/matcare/matcare/api/auth"
)

// newVerifier builds the bearer-token verifier from cfg. In development
// without configured keys it creates or reuses the development key under
// <MATCARE_DATA_DIR>/keys, trusts its JWKS and logs one warning saying so.
// In production it refuses a JWKS file holding a development key and
// refuses development-key tokens whatever a JWKS URL serves.
func newVerifier(ctx context.Context, cfg config, log *slog.Logger) (*auth.Verifier, error) {
	ac := auth.Config{
		Issuers:       cfg.issuers,
		Audience:      cfg.audience,
		Algs:          cfg.algs,
		Leeway:        cfg.leeway,
		JWKSFile:      cfg.jwksFile,
		JWKSURL:       cfg.jwksURL,
		HS256Secret:   cfg.hs256Secret,
		BoardClaim:    cfg.boardClaim,
		RejectDevKeys: cfg.env == envProduction,
	}
	if cfg.jwksFile != "" {
		dev, err := auth.IsDevKey(cfg.jwksFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("MATCARE_JWKS_FILE=%q: no such file", cfg.jwksFile)
		case err != nil:
			return nil, fmt.Errorf("MATCARE_JWKS_FILE=%q: %w", cfg.jwksFile, err)
		case dev && cfg.env == envProduction:
			return nil, fmt.Errorf("MATCARE_JWKS_FILE=%q holds a development key (key id %s…); MATCARE_ENV=production refuses it",
				cfg.jwksFile, auth.DevKIDPrefix)
		}
	}
	if cfg.devKeys {
		jwks, _, err := auth.EnsureDevKey(cfg.keysDir())
		if err != nil {
			return nil, fmt.Errorf("MATCARE_DATA_DIR: development key: %w", err)
		}
		ac.JWKSFile = jwks
		log.WarnContext(ctx, "development keys are trusted: any token minted with `matcare token` is accepted; "+
			"set MATCARE_ENV=production and MATCARE_JWKS_FILE, MATCARE_JWKS_URL or MATCARE_JWT_HS256_SECRET for real use",
			"jwks_file", jwks, "issuers", cfg.issuers)
	}
	v, err := auth.NewVerifier(ctx, ac)
	if err != nil {
		return nil, fmt.Errorf("authentication (MATCARE_JWKS_FILE, MATCARE_JWKS_URL, MATCARE_JWT_*): %w", err)
	}
	log.InfoContext(ctx, "authentication configured", "env", cfg.env, "issuers", cfg.issuers, "audience", cfg.audience,
		"algs", cfg.algs, "board_claim", cfg.boardClaim, "development_keys", cfg.devKeys)
	return v, nil
}

// devSigner returns the development key's signer for `matcare token`,
// refusing production and configurations whose server would not trust
// the development key.
func devSigner(cfg config) (*auth.DevSigner, error) {
	if cfg.env == envProduction {
		return nil, errors.New("MATCARE_ENV=production: development tokens are refused in production; get tokens from your authorisation server")
	}
	if !cfg.devKeys {
		return nil, errors.New("the server trusts only the configured keys (MATCARE_JWKS_FILE, MATCARE_JWKS_URL or MATCARE_JWT_HS256_SECRET), " +
			"not the development key; unset them to use development tokens")
	}
	_, s, err := auth.EnsureDevKey(cfg.keysDir())
	if err != nil {
		return nil, fmt.Errorf("MATCARE_DATA_DIR: development key: %w", err)
	}
	return s, nil
}
