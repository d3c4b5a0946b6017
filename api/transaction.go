package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/service"
)

// Default limits of batch and transaction Bundles (Config.BundleMaxBytes
// and BundleMaxEntries).
const (
	DefaultBundleMaxBytes   = 16 << 20
	DefaultBundleMaxEntries = 1000
)

// bundle serves POST /fhir (and /fhir/): a batch or transaction Bundle.
//
// A batch runs each entry as the request it stands for, through the same
// routes, scopes, tenancy and audit as if it had been sent alone, and
// answers each entry independently. A transaction runs its writes as one
// all-or-nothing commit (service.Transaction), answering one
// OperationOutcome naming the failing entry when it fails, then its reads
// as a batch would.
func (s *Server) bundle(c echo.Context) error {
	if err := negotiate(c); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.BundleMaxBytes))
	if err != nil {
		return err
	}
	b, err := fhir.ParseBundle(body, s.cfg.BaseURL)
	if err != nil {
		return err
	}
	if len(b.Entries) > s.cfg.BundleMaxEntries {
		return fhir.Errorf(r4.IssueTypeTooCostly, "Bundle.entry", "the Bundle has %d entries; this server takes at most %d in one request", len(b.Entries), s.cfg.BundleMaxEntries).
			WithStatus(http.StatusRequestEntityTooLarge)
	}
	if b.Type == fhir.Batch {
		c.Set(keyInteraction, "batch")
		out := make([]map[string]any, len(b.Entries))
		for i, e := range b.Entries {
			if e.Err != nil {
				out[i] = errorEntry(e.Err)
				continue
			}
			out[i] = s.dispatch(c, e)
		}
		return s.writeJSON(c, http.StatusOK, responseBundle("batch-response", out))
	}
	return s.transaction(c, b)
}

// keyInteraction overrides the route's interaction in its audit record
// (batch and transaction share a route).
const keyInteraction = "matcare.interaction"

func (s *Server) transaction(c echo.Context, b *fhir.Bundle) error {
	p := principal(c)
	var writes []service.TxEntry
	var reads []int
	for i, e := range b.Entries {
		switch e.Request.Method {
		case http.MethodGet, http.MethodHead:
			reads = append(reads, i)
			continue
		}
		in := map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodDelete: "delete", http.MethodPatch: "patch"}[e.Request.Method]
		level := "type"
		if e.Request.URL.ID != "" {
			level = "instance"
		}
		a, _, err := s.decide(p, route{Interaction: in, Level: level}, e.Request.URL.Type)
		if err != nil {
			return &service.EntryError{Index: i, Err: err}
		}
		te := service.TxEntry{Index: i, Entry: e, Access: a}
		if e.Request.IfMatch != "" {
			v, ok := parseETag(e.Request.IfMatch)
			if !ok {
				return &service.EntryError{Index: i, Err: fhir.Errorf(r4.IssueTypeValue, "", `ifMatch must be a version ETag such as W/"3", not %q`, e.Request.IfMatch)}
			}
			te.IfMatch = &v
		}
		writes = append(writes, te)
	}
	out := make([]map[string]any, len(b.Entries))
	if len(writes) > 0 {
		results, err := s.resources.Transaction(c.Request().Context(), s.cfg.BaseURL, writes)
		if err != nil {
			return err
		}
		prefer := parsePrefer(c).Return
		var audits []service.AuditRecord
		for _, w := range writes {
			r := results[w.Index]
			out[w.Index] = s.writeEntry(r, prefer)
			if r.Outcome != service.TxMatched && r.Outcome != service.TxNothing {
				audits = append(audits, s.entryAudit(c, r))
			}
		}
		s.appendAudits(c, audits)
	}
	for _, i := range reads {
		out[i] = s.dispatch(c, b.Entries[i])
	}
	return s.writeJSON(c, http.StatusOK, responseBundle("transaction-response", out))
}

