package fhir

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// This file parses and checks batch and transaction Bundles (R4 http.html
// §3.1.0.11): what the client asked for, entry by entry, without touching
// storage. Processing them is the caller's: Order gives a transaction's
// processing order, ParseReference and RewriteReferences help to resolve
// the references between its entries.

// BundleType is the Bundle.type of a batch or a transaction.
type BundleType string

// The two Bundle types ParseBundle accepts.
const (
	Batch       BundleType = "batch"
	Transaction BundleType = "transaction"
)

// Bundle is a checked batch or transaction Bundle.
type Bundle struct {
	Type BundleType
	// Entries are Bundle.entry in the client's order; the response Bundle
	// answers them in the same order.
	Entries []Entry
}

// Entry is one Bundle.entry of a batch or transaction.
type Entry struct {
	// FullURL is entry.fullUrl as sent, "" if absent. When set it is an
	// absolute URI: urn:uuid:, urn:oid: or a URL. Key it with
	// ParseReference(FullURL, base).String().
	FullURL string
	// Resource is entry.resource byte for byte as in the request body
	// (never re-encoded, so decimals keep their precision); nil if absent.
	// For POST and PUT it is a resource of type Request.URL.Type (unless
	// the URL is an operation); check it with Parse.
	Resource json.RawMessage
	// ResourceType is the resource's resourceType, "" without a resource.
	ResourceType string
	// Patch is the JSON Patch document (RFC 6902) of a PATCH entry,
	// decoded from the data of the Binary resource that carries it.
	Patch json.RawMessage
	// Request is entry.request.
	Request Request
	// Err, in a batch, is why this entry cannot be processed: answer it
	// with this error and go on with the others. The other fields may be
	// incomplete. Always nil in a transaction, which fails as a whole.
	Err *Error
}

// Request is a Bundle.entry.request: the HTTP request the entry stands for.
type Request struct {
	// Method is GET, HEAD, POST, PUT, DELETE or PATCH.
	Method string
	URL    RequestURL
	// IfNoneMatch, IfModifiedSince and IfMatch are the HTTP headers of
	// the same names, as sent ("" if absent); for example IfMatch W/"2".
	IfNoneMatch     string
	IfModifiedSince string
	IfMatch         string
	// IfNoneExist is the search of a conditional create (POST only); nil
	// if absent. It is the query without '?', though "Type?query" and
	// "?query" are accepted too.
	IfNoneExist url.Values
}

// RequestURL is a parsed Bundle.entry.request.url. Its forms are
//
//	[type]                         POST create, GET search (with Query)
//	[type]?query                   PUT, PATCH, DELETE conditional; GET search
//	[type]/[id]                    GET read, PUT update, PATCH, DELETE
//	[type]/[id]/_history/[vid]     GET vread
//	[type]/[id]/_history, [type]/_history, _history     GET history
//	[type]/[id]/$op, [type]/$op, $op                    operation
//	?query                         GET system search
//
// relative to the service base; a leading '/' is ignored. A compartment
// search ([type]/[id]/[type]), _search and any other URL are rejected.
type RequestURL struct {
	// Raw is the url as sent.
	Raw       string
	Type      string // resource type; "" at system level
	ID        string
	VersionID string // vread only
	// History marks a history URL (not a vread, which sets VersionID).
	History bool
	// Operation is an operation name with its '$', e.g. "$everything".
	// ParseBundle accepts it for GET and POST only, and does not know
	// which operations exist: a caller that supports none rejects it.
	Operation string
	// Query is the query string; nil if the URL has no '?'.
	Query url.Values
	// Absolute is true if the url was written as an absolute URL with
	// the server's base (which ParseBundle removed).
	Absolute bool
}

// Conditional reports whether u is [type]?query: a search of a type,
// which for PUT, PATCH and DELETE is the conditional form (a search
// instead of an id) and for GET and HEAD a search.
func (u RequestURL) Conditional() bool {
	return u.Type != "" && u.ID == "" && !u.History && u.Operation == "" && len(u.Query) > 0
}

