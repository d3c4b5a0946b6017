package search

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// queryTestParams is a small table of our own, independent of params.go.
var queryTestParams = map[string][]Param{
	"Resource": {
		{Name: "_id", Kind: Token, Type: "Resource"},
		{Name: "_lastUpdated", Kind: Date, Type: "Resource"},
	},
	"Goal": {
		{Name: "lifecycle-status", Kind: Token, Type: "Goal"},
		{Name: "patient", Kind: Reference, Type: "Goal", Targets: []string{"Patient"}},
		{Name: "subject", Kind: Reference, Type: "Goal", Targets: []string{"Patient", "Group", "Organization"}},
		{Name: "target-date", Kind: Date, Type: "Goal"},
		{Name: "identifier", Kind: Token, Type: "Goal"},
	},
	"Patient": {
		{Name: "name", Kind: String, Type: "Patient"},
		{Name: "identifier", Kind: Token, Type: "Patient"},
		{Name: "birthdate", Kind: Date, Type: "Patient"},
		{Name: "organization", Kind: Reference, Type: "Patient", Targets: []string{"Organization"}},
		{Name: "link", Kind: Reference, Type: "Patient"},
	},
	"Organization": {
		{Name: "name", Kind: String, Type: "Organization"},
		{Name: "partof", Kind: Reference, Type: "Organization", Targets: []string{"Organization"}},
	},
	"Observation": {
		{Name: "code", Kind: Token, Type: "Observation"},
		{Name: "patient", Kind: Reference, Type: "Observation", Targets: []string{"Patient"}},
		{Name: "value-quantity", Kind: Quantity, Type: "Observation"},
		{Name: "probability", Kind: Number, Type: "Observation"},
		{Name: "code-value-quantity", Kind: Composite, Type: "Observation", Components: []string{"code", "value-quantity"}},
		{Name: "near", Kind: Special, Type: "Observation"},
	},
	"ValueSet": {
		{Name: "url", Kind: URI, Type: "ValueSet"},
	},
}

func queryTestLookup(typ, name string) (Param, bool) {
	for _, t := range []string{typ, "Resource"} {
		if _, served := queryTestParams[typ]; !served && typ != "Resource" {
			return Param{}, false
		}
		for _, p := range queryTestParams[t] {
			if p.Name == name {
				return p, true
			}
		}
	}
	return Param{}, false
}

func tp(typ, name string) Param {
	p, ok := queryTestLookup(typ, name)
	if !ok {
		panic("test table lacks " + typ + "." + name)
	}
	return p
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("url.ParseQuery(%q): %v", raw, err)
	}
	return v
}

func mustParse(t *testing.T, typ, raw string) (*Query, []fhir.Issue) {
	t.Helper()
	q, issues, err := ParseQuery(typ, mustQuery(t, raw), queryTestLookup)
	if err != nil {
		t.Fatalf("ParseQuery(%s?%s): %v", typ, raw, err)
	}
	return q, issues
}

