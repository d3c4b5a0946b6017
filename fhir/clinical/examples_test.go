package clinical

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/fhirtest"
)

// goodContext is the context the service would gather for
// testdata/CarePlan-cp03b.json: its goal, the person's assessment and
// their MAT episode.
func goodContext(t *testing.T) PrescribingContext {
	return PrescribingContext{
		OtherCarePlans: [][]byte{load(t, "CarePlan-cp03a.json")},
		Goals:          map[string][]byte{"Goal/g03a": load(t, "Goal-g03a.json")},
		BPS:            load(t, "QuestionnaireResponse-bps03.json"),
	}
}

// TestGoodExamples checks that the testdata resources, the examples of
// the integrator guide, are valid R4 and meet every rule, under the
// default base and under another one.
func TestGoodExamples(t *testing.T) {
	files := []string{"Patient-p03.json", "Goal-g03a.json", "Goal-g03a-lapse.json", "CarePlan-cp03a.json", "CarePlan-cp03b.json", "QuestionnaireResponse-bps03.json"}
	other := "https://fhir.example.scot/r4"
	for _, name := range files {
		typ, _, _ := strings.Cut(name, "-")
		doc := load(t, name)
		if _, err := fhir.Parse(typ, doc); err != nil {
			t.Errorf("%s: fhir.Parse: %v", name, err)
		}
		if is := Check(base, typ, doc); len(is) > 0 {
			t.Errorf("%s: Check: %v%s", name, found(is), diagnostics(is))
		}
		moved := bytes.ReplaceAll(doc, []byte(base), []byte(other))
		if is := Check(other+"/", typ, moved); len(is) > 0 {
			t.Errorf("%s under %s: Check: %v%s", name, other, found(is), diagnostics(is))
		}
	}
	if is := Prescribing(base, load(t, "CarePlan-cp03b.json"), goodContext(t)); len(is) > 0 {
		t.Errorf("Prescribing: %v%s", found(is), diagnostics(is))
	}
	r, is := GoalReview(base, load(t, "Goal-g03a.json"), load(t, "Goal-g03a-lapse.json"))
	if len(is) > 0 {
		t.Errorf("GoalReview: %v%s", found(is), diagnostics(is))
	}
	if !r.Reviewed || r.Finding != FindingLapse || !slices.Equal(r.Events, []Event{EventGoalReviewed}) {
		t.Errorf("GoalReview = %+v", r)
	}
}

// TestOfficialExamplesAreNotHeld checks that resources that neither claim
// a matcare profile nor carry a matcare category get no issues.
func TestOfficialExamplesAreNotHeld(t *testing.T) {
	n := 0
	for _, ex := range fhirtest.Examples() {
		if is := Check(base, ex.Type, ex.Body); len(is) > 0 {
			t.Errorf("%s: %v%s", ex.Name, found(is), diagnostics(is))
		}
		if ex.Type == "CarePlan" {
			n++
			if is := Prescribing(base, ex.Body, PrescribingContext{}); len(is) > 0 {
				t.Errorf("%s: Prescribing: %v%s", ex.Name, found(is), diagnostics(is))
			}
		}
	}
	if n == 0 {
		t.Fatal("no official CarePlan examples")
	}
}
