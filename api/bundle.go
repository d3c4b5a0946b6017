package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// Paging limits, as HAPI's defaults.
const (
	defaultCount = 20
	maxCount     = 1000
)

// bundle is a Bundle whose entries carry the stored JSON unchanged.
type bundle struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Meta         bundleMeta   `json:"meta"`
	Type         string       `json:"type"`
	Total        *int64       `json:"total,omitempty"`
	Link         []bundleLink `json:"link,omitempty"`
	Entry        []entry      `json:"entry,omitempty"`
}

type bundleMeta struct {
	LastUpdated string `json:"lastUpdated"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type entry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string `json:"status"`
	Location     string `json:"location,omitempty"`
	Etag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

func newBundle(typ string) *bundle {
	return &bundle{ResourceType: "Bundle", ID: rand.Text(), Type: typ,
		Meta: bundleMeta{LastUpdated: time.Now().UTC().Format(fhir.InstantFormat)}}
}

// page tokens are opaque to clients: base64url of a small JSON cursor.
func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fhir.Errorf(r4.IssueTypeValue, "_cursor", "_cursor is not a page token this server issued")
	}
	return nil
}

// pageLinks adds self and next links: next repeats the request's own
// parameters with the cursor of the page's last entry.
func (s *Server) pageLinks(c echo.Context, b *bundle, path string, next string) {
	q := url.Values{}
	for k, v := range c.QueryParams() {
		if k != "_cursor" {
			q[k] = v
		}
	}
	self := s.cfg.BaseURL + path
	if raw := c.QueryParams().Encode(); raw != "" {
		self += "?" + raw
	}
	b.Link = append(b.Link, bundleLink{Relation: "self", URL: self})
	if next != "" {
		q.Set("_cursor", next)
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: s.cfg.BaseURL + path + "?" + q.Encode()})
	}
}

// parseCount reads _count: default 20, at most 1000.
func parseCount(c echo.Context) (int, error) {
	v := c.QueryParam("_count")
	if v == "" {
		return defaultCount, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fhir.Errorf(r4.IssueTypeValue, "", "_count must be a non-negative integer, not %q", v)
	}
	return min(n, maxCount), nil
}

// historyCursor resumes a history walk after an entry.
type historyCursor struct {
	LU  time.Time `json:"u"`
	T   string    `json:"t"`
	ID  string    `json:"i"`
	Ver int       `json:"v"`
}

func (s *Server) historySystem(c echo.Context) error { return s.history(c, "", "") }

func (s *Server) historyType(c echo.Context) error {
	typ, err := knownType(c)
	if err != nil {
		return err
	}
	return s.history(c, typ, "")
}

func (s *Server) historyInstance(c echo.Context) error {
	typ, err := knownType(c)
	if err != nil {
		return err
	}
	return s.history(c, typ, c.Param("id"))
}

func (s *Server) history(c echo.Context, typ, id string) error {
	if err := negotiate(c); err != nil {
		return err
	}
	q := service.HistoryQuery{Type: typ, ID: id}
	if typ == "" {
		q.Types = allowedTypes(c) // the types the token's scopes cover
	}
	var err error
	if q.Count, err = parseCount(c); err != nil {
		return err
	}
	if v := c.QueryParam("_since"); v != "" {
		lo, _, err := fhir.DateRange(v, time.UTC)
		if err != nil {
			return fhir.Errorf(r4.IssueTypeValue, "", "_since: %s", err)
		}
		q.Since = lo
	}
	if v := c.QueryParam("_cursor"); v != "" {
		var cur historyCursor
		if err := decodeCursor(v, &cur); err != nil {
			return err
		}
		q.After = &service.HistoryKey{LastUpdated: cur.LU, Type: cur.T, ID: cur.ID, Version: cur.Ver}
	}
	var recs []service.Record
	if q.Count > 0 {
		if recs, err = s.resources.History(c.Request().Context(), q); err != nil {
			return err
		}
	}
	b := newBundle("history")
	next := ""
	if len(recs) > q.Count {
		recs = recs[:q.Count]
		last := recs[len(recs)-1]
		next = encodeCursor(historyCursor{LU: last.LastUpdated, T: last.Type, ID: last.ID, Ver: last.Version})
	}
	for _, r := range recs {
		b.Entry = append(b.Entry, s.historyEntry(r))
	}
	s.pageLinks(c, b, c.Request().URL.Path[len("/fhir"):], next)
	return s.writeJSON(c, http.StatusOK, b)
}

// historyEntry is one version as a history Bundle entry, with the request
// that made it and its response.
func (s *Server) historyEntry(r service.Record) entry {
	e := entry{
		FullURL:  s.cfg.BaseURL + "/" + r.Type + "/" + r.ID,
		Request:  &entryRequest{Method: r.Method, URL: r.Type + "/" + r.ID},
		Response: &entryResponse{Etag: etag(r.Version), LastModified: r.LastUpdated.UTC().Format(fhir.InstantFormat)},
	}
	switch {
	case r.Deleted:
		e.Response.Status = "204 No Content"
	case r.Method == "POST":
		e.Request.URL = r.Type
		e.Response.Status = "201 Created"
	case r.Created:
		e.Response.Status = "201 Created"
	default:
		e.Response.Status = "200 OK"
	}
	if !r.Deleted {
		e.Resource = r.Body
		e.Response.Location = s.location(r)
	}
	return e
}