func TestParseQueryControl(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		raw  string
		want Query
	}{
		{"empty", "Goal", "", Query{Type: "Goal", Count: DefaultCount}},
		{"count", "Goal", "_count=5", Query{Type: "Goal", Count: 5}},
		{"count zero", "Goal", "_count=0", Query{Type: "Goal", Count: 0}},
		{"count clamped", "Goal", "_count=5000", Query{Type: "Goal", Count: MaxCount}},
		{"total", "Goal", "_total=accurate", Query{Type: "Goal", Count: DefaultCount, Total: TotalAccurate}},
		{"total none", "Goal", "_total=none", Query{Type: "Goal", Count: DefaultCount, Total: TotalNone}},
		{"summary count", "Goal", "_summary=count&_count=7", Query{Type: "Goal", Count: 0, Summary: SummaryCount}},
		{"summary data", "Goal", "_summary=data", Query{Type: "Goal", Count: DefaultCount, Summary: SummaryData}},
		{"elements", "Goal", "_elements=id,lifecycleStatus,target,id", Query{Type: "Goal", Count: DefaultCount, Elements: []string{"id", "lifecycleStatus", "target"}}},
		{"elements typed", "", "_elements=Goal.subject", Query{Count: DefaultCount, Elements: []string{"Goal.subject"}}},
		{"cursor", "Goal", "_cursor=abc%3D%3D", Query{Type: "Goal", Count: DefaultCount, Cursor: "abc=="}},
		{"format and pretty ignored", "Goal", "_format=json&_pretty=true", Query{Type: "Goal", Count: DefaultCount}},
		{"empty values ignored", "Goal", "_sort=&_elements=&_total=&_summary=&lifecycle-status=&_id=,&=x", Query{Type: "Goal", Count: DefaultCount}},
		{"sort", "Goal", "_sort=-target-date,_id", Query{Type: "Goal", Count: DefaultCount, Sort: []SortKey{
			{Param: tp("Goal", "target-date"), Desc: true}, {Param: tp("Goal", "_id")}}}},
		{"type", "", "_type=Goal,Patient&_type=Goal", Query{Count: DefaultCount, Types: []string{"Goal", "Patient"}}},
		{"include", "Goal", "_include=Goal:subject:Patient&_include=Goal:patient&_include:iterate=Patient:organization&_include=*", Query{Type: "Goal", Count: DefaultCount, Include: []Include{
			{Source: "Goal", Param: tp("Goal", "subject"), Target: "Patient"},
			{Source: "Goal", Param: tp("Goal", "patient")},
			{Source: "*", Wildcard: true},
			{Source: "Patient", Param: tp("Patient", "organization"), Iterate: true},
		}}},
		{"include type wildcard", "Goal", "_include=Goal:*", Query{Type: "Goal", Count: DefaultCount, Include: []Include{{Source: "Goal", Wildcard: true}}}},
		{"revinclude", "Patient", "_revinclude=Goal:patient&_revinclude:recurse=Observation:patient", Query{Type: "Patient", Count: DefaultCount, RevInclude: []Include{
			{Source: "Goal", Param: tp("Goal", "patient")},
			{Source: "Observation", Param: tp("Observation", "patient"), Iterate: true},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, issues := mustParse(t, tt.typ, tt.raw)
			if len(issues) > 0 {
				t.Errorf("issues: %v", issues)
			}
			if diff := cmp.Diff(&tt.want, q); diff != "" {
				t.Errorf("ParseQuery(%s?%s) (-want +got):\n%s", tt.typ, tt.raw, diff)
			}
		})
	}
}

