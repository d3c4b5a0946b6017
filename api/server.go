// Package api serves the FHIR R4 RESTful API over HTTP with Echo: routes,
// headers, content negotiation, Bundles and paging links, the
// CapabilityStatement, and the one mapping from errors to
// OperationOutcome responses. FHIR semantics live in package service.
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/fhir/terminology"
	"github.com/matcare/matcare/service"
)

// Config configures the HTTP layer.
type Config struct {
	// BaseURL is the public FHIR base, e.g. http://localhost:8080/fhir,
	// used in Location headers, fullUrls and links.
	BaseURL string
	// MaxBodyBytes limits request bodies (413 beyond it).
	MaxBodyBytes int64
	// Ping checks storage for /readyz.
	Ping func(context.Context) error
	// Version is the software version shown in the CapabilityStatement.
	Version string
	// CanonicalBase is the base of the canonical URLs of matcare's own
	// definitions (its search parameters, extensions and terminology),
	// as fhir/content.Load is given it; "" means
	// fhir/content.DefaultBase.
	CanonicalBase string

	// Verifier verifies bearer tokens; required. Every FHIR route but
	// /fhir/metadata and the SMART discovery document needs a token.
	Verifier Verifier
	// BoardClaim names the token claim holding the health board (for
	// messages; the Verifier reads it). Default auth.DefaultBoardClaim.
	BoardClaim string
	// AdminScope lets a client write shared content (questionnaires,
	// code systems, value sets, structure definitions);
	// NationalScope lets it read every board's data; AuditorScope lets it
	// read the audit trail. Defaults DefaultAdminScope and the others.
	AdminScope, NationalScope, AuditorScope string
	// TokenEndpoint is the identity provider's token URL, advertised in
	// the SMART discovery document and the CapabilityStatement.
	TokenEndpoint string
	// Algs are the accepted token signing algorithms, advertised.
	Algs []string
	// RateLimit is the sustained requests per second allowed per client
	// (0: DefaultRateLimit; negative: unlimited); RateBurst the burst
	// (0: DefaultRateBurst).
	RateLimit float64
	RateBurst int
	// BundleMaxBytes limits the body of a batch or transaction Bundle
	// (413 beyond it; default DefaultBundleMaxBytes); BundleMaxEntries
	// its entries (default DefaultBundleMaxEntries).
	BundleMaxBytes   int64
	BundleMaxEntries int
	// ConditionalDeleteMax is how many resources one conditional delete
	// may delete; 0 or 1: a single one (412 when the criteria match
	// more), as the CapabilityStatement's conditionalDelete says.
	ConditionalDeleteMax int
	// Terminology answers the terminology operations ($lookup,
	// $validate-code, $expand); nil: the content files under
	// content.DefaultBase.
	Terminology *terminology.Registry
}

// Server is matcare's HTTP handler.
type Server struct {
	echo      *echo.Echo
	log       *slog.Logger
	resources *service.Resources
	cfg       Config
	started   time.Time
	limiter   *limiter
	term      *terminology.Registry
}

// route is one served route. The table drives registration, the
// CapabilityStatement's interactions and the openapi.yaml check.
type route struct {
	Method, Path string
	// Type is the one resource type a route serves ("": any in :type).
	Type string
	// Open routes need no token: probes and discovery documents.
	Open bool
	// TypeParam names the path parameter holding the resource type the
	// interaction acts on ("": "type").
	TypeParam string
	// Interaction is the R4 interaction code ("" for non-FHIR routes).
	Interaction string
	// Level is "instance", "type" or "system" for FHIR interactions.
	Level string
	// PerEntry routes (batch and transaction Bundles) are authorised
	// entry by entry by their handler, each as the route it stands for.
	PerEntry bool
	// Conditional routes run an instance interaction on the resource
	// their search criteria select (R4 conditional update and delete).
	Conditional bool
	// Operation names an operation served on every type (validate); its
	// Interaction is "operation".
	Operation string
	handler   func(*Server, echo.Context) error
}

