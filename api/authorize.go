package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// Verifier verifies a bearer token; *auth.Verifier is one.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*auth.Principal, error)
}

// Default deployment scopes (Config.AdminScope and the others).
const (
	DefaultAdminScope    = "matcare:admin"
	DefaultNationalScope = "matcare:national"
	DefaultAuditorScope  = "matcare:audit"
)

// Echo context keys.
const (
	keyPrincipal = "matcare.principal"
	keyTokenErr  = "matcare.tokenError"
)

// errForbidden is a 403 with a message naming what was missing.
func errForbidden(format string, args ...any) error {
	return fhir.Errorf(r4.IssueTypeForbidden, "", format, args...).WithStatus(http.StatusForbidden)
}

// unauthorized is a 401 carrying the RFC 6750 challenge.
type unauthorized struct{ err *auth.TokenError }

func (u unauthorized) Error() string { return u.err.Error() }
func (u unauthorized) Unwrap() error { return u.err }

// authenticate verifies the bearer token and keeps its principal in the
// Echo context; a missing or bad token fails with 401.
func (s *Server) authenticate(c echo.Context) (*auth.Principal, error) {
	h := c.Request().Header.Values(echo.HeaderAuthorization)
	raw := ""
	switch {
	case len(h) > 1:
		return nil, s.tokenFailure(c, &auth.TokenError{Reason: auth.ReasonMalformed})
	case len(h) == 1:
		scheme, tok, ok := strings.Cut(h[0], " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, s.tokenFailure(c, &auth.TokenError{Reason: auth.ReasonMalformed})
		}
		raw = strings.TrimSpace(tok)
	}
	p, err := s.cfg.Verifier.Verify(c.Request().Context(), raw)
	if err != nil {
		var te *auth.TokenError
		if !errors.As(err, &te) {
			te = &auth.TokenError{Reason: auth.ReasonMalformed}
		}
		return nil, s.tokenFailure(c, te)
	}
	if p.Board != "" && !fhir.ValidBoard(p.Board) {
		return nil, s.tokenFailure(c, &auth.TokenError{Reason: auth.ReasonClaims})
	}
	c.Set(keyPrincipal, p)
	return p, nil
}

func (s *Server) tokenFailure(c echo.Context, te *auth.TokenError) error {
	c.Set(keyTokenErr, te)
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, te.WWWAuthenticate())
	return unauthorized{te}
}

func principal(c echo.Context) *auth.Principal {
	p, _ := c.Get(keyPrincipal).(*auth.Principal)
	return p
}

// interactionScope maps a route's interaction code to the SMART interaction
// whose scope it needs.
var interactionScope = map[string]auth.Interaction{
	"read":               auth.Read,
	"vread":              auth.VRead,
	"history-instance":   auth.HistoryInstance,
	"history-type":       auth.HistoryType,
	"history-system":     auth.HistoryType,
	"search-type":        auth.Search,
	"search-system":      auth.Search,
	"search-compartment": auth.Search,
	"create":             auth.Create,
	"update":             auth.Update,
	"patch":              auth.Patch, // needs the update permission (auth.Interaction.Permission)
	"delete":             auth.Delete,
}

// decide turns the principal and the route into the request's access, or
// a 403 naming the scope that was needed. System-level interactions are
// allowed on the types the scopes grant and report them.
func (s *Server) decide(p *auth.Principal, r route, typ string) (service.Access, []string, error) {
	a := service.Access{
		Client:   p.ClientID,
		Board:    p.Board,
		National: p.Has(s.cfg.NationalScope),
		Admin:    p.Has(s.cfg.AdminScope),
	}
	in, ok := interactionScope[r.Interaction]
	if !ok {
		return a, nil, errForbidden("no scope allows interaction %s", r.Interaction)
	}
	types := []string{typ}
	if r.Level == "system" {
		types = fhir.TypeNames()
	}
	var allowed []string
	confine := false
	for _, t := range types {
		ok, ctxs := p.Scopes.Allows(in, t)
		if !ok {
			continue
		}
		allowed = append(allowed, t)
		if ctxs.OnlyPatient() && !fhir.IsShared(t) {
			confine = true
		}
	}
	if len(allowed) == 0 {
		if r.Level == "system" {
			return a, nil, errForbidden("the token's scopes allow %s on no resource type; it needs, for example, %s", r.Interaction, auth.Needed(in, "*"))
		}
		return a, nil, errForbidden("the token's scopes do not allow %s on %s; it needs %s", r.Interaction, typ, auth.Needed(in, typ))
	}
	if confine {
		if p.Patient == "" {
			return a, nil, errForbidden("the token's patient/ scopes need a patient claim")
		}
		a.Patient = p.Patient
	}
	// Reading another board's data needs the national scope; a client with
	// no board and no national scope can read no clinical data at all.
	if !a.National && a.Board == "" && slices.ContainsFunc(allowed, func(t string) bool { return !fhir.IsShared(t) }) {
		if r.Level != "system" {
			return a, nil, errForbidden("the token names no health board (claim %q) and %s data belongs to one", s.cfg.BoardClaim, typ)
		}
		allowed = slices.DeleteFunc(allowed, func(t string) bool { return !fhir.IsShared(t) })
	}
	return a, allowed, nil
}

