package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// contentType is what every FHIR response is sent as.
const contentType = "application/fhir+json; charset=utf-8"

// jsonTypes are the media types matcare reads and writes.
var jsonTypes = map[string]bool{
	"application/fhir+json": true,
	"application/json":      true,
	"application/json+fhir": true, // DSTU2 name, still sent by some clients
}

// formatAliases are the _format values meaning JSON (R4 http.html#mime-type).
var formatAliases = map[string]bool{"json": true, "application/json": true, "application/fhir+json": true, "application/json+fhir": true}

// negotiate checks that the client accepts JSON: _format wins over Accept
// (http.html). Anything else is 406.
func negotiate(c echo.Context) error {
	if f := c.QueryParam("_format"); f != "" {
		mt, _, err := mime.ParseMediaType(strings.ReplaceAll(f, " ", "+"))
		if err != nil || !formatAliases[mt] {
			return notAcceptable(f)
		}
		return nil
	}
	accept := c.Request().Header.Get("Accept")
	if accept == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		if mt == "*/*" || mt == "application/*" || jsonTypes[mt] {
			return nil
		}
	}
	return notAcceptable(accept)
}

func notAcceptable(what string) error {
	return fhir.Errorf(r4.IssueTypeNotSupported, "", "cannot answer in %q: this server speaks FHIR JSON only (application/fhir+json)", what).
		WithStatus(http.StatusNotAcceptable)
}

// readBody checks the request's media type and reads its body, at most
// MaxBodyBytes of it.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	ct := c.Request().Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !jsonTypes[mt] {
		return nil, fhir.Errorf(r4.IssueTypeNotSupported, "", "Content-Type must be application/fhir+json, not %q", ct).
			WithStatus(http.StatusUnsupportedMediaType)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, fhir.Errorf(r4.IssueTypeNotSupported, "", "charset must be utf-8, not %q", cs).
			WithStatus(http.StatusUnsupportedMediaType)
	}
	return s.readLimited(c)
}

// readPatch checks that the request carries a JSON Patch and reads it, at
// most MaxBodyBytes of it. FHIRPath Patch (a Parameters resource sent as
// FHIR JSON) is not supported.
func (s *Server) readPatch(c echo.Context) ([]byte, error) {
	ct := c.Request().Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != fhir.JSONPatchType {
		msg := fmt.Sprintf("Content-Type must be %s (JSON Patch, RFC 6902), not %q", fhir.JSONPatchType, ct)
		if jsonTypes[mt] {
			msg += "; FHIRPath Patch (a Parameters resource) is not supported, only JSON Patch is"
		}
		return nil, fhir.Errorf(r4.IssueTypeNotSupported, "", "%s", msg).WithStatus(http.StatusUnsupportedMediaType)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, fhir.Errorf(r4.IssueTypeNotSupported, "", "charset must be utf-8, not %q", cs).
			WithStatus(http.StatusUnsupportedMediaType)
	}
	return s.readLimited(c)
}

// readLimited reads the request body, at most MaxBodyBytes of it; an
// empty body is a 400.
func (s *Server) readLimited(c echo.Context) ([]byte, error) {
	r := http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.MaxBodyBytes)
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, fhir.Errorf(r4.IssueTypeRequired, "", "the request has no body")
	}
	return buf.Bytes(), nil
}

// writeJSON writes v (raw JSON if it is []byte) with FHIR's content type,
// indented when the client asked for _pretty=true.
func (s *Server) writeJSON(c echo.Context, status int, v any) error {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // URLs in links keep their '&'
		if err := enc.Encode(x); err != nil {
			return err
		}
		b = bytes.TrimRight(buf.Bytes(), "\n")
	}
	if c.QueryParam("_pretty") == "true" {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err == nil {
			b = out.Bytes()
		}
	}
	c.Response().Header().Set("Content-Type", contentType)
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Content-Length", strconv.Itoa(len(b)))
		c.Response().WriteHeader(status)
		return nil
	}
	return c.Blob(status, contentType, b)
}

// etag is the weak ETag of a version.
func etag(version int) string { return `W/"` + strconv.Itoa(version) + `"` }

// parseETag reads a version from W/"3" or "3".
func parseETag(s string) (int, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, false
	}
	v, err := strconv.Atoi(s[1 : len(s)-1])
	return v, err == nil && v > 0
}

// ifMatch reads If-Match as a version; nil without the header.
func ifMatch(c echo.Context) (*int, error) {
	h := c.Request().Header.Get("If-Match")
	if h == "" {
		return nil, nil
	}
	v, ok := parseETag(h)
	if !ok {
		return nil, fhir.Errorf(r4.IssueTypeValue, "", `If-Match must be a version ETag such as W/"3", not %q`, h)
	}
	return &v, nil
}

// notModified reports whether a conditional read may answer 304.
func notModified(c echo.Context, version int, lastUpdated time.Time) bool {
	if h := c.Request().Header.Get("If-None-Match"); h != "" {
		for _, t := range strings.Split(h, ",") {
			if strings.TrimSpace(t) == "*" {
				return true
			}
			if v, ok := parseETag(t); ok && v == version {
				return true
			}
		}
		return false // If-None-Match wins over If-Modified-Since (RFC 9110)
	}
	if h := c.Request().Header.Get("If-Modified-Since"); h != "" {
		if t, err := http.ParseTime(h); err == nil && !lastUpdated.Truncate(time.Second).After(t) {
			return true
		}
	}
	return false
}

// prefer holds the Prefer header's return and handling preferences.
type prefer struct {
	Return string // minimal, representation (default) or OperationOutcome
	Strict bool   // handling=strict
}

func parsePrefer(c echo.Context) prefer {
	p := prefer{Return: "representation"}
	for _, h := range c.Request().Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ';' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "return":
				switch strings.ToLower(v) {
				case "minimal":
					p.Return = "minimal"
				case "operationoutcome":
					p.Return = "OperationOutcome"
				case "representation":
					p.Return = "representation"
				}
			case "handling":
				p.Strict = strings.EqualFold(v, "strict")
			}
		}
	}
	return p
}
