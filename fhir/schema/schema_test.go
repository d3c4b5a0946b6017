package schema_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/fhir/schema"
)

// minimalGoal is the smallest schema-valid Goal; tests add to it.
const minimalGoal = `"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "x"}, "subject": {"reference": "Patient/1"}`

func goal(more string) string {
	if more == "" {
		return "{" + minimalGoal + "}"
	}
	return "{" + minimalGoal + ", " + more + "}"
}

func TestValidate(t *testing.T) {
	datePattern := `^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`
	tests := []struct {
		name string
		typ  string
		body string
		want []schema.Issue
	}{
		{
			name: "valid minimal Goal",
			typ:  "Goal",
			body: goal(""),
		},
		{
			name: "unknown element",
			typ:  "Goal",
			body: goal(`"foo": 1`),
			want: []schema.Issue{{"Goal.foo", `unknown element "foo"`}},
		},
		{
			name: "unknown elements, nested",
			typ:  "Goal",
			body: goal(`"target": [{"dueDate": "2024-01-01", "bar": true, "a b": 1}]`),
			want: []schema.Issue{
				{"Goal.target[0].`a b`", `unknown element "a b"`},
				{"Goal.target[0].bar", `unknown element "bar"`},
			},
		},
		{
			name: "wrong type, primitive",
			typ:  "Goal",
			body: goal(`"statusReason": 5`),
			want: []schema.Issue{{"Goal.statusReason", "expected string, got number"}},
		},
		{
			name: "wrong type, complex",
			typ:  "Goal",
			body: goal(`"achievementStatus": "worsening"`),
			want: []schema.Issue{{"Goal.achievementStatus", "expected object, got string"}},
		},
		{
			name: "wrong type, array",
			typ:  "Goal",
			body: goal(`"category": {"text": "x"}`),
			want: []schema.Issue{{"Goal.category", "expected array, got object"}},
		},
		{
			name: "wrong type, xhtml",
			typ:  "Goal",
			body: goal(`"text": {"status": "generated", "div": 5}`),
			want: []schema.Issue{{"Goal.text.div", "expected string, got number"}},
		},
		{
			name: "bad date format",
			typ:  "Goal",
			body: goal(`"target": [{"dueDate": "2024-13-01"}]`),
			want: []schema.Issue{{"Goal.target[0].dueDate", `value "2024-13-01" is not a valid date (does not match pattern ` + datePattern + ")"}},
		},
		{
			name: "bad code in a required binding",
			typ:  "Goal",
			body: `{"resourceType": "Goal", "lifecycleStatus": "bogus", "description": {"text": "x"}, "subject": {"reference": "Patient/1"}}`,
			want: []schema.Issue{{"Goal.lifecycleStatus", `value "bogus" is not one of "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error", "rejected"`}},
		},
		{
			name: "missing required element",
			typ:  "Goal",
			body: `{"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "x"}}`,
			want: []schema.Issue{{"Goal.subject", `missing required element "subject"`}},
		},
		{
			name: "nested array location",
			typ:  "Patient",
			body: `{"resourceType": "Patient", "name": [{"family": "A"}, {"given": [7, "Jo"]}]}`,
			want: []schema.Issue{{"Patient.name[1].given[0]", "expected string, got number"}},
		},
		{
			name: "locations sort by index",
			typ:  "Patient",
			body: `{"resourceType": "Patient", "name": [{"given": ["a", "b", 2, "c", "d", "e", "f", "g", "h", "i", 10]}]}`,
			want: []schema.Issue{
				{"Patient.name[0].given[2]", "expected string, got number"},
				{"Patient.name[0].given[10]", "expected string, got number"},
			},
		},
		{
			name: "primitive extension",
			typ:  "Patient",
			body: `{"resourceType": "Patient", "birthDate": "1970", "_birthDate": {"extension": [{"url": 1}]}}`,
			want: []schema.Issue{{"Patient.birthDate.extension[0].url", "expected string, got number"}},
		},
		{
			name: "primitive extensions aligned with null",
			typ:  "Patient",
			body: `{"resourceType": "Patient", "name": [{"given": ["A", "B"], "_given": [null, {"extension": [{"url": "http://x", "valueString": "y"}]}]}]}`,
		},
		{
			name: "decimals keep their precision",
			typ:  "Goal",
			body: goal(`"target": [{"measure": {"text": "m"}, "detailQuantity": {"value": 1.50}}, {"measure": {"text": "m"}, "detailQuantity": {"value": 12345678901234567890}}, {"measure": {"text": "m"}, "detailQuantity": {"value": 1.0e400}}]`),
		},
		{
			name: "decimal as string",
			typ:  "Goal",
			body: goal(`"target": [{"measure": {"text": "m"}, "detailQuantity": {"value": "1.50"}}]`),
			want: []schema.Issue{{"Goal.target[0].detailQuantity.value", "expected number, got string"}},
		},
		{
			name: "integers",
			typ:  "QuestionnaireResponse",
			body: `{"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "1", "answer": [
				{"valueInteger": 0}, {"valueInteger": -2147483648}, {"valueInteger": 2147483647},
				{"valueInteger": 1.5}, {"valueInteger": 2147483648}, {"valueInteger": 1e2}, {"valueInteger": 1.0}]}]}`,
			want: []schema.Issue{
				{"QuestionnaireResponse.item[0].answer[3].valueInteger", "value 1.5 is not a valid integer (a whole number from -2147483648 to 2147483647, without fraction or exponent)"},
				{"QuestionnaireResponse.item[0].answer[4].valueInteger", "value 2147483648 is not a valid integer (a whole number from -2147483648 to 2147483647, without fraction or exponent)"},
				{"QuestionnaireResponse.item[0].answer[5].valueInteger", "value 1e2 is not a valid integer (a whole number from -2147483648 to 2147483647, without fraction or exponent)"},
				{"QuestionnaireResponse.item[0].answer[6].valueInteger", "value 1.0 is not a valid integer (a whole number from -2147483648 to 2147483647, without fraction or exponent)"},
			},
		},
		{
			name: "positiveInt and unsignedInt",
			typ:  "Patient",
			body: `{"resourceType": "Patient", "photo": [{"size": 0}, {"size": -1}, {"size": 1}],
				"communication": [{"language": {"text": "en"}, "preferred": true}],
				"contact": [{"period": {"start": "2020"}}], "multipleBirthInteger": 2}`,
			want: []schema.Issue{
				{"Patient.photo[1].size", "value -1 is not a valid unsignedInt (a whole number from 0 to 2147483647, without fraction or exponent)"},
			},
		},
		{
			name: "positiveInt",
			typ:  "CarePlan",
			body: `{"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": {"reference": "Patient/1"},
				"activity": [{"detail": {"status": "scheduled", "scheduledTiming": {"repeat": {"count": 0, "frequency": 1, "period": 1.5, "periodUnit": "d"}}}}]}`,
			want: []schema.Issue{
				{"CarePlan.activity[0].detail.scheduledTiming.repeat.count", "value 0 is not a valid positiveInt (a whole number from 1 to 2147483647, without fraction or exponent)"},
			},
		},
		{
			name: "deeply nested contained resource",
			typ:  "CarePlan",
			body: `{"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": {"reference": "Patient/1"},
				"contained": [
					{"resourceType": "Patient", "id": "p"},
					{"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", "item": [
						{"linkId": "a", "item": [{"linkId": "b", "answer": [{"valueDate": "2024-02-30T00:00"}]}]}]},
					{"resourceType": "Nonsense"},
					{"id": "x"},
					"Patient"
				]}`,
			want: []schema.Issue{
				{"CarePlan.contained[1].item[0].item[0].answer[0].valueDate", `value "2024-02-30T00:00" is not a valid date (does not match pattern ` + datePattern + ")"},
				{"CarePlan.contained[2]", `unknown resource type "Nonsense"`},
				{"CarePlan.contained[3].resourceType", `missing required element "resourceType"`},
				{"CarePlan.contained[4]", "expected object, got string"},
			},
		},
		{
			name: "long list of allowed codes",
			typ:  "Questionnaire",
			body: `{"resourceType": "Questionnaire", "status": "active", "item": [{"linkId": "1", "type": "bogus"}]}`,
			want: []schema.Issue{{"Questionnaire.item[0].type", `value "bogus" is not one of "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string", "text", ... (6 more)`}},
		},
		{
			name: "resource in a Bundle",
			typ:  "Bundle",
			body: `{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Goal", "lifecycleStatus": "active", "subject": {"reference": "Patient/1"}}}]}`,
			want: []schema.Issue{{"Bundle.entry[0].resource.description", `missing required element "description"`}},
		},
		{
			name: "resourceType does not match",
			typ:  "Goal",
			body: `{"resourceType": "Patient"}`,
			want: []schema.Issue{
				{"Goal.description", `missing required element "description"`},
				{"Goal.resourceType", `expected "Goal", got "Patient"`},
				{"Goal.subject", `missing required element "subject"`},
			},
		},
		{
			name: "unknown resource type",
			typ:  "Foo",
			body: `{"resourceType": "Foo"}`,
			want: []schema.Issue{{"", `unknown resource type "Foo"`}},
		},
		{
			name: "not an object",
			typ:  "Goal",
			body: `[]`,
			want: []schema.Issue{{"Goal", "expected a JSON object, got array"}},
		},
		{
			name: "invalid JSON",
			typ:  "Goal",
			body: `{"resourceType": "Goal"`,
			want: []schema.Issue{{"Goal", "invalid JSON: unexpected EOF"}},
		},
		{
			name: "trailing data",
			typ:  "Goal",
			body: goal("") + "{}",
			want: []schema.Issue{{"Goal", "invalid JSON: invalid character after top-level value"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := schema.Validate(tt.typ, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateLongValues(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := schema.Validate("Goal", []byte(goal(`"lifecycleStatus": "`+long+`"`)))
	want := []schema.Issue{{"Goal.lifecycleStatus", `value "` + strings.Repeat("é", 30) + `..." is not one of "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error", "rejected"`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate mismatch (-want +got):\n%s", diff)
	}
}

func TestValidateCap(t *testing.T) {
	var extra []string
	for i := range 30 {
		extra = append(extra, fmt.Sprintf(`"x%02d": 1`, i))
	}
	got := schema.Validate("Goal", []byte(goal(strings.Join(extra, ", "))))
	if len(got) != schema.MaxIssues {
		t.Fatalf("got %d issues, want %d", len(got), schema.MaxIssues)
	}
	if want := (schema.Issue{Expression: "Goal.x00", Message: `unknown element "x00"`}); got[0] != want {
		t.Errorf("first issue %v, want %v", got[0], want)
	}
	if want := (schema.Issue{Expression: "Goal", Message: "11 more issues not shown"}); got[len(got)-1] != want {
		t.Errorf("last issue %v, want %v", got[len(got)-1], want)
	}
}

func TestValidateValue(t *testing.T) {
	// float64 numbers, as from json.Unmarshal without UseNumber.
	var v any
	if err := json.Unmarshal(fhirtest.Goal(), &v); err != nil {
		t.Fatal(err)
	}
	if got := schema.ValidateValue("Goal", v); got != nil {
		t.Errorf("got %v", got)
	}
	v = map[string]any{"resourceType": "Questionnaire", "status": "active", "item": []any{
		map[string]any{"linkId": "1", "type": "string", "maxLength": 2.5},
		map[string]any{"linkId": "2", "type": "string", "maxLength": float64(3)},
	}}
	want := []schema.Issue{{"Questionnaire.item[0].maxLength", "value 2.5 is not a valid integer (a whole number from -2147483648 to 2147483647, without fraction or exponent)"}}
	if diff := cmp.Diff(want, schema.ValidateValue("Questionnaire", v)); diff != "" {
		t.Errorf("ValidateValue mismatch (-want +got):\n%s", diff)
	}
}

func TestValidateResources(t *testing.T) {
	for typ, body := range map[string][]byte{
		"Goal":                  fhirtest.Goal(),
		"Patient":               fhirtest.Patient(),
		"CarePlan":              fhirtest.CarePlan(),
		"Questionnaire":         fhirtest.Questionnaire(),
		"QuestionnaireResponse": fhirtest.QuestionnaireResponse(),
	} {
		if got := schema.Validate(typ, body); got != nil {
			t.Errorf("%s: %v", typ, got)
		}
	}
}

func TestValidateConcurrent(t *testing.T) {
	examples := fhirtest.Examples()
	// Each concurrent answer is the sequential one (nil but for the
	// example the schema rejects: StructureDefinition-example-composition).
	want := map[string][]schema.Issue{}
	for _, ex := range examples {
		want[ex.Name] = schema.Validate(ex.Type, ex.Body)
		if (want[ex.Name] != nil) != (ex.Name == "StructureDefinition-example-composition") {
			t.Errorf("%s: %v", ex.Name, want[ex.Name])
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		for _, ex := range examples {
			wg.Go(func() {
				if got := schema.Validate(ex.Type, ex.Body); !slices.Equal(got, want[ex.Name]) {
					t.Errorf("%s: %v, sequentially %v", ex.Name, got, want[ex.Name])
				}
				// Also types not used elsewhere, compiled concurrently.
				schema.Validate("Observation", []byte(`{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1.5}}`))
				schema.Validate("Bundle", []byte(`{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Basic", "code": {"text": "x"}}}]}`))
			})
		}
	}
	wg.Wait()
}

func TestResourceTypes(t *testing.T) {
	types := schema.ResourceTypes()
	if len(types) != 146 {
		t.Errorf("got %d resource types, want 146", len(types))
	}
	for _, name := range []string{"Goal", "CarePlan", "Patient", "Questionnaire", "QuestionnaireResponse", "Parameters", "Bundle"} {
		if !schema.IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = false", name)
		}
	}
	for _, name := range []string{"", "goal", "Goal_Target", "CodeableConcept", "ResourceList", "Element"} {
		if schema.IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = true", name)
		}
	}
}

// TestEmbeddedSchema checks that the embedded file is the one recorded in
// README.md.
func TestEmbeddedSchema(t *testing.T) {
	gz, err := os.ReadFile("fhir.schema.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		t.Fatal(err)
	}
	const want = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("fhir.schema.json sha256 %s, want %s", got, want)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte(want)) {
		t.Error("README.md does not record the schema's sha256")
	}
}

func BenchmarkValidate(b *testing.B) {
	var integrate []byte
	var answers []byte
	for _, ex := range fhirtest.Examples() {
		switch ex.Name {
		case "CarePlan-integrate":
			integrate = ex.Body
		case "QuestionnaireResponse-ussg-fht-answers":
			answers = ex.Body
		}
	}
	benchmarks := []struct {
		name string
		typ  string
		body []byte
	}{
		{"Goal", "Goal", fhirtest.Goal()},
		{"CarePlan", "CarePlan", fhirtest.CarePlan()},
		{"CarePlan-integrate", "CarePlan", integrate},
		{"CarePlan-200-activities", "CarePlan", bigCarePlan(b, 200)},
		{"QuestionnaireResponse-ussg-fht-answers", "QuestionnaireResponse", answers},
	}
	for _, bm := range benchmarks {
		if got := schema.Validate(bm.typ, bm.body); got != nil {
			b.Fatalf("%s: %v", bm.name, got)
		}
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.body)))
			b.ReportAllocs()
			for b.Loop() {
				schema.Validate(bm.typ, bm.body)
			}
		})
	}
	// The cost without decoding, for callers that decode anyway.
	dec := json.NewDecoder(bytes.NewReader(fhirtest.Goal()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		b.Fatal(err)
	}
	b.Run("Goal-ValidateValue", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			schema.ValidateValue("Goal", v)
		}
	})
}

