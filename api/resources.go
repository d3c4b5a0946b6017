package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// knownType answers 404 for a type matcare does not serve, before the
// body is read.
func knownType(c echo.Context) (string, error) {
	typ := c.Param("type")
	if _, ok := fhir.Types[typ]; !ok {
		return "", errUnknownType(typ)
	}
	return typ, nil
}

// errUnknownType is the 404 for a type matcare does not serve.
func errUnknownType(typ string) error {
	return fhir.Errorf(r4.IssueTypeNotSupported, "", "resource type %q is not supported", typ).WithStatus(http.StatusNotFound)
}

// typedBody checks what a request carrying a resource of the URL's type
// needs (a served type, an acceptable response format) and reads its body.
func (s *Server) typedBody(c echo.Context) (typ string, body []byte, err error) {
	if typ, err = knownType(c); err != nil {
		return "", nil, err
	}
	if err := negotiate(c); err != nil {
		return "", nil, err
	}
	body, err = s.readBody(c)
	return typ, body, err
}

func (s *Server) create(c echo.Context) error {
	typ, body, err := s.typedBody(c)
	if err != nil {
		return err
	}
	if h := c.Request().Header.Values("If-None-Exist"); len(h) > 0 {
		q, err := conditionalQuery(typ, h, "If-None-Exist")
		if err != nil {
			return err
		}
		rec, created, err := s.resources.ConditionalCreate(c.Request().Context(), typ, body, q)
		if err != nil {
			return err
		}
		if !created {
			return s.writeResult(c, http.StatusOK, rec, "found existing")
		}
		return s.writeResult(c, http.StatusCreated, rec, "created")
	}
	rec, err := s.resources.Create(c.Request().Context(), typ, body)
	if err != nil {
		return err
	}
	return s.writeResult(c, http.StatusCreated, rec, "created")
}

func (s *Server) update(c echo.Context) error {
	typ, im, err := writeHeaders(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	rec, created, err := s.resources.Update(c.Request().Context(), typ, c.Param("id"), body, im)
	if err != nil {
		return err
	}
	return s.writeUpdated(c, rec, created)
}

// patch applies a JSON Patch (RFC 6902) to the current version and
// answers like an update of an existing resource.
func (s *Server) patch(c echo.Context) error {
	typ, im, err := writeHeaders(c)
	if err != nil {
		return err
	}
	body, err := s.readPatch(c)
	if err != nil {
		return err
	}
	rec, err := s.resources.Patch(c.Request().Context(), typ, c.Param("id"), body, im)
	if err != nil {
		return err
	}
	return s.writeResult(c, http.StatusOK, rec, "patched")
}

func (s *Server) delete(c echo.Context) error {
	typ, im, err := writeHeaders(c)
	if err != nil {
		return err
	}
	rec, done, err := s.resources.Delete(c.Request().Context(), typ, c.Param("id"), im)
	if err != nil {
		return err
	}
	msg := "deleted " + typ + "/" + c.Param("id")
	if done {
		s.versionHeaders(c, rec)
	} else {
		msg = "nothing to delete: " + typ + "/" + c.Param("id") + " does not exist or is already deleted"
	}
	if parsePrefer(c).Return == "minimal" {
		return c.NoContent(http.StatusNoContent)
	}
	return s.writeJSON(c, http.StatusOK, fhir.Outcome(information(msg)))
}

func (s *Server) read(c echo.Context) error {
	typ, err := knownType(c)
	if err != nil {
		return err
	}
	if err := negotiate(c); err != nil {
		return err
	}
	rec, err := s.resources.Read(c.Request().Context(), typ, c.Param("id"))
	if err != nil {
		if rec.Deleted {
			s.versionHeaders(c, rec)
		}
		return err
	}
	s.versionHeaders(c, rec)
	if notModified(c, rec.Version, rec.LastUpdated) {
		return c.NoContent(http.StatusNotModified)
	}
	return s.writeJSON(c, http.StatusOK, rec.Body)
}

func (s *Server) vread(c echo.Context) error {
	typ, err := knownType(c)
	if err != nil {
		return err
	}
	if err := negotiate(c); err != nil {
		return err
	}
	if strings.Contains(c.Param("vid"), "/") { // Echo's last parameter takes the rest of the path
		return echo.ErrNotFound
	}
	v, err := strconv.Atoi(c.Param("vid"))
	if err != nil || v < 1 {
		return fhir.Errorf(r4.IssueTypeValue, "", "%q is not a version id", c.Param("vid"))
	}
	rec, err := s.resources.VRead(c.Request().Context(), typ, c.Param("id"), v)
	if err != nil {
		if rec.Deleted {
			s.versionHeaders(c, rec)
		}
		return err
	}
	s.versionHeaders(c, rec)
	if notModified(c, rec.Version, rec.LastUpdated) {
		return c.NoContent(http.StatusNotModified)
	}
	return s.writeJSON(c, http.StatusOK, rec.Body)
}

// writeHeaders checks what every update-like request (update, patch and
// their conditional forms) needs before its body is read: a served type,
// an acceptable response format and a well-formed If-Match.
func writeHeaders(c echo.Context) (typ string, im *int, err error) {
	if typ, err = knownType(c); err != nil {
		return "", nil, err
	}
	if err := negotiate(c); err != nil {
		return "", nil, err
	}
	im, err = ifMatch(c)
	return typ, im, err
}

// writeUpdated answers an update: 201 if it created the resource.
func (s *Server) writeUpdated(c echo.Context, rec service.Record, created bool) error {
	if created {
		return s.writeResult(c, http.StatusCreated, rec, "created")
	}
	return s.writeResult(c, http.StatusOK, rec, "updated")
}

// versionHeaders sets ETag and Last-Modified for rec.
func (s *Server) versionHeaders(c echo.Context, rec service.Record) {
	h := c.Response().Header()
	h.Set("ETag", etag(rec.Version))
	h.Set("Last-Modified", rec.LastUpdated.UTC().Format(http.TimeFormat))
}

// location is the versioned URL of rec.
func (s *Server) location(rec service.Record) string {
	return s.cfg.BaseURL + "/" + rec.Type + "/" + rec.ID + "/_history/" + strconv.Itoa(rec.Version)
}

// writeResult answers a create or update as the Prefer header asks.
func (s *Server) writeResult(c echo.Context, status int, rec service.Record, verb string) error {
	s.versionHeaders(c, rec)
	c.Response().Header().Set("Location", s.location(rec))
	switch parsePrefer(c).Return {
	case "minimal":
		return c.NoContent(status)
	case "OperationOutcome":
		// What the content checks found (warnings, information), then
		// what was done.
		issues := append(slices.Clip(rec.Issues), information(verb+" "+rec.Type+"/"+rec.ID+" version "+strconv.Itoa(rec.Version)))
		return s.writeJSON(c, status, fhir.Outcome(issues...))
	}
	return s.writeJSON(c, status, rec.Body)
}

func information(msg string) fhir.Issue {
	return fhir.Issue{Severity: r4.IssueSeverityInformation, Code: r4.IssueTypeInformational, Diagnostics: msg}
}