// writeEntry is the response entry of a transaction's write.
func (s *Server) writeEntry(r service.TxResult, prefer string) map[string]any {
	status := http.StatusOK
	var msg string
	switch r.Outcome {
	case service.TxCreated:
		status, msg = http.StatusCreated, "created"
	case service.TxUpdated:
		msg = "updated"
	case service.TxMatched:
		msg = "found existing"
	case service.TxDeleted:
		msg = "deleted"
	case service.TxNothing:
		return map[string]any{"response": map[string]any{"status": statusLine(http.StatusOK),
			"outcome": fhir.Outcome(information("nothing to delete"))}}
	}
	rec := r.Record
	resp := map[string]any{
		"status":       statusLine(status),
		"location":     rec.Type + "/" + rec.ID + "/_history/" + strconv.Itoa(rec.Version),
		"etag":         etag(rec.Version),
		"lastModified": rec.LastUpdated.UTC().Format(fhir.InstantFormat),
	}
	entry := map[string]any{"fullUrl": s.cfg.BaseURL + "/" + rec.Type + "/" + rec.ID, "response": resp}
	switch {
	case r.Outcome == service.TxDeleted:
		resp["outcome"] = fhir.Outcome(information(msg + " " + rec.Type + "/" + rec.ID))
	case prefer == "minimal":
	case prefer == "OperationOutcome":
		resp["outcome"] = fhir.Outcome(append(slices.Clip(rec.Issues), information(msg+" "+rec.Type+"/"+rec.ID+" version "+strconv.Itoa(rec.Version)))...)
	default:
		entry["resource"] = json.RawMessage(rec.Body)
	}
	// The hints and warnings of the content checks travel with the entry
	// whatever the client preferred (R4 Bundle.entry.response.outcome).
	if _, ok := resp["outcome"]; !ok && len(rec.Issues) > 0 {
		resp["outcome"] = fhir.Outcome(rec.Issues...)
	}
	return entry
}

// entryAudit is the AuditEvent of a transaction's write, as the single
// interaction would have recorded it.
func (s *Server) entryAudit(c echo.Context, r service.TxResult) service.AuditRecord {
	in := map[service.TxOutcome]string{service.TxCreated: "create", service.TxUpdated: "update", service.TxDeleted: "delete"}[r.Outcome]
	ref := r.Record.Type + "/" + r.Record.ID + "/_history/" + strconv.Itoa(r.Record.Version)
	status := http.StatusOK
	if r.Outcome == service.TxCreated {
		status = http.StatusCreated
	}
	ent := &auditEntity{
		What: map[string]any{"reference": ref},
		Type: coding{System: entityTypeSystem, Code: "2", Display: "System Object"},
	}
	if rid := c.Response().Header().Get(echo.HeaderXRequestID); rid != "" {
		ent.Detail = []map[string]any{{"type": "request-id", "valueString": rid}}
	}
	return s.newAudit(c, in, status, ent)
}

// appendAudits stores the AuditEvents of a transaction's writes, all at
// once so that the store's group commit inserts them together (one
// after another, each waited for its own insert: one storage commit per
// entry).
func (s *Server) appendAudits(c echo.Context, recs []service.AuditRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), auditTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() {
			if err := s.resources.Audit(ctx, rec); err != nil {
				// The transaction is committed; its Bundle-level AuditEvent
				// (which the response waits for) still records it.
				s.log.ErrorContext(ctx, "audit of a transaction entry failed", "err", err)
			}
		})
	}
	wg.Wait()
}

func statusLine(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// responseBundle wraps response entries.
func responseBundle(typ string, entries []map[string]any) map[string]any {
	return map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries}
}

// errorEntry answers a batch entry that failed.
func errorEntry(err error) map[string]any {
	status, issues := outcomeFor(err)
	return map[string]any{"response": map[string]any{"status": statusLine(status), "outcome": fhir.Outcome(issues...)}}
}

// internalKey marks a request the server sends itself for an entry of a
// batch or transaction: rate limits do not apply to it again.
type internalKey struct{}

func isInternal(r *http.Request) bool { return r.Context().Value(internalKey{}) != nil }

