package search

import (
	"net/url"
	"testing"
)

// TestParseQueryWithTheTable parses a well-formed value of every supported
// parameter of every type, through the real table: the parser and the
// table agree on every name and kind.
func TestParseQueryWithTheTable(t *testing.T) {
	sample := map[Kind]string{
		Number:    "ge5",
		Date:      "ge2024-01-01",
		String:    "smith",
		Token:     "http://example.org|x",
		Reference: "Patient/p1",
		Quantity:  "5||mg",
		URI:       "http://example.org/x",
	}
	checked := 0
	for _, typ := range Types() {
		for _, p := range Params(typ) {
			if !p.Supported() || p.Kind == Composite || p.Kind == Special {
				continue
			}
			checked++
			v := sample[p.Kind]
			if p.Kind == Reference && len(p.Targets) > 0 {
				v = p.Targets[0] + "/x1"
			}
			q := url.Values{p.Name: {v}}
			parsed, issues, err := ParseQuery(typ, q, Lookup)
			if err != nil || len(issues) > 0 {
				t.Errorf("%s?%s: %v %v", typ, q.Encode(), err, issues)
				continue
			}
			if len(parsed.Clauses) != 1 || parsed.Clauses[0].Param.Name != p.Name {
				t.Errorf("%s?%s: clauses %+v", typ, q.Encode(), parsed.Clauses)
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d parameters checked", checked)
	}
	// The same string normalisation on both sides.
	idx, err := Extract("Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Ó  Súilleabháin"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := ParseQuery("Patient", url.Values{"family": {"o suilleabhain"}}, Lookup)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range idx["family"] {
		found = found || v.Text == q.Clauses[0].Values[0].Normalized
	}
	if !found {
		t.Errorf("indexed %+v, query %q", idx["family"], q.Clauses[0].Values[0].Normalized)
	}
}

// TestChainThroughServedTargets: a chain through a reference with several
// targets is resolved when only one served target has the next parameter
// (Goal.patient may be a Group, which matcare does not serve), and is
// refused as ambiguous when several have it.
func TestChainThroughServedTargets(t *testing.T) {
	for _, tt := range []struct {
		typ, raw, to string
	}{
		{"Goal", "patient.birthdate=lt1980", "Patient"},
		{"CarePlan", "patient.family=mac", "Patient"},
		{"QuestionnaireResponse", "based-on.status=active", "CarePlan"},
		{"QuestionnaireResponse", "based-on.goal.lifecycle-status=active", "CarePlan"},
		{"QuestionnaireResponse", "subject.name=x", ""}, // Patient and Questionnaire have name
	} {
		v, err := url.ParseQuery(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		q, _, err := ParseQuery(tt.typ, v, Lookup)
		if tt.to == "" {
			if err == nil {
				t.Errorf("%s?%s: parsed as %+v, want an ambiguity error", tt.typ, tt.raw, q.Clauses)
			}
			continue
		}
		if err != nil || len(q.Clauses) != 1 || q.Clauses[0].Chain[0].To != tt.to {
			t.Errorf("%s?%s: %+v, %v; want a chain to %s", tt.typ, tt.raw, q, err, tt.to)
		}
	}
}