// String is the url relative to the service base.
func (u RequestURL) String() string {
	var parts []string
	for _, p := range []string{u.Type, u.ID} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if u.History || u.VersionID != "" {
		parts = append(parts, "_history")
	}
	if u.VersionID != "" {
		parts = append(parts, u.VersionID)
	}
	if u.Operation != "" {
		parts = append(parts, u.Operation)
	}
	s := strings.Join(parts, "/")
	if u.Query != nil {
		s += "?" + u.Query.Encode()
	}
	return s
}

// ParseBundle parses and checks a batch or transaction Bundle sent to the
// server whose service base is base (such as "http://host/fhir"; request
// URLs may be absolute with this base).
//
// The whole bundle is rejected (a 400 *Error) if it is not valid JSON (as
// Parse defines it: no duplicate names, nulls or empty values), not a
// Bundle, or of another type than batch or transaction. Each entry is
// then checked: request method and url, fullUrl, that POST and PUT carry
// a resource of the url's type, and that PATCH carries a JSON Patch in a
// Binary. In a transaction, two entries may not have the same fullUrl nor
// write the same resource (http.html: "A resource can only appear in a
// transaction once"), as far as can be told before conditional URLs are
// resolved. A transaction with any bad entry is rejected with one issue
// per problem; a batch keeps its bad entries, each with its Entry.Err.
// Each issue's expression names the element, e.g.
// "Bundle.entry[2].request.url".
//
// ParseBundle does not check the entries' resources beyond their type
// (use Parse), nor whether the server serves a type.
func ParseBundle(body []byte, base string) (*Bundle, error) {
	if e := checkJSON("Bundle", body); e != nil {
		return nil, e
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, Errorf(r4.IssueTypeStructure, "Bundle", "invalid JSON: %s", syntaxMessage(err))
	}
	var rt string
	if err := jsonString(top, "resourceType", &rt); err != nil || rt == "" {
		return nil, Errorf(r4.IssueTypeRequired, "Bundle.resourceType", "resourceType must be \"Bundle\"")
	}
	if rt != "Bundle" {
		return nil, Errorf(r4.IssueTypeInvalid, "Bundle.resourceType", "expected a Bundle, not a %s", rt)
	}
	var typ string
	if err := jsonString(top, "type", &typ); err != nil {
		return nil, Errorf(r4.IssueTypeStructure, "Bundle.type", "Bundle.type must be a string")
	}
	switch BundleType(typ) {
	case Batch, Transaction:
	case "":
		return nil, Errorf(r4.IssueTypeRequired, "Bundle.type", "Bundle.type is required: batch or transaction")
	default:
		return nil, Errorf(r4.IssueTypeValue, "Bundle.type", "Bundle.type must be batch or transaction, not %q", typ)
	}
	b := &Bundle{Type: BundleType(typ)}
	var entries []json.RawMessage
	if raw, ok := top["entry"]; ok {
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, Errorf(r4.IssueTypeStructure, "Bundle.entry", "Bundle.entry must be an array of objects")
		}
	}
	b.Entries = make([]Entry, len(entries))
	for i, raw := range entries {
		b.Entries[i] = parseEntry(raw, "Bundle.entry["+itoa(i)+"]", base)
	}
	if b.Type == Transaction {
		checkIdentities(b.Entries, base)
		var issues []Issue
		for i := range b.Entries {
			if e := b.Entries[i].Err; e != nil {
				issues = append(issues, e.Issues...)
				b.Entries[i].Err = nil
			}
		}
		if len(issues) > 0 {
			return nil, &Error{Status: http.StatusBadRequest, Issues: issues}
		}
	}
	return b, nil
}

// entryError is a 400 for one entry.
func entryError(code r4.IssueType, expr, format string, args ...any) *Error {
	return Errorf(code, expr, format, args...).WithStatus(http.StatusBadRequest)
}

// jsonString reads the string member key of obj into s; absent leaves s.
func jsonString(obj map[string]json.RawMessage, key string, s *string) error {
	raw, ok := obj[key]
	if !ok {
		return nil
	}
	return json.Unmarshal(raw, s)
}

