package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const goalBody = `{"resourceType":"Goal","id":"ignored","lifecycleStatus":"active",` +
	`"_lifecycleStatus":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]},` +
	`"description":{"text":"Cut down street benzos"},"subject":{"reference":"Patient/p1"},` +
	`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"}}]}`

func goalWithID(id, status string) string {
	return fmt.Sprintf(`{"resourceType":"Goal","id":%q,"lifecycleStatus":%q,"description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`, id, status)
}

func (e *env) create(body string) (id string) {
	e.t.Helper()
	r := e.do("POST", "/Goal", body)
	wantStatus(e.t, r, http.StatusCreated)
	return r.json(e.t)["id"].(string)
}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/Goal", goalBody)
	wantStatus(t, r, http.StatusCreated)
	m := r.json(t)
	id, _ := m["id"].(string)
	if id == "" || id == "ignored" {
		t.Fatalf("id = %q: want a server-assigned id", id)
	}
	if got, want := r.Header.Get("Location"), e.base+"/Goal/"+id+"/_history/1"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if got := r.Header.Get("ETag"); got != `W/"1"` {
		t.Errorf("ETag = %q", got)
	}
	if _, err := http.ParseTime(r.Header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	meta := m["meta"].(map[string]any)
	if meta["versionId"] != "1" || meta["lastUpdated"] == nil {
		t.Errorf("meta = %v", meta)
	}
	// The stored JSON is the client's: decimal text and primitive extension kept.
	for _, want := range []string{`"value":1.50`, `"_lifecycleStatus":{"extension":[{"url":"http://example.org/x","valueString":"kept"}]}`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("response lacks %s: %s", want, r.body)
		}
	}
	g := e.do("GET", "/Goal/"+id, "")
	wantStatus(t, g, http.StatusOK)
	if string(g.body) != string(r.body) {
		t.Errorf("read differs from create:\n%s\n%s", g.body, r.body)
	}
}

func TestCreatePrefer(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/Goal", goalBody, "Prefer", "return=minimal")
	wantStatus(t, r, http.StatusCreated)
	if len(r.body) != 0 || r.Header.Get("Location") == "" {
		t.Errorf("minimal: body %q, Location %q", r.body, r.Header.Get("Location"))
	}
	r = e.do("POST", "/Goal", goalBody, "Prefer", "return=OperationOutcome")
	wantStatus(t, r, http.StatusCreated)
	if m := r.json(t); m["resourceType"] != "OperationOutcome" {
		t.Errorf("return=OperationOutcome body: %s", r.body)
	}
}