// bigCarePlan returns fhirtest.CarePlan with its activity repeated n times.
func bigCarePlan(b *testing.B, n int) []byte {
	var cp map[string]any
	if err := json.Unmarshal(fhirtest.CarePlan(), &cp); err != nil {
		b.Fatal(err)
	}
	activity := cp["activity"].([]any)[0]
	var activities []any
	for range n {
		activities = append(activities, activity)
	}
	cp["activity"] = activities
	body, err := json.Marshal(cp)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func TestPreload(t *testing.T) {
	if err := schema.Preload("Goal", "CarePlan", "Patient", "Questionnaire", "QuestionnaireResponse"); err != nil {
		t.Fatal(err)
	}
	if err := schema.Preload("Goal", "Nope"); err == nil || err.Error() != `schema: unknown resource type "Nope"` {
		t.Errorf("Preload(Nope) = %v", err)
	}
}

// TestFHIRVersion401: R4's technical correction 4.0.1 is a FHIR version
// (the embedded 4.0.0 schema's enumerations lack it); other values are
// still refused.
func TestFHIRVersion401(t *testing.T) {
	for v, ok := range map[string]bool{"4.0.1": true, "4.0.0": true, "4.0.2": false, "R4": false} {
		sd := `{"resourceType":"StructureDefinition","url":"http://x/sd","name":"X","status":"draft","kind":"resource",` +
			`"abstract":false,"type":"Patient","fhirVersion":"` + v + `"}`
		if got := schema.Validate("StructureDefinition", []byte(sd)); (len(got) == 0) != ok {
			t.Errorf("fhirVersion %q: %v", v, got)
		}
	}
}