// parseEntry parses and checks one entry; expr is "Bundle.entry[i]".
func parseEntry(raw json.RawMessage, expr, base string) (e Entry) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		e.Err = entryError(r4.IssueTypeStructure, expr, "an entry must be a JSON object")
		return e
	}
	if _, ok := obj["modifierExtension"]; ok {
		e.Err = entryError(r4.IssueTypeNotSupported, expr+".modifierExtension", "modifier extensions are not supported")
		return e
	}
	if err := jsonString(obj, "fullUrl", &e.FullURL); err != nil {
		e.Err = entryError(r4.IssueTypeStructure, expr+".fullUrl", "fullUrl must be a string")
		return e
	}
	if e.FullURL != "" {
		if msg := checkFullURL(e.FullURL, base); msg != "" {
			e.Err = entryError(r4.IssueTypeValue, expr+".fullUrl", "%s", msg)
			return e
		}
	}
	var res map[string]json.RawMessage
	if raw, ok := obj["resource"]; ok {
		e.Resource = raw
		if err := json.Unmarshal(raw, &res); err != nil {
			e.Err = entryError(r4.IssueTypeStructure, expr+".resource", "resource must be a JSON object")
			return e
		}
		if err := jsonString(res, "resourceType", &e.ResourceType); err != nil || e.ResourceType == "" {
			e.Err = entryError(r4.IssueTypeRequired, expr+".resource.resourceType", "the resource must have a resourceType")
			return e
		}
	}
	reqRaw, ok := obj["request"]
	if !ok {
		e.Err = entryError(r4.IssueTypeRequired, expr+".request", "entry.request is required in a batch or transaction")
		return e
	}
	if e.Err = parseRequest(reqRaw, expr+".request", base, &e.Request); e.Err != nil {
		return e
	}
	e.Err = checkEntryBody(&e, res, expr)
	return e
}

// parseRequest parses entry.request into req; expr is its path.
func parseRequest(raw json.RawMessage, expr, base string, req *Request) *Error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return entryError(r4.IssueTypeStructure, expr, "request must be a JSON object")
	}
	if _, ok := obj["modifierExtension"]; ok {
		return entryError(r4.IssueTypeNotSupported, expr+".modifierExtension", "modifier extensions are not supported")
	}
	var rawURL, ifNoneExist string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"method", &req.Method}, {"url", &rawURL}, {"ifNoneMatch", &req.IfNoneMatch},
		{"ifModifiedSince", &req.IfModifiedSince}, {"ifMatch", &req.IfMatch}, {"ifNoneExist", &ifNoneExist},
	} {
		if err := jsonString(obj, f.name, f.dst); err != nil {
			return entryError(r4.IssueTypeStructure, expr+"."+f.name, "%s must be a string", f.name)
		}
	}
	switch req.Method {
	case "":
		return entryError(r4.IssueTypeRequired, expr+".method", "request.method is required")
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
	default:
		return entryError(r4.IssueTypeCodeInvalid, expr+".method", "request.method must be GET, HEAD, POST, PUT, DELETE or PATCH, not %q", req.Method)
	}
	if rawURL == "" {
		return entryError(r4.IssueTypeRequired, expr+".url", "request.url is required")
	}
	u, e := parseRequestURL(rawURL, base)
	if e != nil {
		e.Issues[0].Expression = []string{expr + ".url"}
		return e
	}
	req.URL = u
	if e := checkMethodURL(req.Method, u); e != nil {
		e.Issues[0].Expression = []string{expr + ".url"}
		return e
	}
	if ifNoneExist != "" {
		if req.Method != http.MethodPost {
			return entryError(r4.IssueTypeInvalid, expr+".ifNoneExist", "ifNoneExist is for POST (conditional create) only")
		}
		q := strings.TrimPrefix(ifNoneExist, u.Type+"?")
		q = strings.TrimPrefix(q, "?")
		v, err := url.ParseQuery(q)
		if err != nil || len(v) == 0 {
			return entryError(r4.IssueTypeValue, expr+".ifNoneExist", "ifNoneExist must be a search such as identifier=system|value, not %q", ifNoneExist)
		}
		req.IfNoneExist = v
	}
	return nil
}