// readable are the types a search by p with access a may read besides
// the searched one (chains, _has, includes, system search): those the
// scopes allow searching, within a's confinement. A type the token allows
// only in a patient's compartment is not readable by an unconfined
// search, and no board's data is readable without a board or the
// national scope.
func (s *Server) readable(p *auth.Principal, a service.Access) []string {
	var out []string
	for _, t := range fhir.TypeNames() {
		ok, ctxs := p.Scopes.Allows(auth.Search, t)
		shared := fhir.IsShared(t)
		if !ok || (ctxs.OnlyPatient() && !shared && a.Patient == "") ||
			(!shared && !a.National && a.Board == "") {
			continue
		}
		out = append(out, t)
	}
	return out
}

// patientOnly reports whether p may search some non-shared type only in
// its patient's compartment.
func patientOnly(p *auth.Principal) bool {
	for _, t := range fhir.TypeNames() {
		if ok, ctxs := p.Scopes.Allows(auth.Search, t); ok && ctxs.OnlyPatient() && !fhir.IsShared(t) {
			return true
		}
	}
	return false
}

// guard authenticates, rate-limits and authorises a FHIR route, then runs
// its handler with the request's access in the context.
func (s *Server) guard(r route, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.authenticate(c)
		if err != nil {
			if lerr := s.limit(c, "ip:"+remoteHost(c.Request())); lerr != nil {
				return lerr
			}
			return err
		}
		if err := s.limit(c, "client:"+p.Issuer+"|"+p.ClientID); err != nil {
			return err
		}
		var a service.Access
		switch {
		case r.PerEntry:
			// Each entry is authorised as the route it stands for.
			a = service.Access{Client: p.ClientID, Board: p.Board, National: p.Has(s.cfg.NationalScope), Admin: p.Has(s.cfg.AdminScope)}
		case r.Type == auditType:
			if !p.Has(s.cfg.AuditorScope) {
				return errForbidden("reading AuditEvents needs the auditor scope %q", s.cfg.AuditorScope)
			}
			a = service.Access{Client: p.ClientID, Board: p.Board, National: p.Has(s.cfg.NationalScope), Auditor: true}
		case r.Operation == "validate":
			// $validate runs the checks a write would, reading what the
			// write would (the patient's other plans, say): it needs the
			// scope of that write.
			typ := c.Param("type")
			if _, ok := fhir.Types[typ]; !ok {
				return errUnknownType(typ)
			}
			as := route{Interaction: "create", Level: "type"}
			if r.Level == "instance" {
				as.Interaction = "update"
			}
			if a, _, err = s.decide(p, as, typ); err != nil {
				return err
			}
		case r.Interaction == "operation":
			if a, err = s.operationAccess(p, r); err != nil {
				return err
			}
		case c.Param("type") == auditType:
			return fhir.Errorf(r4.IssueTypeNotSupported, "", "AuditEvent is written by the server only and read by id").
				WithStatus(http.StatusMethodNotAllowed)
		default:
			typ := c.Param("type")
			if r.TypeParam != "" {
				typ = c.Param(r.TypeParam)
			}
			if _, ok := fhir.Types[typ]; !ok && r.Level != "system" {
				return errUnknownType(typ)
			}
			var types []string
			a, types, err = s.decide(p, r, typ)
			if err != nil {
				return err
			}
			c.Set(keyTypes, types)
			if strings.HasPrefix(r.Interaction, "search") {
				if a.Patient == "" && p.Patient != "" && fhir.IsShared(typ) && patientOnly(p) {
					// A search of shared content is not confined itself, but
					// reads the patient/ types (_has, _revinclude) only within
					// the patient's compartment, as a system search would.
					a.Patient = p.Patient
				}
				a.Readable = s.readable(p, a)
			}
		}
		req := c.Request()
		c.SetRequest(req.WithContext(service.WithAccess(req.Context(), a)))
		return h(c)
	}
}

const keyTypes = "matcare.types"

// allowedTypes are the types a system-level interaction may cover.
func allowedTypes(c echo.Context) []string {
	t, _ := c.Get(keyTypes).([]string)
	if t == nil {
		return []string{}
	}
	return t
}