// TestParseQueryErrors: every malformed request is a 400 *fhir.Error whose
// issues name the parameter in diagnostics and expression.
func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		typ, raw, tp string
	}{
		{"Goal", "_count=-1", "_count"},
		{"Goal", "_count=ten", "_count"},
		{"Goal", "_count=1&_count=2", "_count"},
		{"Goal", "_count:exact=1", "_count:exact"},
		{"Goal", "_total=some", "_total"},
		{"Goal", "_summary=yes", "_summary"},
		{"Goal", "_elements=Bad..name", "_elements"},
		{"Goal", "_sort=-", "_sort"},
		{"Observation", "_sort=code-value-quantity", "_sort"},
		{"", "_type=goal", "_type"},
		{"Goal", "_include=Goal", "_include"},
		{"Goal", "_include=Goal:lifecycle-status", "_include"},
		{"Goal", "_include=Goal:subject:Practitioner", "_include"},
		{"Goal", "_include:deep=Goal:subject", "_include:deep"},
		{"Goal", "_revinclude=goal:patient", "_revinclude"},
		// modifiers
		{"Patient", "name:below=x", "name:below"},
		{"Patient", "name:fuzzy=x", "name:fuzzy"},
		{"Goal", "lifecycle-status:in=http://vs", "lifecycle-status:in"},
		{"Goal", "lifecycle-status:not-in=http://vs", "lifecycle-status:not-in"},
		{"Goal", "lifecycle-status:exact=active", "lifecycle-status:exact"},
		{"Goal", "target-date:exact=2024", "target-date:exact"},
		{"Observation", "probability:contains=1", "probability:contains"},
		{"Observation", "value-quantity:not=1", "value-quantity:not"},
		{"Goal", "subject:above=Patient/1", "subject:above"},
		{"Goal", "subject:Practitioner=1", "subject:Practitioner"},
		{"ValueSet", "url:contains=x", "url:contains"},
		{"Goal", "lifecycle-status:missing=maybe", "lifecycle-status:missing"},
		{"Goal", "lifecycle-status:missing=", "lifecycle-status:missing"},
		// values
		{"Goal", "target-date=2024-13", "target-date"},
		{"Goal", "target-date=xx2024", "target-date"},
		{"Goal", "target-date=ap", "target-date"},
		{"Goal", "_lastUpdated=gt2024-02-30", "_lastUpdated"},
		{"Observation", "probability=1,2,abc", "probability"},
		{"Observation", "probability=1e1234", "probability"},
		{"Observation", "probability=.5", "probability"},
		{"Observation", "probability=1e400", "probability"},
		{"Observation", "probability=-9e308", "probability"},
		{"", "_type:not=Goal", "_type:not"},
		{"Goal", "_sort=-", "_sort"},
		{"Observation", "value-quantity=5|mg", "value-quantity"},
		{"Observation", "value-quantity=5|http://unitsofmeasure.org|", "value-quantity"},
		{"Observation", "value-quantity=five||mg", "value-quantity"},
		{"Goal", "lifecycle-status=a|b|c", "lifecycle-status"},
		{"Goal", "lifecycle-status=|", "lifecycle-status"},
		{"Goal", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR", "identifier:of-type"},
		{"Goal", "subject=Patient/1/2", "subject"},
		{"Goal", "subject=Practitioner/1", "subject"},
		{"Goal", "subject=patient/1", "subject"},
		{"Goal", "subject=a_b", "subject"},
		{"Goal", "subject:Patient=Group/1", "subject:Patient"},
		{"Observation", "code-value-quantity=http://loinc.org|1234-5", "code-value-quantity"},
		{"Observation", "code-value-quantity=1234-5$gt5|x", "code-value-quantity"},
		// chains
		{"Goal", "subject.name=peter", "subject.name"},
		{"Goal", "subject:Practitioner.name=peter", "subject:Practitioner.name"},
		{"Goal", "subject:exact.name=peter", "subject:exact.name"},
		{"Goal", "lifecycle-status.name=x", "lifecycle-status.name"},
		{"Patient", "link.name=x", "link.name"},
		{"Patient", "_has:Goal:lifecycle-status:patient=x", "_has:Goal:lifecycle-status:patient"},
		{"Patient", "_has:Goal:patient=x", "_has:Goal:patient"},
		{"Organization", "_has:Goal:patient:lifecycle-status=active", "_has:Goal:patient:lifecycle-status"},
		{"", "_has:Goal:patient:lifecycle-status=active", "_has:Goal:patient:lifecycle-status"},
		{"Organization", "partof.partof.partof.partof.partof.name=x", "partof.partof.partof.partof.partof.name"},
		{"Patient", "organization:Organization.name:fuzzy=x", "organization:Organization.name:fuzzy"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.raw, func(t *testing.T) {
			q, _, err := ParseQuery(tt.typ, mustQuery(t, tt.raw), queryTestLookup)
			if err == nil {
				t.Fatalf("ParseQuery(%s?%s) = %+v, want a 400", tt.typ, tt.raw, q)
			}
			checkBadRequest(t, err, tt.tp)
		})
	}
}

// checkBadRequest asserts err is a 400 *fhir.Error naming param.
func checkBadRequest(t *testing.T, err error, tp string) {
	t.Helper()
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *fhir.Error", err, err)
	}
	if fe.HTTPStatus() != 400 {
		t.Errorf("status %d, want 400 (%v)", fe.HTTPStatus(), err)
	}
	if len(fe.Issues) == 0 {
		t.Fatalf("no issues in %v", err)
	}
	for _, is := range fe.Issues {
		if !strings.Contains(is.Diagnostics, tp) {
			t.Errorf("diagnostics %q do not name %s", is.Diagnostics, tp)
		}
		if len(is.Expression) != 1 || is.Expression[0] != tp {
			t.Errorf("expression %v, want [%s]", is.Expression, tp)
		}
	}
}

