package api

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/search"
	"github.com/matcare/matcare/service"
)

func (s *Server) search(c echo.Context) error {
	typ, err := knownType(c)
	if err != nil {
		return err
	}
	return s.searchType(c, service.SearchQuery{Type: typ}, "/"+typ)
}

// searchPost serves POST /fhir/{type}/_search: the parameters come in a
// form-encoded body (kept out of URLs and logs on the way in) as well as
// the URL, and the search runs exactly as GET would with all of them.
// Paging links are GET URLs, as on a GET search.
func (s *Server) searchPost(c echo.Context) error {
	if _, err := knownType(c); err != nil {
		return err
	}
	ct := c.Request().Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "POST _search takes application/x-www-form-urlencoded parameters, not %q", ct).
			WithStatus(http.StatusUnsupportedMediaType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fhir.Errorf(r4.IssueTypeValue, "", "the form body is not valid application/x-www-form-urlencoded")
	}
	// Echo reads query parameters from the URL once, on first use; nothing
	// has used them yet on this request.
	merged := c.Request().URL.Query()
	for k, v := range form {
		merged[k] = append(merged[k], v...)
	}
	c.Request().URL.RawQuery = merged.Encode()
	return s.search(c)
}

// searchCompartment serves GET /fhir/Patient/{id}/{type}: the search on
// type restricted to the patient's compartment (R4 CompartmentDefinition
// patient). Tenancy applies as to any search: another board's patient's
// compartment holds nothing this client can see.
func (s *Server) searchCompartment(c echo.Context) error {
	owner, id, typ := c.Param("type"), c.Param("id"), c.Param("compartment")
	if strings.Contains(typ, "/") {
		return echo.ErrNotFound
	}
	if owner != "Patient" {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "compartment search is served for the Patient compartment only, not %s", owner).
			WithStatus(http.StatusNotFound)
	}
	if !fhir.ValidID(id) {
		return fhir.Errorf(r4.IssueTypeValue, "", "%q is not a valid resource id", id)
	}
	t, ok := fhir.Types[typ]
	if !ok {
		return errUnknownType(typ)
	}
	if len(t.Compartment) == 0 && typ != "Patient" {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "%s is not in the Patient compartment", typ).WithStatus(http.StatusNotFound)
	}
	return s.searchType(c, service.SearchQuery{Type: typ, Compartment: id}, "/Patient/"+id+"/"+typ)
}

// searchSystem serves GET /fhir?…: a search of every type the token may
// search, or of those named by _type.
func (s *Server) searchSystem(c echo.Context) error {
	return s.searchType(c, service.SearchQuery{}, "")
}

// searchAudit serves GET /fhir/AuditEvent?… to auditors.
func (s *Server) searchAudit(c echo.Context) error {
	return s.searchType(c, service.SearchQuery{Type: auditType}, "/"+auditType)
}

// searchType parses the request's parameters into q, runs the search and
// answers a searchset Bundle whose links use path. Unknown or unsupported
// parameters are reported in an OperationOutcome entry, or refused under
// Prefer: handling=strict.
func (s *Server) searchType(c echo.Context, q service.SearchQuery, path string) error {
	if err := negotiate(c); err != nil {
		return err
	}
	if _, err := url.ParseQuery(c.Request().URL.RawQuery); err != nil {
		return fhir.Errorf(r4.IssueTypeInvalid, "", "the query string is malformed: %v", err)
	}
	query, warns, err := search.ParseQuery(q.Type, c.QueryParams(), search.Lookup)
	if err != nil {
		return err
	}
	if len(warns) > 0 && parsePrefer(c).Strict {
		return search.IssuesError(warns)
	}
	if query.Cursor != "" {
		var cur service.Cursor
		if err := decodeCursor(query.Cursor, &cur); err != nil {
			return err
		}
		q.After = &cur
	}
	q.Query = query
	res, err := s.resources.Search(c.Request().Context(), q)
	if err != nil {
		return err
	}
	b := newBundle("searchset")
	if res.HasTotal {
		b.Total = &res.Total
	}
	for _, group := range []struct {
		recs []service.Record
		mode string
	}{{res.Matches, "match"}, {res.Included, "include"}} {
		for _, r := range group.recs {
			body, err := fhir.Subset(r.Type, r.Body, string(query.Summary), query.Elements)
			if err != nil {
				return err
			}
			b.Entry = append(b.Entry, entry{FullURL: s.cfg.BaseURL + "/" + r.Type + "/" + r.ID, Resource: body, Search: &entrySearch{Mode: group.mode}})
		}
	}
	if len(warns) > 0 {
		raw, err := json.Marshal(fhir.Outcome(warns...))
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, entry{Resource: raw, Search: &entrySearch{Mode: "outcome"}})
	}
	s.searchLinks(c, b, path, res)
	return s.writeJSON(c, http.StatusOK, b)
}

// searchLinks adds self, first, and next and previous where there are
// such pages: each repeats the request's parameters, with the page token
// of its position.
func (s *Server) searchLinks(c echo.Context, b *bundle, path string, res service.SearchResult) {
	base := s.cfg.BaseURL + path
	link := func(rel string, cur *service.Cursor) {
		q := url.Values{}
		for k, v := range c.QueryParams() {
			if k != "_cursor" {
				q[k] = v
			}
		}
		if cur != nil {
			q.Set("_cursor", encodeCursor(cur))
		}
		u := base
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		b.Link = append(b.Link, bundleLink{Relation: rel, URL: u})
	}
	self := base
	if raw := c.QueryParams().Encode(); raw != "" {
		self += "?" + raw
	}
	b.Link = append(b.Link, bundleLink{Relation: "self", URL: self})
	link("first", nil)
	if res.Prev != nil {
		link("previous", res.Prev)
	}
	if res.Next != nil {
		link("next", res.Next)
	}
}