// routes lists every route matcare serves. It is a function because the
// handlers refer back to it (the CapabilityStatement is built from it).
func routes() []route {
	return append([]route{
		{Method: http.MethodGet, Path: "/healthz", Open: true, handler: (*Server).healthz},
		{Method: http.MethodGet, Path: "/readyz", Open: true, handler: (*Server).readyz},
		{Method: http.MethodGet, Path: "/fhir/metadata", Interaction: "capabilities", Level: "system", Open: true, handler: (*Server).metadata},
		{Method: http.MethodGet, Path: "/fhir/.well-known/smart-configuration", Open: true, handler: (*Server).smartConfiguration},
		{Method: http.MethodGet, Path: "/fhir", Interaction: "search-system", Level: "system", handler: (*Server).searchSystem},
		{Method: http.MethodPost, Path: "/fhir", Interaction: "transaction", Level: "system", PerEntry: true, handler: (*Server).bundle},
		{Method: http.MethodPost, Path: "/fhir/", Interaction: "transaction", Level: "system", PerEntry: true, handler: (*Server).bundle},
		{Method: http.MethodGet, Path: "/fhir/_history", Interaction: "history-system", Level: "system", handler: (*Server).historySystem},
		{Method: http.MethodGet, Path: "/fhir/:type", Interaction: "search-type", Level: "type", handler: (*Server).search},
		{Method: http.MethodPost, Path: "/fhir/:type", Interaction: "create", Level: "type", handler: (*Server).create},
		{Method: http.MethodPost, Path: "/fhir/:type/_search", Interaction: "search-type", Level: "type", handler: (*Server).searchPost},
		{Method: http.MethodPut, Path: "/fhir/:type", Interaction: "update", Level: "type", Conditional: true, handler: (*Server).conditionalUpdate},
		{Method: http.MethodDelete, Path: "/fhir/:type", Interaction: "delete", Level: "type", Conditional: true, handler: (*Server).conditionalDelete},
		{Method: http.MethodPatch, Path: "/fhir/:type", Interaction: "patch", Level: "type", Conditional: true, handler: (*Server).conditionalPatch},
		{Method: http.MethodGet, Path: "/fhir/:type/_history", Interaction: "history-type", Level: "type", handler: (*Server).historyType},
		{Method: http.MethodGet, Path: "/fhir/:type/:id", Interaction: "read", Level: "instance", handler: (*Server).read},
		{Method: http.MethodPut, Path: "/fhir/:type/:id", Interaction: "update", Level: "instance", handler: (*Server).update},
		{Method: http.MethodPatch, Path: "/fhir/:type/:id", Interaction: "patch", Level: "instance", handler: (*Server).patch},
		{Method: http.MethodDelete, Path: "/fhir/:type/:id", Interaction: "delete", Level: "instance", handler: (*Server).delete},
		{Method: http.MethodGet, Path: "/fhir/:type/:id/_history", Interaction: "history-instance", Level: "instance", handler: (*Server).historyInstance},
		{Method: http.MethodGet, Path: "/fhir/:type/:id/_history/:vid", Interaction: "vread", Level: "instance", handler: (*Server).vread},
		{Method: http.MethodGet, Path: "/fhir/:type/:id/:compartment", Interaction: "search-compartment", Level: "type", TypeParam: "compartment", handler: (*Server).searchCompartment},
		{Method: http.MethodGet, Path: "/fhir/AuditEvent", Type: auditType, Interaction: "search-type", Level: "type", handler: (*Server).searchAudit},
		{Method: http.MethodGet, Path: "/fhir/AuditEvent/:id", Type: auditType, Interaction: "read", Level: "instance", handler: (*Server).readAudit},
	}, append(validateRoutes(), terminologyRoutes()...)...)
}

// New returns the HTTP handler serving resources. It fails without a
// token verifier: no configuration serves data unauthenticated.
func New(log *slog.Logger, resources *service.Resources, cfg Config) (*Server, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("api: a token verifier is required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	for _, d := range []struct {
		dst *string
		def string
	}{
		{&cfg.AdminScope, DefaultAdminScope}, {&cfg.NationalScope, DefaultNationalScope},
		{&cfg.AuditorScope, DefaultAuditorScope}, {&cfg.BoardClaim, auth.DefaultBoardClaim},
	} {
		if *d.dst == "" {
			*d.dst = d.def
		}
	}
	if len(cfg.Algs) == 0 {
		cfg.Algs = []string{auth.AlgRS256, auth.AlgES256}
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.BundleMaxBytes <= 0 {
		cfg.BundleMaxBytes = DefaultBundleMaxBytes
	}
	if cfg.BundleMaxEntries <= 0 {
		cfg.BundleMaxEntries = DefaultBundleMaxEntries
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	term, err := registryOrDefault(cfg.Terminology)
	if err != nil {
		return nil, fmt.Errorf("api: terminology: %w", err)
	}
	cfg.CanonicalBase = strings.TrimRight(cfg.CanonicalBase, "/")
	s := &Server{echo: echo.New(), log: log, resources: resources, cfg: cfg, started: time.Now().UTC(),
		limiter: newLimiter(cfg.RateLimit, cfg.RateBurst), term: term}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.accessLog, securityHeaders(strings.HasPrefix(cfg.BaseURL, "https://")))
	for _, r := range routes() {
		h := s.handlerFor(r)
		e.Add(r.Method, r.Path, h)
		// HEAD on GET routes (R4 http.html allows it; clients probe with it).
		if r.Method == http.MethodGet {
			e.Add(http.MethodHead, r.Path, h)
		}
	}
	return s, nil
}

// handlerFor wraps a route's handler: an open route runs as it is; every
// other route is audited, authenticated, rate-limited and authorised.
func (s *Server) handlerFor(r route) echo.HandlerFunc {
	h := func(c echo.Context) error { return r.handler(s, c) }
	if r.Open {
		return h
	}
	return s.audited(r, s.guard(r, h))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// accessLog logs one line per request: the route template and status,
// never the URL (query strings and ids in paths can identify a person).
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		reqID := c.Request().Header.Get(echo.HeaderXRequestID)
		if reqID == "" || len(reqID) > 64 || !printable(reqID) {
			reqID = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, reqID)
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []any{"method", c.Request().Method, "route", c.Path(), "status", status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "request_id", reqID}
		if id, ok := c.Get(keyAuditID).(string); ok {
			attrs = append(attrs, "audit_id", id)
		}
		s.log.Log(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}

func newRequestID() string { return rand.Text() }

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// securityHeaders sets headers every response carries: health data must
// not be cached by intermediaries or sniffed into another type, and with
// an https base URL browsers must keep to https.
func securityHeaders(https bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "no-store")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			if https {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	if s.cfg.Ping != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ping(ctx); err != nil {
			s.log.WarnContext(ctx, "storage not ready", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "storage unreachable"})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
