package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/api"
)

// modeIDs returns the ids ("Type/id") of a searchset's entries of one
// search mode.
func modeIDs(t *testing.T, b map[string]any, mode string) []string {
	t.Helper()
	var out []string
	for _, x := range asSlice(b["entry"]) {
		en := x.(map[string]any)
		s, _ := en["search"].(map[string]any)
		if s["mode"] != mode {
			continue
		}
		res := en["resource"].(map[string]any)
		ref := res["resourceType"].(string) + "/" + res["id"].(string)
		if mode != "outcome" && en["fullUrl"] != strings.TrimSuffix(testBase(t, b), "/")+"/"+ref {
			t.Errorf("entry %s: fullUrl %v", ref, en["fullUrl"])
		}
		out = append(out, ref)
	}
	slices.Sort(out)
	return out
}

// testBase is the base URL the bundle's self link starts with.
func testBase(t *testing.T, b map[string]any) string {
	for _, l := range asSlice(b["link"]) {
		if lm := l.(map[string]any); lm["relation"] == "self" {
			u := lm["url"].(string)
			return u[:strings.Index(u, "/fhir")+len("/fhir")] + "/"
		}
	}
	t.Fatal("no self link")
	return ""
}

func linkURL(b map[string]any, rel string) string {
	for _, l := range asSlice(b["link"]) {
		if lm := l.(map[string]any); lm["relation"] == rel {
			return lm["url"].(string)
		}
	}
	return ""
}

