package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/api/auth"
	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// auditType is the resource type of the audit trail, served read-only.
const auditType = "AuditEvent"

// auditTimeout bounds the audit write that every audited response waits
// for: as long as a resource write may take (the default write timeout),
// so that a loaded store delays answers rather than failing them.
const auditTimeout = 10 * time.Second

// keyAuditID holds the id of the request's AuditEvent, for the access log.
const keyAuditID = "matcare.auditID"

// keyErr holds the error a handler returned, for the audit record.
const keyErr = "matcare.err"

// bufferedWriter holds a response until its audit record is stored.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }
func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *bufferedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// audited runs a FHIR route's handler with its response held back, stores
// one AuditEvent describing the exchange, and only then sends the
// response. If the AuditEvent cannot be stored the client gets 503 instead:
// no access goes unaudited. Throttled requests (429) are not audited, so a
// flood cannot turn into a flood of audit writes.
func (s *Server) audited(r route, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		orig := res.Writer
		bw := &bufferedWriter{header: orig.Header().Clone()}
		res.Writer = bw
		if err := h(c); err != nil {
			c.Set(keyErr, err)
			c.Error(err)
		}
		status := bw.status
		if status == 0 {
			status = http.StatusOK
		}
		var rec service.AuditRecord
		if status != http.StatusTooManyRequests {
			rec = s.auditRecord(c, r, status) // reads the held response's headers
		}
		res.Writer = orig
		if rec.ID != "" {
			c.Set(keyAuditID, rec.ID)
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), auditTimeout)
			err := s.resources.Audit(ctx, rec)
			cancel()
			if err != nil {
				s.log.ErrorContext(ctx, "audit write failed; answering 503", "route", c.Path(), "status", status, "err", err)
				return s.auditFailed(c, orig)
			}
		}
		h := orig.Header()
		clear(h)
		for k, v := range bw.header {
			h[k] = v
		}
		orig.WriteHeader(status)
		if bw.body.Len() > 0 {
			if _, err := orig.Write(bw.body.Bytes()); err != nil {
				s.log.DebugContext(c.Request().Context(), "writing response", "route", c.Path(), "err", err)
			}
		}
		return nil
	}
}

// auditFailed answers 503 in place of a response whose audit record could
// not be stored, keeping only the headers every response carries.
func (s *Server) auditFailed(c echo.Context, w http.ResponseWriter) error {
	msg := "the audit trail cannot be written, so the response is withheld; retry later"
	if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
		msg += " (the change may have been stored: read it, or write with If-Match, before repeating it)"
	}
	out, _ := json.Marshal(fhir.Outcome(fhir.Issue{Severity: r4.IssueSeverityFatal, Code: r4.IssueTypeTransient, Diagnostics: msg}))
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Location", "Content-Length", echo.HeaderWWWAuthenticate} {
		h.Del(k)
	}
	h.Set("Content-Type", contentType)
	h.Set("Retry-After", "1")
	c.Response().Status = http.StatusServiceUnavailable
	w.WriteHeader(http.StatusServiceUnavailable)
	_, err := w.Write(out)
	return err
}

// remoteHost is the peer's address without the port. Forwarding headers
// are not trusted: they are the client's to forge.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// AuditEvent code systems (R4).
const (
	auditTypeSystem   = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	restfulSystem     = "http://hl7.org/fhir/restful-interaction"
	sourceTypeSystem  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	entityTypeSystem  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	boardExtensionURL = "http://matcare.example/fhir/StructureDefinition/health-board"
	clientIDSystem    = "urn:matcare:unauthenticated"
)

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type auditEvent struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Meta         map[string]any `json:"meta"`
	Type         coding         `json:"type"`
	Subtype      []coding       `json:"subtype"`
	Action       string         `json:"action"`
	Recorded     string         `json:"recorded"`
	Outcome      string         `json:"outcome"`
	OutcomeDesc  string         `json:"outcomeDesc"`
	Agent        []auditAgent   `json:"agent"`
	Source       map[string]any `json:"source"`
	Entity       []auditEntity  `json:"entity,omitempty"`
}

type auditAgent struct {
	Extension []map[string]any `json:"extension,omitempty"`
	Who       map[string]any   `json:"who"`
	Requestor bool             `json:"requestor"`
	Network   map[string]any   `json:"network"`
}

type auditEntity struct {
	What   map[string]any   `json:"what,omitempty"`
	Type   coding           `json:"type"`
	Name   string           `json:"name,omitempty"`
	Detail []map[string]any `json:"detail,omitempty"`
}

// auditAction is the AuditEvent action of an interaction.
var auditAction = map[string]string{
	"create": "C", "update": "U", "delete": "D", "patch": "U", "search-type": "E", "transaction": "E", "batch": "E",
	"operation": "E",
}

// auditRecord describes the exchange on route r that ended with status:
// who (client, issuer, board, address), what (interaction, type, id,
// version, query parameter names, never values), when and the outcome.
func (s *Server) auditRecord(c echo.Context, r route, status int) service.AuditRecord {
	in := r.Interaction
	if v, ok := c.Get(keyInteraction).(string); ok {
		in = v
	}
	var ent *auditEntity
	if e, ok := auditedEntity(c, r); ok {
		ent = &e
	}
	return s.newAudit(c, in, status, ent)
}

