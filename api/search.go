package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// searchParam is a search parameter every served type supports in this
// release; the table feeds parsing and the CapabilityStatement.
type searchParam struct {
	Name, Type, Doc string
}

var searchParams = []searchParam{
	{"_id", "token", "Logical id of the resource; comma-separated values are ORed"},
	{"_lastUpdated", "date", "When the resource version last changed; prefixes eq, ne, gt, lt, ge, le, sa, eb"},
}

// controlParams are result parameters understood by search.
var controlParams = map[string]bool{"_count": true, "_total": true, "_cursor": true, "_format": true, "_pretty": true}

// searchCursor resumes a search after an id.
type searchCursor struct {
	After string `json:"a"`
}

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

// searchType runs the search q, refined by the request's parameters, and
// answers a searchset Bundle whose links use path.
func (s *Server) searchType(c echo.Context, q service.SearchQuery, path string) error {
	if err := negotiate(c); err != nil {
		return err
	}
	var err error
	if q.Count, err = parseCount(c); err != nil {
		return err
	}
	var ignored []string
	params := c.QueryParams()
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		values := params[name]
		switch name {
		case "_id":
			for i, v := range values {
				ids := splitValues(v)
				if i == 0 {
					q.IDs = ids
				} else {
					q.IDs = intersect(q.IDs, ids)
					if len(q.IDs) == 0 {
						q.IDs = []string{""} // AND of disjoint sets: nothing matches
					}
				}
			}
		case "_lastUpdated":
			for _, v := range values {
				b, err := parseDateBound(v)
				if err != nil {
					return fhir.Errorf(r4.IssueTypeValue, "", "_lastUpdated: %s", err)
				}
				q.LastUpdated = append(q.LastUpdated, b)
			}
		default:
			if !controlParams[name] {
				ignored = append(ignored, name)
			}
		}
	}
	prefer := parsePrefer(c)
	if len(ignored) > 0 && prefer.Strict {
		return fhir.Errorf(r4.IssueTypeNotSupported, "", "unknown or unsupported search parameter(s): %s", strings.Join(ignored, ", "))
	}
	total := c.QueryParam("_total")
	switch total {
	case "", "none", "estimate", "accurate":
	default:
		return fhir.Errorf(r4.IssueTypeValue, "", "_total must be none, estimate or accurate, not %q", total)
	}
	if v := c.QueryParam("_cursor"); v != "" {
		var cur searchCursor
		if err := decodeCursor(v, &cur); err != nil {
			return err
		}
		q.AfterID = cur.After
	}
	ctx := c.Request().Context()
	b := newBundle("searchset")
	var recs []service.Record
	if q.Count > 0 {
		if recs, err = s.resources.Search(ctx, q); err != nil {
			return err
		}
	}
	next := ""
	if len(recs) > q.Count {
		recs = recs[:q.Count]
		next = encodeCursor(searchCursor{After: recs[len(recs)-1].ID})
	}
	switch {
	case q.Count == 0 || total == "accurate" || total == "estimate":
		n, err := s.resources.Count(ctx, q)
		if err != nil {
			return err
		}
		b.Total = &n
	case total == "" && next == "" && q.AfterID == "":
		n := int64(len(recs)) // the whole result is on this page
		b.Total = &n
	}
	for _, r := range recs {
		b.Entry = append(b.Entry, entry{FullURL: s.cfg.BaseURL + "/" + r.Type + "/" + r.ID, Resource: r.Body, Search: &entrySearch{Mode: "match"}})
	}
	if len(ignored) > 0 {
		oo := fhir.Outcome(fhir.Issue{Severity: r4.IssueSeverityWarning, Code: r4.IssueTypeNotSupported,
			Diagnostics: "ignored unknown or unsupported search parameter(s): " + strings.Join(ignored, ", ")})
		raw, err := json.Marshal(oo)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, entry{Resource: raw, Search: &entrySearch{Mode: "outcome"}})
	}
	s.pageLinks(c, b, path, next)
	return s.writeJSON(c, http.StatusOK, b)
}

// splitValues splits a parameter value on commas not escaped with a
// backslash (search.html#escaping).
func splitValues(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// parseDateBound reads a date search value with its prefix.
func parseDateBound(v string) (service.TimeBound, error) {
	op := "eq"
	if len(v) >= 2 {
		switch p := v[:2]; p {
		case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb":
			op, v = p, v[2:]
		case "ap":
			return service.TimeBound{}, errors.New("the ap prefix is not supported")
		}
	}
	lo, hi, err := fhir.DateRange(v, time.UTC)
	if err != nil {
		return service.TimeBound{}, err
	}
	switch op {
	case "sa":
		op = "gt"
	case "eb":
		op = "lt"
	}
	return service.TimeBound{Op: op, Lo: lo, Hi: hi}, nil
}
