package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/fhir/schema"
)

// FuzzValidate checks that Validate neither panics nor exceeds its limits on
// arbitrary input. The seed corpus is in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	f.Add("Goal", fhirtest.Goal())
	f.Add("CarePlan", fhirtest.CarePlan())
	f.Add("QuestionnaireResponse", fhirtest.QuestionnaireResponse())
	f.Fuzz(func(t *testing.T, resourceType string, body []byte) {
		issues := schema.Validate(resourceType, body)
		if len(issues) > schema.MaxIssues {
			t.Errorf("%d issues, more than %d", len(issues), schema.MaxIssues)
		}
		if issues == nil && !json.Valid(body) {
			t.Errorf("invalid JSON accepted: %q", body)
		}
		for _, is := range issues {
			if is.Message == "" {
				t.Errorf("issue without message at %q", is.Expression)
			}
		}
	})
}
