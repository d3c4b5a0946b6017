package fhirtest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/fhir/schema"
)

func TestExamples(t *testing.T) {
	examples := fhirtest.Examples()
	if len(examples) != 153 {
		t.Errorf("got %d examples, want 153", len(examples))
	}
	if !slices.IsSortedFunc(examples, func(a, b fhirtest.Example) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("examples are not sorted by name")
	}
	served := []string{"CarePlan", "CareTeam", "CodeSystem", "Goal", "Observation", "Organization", "Patient", "Practitioner",
		"Questionnaire", "QuestionnaireResponse", "RelatedPerson", "StructureDefinition", "ValueSet"}
	var rejected []string
	for _, ex := range examples {
		if ex.Rejected != "" {
			rejected = append(rejected, ex.Name)
		}
		if !slices.Contains(served, ex.Type) || !strings.HasPrefix(ex.Name, ex.Type+"-") {
			t.Errorf("%s: unexpected type %q", ex.Name, ex.Type)
		}
		if ex.ID == "" {
			t.Errorf("%s: no id", ex.Name)
		}
	}
	if want := []string{"Questionnaire-qs1", "StructureDefinition-example-composition"}; !slices.Equal(rejected, want) {
		t.Errorf("rejected examples %v, want %v", rejected, want)
	}
	// The caller's copy is its own.
	examples[0].Body[0] = 'x'
	if fhirtest.Examples()[0].Body[0] == 'x' {
		t.Error("Examples returns shared bodies")
	}
}

// TestExamplesUnmodified checks the examples against the SHA-256 sums
// recorded in testdata/examples/README.md.
func TestExamplesUnmodified(t *testing.T) {
	readme, err := os.ReadFile("testdata/examples/README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for line := range strings.Lines(string(readme)) {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if ok && len(sum) == 64 && strings.HasSuffix(name, ".json") {
			want[strings.TrimSuffix(name, ".json")] = sum
		}
	}
	examples := fhirtest.Examples()
	if len(want) != len(examples) {
		t.Errorf("README lists %d sums for %d examples", len(want), len(examples))
	}
	for _, ex := range examples {
		sum := sha256.Sum256(ex.Body)
		if got := hex.EncodeToString(sum[:]); got != want[ex.Name] {
			t.Errorf("%s: sha256 %s, README says %q", ex.Name, got, want[ex.Name])
		}
	}
}

// TestExamplesSchema runs every example through schema.Validate and logs the
// outcome. Failures are logged, not reported as test failures: the official
// examples are not all schema-valid.
func TestExamplesSchema(t *testing.T) {
	examples := fhirtest.Examples()
	pass := 0
	for _, ex := range examples {
		issues := schema.Validate(ex.Type, ex.Body)
		if len(issues) == 0 {
			pass++
			continue
		}
		t.Logf("%s: %d issues", ex.Name, len(issues))
		for _, is := range issues {
			t.Logf("    %s: %s", is.Expression, is.Message)
		}
	}
	t.Logf("%d of %d examples pass the schema", pass, len(examples))
}

func TestResources(t *testing.T) {
	tests := []struct {
		typ  string
		body func() []byte
	}{
		{"Goal", fhirtest.Goal},
		{"Patient", fhirtest.Patient},
		{"CarePlan", fhirtest.CarePlan},
		{"Questionnaire", fhirtest.Questionnaire},
		{"QuestionnaireResponse", fhirtest.QuestionnaireResponse},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			body := tt.body()
			if issues := schema.Validate(tt.typ, body); len(issues) != 0 {
				t.Errorf("schema.Validate: %v", issues)
			}
			var head map[string]json.RawMessage
			if err := json.Unmarshal(body, &head); err != nil {
				t.Fatal(err)
			}
			if string(head["resourceType"]) != `"`+tt.typ+`"` {
				t.Errorf("resourceType %s", head["resourceType"])
			}
			for _, name := range []string{"id", "meta"} {
				if _, ok := head[name]; ok {
					t.Errorf("has %s", name)
				}
			}
			// The caller's copy is its own.
			body[0] = 'x'
			if tt.body()[0] == 'x' {
				t.Error("returns a shared slice")
			}
		})
	}
}

// TestLosslessMarkers checks that the resources keep what losslessness tests
// look for.
func TestLosslessMarkers(t *testing.T) {
	for _, tt := range []struct {
		body []byte
		want []string
	}{
		{fhirtest.Goal(), []string{`"value": 1.50,`, `"_lifecycleStatus": {`, `"extension": [`}},
		{fhirtest.Patient(), []string{`"_birthDate": {`}},
		{fhirtest.QuestionnaireResponse(), []string{`"valueDecimal": 12.50`}},
	} {
		for _, w := range tt.want {
			if !bytes.Contains(tt.body, []byte(w)) {
				t.Errorf("%.40s...: lacks %s", tt.body, w)
			}
		}
	}
}