// TestSearchHTTP covers what the search route adds to the engine: the
// Bundle (modes, fullUrl, links, total), includes, _summary and
// _elements, unknown and malformed parameters, strict handling, system
// and AuditEvent search.
func TestSearchHTTP(t *testing.T) {
	e := newEnv(t)
	put := func(path, body string) {
		t.Helper()
		wantStatus(t, e.do("PUT", path, body), http.StatusCreated)
	}
	put("/Patient/p1", `{"resourceType":"Patient","id":"p1","name":[{"family":"Müller","given":["Anna"]}],"gender":"female","birthDate":"1980-05-01","maritalStatus":{"text":"single"}}`)
	put("/Patient/p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Muir"}],"gender":"male"}`)
	put("/Goal/g1", goalFor("g1", "p1"))
	put("/Goal/g2", goalFor("g2", "p1"))
	put("/Goal/g3", strings.Replace(goalFor("g3", "p2"), `"active"`, `"completed"`, 1))
	put("/CarePlan/cp1", `{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","subject":{"reference":"Patient/p1"},"goal":[{"reference":"Goal/g1"},{"reference":"Goal/g2"}]}`)

	t.Run("match and include", func(t *testing.T) {
		r := e.do("GET", "/CarePlan?patient=p1&_include=CarePlan:goal&_include=CarePlan:subject", "")
		wantStatus(t, r, http.StatusOK)
		b := r.json(t)
		if got := modeIDs(t, b, "match"); !slices.Equal(got, []string{"CarePlan/cp1"}) {
			t.Errorf("matches %v", got)
		}
		if got := modeIDs(t, b, "include"); !slices.Equal(got, []string{"Goal/g1", "Goal/g2", "Patient/p1"}) {
			t.Errorf("includes %v", got)
		}
		if fmt.Sprint(b["total"]) != "1" {
			t.Errorf("total %v", b["total"])
		}
		rev := e.do("GET", "/Goal?_id=g1,g3&_revinclude=CarePlan:goal", "").json(t)
		if got := modeIDs(t, rev, "include"); !slices.Equal(got, []string{"CarePlan/cp1"}) {
			t.Errorf("revinclude %v", got)
		}
		iter := e.do("GET", "/CarePlan?_id=cp1&_include=CarePlan:goal&_include:iterate=Goal:subject", "").json(t)
		if got := modeIDs(t, iter, "include"); !slices.Equal(got, []string{"Goal/g1", "Goal/g2", "Patient/p1"}) {
			t.Errorf("_include:iterate %v", got)
		}
		star := e.do("GET", "/CarePlan?_id=cp1&_include=*", "").json(t)
		if got := modeIDs(t, star, "include"); !slices.Equal(got, []string{"Goal/g1", "Goal/g2", "Patient/p1"}) {
			t.Errorf("_include=* %v", got)
		}
	})
	t.Run("chains", func(t *testing.T) {
		for q, want := range map[string][]string{
			"/Goal?subject:Patient.name=muller":                  {"Goal/g1", "Goal/g2"},
			"/Goal?patient.gender=male":                          {"Goal/g3"},
			"/CarePlan?goal.lifecycle-status=active":             {"CarePlan/cp1"},
			"/CarePlan?goal.lifecycle-status=completed":          nil,
			"/Patient?_has:Goal:patient:lifecycle-status=active": {"Patient/p1"},
			"/Patient?_has:CarePlan:subject:goal=Goal/g2":        {"Patient/p1"},
		} {
			if got := modeIDs(t, e.do("GET", q, "").json(t), "match"); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", q, got, want)
			}
		}
	})
	t.Run("total and summary", func(t *testing.T) {
		b := e.do("GET", "/Goal?_count=1&_total=accurate", "").json(t)
		if fmt.Sprint(b["total"]) != "3" || len(asSlice(b["entry"])) != 1 || linkURL(b, "next") == "" || linkURL(b, "first") == "" {
			t.Errorf("_count=1&_total=accurate: total %v, %d entries, links %v", b["total"], len(asSlice(b["entry"])), b["link"])
		}
		if b := e.do("GET", "/Goal?_count=1", "").json(t); b["total"] != nil {
			t.Errorf("a paged search without _total has total %v", b["total"])
		}
		if b := e.do("GET", "/Goal?_total=none", "").json(t); b["total"] != nil {
			t.Errorf("_total=none: total %v", b["total"])
		}
		c := e.do("GET", "/Goal?_summary=count&lifecycle-status=active", "").json(t)
		if fmt.Sprint(c["total"]) != "2" || len(asSlice(c["entry"])) != 0 {
			t.Errorf("_summary=count: %v", c)
		}
		el := e.do("GET", "/Patient?_id=p1&_elements=gender", "").json(t)
		res := asSlice(el["entry"])[0].(map[string]any)["resource"].(map[string]any)
		if res["gender"] != "female" || res["name"] != nil || !strings.Contains(fmtJSON(res["meta"]), "SUBSETTED") {
			t.Errorf("_elements=gender: %v", res)
		}
		sum := e.do("GET", "/Patient?_id=p1&_summary=true", "").json(t)
		res = asSlice(sum["entry"])[0].(map[string]any)["resource"].(map[string]any)
		if res["name"] == nil || res["maritalStatus"] != nil || !strings.Contains(fmtJSON(res["meta"]), "SUBSETTED") {
			t.Errorf("_summary=true: %v", res)
		}
	})
	t.Run("unknown and malformed parameters", func(t *testing.T) {
		b := e.do("GET", "/Goal?colour=blue&lifecycle-status=active", "").json(t)
		if got := modeIDs(t, b, "match"); len(got) != 2 {
			t.Errorf("matches %v", got)
		}
		var outcome string
		for _, x := range asSlice(b["entry"]) {
			if en := x.(map[string]any); en["search"].(map[string]any)["mode"] == "outcome" {
				outcome = fmtJSON(en["resource"])
			}
		}
		if !strings.Contains(outcome, "colour") {
			t.Errorf("no outcome entry naming colour: %v", b["entry"])
		}
		strict := e.do("GET", "/Goal?colour=blue", "", "Prefer", "handling=strict")
		wantStatus(t, strict, http.StatusBadRequest)
		if !strings.Contains(string(strict.body), "colour") {
			t.Errorf("strict: %s", strict.body)
		}
		for _, q := range []string{"target-date=2024-13-45", "_count=x", "lifecycle-status:bogus=1", "subject=a/b/c/d", "_sort=description,xx,-", "_cursor=abc"} {
			r := e.do("GET", "/Goal?"+q, "")
			wantStatus(t, r, http.StatusBadRequest)
			name, _, _ := strings.Cut(q, "=")
			name, _, _ = strings.Cut(name, ":")
			if !strings.Contains(string(r.body), name) {
				t.Errorf("%s: the outcome does not name %s: %s", q, name, r.body)
			}
		}
	})
	t.Run("malformed query string", func(t *testing.T) {
		wantStatus(t, e.do("GET", "/Goal?_id=%%%", ""), http.StatusBadRequest)
	})
	t.Run("system search", func(t *testing.T) {
		b := e.do("GET", "?_type=Goal,Patient&_id=g1,p2,cp1", "").json(t)
		if got := modeIDs(t, b, "match"); !slices.Equal(got, []string{"Goal/g1", "Patient/p2"}) {
			t.Errorf("system search: %v", got)
		}
		chained := e.do("GET", "?_type=Goal,CarePlan&patient.name=muller", "").json(t)
		if got := modeIDs(t, chained, "match"); !slices.Equal(got, []string{"CarePlan/cp1", "Goal/g1", "Goal/g2"}) {
			t.Errorf("system search with a chain: %v", got)
		}
		var all []string
		for path := "?_count=2&_lastUpdated=gt2000"; path != ""; {
			b := e.do("GET", path, "").json(t)
			all = append(all, modeIDs(t, b, "match")...)
			path = linkURL(b, "next")
		}
		if slices.Sort(all); len(slices.Compact(all)) != 6 || len(all) != 6 {
			t.Errorf("system search paged: %v", all)
		}
	})
	t.Run("AuditEvent search", func(t *testing.T) {
		auditor := e.as(fullScope+" "+api.DefaultAuditorScope, boardA)
		e.do("GET", "/Goal/g2", "")
		b := auditor.do("GET", "/AuditEvent?entity=Goal/g2&subtype=read", "").json(t)
		got := modeIDs(t, b, "match")
		if len(got) != 1 {
			t.Fatalf("AuditEvent?entity=Goal/g2&subtype=read: %v", got)
		}
		for q, min := range map[string]int{"date=ge2020": 10, "outcome=0": 10, "type=rest": 10, "action=U": 6, "subtype=search-type": 5} {
			b := auditor.do("GET", "/AuditEvent?_count=1000&"+q, "").json(t)
			if n := len(modeIDs(t, b, "match")); n < min {
				t.Errorf("AuditEvent?%s: %d matches, want at least %d", q, n, min)
			}
		}
		other := e.as(fullScope+" "+api.DefaultAuditorScope, boardB).do("GET", "/AuditEvent?entity="+url.QueryEscape("Goal/g2"), "").json(t)
		if got := modeIDs(t, other, "match"); len(got) != 0 {
			t.Errorf("board B's auditor sees board A's audit trail: %v", got)
		}
		wantStatus(t, e.do("GET", "/AuditEvent?date=ge2020", ""), http.StatusForbidden)
	})
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
