package api_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/matcare/matcare/fhir/search"
)

// TestSearchNever5xx sends every parameter of every searchable type with
// every modifier R4 defines and values of every kind (well-formed for
// some kind, malformed, empty, hostile; each value meets many parameters)
// through the HTTP search, also chained, included and as sort keys: each
// answer is 200 or a 4xx, never a 5xx.
func TestSearchNever5xx(t *testing.T) {
	e := newEnv(t)
	for _, b := range []string{
		goalFor("g1", "p1"),
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Ó Súilleabháin"}],"birthDate":"1980"}`,
		`{"resourceType":"CarePlan","id":"c1","status":"active","intent":"plan","subject":{"reference":"Patient/p1"},"goal":[{"reference":"Goal/g1"}]}`,
	} {
		var head struct{ ResourceType, ID string }
		mustUnmarshal(t, b, &head)
		e.do("PUT", "/"+head.ResourceType+"/"+head.ID, b)
	}
	auditor := e.as(fullScope+" matcare:audit", boardA)
	values := []string{"", "x", "ge2024", "eq2024-01-01T10:00:00+01:00", "ap5", "5||mg", "5|http://unitsofmeasure.org|mg",
		"http://x|y", "|y", "x|", "Patient/p1", "p1", "http://other.example/fhir/Patient/p1", "true", "a$b",
		"a,b,,c", `\,\|\$\\`, "ne1e400", "gt-0.000", "sa9999-12-31T23:59:59.999Z", ".*", "^(a+)+$", "{\"$gt\":\"\"}",
		"%00", "\u00e9\u0301", "lt", "Group/x/_history/2", "urn:uuid:1"}
	mods := []string{"", ":missing", ":exact", ":contains", ":text", ":not", ":above", ":below", ":in", ":not-in",
		":of-type", ":identifier", ":Patient", ":Goal", ":bogus"}
	n := 0
	perParam := 6 // values per parameter without a modifier
	modStep := 1  // every modifier on every parameter
	if testing.Short() || raceEnabled {
		// Under the race detector a quarter of the modifiers per parameter,
		// rotating, so that each modifier still meets every kind; CI runs
		// the full size without it (.ci/run).
		perParam, modStep = 2, 4
	}
	pi := 0
	check := func(env *env, path string) {
		t.Helper()
		n++
		if r := env.do("GET", path, ""); r.StatusCode >= 500 {
			t.Errorf("GET %s: %d %s", path, r.StatusCode, r.body)
		}
	}
	for _, typ := range search.Types() {
		env := e
		if typ == "AuditEvent" {
			env = auditor
		}
		for _, p := range search.Params(typ) {
			// Every value without a modifier and every modifier with one
			// value, rotating through the values from parameter to parameter.
			for j := range perParam {
				check(env, "/"+typ+"?"+url.QueryEscape(p.Name)+"="+url.QueryEscape(values[(n+j)%len(values)]))
			}
			pi++
			for i, m := range mods {
				if (i+pi)%modStep != 0 {
					continue
				}
				check(env, "/"+typ+"?"+url.QueryEscape(p.Name+m)+"="+url.QueryEscape(values[(n+i)%len(values)]))
			}
			check(env, "/"+typ+"?_sort=-"+url.QueryEscape(p.Name)+"&_count=1")
			if p.Kind == search.Reference {
				check(env, "/"+typ+"?"+url.QueryEscape(p.Name+".name")+"=x")
				check(env, "/"+typ+"?"+url.QueryEscape(p.Name+":Patient._has:Goal:patient:lifecycle-status")+"=active")
				check(env, "/"+typ+"?_include="+url.QueryEscape(typ+":"+p.Name)+"&_revinclude:iterate="+url.QueryEscape(typ+":"+p.Name))
			}
		}
	}
	for _, q := range []string{"_count=-1", "_count=99999999999999999999", "_sort=", "_sort=-", "_total=maybe",
		"_summary=count&_count=5", "_elements=", "_include=*:*", "_include:iterate=*", "_type=Nope", "_cursor=" + url.QueryEscape("eyJ9"),
		"_has:Goal:patient:_has:CarePlan:goal:_has:Goal:patient:_has:Goal:patient:_id=x"} {
		check(e, "/Goal?"+q)
		check(e, "?"+q)
	}
	t.Logf("%d searches, none answered 5xx", n)
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatal(err)
	}
}
