// Package api serves the FHIR R4 RESTful API over HTTP with Echo: routes,
// headers, content negotiation, Bundles and paging links, the
// CapabilityStatement, and the one mapping from errors to
// OperationOutcome responses. FHIR semantics live in package service.
package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

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
}

// Server is matcare's HTTP handler.
type Server struct {
	echo      *echo.Echo
	log       *slog.Logger
	resources *service.Resources
	cfg       Config
	started   time.Time
}

// route is one served route. The table drives registration, the
// CapabilityStatement's interactions and the openapi.yaml check.
type route struct {
	Method, Path string
	// Interaction is the R4 interaction code ("" for non-FHIR routes).
	Interaction string
	// Level is "instance", "type" or "system" for FHIR interactions.
	Level   string
	handler func(*Server, echo.Context) error
}

// routes lists every route matcare serves. It is a function because the
// handlers refer back to it (the CapabilityStatement is built from it).
func routes() []route {
	return []route{
		{http.MethodGet, "/healthz", "", "", (*Server).healthz},
		{http.MethodGet, "/readyz", "", "", (*Server).readyz},
		{http.MethodGet, "/fhir/metadata", "capabilities", "system", (*Server).metadata},
		{http.MethodGet, "/fhir/_history", "history-system", "system", (*Server).historySystem},
		{http.MethodGet, "/fhir/:type", "search-type", "type", (*Server).search},
		{http.MethodPost, "/fhir/:type", "create", "type", (*Server).create},
		{http.MethodGet, "/fhir/:type/_history", "history-type", "type", (*Server).historyType},
		{http.MethodGet, "/fhir/:type/:id", "read", "instance", (*Server).read},
		{http.MethodPut, "/fhir/:type/:id", "update", "instance", (*Server).update},
		{http.MethodDelete, "/fhir/:type/:id", "delete", "instance", (*Server).delete},
		{http.MethodGet, "/fhir/:type/:id/_history", "history-instance", "instance", (*Server).historyInstance},
		{http.MethodGet, "/fhir/:type/:id/_history/:vid", "vread", "instance", (*Server).vread},
	}
}

// New returns the HTTP handler serving resources.
func New(log *slog.Logger, resources *service.Resources, cfg Config) *Server {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{echo: echo.New(), log: log, resources: resources, cfg: cfg, started: time.Now().UTC()}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.accessLog, securityHeaders)
	for _, r := range routes() {
		h := r.handler
		e.Add(r.Method, r.Path, func(c echo.Context) error { return h(s, c) })
	}
	// HEAD on GET routes (R4 http.html allows it; clients probe with it).
	for _, r := range routes() {
		if r.Method == http.MethodGet {
			h := r.handler
			e.Add(http.MethodHead, r.Path, func(c echo.Context) error { return h(s, c) })
		}
	}
	return s
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
		s.log.Log(c.Request().Context(), level, "request",
			"method", c.Request().Method, "route", c.Path(), "status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "request_id", reqID)
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
// not be cached by intermediaries or sniffed into another type.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
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