// checkFullURL returns what is wrong with a fullUrl, "" if nothing.
func checkFullURL(s, base string) string {
	r, err := ParseReference(s, base)
	if err != nil {
		return err.(*Error).Issues[0].Diagnostics
	}
	switch r.Kind {
	case RefPlaceholder:
		return ""
	case RefLocal, RefExternal:
		if r.Kind == RefLocal && r.VersionID != "" || strings.Contains(s, "/_history/") {
			return "fullUrl must not be version specific (bdl-8): " + s
		}
		if u, err := url.Parse(s); err != nil || !u.IsAbs() {
			return "fullUrl must be an absolute URI: " + s
		}
		return ""
	}
	return "fullUrl must be an absolute URI (urn:uuid:, urn:oid: or a URL), not " + strings.TrimSpace(s)
}

// parseRequestURL parses a request url; errors have no expression yet.
func parseRequestURL(raw, base string) (RequestURL, *Error) {
	u := RequestURL{Raw: raw}
	bad := func(code r4.IssueType, format string, args ...any) (RequestURL, *Error) {
		return u, entryError(code, "", format, args...)
	}
	s := raw
	if schemeStart.MatchString(s) {
		rest, ok := relativeToBase(s, base)
		if !ok {
			return bad(r4.IssueTypeNotSupported, "request.url %q is an absolute URL of another server; use a URL relative to the service base", raw)
		}
		s, u.Absolute = rest, true
	}
	if strings.ContainsRune(s, '#') {
		return bad(r4.IssueTypeValue, "request.url must not have a fragment ('#'): %q", raw)
	}
	path, query, hasQuery := strings.Cut(s, "?")
	path = strings.TrimPrefix(path, "/")
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return bad(r4.IssueTypeValue, "request.url %q has an invalid query: %s", raw, strings.TrimPrefix(err.Error(), "invalid URL escape "))
		}
		u.Query = q
	}
	if path == "" {
		if !hasQuery {
			return bad(r4.IssueTypeValue, "request.url %q names no resource type", raw)
		}
		return u, nil // ?query: a system search
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil || v == "" {
			return bad(r4.IssueTypeValue, "request.url %q is not a FHIR URL (empty or invalid path segment)", raw)
		}
		if isOperation(v) && !operationName.MatchString(v) {
			return bad(r4.IssueTypeValue, "request.url %q: %q is not an operation name", raw, v)
		}
		segs[i] = v
	}
	first := segs[0]
	switch {
	case isOperation(first):
		if len(segs) > 1 {
			return bad(r4.IssueTypeValue, "request.url %q: nothing may follow the operation %s", raw, first)
		}
		u.Operation = first
		return u, nil
	case first == "_history":
		if len(segs) > 1 {
			return bad(r4.IssueTypeValue, "request.url %q: nothing may follow _history", raw)
		}
		u.History = true
		return u, nil
	case !typePattern.MatchString(first):
		return bad(r4.IssueTypeNotSupported, "request.url %q: %q is not a resource type", raw, first)
	}
	u.Type = first
	if len(segs) == 1 {
		return u, nil
	}
	second := segs[1]
	switch {
	case second == "_history" && len(segs) == 2:
		u.History = true
		return u, nil
	case isOperation(second) && len(segs) == 2:
		u.Operation = second
		return u, nil
	case second == "_search":
		return bad(r4.IssueTypeNotSupported, "request.url %q: _search is not supported in a bundle; use GET [type]?query", raw)
	case !ValidID(second):
		return bad(r4.IssueTypeValue, "request.url %q: %q is not a valid id", raw, second)
	}
	u.ID = second
	switch {
	case len(segs) == 2:
		return u, nil
	case segs[2] == "_history" && len(segs) == 3:
		u.History = true
		return u, nil
	case segs[2] == "_history" && len(segs) == 4:
		if !ValidID(segs[3]) {
			return bad(r4.IssueTypeValue, "request.url %q: %q is not a valid version id", raw, segs[3])
		}
		u.VersionID = segs[3]
		return u, nil
	case isOperation(segs[2]) && len(segs) == 3:
		u.Operation = segs[2]
		return u, nil
	case typePattern.MatchString(segs[2]) && len(segs) == 3:
		return bad(r4.IssueTypeNotSupported, "request.url %q: compartment search is not supported", raw)
	}
	return bad(r4.IssueTypeValue, "request.url %q is not a FHIR URL", raw)
}

