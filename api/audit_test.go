package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/fhir/schema"
	"github.com/matcare/matcare/repository"
	"github.com/matcare/matcare/service"
)

// auditTrail reads the stored AuditEvents of an env with the raw driver.
type auditTrail struct {
	coll *mongo.Collection
}

func newAuditTrail(t *testing.T, e *env) *auditTrail {
	t.Helper()
	mc, err := mongo.Connect(options.Client().ApplyURI(e.uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Disconnect(context.Background()) })
	return &auditTrail{coll: mc.Database(e.db).Collection("AuditEvent")}
}

// byRequest returns the AuditEvents whose request-id detail is rid.
func (a *auditTrail) byRequest(t *testing.T, rid string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range a.all(t) {
		if d, _ := json.Marshal(ev); strings.Contains(string(d), `"valueString":"`+rid+`"`) {
			out = append(out, ev)
		}
	}
	return out
}

// all returns every stored AuditEvent.
func (a *auditTrail) all(t *testing.T) []map[string]any {
	t.Helper()
	cur, err := a.coll.Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Board, Client, Body string
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, d := range docs {
		r := response{body: []byte(d.Body)}
		out = append(out, r.json(t))
	}
	return out
}

// path digs into decoded JSON: keys for objects, ints for arrays.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// TestAuditEvents sends each interaction, allowed and denied, and checks
// that exactly one AuditEvent records it with who, what, when and outcome,
// that it is valid R4, holds no query values, and that only auditors of
// the right board read it.
func TestAuditEvents(t *testing.T) {
	e := newEnv(t)
	trail := newAuditTrail(t, e)
	id := e.create(goalBody)
	other := e.as(fullScope, boardB)
	otherID := other.create(goalBody)

	type want struct {
		interaction, action, outcome, what, client, board, query string
	}
	reader := e.as("system/Goal.read", boardA, "client_id", "reader-1")
	jsonPatch := []string{"Content-Type", "application/json-patch+json"}
	tests := []struct {
		name   string
		env    *env
		method string
		path   string
		body   string
		hdr    []string
		status int
		want   want
	}{
		{"create", e, "POST", "/Goal", goalBody, nil, 201, want{"create", "C", "0", "", "test-client", boardA, ""}},
		{"read", reader, "GET", "/Goal/" + id, "", nil, 200, want{"read", "R", "0", "Goal/" + id + "/_history/1", "reader-1", boardA, ""}},
		{"vread", e, "GET", "/Goal/" + id + "/_history/1", "", nil, 200, want{"vread", "R", "0", "Goal/" + id + "/_history/1", "test-client", boardA, ""}},
		{"update", e, "PUT", "/Goal/" + id, goalWithID(id, "active"), nil, 200, want{"update", "U", "0", "Goal/" + id + "/_history/2", "test-client", boardA, ""}},
		{"history", e, "GET", "/Goal/" + id + "/_history?_count=1", "", nil, 200, want{"history-instance", "R", "0", "Goal/" + id, "test-client", boardA, "_count"}},
		{"search, values not recorded", e, "GET", "/Goal?_id=" + id + "&_lastUpdated=gt2020-01-01", "", nil, 200, want{"search-type", "E", "0", "", "test-client", boardA, "_id,_lastUpdated"}},
		{"type history", e, "GET", "/Goal/_history", "", nil, 200, want{"history-type", "R", "0", "", "test-client", boardA, ""}},
		{"system history", e, "GET", e.srv.URL + "/fhir/_history", "", nil, 200, want{"history-system", "R", "0", "", "test-client", boardA, ""}},
		{"patch", e, "PATCH", "/Goal/" + id, `[{"op":"replace","path":"/lifecycleStatus","value":"on-hold"}]`, jsonPatch, 200, want{"patch", "U", "0", "Goal/" + id + "/_history/3", "test-client", boardA, ""}},
		{"conditional patch", e, "PATCH", "/Goal?_id=" + id, `[{"op":"replace","path":"/lifecycleStatus","value":"active"}]`, jsonPatch, 200, want{"patch", "U", "0", "Goal/" + id + "/_history/4", "test-client", boardA, "_id"}},
		{"delete", e, "DELETE", "/Goal/" + id, "", nil, 200, want{"delete", "D", "0", "Goal/" + id + "/_history/5", "test-client", boardA, ""}},
		{"no token", e, "GET", "/Goal/" + id, "", []string{"Authorization", ""}, 401, want{"read", "R", "4", "Goal/" + id, "", "", ""}},
		{"bad token", e, "GET", "/Goal/" + id, "", []string{"Authorization", "Bearer x.y.z"}, 401, want{"read", "R", "4", "Goal/" + id, "", "", ""}},
		{"missing scope", reader, "POST", "/Goal", goalBody, nil, 403, want{"create", "C", "4", "", "reader-1", boardA, ""}},
		{"cross-board read", e, "GET", "/Goal/" + otherID, "", nil, 404, want{"read", "R", "4", "Goal/" + otherID, "test-client", boardA, ""}},
		{"cross-board patch", e, "PATCH", "/Goal/" + otherID, `[]`, jsonPatch, 404, want{"patch", "U", "4", "Goal/" + otherID, "test-client", boardA, ""}},
		{"patch without the scope", reader, "PATCH", "/Goal/" + otherID, `[]`, jsonPatch, 403, want{"patch", "U", "4", "Goal/" + otherID, "reader-1", boardA, ""}},
		{"cross-board update", e, "PUT", "/Goal/" + otherID, goalWithID(otherID, "active"), nil, 409, want{"update", "U", "4", "Goal/" + otherID, "test-client", boardA, ""}},
		{"invalid body", e, "POST", "/Goal", `{"resourceType":"Goal"}`, nil, 400, want{"create", "C", "4", "", "test-client", boardA, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env.t = t
			before, _ := trail.coll.CountDocuments(context.Background(), bson.D{})
			r := tt.env.do(tt.method, tt.path, tt.body, tt.hdr...)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.status, r.body)
			}
			after, _ := trail.coll.CountDocuments(context.Background(), bson.D{})
			if after != before+1 {
				t.Errorf("%d AuditEvents written, want 1", after-before)
			}
			evs := trail.byRequest(t, r.Header.Get("X-Request-Id"))
			if len(evs) != 1 {
				t.Fatalf("%d AuditEvents for request %s, want 1", len(evs), r.Header.Get("X-Request-Id"))
			}
			ev := evs[0]
			raw := fmt.Sprint(ev)
			if iss := schema.Validate("AuditEvent", []byte(mustJSON(t, ev))); len(iss) > 0 {
				t.Errorf("AuditEvent is not valid R4: %v", iss)
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"subtype", path(ev, "subtype", 0, "code"), tt.want.interaction},
				{"action", path(ev, "action"), tt.want.action},
				{"outcome", path(ev, "outcome"), tt.want.outcome},
				{"network address", path(ev, "agent", 0, "network", "address"), "127.0.0.1"},
				{"requestor", path(ev, "agent", 0, "requestor"), true},
			}
			if tt.want.what != "" {
				checks = append(checks, struct {
					name      string
					got, want any
				}{"entity", path(ev, "entity", 0, "what", "reference"), tt.want.what})
			}
			if tt.want.client != "" {
				checks = append(checks, struct {
					name      string
					got, want any
				}{"client", path(ev, "agent", 0, "who", "identifier", "value"), tt.want.client})
			} else if path(ev, "agent", 0, "who", "identifier") != nil {
				t.Errorf("unauthenticated request has an identified agent: %v", path(ev, "agent", 0, "who"))
			}
			if tt.want.board != "" {
				checks = append(checks, struct {
					name      string
					got, want any
				}{"board", path(ev, "agent", 0, "extension", 0, "valueCoding", "code"), tt.want.board})
			}
			for _, c := range checks {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if !strings.HasPrefix(fmt.Sprint(path(ev, "outcomeDesc")), fmt.Sprint(tt.status)) {
				t.Errorf("outcomeDesc = %v", path(ev, "outcomeDesc"))
			}
			if tt.want.query != "" {
				var got string
				for i := 0; i < 3; i++ {
					if path(ev, "entity", 0, "detail", i, "type") == "query-parameter-names" {
						got = fmt.Sprint(path(ev, "entity", 0, "detail", i, "valueString"))
					}
				}
				if got != tt.want.query {
					t.Errorf("query parameter names = %q, want %q", got, tt.want.query)
				}
			}
			for _, secret := range []string{"2020-01-01", "Bearer", "x.y.z"} {
				if strings.Contains(raw, secret) {
					t.Errorf("AuditEvent holds request content %q: %s", secret, raw)
				}
			}
		})
	}
	e.t = t

	// Reading the trail: auditors only, their board only (national: all).
	r := e.do("POST", "/Goal", goalBody)
	evs := trail.byRequest(t, r.Header.Get("X-Request-Id"))
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	evID := evs[0]["id"].(string)
	for _, c := range []struct {
		name   string
		env    *env
		status int
	}{
		{"auditor of the board", e.as("matcare:audit", boardA), 200},
		{"auditor of another board", e.as("matcare:audit", boardB), 404},
		{"national auditor", e.as("matcare:audit matcare:national", ""), 200},
		{"no auditor scope", e.as("system/*.*", boardA), 403},
	} {
		t.Run("read trail/"+c.name, func(t *testing.T) {
			c.env.t = t
			r := c.env.do("GET", "/AuditEvent/"+evID, "")
			wantStatus(t, r, c.status)
			if c.status == 200 && r.json(t)["id"] != evID {
				t.Errorf("read %s", r.body)
			}
		})
	}
	for _, m := range []struct{ method, path, body string }{
		{"POST", "/AuditEvent", `{"resourceType":"AuditEvent"}`},
		{"PUT", "/AuditEvent/" + evID, `{"resourceType":"AuditEvent","id":"` + evID + `"}`},
		{"DELETE", "/AuditEvent/" + evID, ""},
	} {
		r := e.as("matcare:audit system/*.*", boardA).do(m.method, m.path, m.body)
		wantStatus(t, r, http.StatusMethodNotAllowed)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// failingAudit is the real store with an audit trail that can be made to
// fail, as when its collection is unwritable.
type failingAudit struct {
	*repository.Store
	fail atomic.Bool
}

func (f *failingAudit) AppendAudit(ctx context.Context, rec service.AuditRecord) error {
	if f.fail.Load() {
		return errors.New("audit collection unwritable")
	}
	return f.Store.AppendAudit(ctx, rec)
}

// TestAuditFailsClosed makes the audit write fail: every request, reads
// and writes, allowed and denied, answers 503 with an OperationOutcome
// and none of the data it would have returned.
func TestAuditFailsClosed(t *testing.T) {
	store, _, _ := openStore(t)
	fa := &failingAudit{Store: store}
	e := startServer(t, store, fa, api.Config{RateLimit: -1})
	id := e.create(goalBody)

	fa.fail.Store(true)
	for _, req := range []struct {
		name, method, path, body string
		hdr                      []string
	}{
		{"read", "GET", "/Goal/" + id, "", nil},
		{"vread", "GET", "/Goal/" + id + "/_history/1", "", nil},
		{"search", "GET", "/Goal?_id=" + id, "", nil},
		{"history", "GET", "/Goal/" + id + "/_history", "", nil},
		{"create", "POST", "/Goal", goalBody, nil},
		{"update", "PUT", "/Goal/" + id, goalWithID(id, "active"), nil},
		{"denied", "GET", "/Goal/" + id, "", []string{"Authorization", ""}},
	} {
		t.Run(req.name, func(t *testing.T) {
			e.t = t
			r := e.do(req.method, req.path, req.body, req.hdr...)
			wantStatus(t, r, http.StatusServiceUnavailable)
			if r.Header.Get("Retry-After") == "" || r.Header.Get("ETag") != "" || r.Header.Get("Location") != "" {
				t.Errorf("headers %v", r.Header)
			}
			if strings.Contains(string(r.body), "lifecycleStatus") {
				t.Errorf("503 carries the resource: %s", r.body)
			}
		})
	}
	e.t = t
	// Metadata and probes are not audited and keep working.
	if r := e.do("GET", "/metadata", ""); r.StatusCode != http.StatusOK {
		t.Errorf("metadata: %d", r.StatusCode)
	}
	fa.fail.Store(false)
	if r := e.do("GET", "/Goal/"+id, ""); r.StatusCode != http.StatusOK {
		t.Errorf("after recovery: %d", r.StatusCode)
	}
}

// TestRateLimit: a client over its rate gets 429 with Retry-After and an
// OperationOutcome; another client is unaffected.
func TestRateLimit(t *testing.T) {
	store, _, _ := openStore(t)
	base := startServer(t, store, store, api.Config{RateLimit: 0.01, RateBurst: 3})
	base.token = ""
	a := base.as(fullScope, boardA, "client_id", "client-a")
	b := base.as(fullScope, boardA, "client_id", "client-b")
	for i := 0; i < 3; i++ {
		if r := a.do("GET", "/Goal", ""); r.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	r := a.do("GET", "/Goal", "")
	wantStatus(t, r, http.StatusTooManyRequests)
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	if r := b.do("GET", "/Goal", ""); r.StatusCode != http.StatusOK {
		t.Errorf("another client: %d", r.StatusCode)
	}
	// Bad tokens are limited per address.
	for i := 0; i < 3; i++ {
		base.do("GET", "/Goal", "", "Authorization", "Bearer bad")
	}
	wantStatus(t, base.do("GET", "/Goal", "", "Authorization", "Bearer bad"), http.StatusTooManyRequests)
}
