package search

import (
	"net/url"
	"testing"

	"github.com/matcare/matcare/fhir/fhirtest"
)

// FuzzMatches runs every clause ParseQuery (with the real table) makes of
// a query over what Extract indexes of a body: Matches must never panic,
// :missing=true and :missing=false must disagree, and a token clause
// without modifier must disagree with its :not.
func FuzzMatches(f *testing.F) {
	for _, s := range []struct {
		typ  string
		body []byte
		raw  string
	}{
		{"Goal", fhirtest.Goal(), "lifecycle-status=active&start-date=ap2024-06&subject=p03"},
		{"Patient", fhirtest.Patient(), "name:contains=ERS&birthdate=ne1985&identifier=|9990000018"},
		{"CarePlan", fhirtest.CarePlan(), "date=gt2099&goal=http://x.org/fhir/Goal/g01a/_history/1&category:not=MAT1"},
		{"QuestionnaireResponse", fhirtest.QuestionnaireResponse(), "questionnaire=http://matcare.example/fhir/Questionnaire/bps-benzo|1.0.0&authored=eb2024"},
		{"Questionnaire", []byte(testQuestionnaire), "context-type-quantity=age$ap18||a&url:above=http://matcare.example/fhir/Questionnaire/q1/x"},
		{"Patient", []byte(testPatient), "general-practitioner:identifier=G123&identifier:of-type=a|MR|12345&email:missing=false"},
	} {
		f.Add(s.typ, s.body, s.raw)
	}
	f.Fuzz(func(t *testing.T, typ string, body []byte, raw string) {
		idx, err := Extract(typ, body)
		if err != nil {
			return
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		parsed, _, err := ParseQuery(typ, q, Lookup)
		if err != nil {
			return
		}
		for _, c := range parsed.Clauses {
			if len(c.Chain) > 0 {
				if Matches(c, idx) {
					t.Fatalf("%s: a chained clause matched", c.Key)
				}
				continue
			}
			got := Matches(c, idx)
			if again := Matches(c, idx); again != got {
				t.Fatalf("%s: %v, then %v", c.Key, got, again)
			}
			miss := c
			miss.Modifier = ModMissing
			miss.Values = []QueryValue{{Missing: true}}
			yes := Matches(miss, idx)
			miss.Values = []QueryValue{{Missing: false}}
			if no := Matches(miss, idx); yes == no {
				t.Fatalf("%s: :missing=true %v and :missing=false %v", c.Key, yes, no)
			}
			if c.Param.Kind == Token && c.Modifier == ModNone {
				not := c
				not.Modifier = ModNot
				if Matches(not, idx) == got {
					t.Fatalf("%s: the clause and its :not both %v", c.Key, got)
				}
			}
		}
		_ = MatchesAll(parsed.Clauses, idx)
	})
}
