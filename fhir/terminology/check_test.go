package terminology

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// issueText renders an issue for comparison: "severity code expression:
// diagnostics".
func issueText(is fhir.Issue) string {
	return fmt.Sprintf("%s %s %s: %s", is.Severity.Code(), is.Code.Code(), strings.Join(is.Expression, ","), is.Diagnostics)
}

func TestCheckCodings(t *testing.T) {
	r := testRegistry(t)
	coding := func(system, code string, extra ...string) string {
		s := `{"system":"` + system + `","code":"` + code + `"`
		for i := 0; i+1 < len(extra); i += 2 {
			s += `,"` + extra[i] + `":"` + extra[i+1] + `"`
		}
		return s + "}"
	}
	tests := []struct {
		name string
		body string
		want []string // issueText prefixes (up to the colon) and a part of the diagnostics
	}{
		{"valid codings", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "A", "display", "Alpha") + `,` + coding(hSys, "B") + `]}]}`, nil},
		{"unknown code", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "A") + `,` + coding(hSys, "Z") + `]}]}`,
			[]string{`error code-invalid Goal.category[0].coding[1]: unknown code "Z" in code system http://t.test/cs/h (version 2.0)`}},
		{"case-sensitive", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "a") + `]}]}`,
			[]string{`error code-invalid Goal.category[0].coding[0]: unknown code "a"`}},
		{"case-insensitive system", `{"resourceType":"Goal","category":[{"coding":[` + coding(ciSys, "FOO") + `]}]}`, nil},
		{"wrong display", `{"resourceType":"Goal","achievementStatus":{"coding":[` + coding(hSys, "A1", "display", "Alpha") + `]}}`,
			[]string{`warning code-invalid Goal.achievementStatus.coding[0]: display "Alpha" is not a valid display for code "A1" of code system http://t.test/cs/h; the display is "Alpha one"`}},
		{"designation as display", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "A", "display", "ALFA") + `]}]}`, nil},
		{"inactive, other version", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "A2", "version", "1.0") + `]}]}`,
			[]string{`warning code-invalid Goal.category[0].coding[0]: version "1.0" of code system http://t.test/cs/h is not known`,
				`warning code-invalid Goal.category[0].coding[0]: code "A2" of code system http://t.test/cs/h is inactive`}},
		{"in an extension", `{"resourceType":"CarePlan","extension":[{"url":"http://x","valueCoding":` + coding(hSys, "Q") + `}]}`,
			[]string{`error code-invalid CarePlan.extension[0].valueCoding: unknown code "Q"`}},
		{"nested extension of a CodeableConcept", `{"resourceType":"CarePlan","extension":[{"url":"http://x","extension":[{"url":"y","valueCodeableConcept":{"coding":[` + coding(hSys, "Q") + `]}}]}]}`,
			[]string{`error code-invalid CarePlan.extension[0].extension[0].valueCodeableConcept.coding[0]: unknown code "Q"`}},
		{"in a contained resource", `{"resourceType":"CarePlan","contained":[{"resourceType":"Goal","id":"g","category":[{"coding":[` + coding(hSys, "Q") + `]}]}]}`,
			[]string{`error code-invalid CarePlan.contained[0].category[0].coding[0]: unknown code "Q"`}},
		{"in a primitive's extension", `{"resourceType":"Goal","_lifecycleStatus":{"extension":[{"url":"u","valueCoding":` + coding(hSys, "Q") + `}]}}`,
			[]string{`error code-invalid Goal.lifecycleStatus.extension[0].valueCoding: unknown code "Q"`}},
		{"in a Bundle entry", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "Q") + `]}]}}]}`,
			[]string{`error code-invalid Bundle.entry[0].resource.category[0].coding[0]: unknown code "Q"`}},
		{"activity detail", `{"resourceType":"CarePlan","activity":[{"detail":{"code":{"coding":[` + coding(hSys, "B") + `,` + coding(hSys, "nope") + `]}}}]}`,
			[]string{`error code-invalid CarePlan.activity[0].detail.code.coding[1]: unknown code "nope"`}},
		{"a value set as system", `{"resourceType":"Goal","category":[{"coding":[` + coding(vsBase+"all-h", "A") + `]}]}`,
			[]string{`error code-invalid Goal.category[0].coding[0]: system http://t.test/vs/all-h is a value set, not a code system; its codes are of code system http://t.test/cs/h`}},
		{"other systems are not checked", `{"resourceType":"Goal","category":[{"coding":[` + coding("http://snomed.info/sct", "whatever") + `,` + coding(extSys, "x9") + `]}]}`, nil},
		{"a fragment does not say a code is unknown", `{"resourceType":"Goal","category":[{"coding":[` + coding(fragSys, "f9") + `]}]}`, nil},
		{"not a coding: a number code", `{"resourceType":"Goal","x":{"system":"` + hSys + `","code":5}}`, nil},
		{"a quantity of a held system", `{"resourceType":"Observation","valueQuantity":{"value":1,"system":"` + hSys + `","code":"mg"}}`,
			[]string{`error code-invalid Observation.valueQuantity: unknown code "mg"`}},
		{"no resourceType", `{"code":{"coding":[` + coding(hSys, "Q") + `]}}`,
			[]string{`error code-invalid Resource.code.coding[0]: unknown code "Q"`}},
		{"empty code", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "") + `]}]}`,
			[]string{`error code-invalid Goal.category[0].coding[0]: unknown code ""`}},
		{"several, in document order", `{"resourceType":"Goal","category":[{"coding":[` + coding(hSys, "Q1") + `]}],"achievementStatus":{"coding":[` + coding(hSys, "Q2") + `]}}`,
			[]string{`error code-invalid Goal.achievementStatus.coding[0]: unknown code "Q2"`, `error code-invalid Goal.category[0].coding[0]: unknown code "Q1"`}},
		{"odd member names are delimited", `{"resourceType":"Goal","a b":{"x` + "`" + `y":` + coding(hSys, "Q") + `}}`,
			[]string{"error code-invalid Goal.`a b`.`x\\`y`: unknown code \"Q\""}},
		{"invalid JSON", `{"resourceType":`, []string{`error structure : the resource is not valid JSON`}},
		{"not an object", `[1,2]`, []string{`error structure : the resource is not a JSON object`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := r.CheckCodings([]byte(tt.body))
			var got []string
			for _, is := range issues {
				got = append(got, issueText(is))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("issue %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestCheckCodingsIssueShape checks the issues are ready for an
// OperationOutcome: severity set, one expression, safe diagnostics.
func TestCheckCodingsIssueShape(t *testing.T) {
	r := testRegistry(t)
	issues := r.CheckCodings([]byte(`{"resourceType":"Goal","category":[{"coding":[{"system":"` + hSys + `","code":"Z"}]}]}`))
	oo := fhir.Outcome(issues...)
	raw, err := json.Marshal(oo)
	if err != nil {
		t.Fatal(err)
	}
	back, err := r4.UnmarshalOperationOutcome(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []r4.OperationOutcomeIssue{{Severity: r4.IssueSeverityError, Code: r4.IssueTypeCodeInvalid,
		Diagnostics: back.Issue[0].Diagnostics, Expression: []string{"Goal.category[0].coding[0]"}}}
	if diff := cmp.Diff(want, back.Issue); diff != "" {
		t.Errorf("issues (-want +got):\n%s", diff)
	}
}