// dispatch runs entry e as the HTTP request it stands for, through the
// server's own routes with the client's credentials, and turns the
// response into a response entry.
func (s *Server) dispatch(c echo.Context, e fhir.Entry) map[string]any {
	// The routes are under /fhir whatever the public base URL is.
	path := "/fhir/" + e.Request.URL.String()
	if strings.HasPrefix(e.Request.URL.String(), "?") {
		path = "/fhir" + e.Request.URL.String()
	}
	var body io.Reader
	var ct string
	switch {
	case e.Patch != nil:
		body, ct = bytes.NewReader(e.Patch), "application/json-patch+json"
	case e.Resource != nil:
		body, ct = bytes.NewReader(e.Resource), "application/fhir+json"
	}
	ctx := context.WithValue(c.Request().Context(), internalKey{}, true)
	req, err := http.NewRequestWithContext(ctx, e.Request.Method, path, body)
	if err != nil {
		return errorEntry(fhir.Errorf(r4.IssueTypeInvalid, "", "request url %q: %v", e.Request.URL.Raw, err))
	}
	in := c.Request()
	req.RemoteAddr = in.RemoteAddr
	for _, h := range []string{echo.HeaderAuthorization, "Prefer"} {
		if v := in.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Accept", "application/fhir+json")
	// The entry's AuditEvent carries the Bundle's request id.
	req.Header.Set(echo.HeaderXRequestID, c.Response().Header().Get(echo.HeaderXRequestID))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for h, v := range map[string]string{"If-Match": e.Request.IfMatch, "If-None-Match": e.Request.IfNoneMatch, "If-Modified-Since": httpDate(e.Request.IfModifiedSince)} {
		if v != "" {
			req.Header.Set(h, v)
		}
	}
	if e.Request.IfNoneExist != nil {
		req.Header.Set("If-None-Exist", e.Request.IfNoneExist.Encode())
	}
	rec := httptest.NewRecorder()
	s.echo.ServeHTTP(rec, req)
	res := rec.Result()
	resp := map[string]any{"status": statusLine(res.StatusCode)}
	if loc := res.Header.Get("Location"); loc != "" {
		resp["location"] = strings.TrimPrefix(loc, s.cfg.BaseURL+"/")
	}
	if et := res.Header.Get("ETag"); et != "" {
		resp["etag"] = et
	}
	if lm := res.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			resp["lastModified"] = t.UTC().Format(fhir.InstantFormat)
		}
	}
	entry := map[string]any{"response": resp}
	raw := rec.Body.Bytes()
	if len(raw) > 0 && json.Valid(raw) {
		var head struct{ ResourceType, ID string }
		_ = json.Unmarshal(raw, &head)
		if head.ResourceType == "OperationOutcome" {
			resp["outcome"] = json.RawMessage(raw)
		} else {
			entry["resource"] = json.RawMessage(raw)
			if head.ID != "" && head.ResourceType != "Bundle" {
				entry["fullUrl"] = s.cfg.BaseURL + "/" + head.ResourceType + "/" + head.ID
			}
		}
	}
	return entry
}

// httpDate turns Bundle.entry.request.ifModifiedSince, an instant
// (2015-08-31T08:14:33+10:00), into the HTTP-date the If-Modified-Since
// header takes (RFC 9110 §13.1.3); any other value is passed on as it is.
func httpDate(instant string) string {
	t, err := time.Parse(time.RFC3339Nano, instant)
	if err != nil {
		return instant
	}
	return t.UTC().Format(http.TimeFormat)
}

// entryOutcome is the failure of a transaction: the failing entry's
// error, with the entry named in the issue.
func entryOutcome(ee *service.EntryError) (int, []fhir.Issue) {
	status, issues := outcomeFor(ee.Err)
	if ee.Index < 0 {
		return status, issues
	}
	where := fmt.Sprintf("Bundle.entry[%d]", ee.Index)
	for i := range issues {
		issues[i].Diagnostics = where + ": " + issues[i].Diagnostics
		if len(issues[i].Expression) == 0 {
			issues[i].Expression = []string{where}
		}
	}
	return status, issues
}
