package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// conditionalQuery parses the criteria of a conditional interaction sent
// in a header (If-None-Exist): a query string, optionally written as
// "[type]?query" or "?query", as clients differ.
func conditionalQuery(typ string, values []string, header string) (url.Values, error) {
	if len(values) != 1 {
		return nil, fhir.Errorf(r4.IssueTypeInvalid, "", "send one %s header", header)
	}
	raw := strings.TrimSpace(values[0])
	if before, after, ok := strings.Cut(raw, "?"); ok {
		if before != "" && before != typ && !strings.HasSuffix(before, "/"+typ) {
			return nil, fhir.Errorf(r4.IssueTypeInvalid, "", "%s names type %q, but the request creates a %s", header, before, typ)
		}
		raw = after
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fhir.Errorf(r4.IssueTypeInvalid, "", "%s is not a valid query string: %v", header, err)
	}
	return q, nil
}

// requestCriteria are the search criteria in the URL of a conditional
// update or delete.
func requestCriteria(c echo.Context) (url.Values, error) {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, fhir.Errorf(r4.IssueTypeInvalid, "", "the query string is malformed: %v", err)
	}
	return q, nil
}

// conditionalUpdate serves PUT /fhir/{type}?criteria.
func (s *Server) conditionalUpdate(c echo.Context) error {
	typ, im, err := writeHeaders(c)
	if err != nil {
		return err
	}
	q, err := requestCriteria(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	rec, created, err := s.resources.ConditionalUpdate(c.Request().Context(), typ, body, q, im)
	if err != nil {
		return err
	}
	return s.writeUpdated(c, rec, created)
}

// conditionalDelete serves DELETE /fhir/{type}?criteria.
func (s *Server) conditionalDelete(c echo.Context) error {
	typ, err := knownType(c)
	if err != nil {
		return err
	}
	if err := negotiate(c); err != nil {
		return err
	}
	if c.Request().Header.Get("If-Match") != "" {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "If-Match does not apply to a conditional delete: the criteria select the resources")
	}
	q, err := requestCriteria(c)
	if err != nil {
		return err
	}
	recs, err := s.resources.ConditionalDelete(c.Request().Context(), typ, q, s.cfg.ConditionalDeleteMax)
	if err != nil {
		return err
	}
	var msg string
	switch len(recs) {
	case 0:
		msg = "nothing to delete: no " + typ + " matches the criteria"
	case 1:
		s.versionHeaders(c, recs[0])
		msg = "deleted " + typ + "/" + recs[0].ID
	default:
		msg = "deleted " + strconv.Itoa(len(recs)) + " " + typ + " resources"
	}
	if parsePrefer(c).Return == "minimal" {
		return c.NoContent(http.StatusNoContent)
	}
	return s.writeJSON(c, http.StatusOK, fhir.Outcome(information(msg)))
}

// conditionalPatch serves PATCH /fhir/{type}?criteria: a JSON Patch of
// the one resource the criteria match (404 for none, 412 for several).
func (s *Server) conditionalPatch(c echo.Context) error {
	typ, im, err := writeHeaders(c)
	if err != nil {
		return err
	}
	q, err := requestCriteria(c)
	if err != nil {
		return err
	}
	body, err := s.readPatch(c)
	if err != nil {
		return err
	}
	rec, err := s.resources.ConditionalPatch(c.Request().Context(), typ, q, body, im)
	if err != nil {
		return err
	}
	return s.writeResult(c, http.StatusOK, rec, "patched")
}
