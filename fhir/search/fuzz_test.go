package search

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/matcare/matcare/fhir/fhirtest"
)

// FuzzExtract feeds arbitrary bodies to Extract: it must never panic; a
// JSON object whose resourceType is absent or the type's must be
// accepted; date ranges must not be empty; and values must be the same
// on a second run.
func FuzzExtract(f *testing.F) {
	f.Add("Goal", fhirtest.Goal())
	f.Add("Patient", fhirtest.Patient())
	f.Add("CarePlan", fhirtest.CarePlan())
	f.Add("Questionnaire", fhirtest.Questionnaire())
	f.Add("QuestionnaireResponse", fhirtest.QuestionnaireResponse())
	f.Add("Goal", []byte(`{"resourceType":"Goal","subject":[{"reference":7}],"target":{"dueDate":["x"]},"meta":"m"}`))
	f.Add("Patient", []byte(`{"telecom":[null,{"system":"email","value":1}],"name":"x","deceasedBoolean":"yes"}`))
	f.Add("Questionnaire", []byte(`{"useContext":[{"code":[],"valueQuantity":{"value":1e999}}]}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		idx, err := Extract(typ, body)
		if err != nil {
			var doc map[string]any
			dec := json.NewDecoder(bytes.NewReader(body))
			if Params(typ) != nil && json.Valid(body) && dec.Decode(&doc) == nil && doc != nil &&
				(doc["resourceType"] == nil || doc["resourceType"] == typ) {
				t.Fatalf("Extract(%s) of a JSON object: %v", typ, err)
			}
			return
		}
		for name, vs := range idx {
			p, ok := Lookup(typ, name)
			if !ok {
				t.Fatalf("value for unknown parameter %s", name)
			}
			for _, v := range vs {
				if p.Kind == Date && !v.Lo.Before(v.Hi) {
					t.Fatalf("%s: empty range %v..%v", name, v.Lo, v.Hi)
				}
			}
		}
		again, err := Extract(typ, body)
		if err != nil || len(again) != len(idx) {
			t.Fatalf("second run differs: %v", err)
		}
	})
}