// newAudit is the audit record of interaction in on the exchange c, with
// its outcome status and the entity it touched (nil: none).
func (s *Server) newAudit(c echo.Context, in string, status int, ent *auditEntity) service.AuditRecord {
	now := time.Now().UTC()
	rec := service.AuditRecord{ID: service.NewAuditID(), Recorded: now.Truncate(time.Millisecond)}
	p := principal(c)
	who := map[string]any{"display": "unauthenticated client"}
	var ext []map[string]any
	if p != nil {
		rec.Client, rec.Board = p.ClientID, p.Board
		who = map[string]any{"identifier": map[string]string{"system": p.Issuer, "value": p.ClientID}}
		if p.Board != "" {
			ext = []map[string]any{{"url": boardExtensionURL, "valueCoding": coding{System: fhir.BoardSystem, Code: p.Board, Display: fhir.Boards[p.Board]}}}
		}
	}
	action := auditAction[in]
	if action == "" {
		action = "R"
	}
	ev := auditEvent{
		ResourceType: auditType,
		ID:           rec.ID,
		Meta:         map[string]any{"versionId": "1", "lastUpdated": rec.Recorded.Format(fhir.InstantFormat)},
		Type:         coding{System: auditTypeSystem, Code: "rest", Display: "RESTful Operation"},
		Subtype:      []coding{{System: restfulSystem, Code: in}},
		Action:       action,
		Recorded:     rec.Recorded.Format(fhir.InstantFormat),
		Outcome:      auditOutcome(status),
		OutcomeDesc:  s.outcomeDesc(c, status),
		Agent: []auditAgent{{
			Extension: ext, Who: who, Requestor: true,
			Network: map[string]any{"address": remoteHost(c.Request()), "type": "2"},
		}},
		Source: map[string]any{
			"site":     s.cfg.BaseURL,
			"observer": map[string]string{"display": "matcare " + s.cfg.Version},
			"type":     []coding{{System: sourceTypeSystem, Code: "4", Display: "Application Server"}},
		},
	}
	if rec.Board != "" {
		ev.Meta["security"] = []coding{{System: fhir.BoardSystem, Code: rec.Board, Display: fhir.Boards[rec.Board]}}
	}
	if ent != nil {
		ev.Entity = []auditEntity{*ent}
	}
	rec.Body, _ = json.Marshal(ev) // plain strings and maps always marshal
	return rec
}

// auditedEntity is the entity an exchange touched: the resource (with its
// version when the response named one) or the type, with the request's
// query parameter names and request id.
func auditedEntity(c echo.Context, r route) (auditEntity, bool) {
	typ := r.Type
	if typ == "" {
		typ = c.Param("type")
	}
	ent := auditEntity{Type: coding{System: entityTypeSystem, Code: "2", Display: "System Object"}}
	if !fhir.ValidID(typ) {
		typ = ""
	}
	id := c.Param("id")
	if id == "" && typ != "" {
		// A create or conditional write names its resource in Location.
		if _, rest, ok := strings.Cut(c.Response().Header().Get("Location"), "/"+typ+"/"); ok {
			if rid, _, _ := strings.Cut(rest, "/"); fhir.ValidID(rid) {
				id = rid
			}
		}
	}
	switch {
	case typ != "" && id != "" && fhir.ValidID(id):
		ref := typ + "/" + id
		if v, ok := parseETag(c.Response().Header().Get("ETag")); ok {
			ref += "/_history/" + strconv.Itoa(v)
		} else if v, err := strconv.Atoi(c.Param("vid")); err == nil && v > 0 {
			ref += "/_history/" + strconv.Itoa(v)
		}
		ent.What = map[string]any{"reference": ref}
	case typ != "" && id == "":
		ent.Name = typ
	}
	if names := queryNames(c); len(names) > 0 {
		ent.Detail = append(ent.Detail, map[string]any{"type": "query-parameter-names", "valueString": strings.Join(names, ",")})
	}
	if rid := c.Response().Header().Get(echo.HeaderXRequestID); rid != "" {
		ent.Detail = append(ent.Detail, map[string]any{"type": "request-id", "valueString": rid})
	}
	return ent, ent.What != nil || ent.Name != "" || len(ent.Detail) > 0
}

// queryNames returns the request's query parameter names, sorted, never
// their values (which can identify a person). A name that is not a plain
// parameter name is recorded as "?".
func queryNames(c echo.Context) []string {
	var names []string
	for k := range c.QueryParams() {
		if !plainName(k) {
			k = "?"
		}
		names = append(names, k)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > 32 {
		names = append(names[:32], "…")
	}
	return names
}

func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("_-.:", b) >= 0) {
			return false
		}
	}
	return true
}

// auditOutcome is the AuditEvent outcome code for an HTTP status.
func auditOutcome(status int) string {
	switch {
	case status < 400:
		return "0" // success
	case status < 500:
		return "4" // minor failure: the request was refused
	}
	return "8" // serious failure
}

// outcomeDesc is a short description of the outcome: the status and, for
// refusals, why. It never holds request content.
func (s *Server) outcomeDesc(c echo.Context, status int) string {
	desc := strconv.Itoa(status) + " " + http.StatusText(status)
	err, _ := c.Get(keyErr).(error)
	var te *auth.TokenError
	var fe *fhir.Error
	switch {
	case err == nil:
	case errors.As(err, &te):
		desc += ": " + te.Error()
	case status == http.StatusForbidden && errors.As(err, &fe) && len(fe.Issues) > 0:
		desc += ": " + fe.Issues[0].Diagnostics
	case errors.Is(err, service.ErrForbidden):
		desc += ": " + err.Error()
	}
	return desc
}

// readAudit serves GET /fhir/AuditEvent/:id to auditors.
func (s *Server) readAudit(c echo.Context) error {
	if err := negotiate(c); err != nil {
		return err
	}
	if strings.Contains(c.Param("id"), "/") { // Echo's last parameter takes the rest of the path
		return echo.ErrNotFound
	}
	rec, err := s.resources.ReadAudit(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(1))
	c.Response().Header().Set("Last-Modified", rec.Recorded.Format(http.TimeFormat))
	return s.writeJSON(c, http.StatusOK, rec.Body)
}