func TestParseQueryIssues(t *testing.T) {
	tests := []struct {
		typ, raw string
		want     []string // parameters named by the warnings, in order
	}{
		{"Goal", "_id=1", nil},
		{"Goal", "foo=1&_text=x&lifecycle-status=active", []string{"_text", "foo"}},
		{"Goal", "subject:Patient.nickname=x", []string{"subject:Patient.nickname"}},
		{"Patient", "_has:Condition:patient:code=x", []string{"_has:Condition:patient:code"}},
		{"Patient", "_has:Goal:patient:colour=red", []string{"_has:Goal:patient:colour"}},
		{"Goal", "_sort=colour,-_lastUpdated", []string{"_sort"}},
		{"Goal", "_include=Goal:colour", []string{"_include"}},
		{"Goal", "_type=Patient", []string{"_type"}},
		{"Goal", "_include=Patient:organization&_revinclude=Observation:patient", []string{"_include", "_revinclude"}},
		{"", "_type=Goal,Patient&lifecycle-status=active", []string{"lifecycle-status"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.raw, func(t *testing.T) {
			_, issues := mustParse(t, tt.typ, tt.raw)
			var got []string
			for _, is := range issues {
				if is.Severity != r4.IssueSeverityWarning {
					t.Errorf("severity %q, want warning", is.Severity)
				}
				if len(is.Expression) != 1 || !strings.Contains(is.Diagnostics, is.Expression[0]) {
					t.Errorf("issue %+v does not name its parameter", is)
				}
				got = append(got, is.Expression...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if err := IssuesError(issues); (err != nil) != (len(tt.want) > 0) {
				t.Errorf("IssuesError = %v", err)
			} else if err != nil {
				if err.HTTPStatus() != 400 || len(err.Issues) != len(tt.want) {
					t.Errorf("IssuesError = %d with %d issues, want 400 with %d", err.HTTPStatus(), len(err.Issues), len(tt.want))
				}
				for i, is := range err.Issues {
					if is.Severity != r4.IssueSeverityError || !strings.Contains(is.Diagnostics, tt.want[i]) {
						t.Errorf("strict issue %+v, want an error naming %s", is, tt.want[i])
					}
				}
			}
		})
	}
	if IssuesError(nil) != nil {
		t.Error("IssuesError(nil) != nil")
	}
}

func TestParseQueryAndOr(t *testing.T) {
	q, _ := mustParse(t, "Goal", `lifecycle-status=active,on-hold&lifecycle-status=active&identifier=a\,b,c&lifecycle-status=`)
	var got [][]string
	for _, c := range q.Clauses {
		var vs []string
		for _, v := range c.Values {
			vs = append(vs, c.Key+"="+v.Token.Code)
		}
		got = append(got, vs)
	}
	want := [][]string{
		{"identifier=a,b", "identifier=c"},
		{"lifecycle-status=active", "lifecycle-status=on-hold"},
		{"lifecycle-status=active"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clauses (-want +got):\n%s", diff)
	}
}

func TestParseQueryNoValues(t *testing.T) {
	q, issues, err := ParseQuery("Goal", url.Values{"_sort": nil, "_count": {}, "lifecycle-status": nil}, nil)
	if err != nil || len(issues) > 0 || len(q.Clauses) > 0 || q.Count != DefaultCount {
		t.Errorf("got %+v, %v, %v", q, issues, err)
	}
}

func TestParseQuerySystem(t *testing.T) {
	q, issues := mustParse(t, "", "_type=Goal&lifecycle-status=active&_lastUpdated=gt2024")
	if len(issues) > 0 || len(q.Clauses) != 2 || q.Clauses[1].On != "Goal" {
		t.Errorf("got %+v, %v", q, issues)
	}
	q, issues = mustParse(t, "", "_id=1&_lastUpdated=gt2024")
	if len(issues) > 0 || len(q.Clauses) != 2 || q.Clauses[0].On != "" || q.Clauses[0].Param.Name != "_id" {
		t.Errorf("got %+v, %v", q, issues)
	}
}