// operationName is $ and an OperationDefinition.code.
var operationName = regexp.MustCompile(`^\$[A-Za-z0-9][A-Za-z0-9_\-.]*$`)

// isOperation reports whether seg names an operation; a malformed name
// starting with '$' is reported by parseRequestURL.
func isOperation(seg string) bool { return len(seg) > 0 && seg[0] == '$' }

// checkMethodURL checks that the url is one the method can have.
func checkMethodURL(method string, u RequestURL) *Error {
	bad := func(format string, args ...any) *Error {
		return entryError(r4.IssueTypeInvalid, "", format, args...)
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		return nil
	case http.MethodPost:
		if u.Operation != "" {
			return nil
		}
		if u.Type == "" || u.ID != "" || u.History || u.Query != nil {
			return bad("a POST url must be [type] (create) or an operation, not %q", u.Raw)
		}
		return nil
	}
	// PUT, PATCH, DELETE
	switch {
	case u.Operation != "":
		return bad("an operation is invoked with GET or POST, not %s", method)
	case u.Type == "" || u.History || u.VersionID != "":
		return bad("a %s url must be [type]/[id] or [type]?query, not %q", method, u.Raw)
	case u.ID != "" && u.Query != nil:
		return bad("a %s url has either an id or a query, not both: %q", method, u.Raw)
	case u.ID == "" && len(u.Query) == 0:
		return bad("a %s url needs an id ([type]/[id]) or a search ([type]?query), not %q", method, u.Raw)
	}
	return nil
}

// checkEntryBody checks the entry's resource against its request.
func checkEntryBody(e *Entry, res map[string]json.RawMessage, expr string) *Error {
	m, u := e.Request.Method, e.Request.URL
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		if e.Resource != nil {
			return entryError(r4.IssueTypeInvalid, expr+".resource", "a %s entry has no resource", m)
		}
		return nil
	case http.MethodPatch:
		if e.Resource == nil {
			return entryError(r4.IssueTypeRequired, expr+".resource", "a PATCH entry needs a Binary resource holding a JSON Patch")
		}
		p, err := patchDocument(e.ResourceType, res, expr+".resource")
		e.Patch = p
		return err
	}
	// POST, PUT
	if e.Resource == nil {
		return entryError(r4.IssueTypeRequired, expr+".resource", "a %s entry needs a resource", m)
	}
	if u.Operation != "" {
		return nil // an operation's input (Parameters, usually)
	}
	if e.ResourceType != u.Type {
		return entryError(r4.IssueTypeInvalid, expr+".resource.resourceType",
			"the resource is a %s but the request url is for %s", e.ResourceType, u.Type)
	}
	var id string
	if err := jsonString(res, "id", &id); err != nil {
		return entryError(r4.IssueTypeStructure, expr+".resource.id", "id must be a string")
	}
	if m == http.MethodPut && u.ID != "" {
		if id == "" {
			return entryError(r4.IssueTypeRequired, expr+".resource.id", "the resource must have an id equal to the id in the request url (%s)", u.ID)
		}
		if id != u.ID {
			return entryError(r4.IssueTypeInvalid, expr+".resource.id", "the id in the resource (%s) does not match the id in the request url (%s)", id, u.ID)
		}
	}
	// Bundle.entry.fullUrl: "The fullUrl SHALL NOT disagree with the id
	// in the resource".
	if f := restfulURL.FindStringSubmatch(e.FullURL); f != nil && f[1] != "" {
		if f[2] != e.ResourceType || id != "" && f[3] != id {
			return entryError(r4.IssueTypeInvalid, expr+".fullUrl", "fullUrl %s disagrees with the resource, a %s with id %q", e.FullURL, e.ResourceType, id)
		}
	}
	return nil
}

// JSONPatchType is the media type of a JSON Patch document (RFC 6902).
const JSONPatchType = "application/json-patch+json"