// TestBadRequests checks every rejected request answers the right 4xx
// with an OperationOutcome and stores nothing.
func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	id := e.create(goalBody)
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		expr                     string
	}{
		{"unknown type", "POST", "/Encounter", `{"resourceType":"Encounter"}`, nil, 404, ""},
		{"unknown type read", "GET", "/Encounter/1", "", nil, 404, ""},
		{"unknown route", "GET", "/Goal/1/_history/1/x", "", nil, 404, ""},
		{"method not allowed", "PATCH", "/Goal/" + id + "/_history", goalBody, nil, 405, ""},
		{"wrong content type", "POST", "/Goal", goalBody, []string{"Content-Type", "application/xml"}, 415, ""},
		{"form content type", "POST", "/Goal", goalBody, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"bad charset", "POST", "/Goal", goalBody, []string{"Content-Type", "application/fhir+json; charset=latin1"}, 415, ""},
		{"accept xml", "GET", "/Goal/" + id, "", []string{"Accept", "application/fhir+xml"}, 406, ""},
		{"format xml", "GET", "/Goal/" + id + "?_format=xml", "", nil, 406, ""},
		{"too large", "POST", "/Goal", `{"resourceType":"Goal","description":{"text":"` + strings.Repeat("x", 300<<10) + `"}}`, nil, 413, ""},
		{"not json", "POST", "/Goal", `{"resourceType":"Goal",`, nil, 400, "Goal"},
		{"wrong resourceType", "POST", "/Goal", `{"resourceType":"Patient"}`, nil, 400, "Goal.resourceType"},
		{"missing required", "POST", "/Goal", `{"resourceType":"Goal","description":{"text":"x"},"subject":{"reference":"Patient/1"}}`, nil, 400, "Goal.lifecycleStatus"},
		{"bad code", "POST", "/Goal", goalWithID("x", "bogus"), nil, 400, ""},
		{"duplicate key", "POST", "/Goal", `{"resourceType":"Goal","resourceType":"Goal"}`, nil, 400, "Goal.resourceType"},
		{"put id mismatch", "PUT", "/Goal/" + id, goalWithID("other", "active"), nil, 400, "Goal.id"},
		{"put without id", "PUT", "/Goal/" + id, `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`, nil, 400, "Goal.id"},
		{"put bad url id", "PUT", "/Goal/a_b", goalWithID("a_b", "active"), nil, 400, ""},
		{"bad If-Match", "PUT", "/Goal/" + id, goalWithID(id, "active"), []string{"If-Match", "3"}, 400, ""},
		{"stale If-Match", "PUT", "/Goal/" + id, goalWithID(id, "active"), []string{"If-Match", `W/"7"`}, 412, ""},
		{"stale If-Match delete", "DELETE", "/Goal/" + id, "", []string{"If-Match", `W/"2"`}, 412, ""},
		{"empty body", "POST", "/Goal", "", []string{"Content-Type", "application/fhir+json"}, 400, ""},
		{"read unknown id", "GET", "/Goal/nosuch", "", nil, 404, ""},
		{"read bad id", "GET", "/Goal/a_b", "", nil, 400, ""},
		{"vread unknown version", "GET", "/Goal/" + id + "/_history/9", "", nil, 404, ""},
		{"vread bad version", "GET", "/Goal/" + id + "/_history/x", "", nil, 400, ""},
		{"history unknown id", "GET", "/Goal/nosuch/_history", "", nil, 404, ""},
		{"bad _count", "GET", "/Goal?_count=-1", "", nil, 400, ""},
		{"bad _since", "GET", "/Goal/_history?_since=yesterday", "", nil, 400, ""},
		{"bad cursor", "GET", "/Goal?_cursor=notatoken", "", nil, 400, ""},
		{"bad _lastUpdated", "GET", "/Goal?_lastUpdated=gt2024-13", "", nil, 400, ""},
		{"strict unknown param", "GET", "/Goal?colour=red", "", []string{"Prefer", "handling=strict"}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do(tt.method, tt.path, tt.body, tt.headers...)
			wantStatus(t, r, tt.status)
			if tt.expr != "" {
				is := issue(t, r)
				ex, _ := is["expression"].([]any)
				if len(ex) == 0 || ex[0] != tt.expr {
					t.Errorf("expression = %v, want %q (%s)", ex, tt.expr, r.body)
				}
			}
		})
	}
	e.t = t
	// Nothing was written by any of them: one Goal, one version.
	h := e.do("GET", "/_history", "")
	wantStatus(t, h, http.StatusOK)
	if n := len(entries(t, h)); n != 1 {
		t.Errorf("history has %d entries after bad requests, want 1: %s", n, h.body)
	}
}

func entries(t testing.TB, r response) []map[string]any {
	t.Helper()
	es, _ := r.json(t)["entry"].([]any)
	out := make([]map[string]any, len(es))
	for i, x := range es {
		out[i] = x.(map[string]any)
	}
	return out
}

