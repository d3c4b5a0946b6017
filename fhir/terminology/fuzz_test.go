package terminology

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/fhirtest"
)

// expressionPattern is the shape of CheckCodings' expressions: a type
// name, then member names and indexes.
var expressionPattern = regexp.MustCompile("^[A-Z][A-Za-z0-9]*((\\.[A-Za-z_][A-Za-z0-9_]*)|(\\.`([^`\\\\]|\\\\.)*`)|(\\[[0-9]+\\]))*$")

// FuzzCheckCodings checks CheckCodings on arbitrary input: it never
// panics, is deterministic, reports well-formed issues, and reports as
// many errors as an independent count of the codings of held systems
// whose codes are unknown.
func FuzzCheckCodings(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Goal","category":[{"coding":[{"system":"` + hSys + `","code":"Z","display":"x"}]}]}`,
		`{"resourceType":"CarePlan","contained":[{"resourceType":"Goal","_x":{"extension":[{"valueCoding":{"system":"` + ciSys + `","code":"foo"}}]}}]}`,
		`{"resourceType":"Goal","x":{"system":"` + vsBase + `all-h","code":"A"}}`,
		`{"resourceType":"Goal","a.b[0]` + "`" + `\\":{"system":"` + hSys + `","code":"A2","version":"9","display":"Alpha"}}`,
		`{"resourceType":"","code":{"system":"` + fragSys + `","code":"no"}}`,
		`[]`, `null`, `{`, `{"system":"` + hSys + `","code":"A"}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(fhirtest.Goal())
	f.Add(fhirtest.CarePlan())
	r := testRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		issues := r.CheckCodings(data)
		if again := r.CheckCodings(data); !slices.EqualFunc(issues, again, func(a, b fhir.Issue) bool { return issueText(a) == issueText(b) }) {
			t.Fatalf("not deterministic:\n%v\n%v", issues, again)
		}
		var doc any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		valid := dec.Decode(&doc) == nil
		_, object := doc.(map[string]any)
		errs := 0
		for _, is := range issues {
			switch {
			case is.Code == r4.IssueTypeStructure:
				if valid && object || len(issues) != 1 || is.Severity != r4.IssueSeverityError {
					t.Fatalf("structure issue for valid input: %v", issueText(is))
				}
				continue
			case is.Code != r4.IssueTypeCodeInvalid:
				t.Fatalf("issue code %s", is.Code.Code())
			case is.Severity == r4.IssueSeverityError:
				errs++
			case is.Severity != r4.IssueSeverityWarning:
				t.Fatalf("severity %s", is.Severity.Code())
			}
			if len(is.Expression) != 1 || !expressionPattern.MatchString(is.Expression[0]) || is.Diagnostics == "" {
				t.Fatalf("malformed issue %s", issueText(is))
			}
		}
		if valid && object {
			if want := unknownCodings(r, doc); errs != want {
				t.Fatalf("%d errors, want %d: %v", errs, want, issues)
			}
		}
	})
}

// unknownCodings counts the objects in v with a string system that is a
// held value set, or a held complete code system with a string code it
// does not define.
func unknownCodings(r *Registry, v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		system, sok := v["system"].(string)
		code, cok := v["code"].(string)
		if sok && cok {
			if cs, ok := r.codeSystems[system]; ok {
				if _, found := cs.Concept(code); !found && cs.Content == "complete" {
					n++
				}
			} else if _, ok := r.valueSets[system]; ok {
				n++
			}
		}
		for _, x := range v {
			n += unknownCodings(r, x)
		}
	case []any:
		for _, x := range v {
			n += unknownCodings(r, x)
		}
	}
	return n
}