// patchDocument extracts the JSON Patch from the Binary of a PATCH entry
// (R4 http.html: in a bundle, a JSON Patch is carried in a Binary).
func patchDocument(typ string, res map[string]json.RawMessage, expr string) (json.RawMessage, *Error) {
	switch typ {
	case "Binary":
	case "Parameters":
		return nil, entryError(r4.IssueTypeNotSupported, expr,
			"FHIRPath Patch is not supported; send a JSON Patch in a Binary with contentType %s", JSONPatchType)
	default:
		return nil, entryError(r4.IssueTypeInvalid, expr+".resourceType",
			"a PATCH entry's resource must be a Binary holding a JSON Patch, not a %s", typ)
	}
	var ct, data string
	if err := jsonString(res, "contentType", &ct); err != nil || ct == "" {
		return nil, entryError(r4.IssueTypeRequired, expr+".contentType", "the Binary must have contentType %s", JSONPatchType)
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != JSONPatchType {
		return nil, entryError(r4.IssueTypeNotSupported, expr+".contentType", "only JSON Patch (%s) is supported, not %q", JSONPatchType, ct)
	}
	if err := jsonString(res, "data", &data); err != nil || data == "" {
		return nil, entryError(r4.IssueTypeRequired, expr+".data", "the Binary must carry the JSON Patch in data (base64)")
	}
	doc, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil {
		return nil, entryError(r4.IssueTypeValue, expr+".data", "data is not valid base64")
	}
	if t := bytes.TrimLeft(doc, " \t\r\n"); !json.Valid(doc) || len(t) == 0 || t[0] != '[' {
		return nil, entryError(r4.IssueTypeValue, expr+".data", "data must be a JSON Patch: a JSON array of operations")
	}
	return doc, nil
}

// checkIdentities finds, in a transaction, two entries with the same
// identity, and sets Err on the later one. An entry's identities are its
// fullUrl (in canonical form, see Ref.String) and, for DELETE, PUT and
// PATCH, the resource it writes (see writeKey): two entries with the same
// fullUrl, two writes of one resource, or a write of the resource another
// entry (a POST, say) claims by its fullUrl, are all one resource
// appearing twice.
func checkIdentities(entries []Entry, base string) {
	seen := map[string]int{} // identity → entry index
	for i := range entries {
		e := &entries[i]
		if e.Err != nil {
			continue
		}
		expr := "Bundle.entry[" + itoa(i) + "]"
		fk := ""
		if e.FullURL != "" {
			fk = e.FullURL
			if r, err := ParseReference(e.FullURL, base); err == nil {
				fk = r.String()
			}
			if j, dup := seen[fk]; dup {
				e.Err = entryError(r4.IssueTypeInvalid, expr+".fullUrl",
					"entry %d is also %s; a resource can only appear in a transaction once", j, e.FullURL)
				continue
			}
		}
		wk := writeKey(e.Request)
		if wk != "" && wk != fk {
			if j, dup := seen[wk]; dup {
				e.Err = entryError(r4.IssueTypeInvalid, expr+".request.url",
					"entry %d is also %s; a transaction may change a resource only once", j, wk)
				continue
			}
		}
		for _, k := range []string{fk, wk} {
			if k != "" {
				seen[k] = i
			}
		}
	}
}

// writeKey is the identity of the resource a DELETE, PUT or PATCH writes,
// Type/id or Type?query (the query in canonical order); "" for other
// methods.
func writeKey(r Request) string {
	switch r.Method {
	case http.MethodDelete, http.MethodPut, http.MethodPatch:
	default:
		return ""
	}
	if r.URL.ID != "" {
		return r.URL.Type + "/" + r.URL.ID
	}
	return r.URL.Type + "?" + r.URL.Query.Encode()
}

// processingRank is a method's place in a transaction (http.html
// §3.1.0.11.2).
var processingRank = map[string]int{
	http.MethodDelete: 0,
	http.MethodPost:   1,
	http.MethodPut:    2,
	http.MethodPatch:  2,
	http.MethodGet:    3,
	http.MethodHead:   3,
}

// Order returns the indexes of entries in the order a transaction
// processes them (http.html §3.1.0.11.2): every DELETE, then every POST,
// then PUT and PATCH, then GET and HEAD, each group in bundle order.
// Entries without a valid method come last. Responses still go in the
// bundle's order: write the response of entries[Order(entries)[k]] at
// that index.
func Order(entries []Entry) []int {
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	rank := func(i int) int {
		if r, ok := processingRank[entries[i].Request.Method]; ok {
			return r
		}
		return len(processingRank)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return rank(a) - rank(b) })
	return idx
}