func TestUpdateVersionsAndConditionalRead(t *testing.T) {
	e := newEnv(t)
	id := e.create(goalBody)
	r := e.do("PUT", "/Goal/"+id, goalWithID(id, "on-hold"), "If-Match", `W/"1"`)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("ETag") != `W/"2"` || r.Header.Get("Location") != e.base+"/Goal/"+id+"/_history/2" {
		t.Errorf("headers: ETag %q Location %q", r.Header.Get("ETag"), r.Header.Get("Location"))
	}
	r = e.do("PUT", "/Goal/"+id, goalWithID(id, "active"))
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("ETag") != `W/"3"` {
		t.Errorf("ETag = %q", r.Header.Get("ETag"))
	}
	// Every version is still readable as written.
	for v, status := range map[int]string{1: `"active"`, 2: `"on-hold"`, 3: `"active"`} {
		r := e.do("GET", fmt.Sprintf("/Goal/%s/_history/%d", id, v), "")
		wantStatus(t, r, http.StatusOK)
		m := r.json(t)
		if m["meta"].(map[string]any)["versionId"] != fmt.Sprint(v) || !strings.Contains(string(r.body), `"lifecycleStatus":`+status) {
			t.Errorf("version %d: %s", v, r.body)
		}
		if r.Header.Get("ETag") != fmt.Sprintf(`W/"%d"`, v) {
			t.Errorf("version %d ETag %q", v, r.Header.Get("ETag"))
		}
	}
	// Conditional reads.
	wantStatus(t, e.do("GET", "/Goal/"+id, "", "If-None-Match", `W/"3"`), http.StatusNotModified)
	wantStatus(t, e.do("GET", "/Goal/"+id, "", "If-None-Match", `W/"2"`), http.StatusOK)
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	wantStatus(t, e.do("GET", "/Goal/"+id, "", "If-Modified-Since", future), http.StatusNotModified)
	wantStatus(t, e.do("GET", "/Goal/"+id, "", "If-Modified-Since", past), http.StatusOK)
	// Negotiation that is accepted.
	for _, h := range [][]string{{"Accept", "application/fhir+json"}, {"Accept", "application/json"}, {"Accept", "*/*"}, {"Accept", "text/html, application/fhir+json;q=0.9"}} {
		wantStatus(t, e.do("GET", "/Goal/"+id, "", h...), http.StatusOK)
	}
	for _, f := range []string{"json", "application/fhir%2Bjson", "application/json"} {
		wantStatus(t, e.do("GET", "/Goal/"+id+"?_format="+f, ""), http.StatusOK)
	}
	// HEAD answers like GET without a body.
	h := e.do("HEAD", "/Goal/"+id, "")
	if h.StatusCode != http.StatusOK || len(h.body) != 0 || h.Header.Get("ETag") != `W/"3"` {
		t.Errorf("HEAD: %d %q %q", h.StatusCode, h.Header.Get("ETag"), h.body)
	}
}

func TestUpdateAsCreate(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", "/Goal/client-chosen.1", goalWithID("client-chosen.1", "active"))
	wantStatus(t, r, http.StatusCreated)
	if r.Header.Get("ETag") != `W/"1"` || r.Header.Get("Location") != e.base+"/Goal/client-chosen.1/_history/1" {
		t.Errorf("headers %v", r.Header)
	}
	wantStatus(t, e.do("GET", "/Goal/client-chosen.1", ""), http.StatusOK)
	// If-Match on a resource that does not exist cannot match.
	wantStatus(t, e.do("PUT", "/Goal/other", goalWithID("other", "active"), "If-Match", `W/"1"`), http.StatusPreconditionFailed)
	wantStatus(t, e.do("GET", "/Goal/other", ""), http.StatusNotFound)
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	id := e.create(goalBody)
	wantStatus(t, e.do("PUT", "/Goal/"+id, goalWithID(id, "completed")), http.StatusOK)
	r := e.do("DELETE", "/Goal/"+id, "", "If-Match", `W/"2"`)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("ETag") != `W/"3"` {
		t.Errorf("delete ETag = %q", r.Header.Get("ETag"))
	}
	g := e.do("GET", "/Goal/"+id, "")
	wantStatus(t, g, http.StatusGone)
	if g.Header.Get("ETag") != `W/"3"` {
		t.Errorf("410 ETag = %q", g.Header.Get("ETag"))
	}
	wantStatus(t, e.do("GET", "/Goal/"+id+"/_history/3", ""), http.StatusGone)
	wantStatus(t, e.do("GET", "/Goal/"+id+"/_history/2", ""), http.StatusOK)
	wantStatus(t, e.do("GET", "/Goal/"+id+"/_history/1", ""), http.StatusOK)
	// Deleting again, or deleting what never existed, succeeds and writes nothing.
	wantStatus(t, e.do("DELETE", "/Goal/"+id, ""), http.StatusOK)
	wantStatus(t, e.do("DELETE", "/Goal/never", ""), http.StatusOK)
	r = e.do("DELETE", "/Goal/never", "", "Prefer", "return=minimal")
	if r.StatusCode != http.StatusNoContent {
		t.Errorf("minimal delete: %d", r.StatusCode)
	}
	h := e.do("GET", "/Goal/"+id+"/_history", "")
	wantStatus(t, h, http.StatusOK)
	es := entries(t, h)
	if len(es) != 3 {
		t.Fatalf("history has %d entries, want 3", len(es))
	}
	del := es[0]
	if del["resource"] != nil || del["request"].(map[string]any)["method"] != "DELETE" {
		t.Errorf("tombstone entry %v", del)
	}
	// A deleted resource is not found by search but can be brought back.
	s := e.do("GET", "/Goal?_id="+id, "")
	if n := len(entries(t, s)); n != 0 {
		t.Errorf("search finds a deleted resource")
	}
	r = e.do("PUT", "/Goal/"+id, goalWithID(id, "active"))
	wantStatus(t, r, http.StatusCreated)
	if r.Header.Get("ETag") != `W/"4"` {
		t.Errorf("resurrection ETag = %q", r.Header.Get("ETag"))
	}
	h = e.do("GET", "/Goal/"+id+"/_history?_count=1", "")
	if st := entries(t, h)[0]["response"].(map[string]any)["status"]; st != "201 Created" {
		t.Errorf("resurrection's history status = %v", st)
	}
}

func TestHistory(t *testing.T) {
	e := newEnv(t)
	a := e.create(goalBody)
	for _, st := range []string{"on-hold", "active", "completed"} {
		wantStatus(t, e.do("PUT", "/Goal/"+a, goalWithID(a, st)), http.StatusOK)
	}
	b := e.create(goalBody)
	wantStatus(t, e.do("DELETE", "/Goal/"+b, ""), http.StatusOK)
	p := e.do("POST", "/Patient", `{"resourceType":"Patient","active":true}`)
	wantStatus(t, p, http.StatusCreated)

	// Instance: newest first, with request and response.
	h := e.do("GET", "/Goal/"+a+"/_history", "")
	wantStatus(t, h, http.StatusOK)
	es := entries(t, h)
	if len(es) != 4 {
		t.Fatalf("instance history: %d entries", len(es))
	}
	for i, en := range es {
		v := 4 - i
		res := en["response"].(map[string]any)
		if res["etag"] != fmt.Sprintf(`W/"%d"`, v) {
			t.Errorf("entry %d etag %v", i, res["etag"])
		}
		req := en["request"].(map[string]any)
		wantMethod, wantURL, wantStatus := "PUT", "Goal/"+a, "200 OK"
		if v == 1 {
			wantMethod, wantURL, wantStatus = "POST", "Goal", "201 Created"
		}
		if req["method"] != wantMethod || req["url"] != wantURL || res["status"] != wantStatus {
			t.Errorf("entry %d: request %v response %v", i, req, res)
		}
		if en["fullUrl"] != e.base+"/Goal/"+a {
			t.Errorf("fullUrl %v", en["fullUrl"])
		}
	}
	if m := h.json(t); m["type"] != "history" {
		t.Errorf("type %v", m["type"])
	}
	// Type and system history see everything, newest first.
	if n := len(entries(t, e.do("GET", "/Goal/_history", ""))); n != 6 {
		t.Errorf("type history: %d entries, want 6", n)
	}
	sys := entries(t, e.do("GET", "/_history", ""))
	if len(sys) != 7 {
		t.Fatalf("system history: %d entries, want 7", len(sys))
	}
	if sys[0]["request"].(map[string]any)["url"] != "Patient" {
		t.Errorf("system history does not start with the newest write: %v", sys[0])
	}
	// Paging with _count walks every entry exactly once, in order.
	for _, path := range []string{"/_history?_count=2", "/Goal/_history?_count=1", "/Goal/" + a + "/_history?_count=3"} {
		full := entries(t, e.do("GET", strings.Split(path, "?")[0], ""))
		var walked []map[string]any
		next := path
		for pages := 0; next != ""; pages++ {
			if pages > 20 {
				t.Fatalf("%s: too many pages", path)
			}
			r := e.do("GET", next, "")
			wantStatus(t, r, http.StatusOK)
			walked = append(walked, entries(t, r)...)
			next = link(t, r, "next")
		}
		if len(walked) != len(full) {
			t.Fatalf("%s: paged %d entries, unpaged %d", path, len(walked), len(full))
		}
		for i := range full {
			if fmt.Sprint(walked[i]["response"]) != fmt.Sprint(full[i]["response"]) || walked[i]["fullUrl"] != full[i]["fullUrl"] {
				t.Errorf("%s: entry %d differs", path, i)
			}
		}
	}
	// _since is inclusive and excludes older versions.
	v3 := e.do("GET", "/Goal/"+a+"/_history/3", "").json(t)
	since := v3["meta"].(map[string]any)["lastUpdated"].(string)
	if n := len(entries(t, e.do("GET", "/Goal/"+a+"/_history?_since="+since, ""))); n != 2 {
		t.Errorf("_since=%s: %d entries, want 2", since, n)
	}
}

// link returns a Bundle link's URL, "" if absent.
func link(t testing.TB, r response, rel string) string {
	t.Helper()
	ls, _ := r.json(t)["link"].([]any)
	for _, l := range ls {
		m := l.(map[string]any)
		if m["relation"] == rel {
			return m["url"].(string)
		}
	}
	return ""
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, e.create(goalBody))
	}
	all := e.do("GET", "/Goal", "")
	wantStatus(t, all, http.StatusOK)
	m := all.json(t)
	if m["type"] != "searchset" || fmt.Sprint(m["total"]) != "5" || len(entries(t, all)) != 5 {
		t.Fatalf("search all: %s", all.body)
	}
	for _, en := range entries(t, all) {
		if en["search"].(map[string]any)["mode"] != "match" || !strings.HasPrefix(en["fullUrl"].(string), e.base+"/Goal/") {
			t.Errorf("entry %v", en)
		}
	}
	r := e.do("GET", "/Goal?_id="+ids[0]+","+ids[2], "")
	if n := len(entries(t, r)); n != 2 {
		t.Errorf("_id OR: %d", n)
	}
	r = e.do("GET", "/Goal?_id="+ids[0]+","+ids[2]+"&_id="+ids[2], "")
	if n := len(entries(t, r)); n != 1 {
		t.Errorf("_id AND: %d", n)
	}
	r = e.do("GET", "/Goal?_lastUpdated=gt2000-01-01&_lastUpdated=lt2999", "")
	if n := len(entries(t, r)); n != 5 {
		t.Errorf("_lastUpdated range: %d", n)
	}
	r = e.do("GET", "/Goal?_lastUpdated=lt2000", "")
	if n := len(entries(t, r)); n != 0 {
		t.Errorf("_lastUpdated=lt2000: %d", n)
	}
	// An unknown parameter is ignored and reported.
	r = e.do("GET", "/Goal?colour=red", "")
	es := entries(t, r)
	if len(es) != 6 || es[5]["search"].(map[string]any)["mode"] != "outcome" {
		t.Errorf("unknown parameter: %s", r.body)
	}
	// Paging by _count walks every match once.
	seen := map[string]int{}
	next := "/Goal?_count=2"
	for next != "" {
		r := e.do("GET", next, "")
		wantStatus(t, r, http.StatusOK)
		for _, en := range entries(t, r) {
			seen[en["resource"].(map[string]any)["id"].(string)]++
		}
		next = link(t, r, "next")
	}
	if len(seen) != 5 {
		t.Errorf("paged search saw %d resources: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
	r = e.do("GET", "/Goal?_count=0", "")
	if m := r.json(t); fmt.Sprint(m["total"]) != "5" || m["entry"] != nil {
		t.Errorf("_count=0: %s", r.body)
	}
}

func TestMetadataAndHealth(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/metadata", "")
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["resourceType"] != "CapabilityStatement" || m["fhirVersion"] != "4.0.1" {
		t.Fatalf("metadata: %s", r.body)
	}
	rest := m["rest"].([]any)[0].(map[string]any)
	var types []string
	for _, x := range rest["resource"].([]any) {
		types = append(types, x.(map[string]any)["type"].(string))
	}
	if got := strings.Join(types, ","); got != "CarePlan,CareTeam,CodeSystem,Goal,Observation,Organization,Patient,Practitioner,"+
		"Questionnaire,QuestionnaireResponse,RelatedPerson,StructureDefinition,ValueSet,AuditEvent" {
		t.Errorf("types %s", got)
	}
	sec, _ := rest["security"].(map[string]any)
	if svc := fmt.Sprint(sec["service"]); !strings.Contains(svc, "SMART-on-FHIR") {
		t.Errorf("rest.security: %v", sec)
	}
	// Probes, metadata and discovery need no token.
	for _, p := range []string{"/healthz", "/readyz", "/fhir/metadata", "/fhir/.well-known/smart-configuration"} {
		r := e.do("GET", e.srv.URL+p, "", "Authorization", "")
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
}
