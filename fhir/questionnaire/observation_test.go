package questionnaire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/questionnaire"
	"github.com/matcare/matcare/fhir/schema"
)

// scored returns an SDS response with the given scores as Score stores it.
func scored(t *testing.T, base, status string, scores [5]int) []byte {
	t.Helper()
	res, issues := questionnaire.Score(contentBody(t, base, "Questionnaire", "sds-benzo"), sdsResponse(base, status, scores))
	if len(issues) > 0 || !res.TotalAdded {
		t.Fatalf("%v %+v", issues, res)
	}
	return res.Response
}

func TestSDSObservation(t *testing.T) {
	base := content.DefaultBase
	for _, tc := range []struct {
		scores [5]int
		total  int
		met    bool
	}{
		{[5]int{0, 0, 0, 0, 0}, 0, false},
		{[5]int{3, 3, 0, 0, 0}, 6, false},
		{[5]int{3, 3, 1, 0, 0}, 7, true},
		{[5]int{3, 3, 3, 3, 3}, 15, true},
	} {
		t.Run(fmt.Sprint(tc.total), func(t *testing.T) {
			obs, err := questionnaire.SDSObservation(base+"/", "qr-1", scored(t, base, "completed", tc.scores))
			if err != nil {
				t.Fatal(err)
			}
			if issues := schema.Validate("Observation", obs); len(issues) > 0 {
				t.Errorf("schema: %v\n%s", issues, obs)
			}
			if _, err := r4.UnmarshalObservation(obs); err != nil {
				t.Errorf("r4: %v", err)
			}
			interp, display, verdict := "NEG", "Negative", "below the cut-off"
			if tc.met {
				interp, display, verdict = "POS", "Positive", "at or above the cut-off"
			}
			sys := base + "/CodeSystem/matcare-observation"
			want := map[string]any{
				"resourceType": "Observation",
				"status":       "final",
				"category":     []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}}}},
				"code": map[string]any{"coding": []any{map[string]any{"system": sys, "code": "sds-total-benzo", "display": "Severity of Dependence Scale total score (benzodiazepines)"}},
					"text": "SDS total score (benzodiazepines)"},
				"subject":           map[string]any{"reference": "Patient/p1"},
				"effectiveDateTime": "2024-05-03T10:15:00+01:00",
				"valueInteger":      float64(tc.total),
				"interpretation": []any{map[string]any{
					"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": interp, "display": display}},
					"text":   fmt.Sprintf("SDS total %d is %s", tc.total, verdict)}},
				"derivedFrom": []any{map[string]any{"reference": "QuestionnaireResponse/qr-1"}},
				"component": []any{
					map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": sys, "code": "sds-cutoff-benzo", "display": "Severity of Dependence Scale cut-off used (benzodiazepines)"}}}, "valueInteger": float64(7)},
					map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": sys, "code": "sds-cutoff-met", "display": "Severity of Dependence Scale cut-off met"}}}, "valueBoolean": tc.met},
				},
			}
			var got map[string]any
			if err := json.Unmarshal(obs, &got); err != nil {
				t.Fatal(err)
			}
			// The interpretation text goes on to cite the cut-off.
			text := got["interpretation"].([]any)[0].(map[string]any)
			if s := text["text"].(string); !strings.Contains(s, "cut-off 7") || !strings.Contains(s, "de las Cuevas") {
				t.Errorf("interpretation text %q", s)
			}
			text["text"] = text["text"].(string)[:len(want["interpretation"].([]any)[0].(map[string]any)["text"].(string))]
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Observation (-want +got):\n%s", d)
			}
		})
	}
}

func TestSDSObservationCopiesTheClientsJSON(t *testing.T) {
	base := content.DefaultBase
	r := scored(t, base, "amended", [5]int{1, 1, 1, 1, 1})
	// The client's subject, with its spacing and escapes, is copied as
	// written.
	subject := `{ "reference" : "Patient/p1", "display": "A \u0026 B <x>" }`
	r = bytes.Replace(r, []byte(`{"reference":"Patient/p1"}`), []byte(subject), 1)
	obs, err := questionnaire.SDSObservation(base, "qr-1", r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(obs, []byte(`"subject":`+subject+`,"effectiveDateTime":"2024-05-03T10:15:00+01:00"`)) {
		t.Errorf("%s", obs)
	}
	// Without subject and authored, the Observation has neither.
	var doc map[string]any
	if err := json.Unmarshal(r, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "subject")
	delete(doc, "authored")
	bare, _ := json.Marshal(doc)
	obs, err = questionnaire.SDSObservation(base, "qr-1", bare)
	if err != nil || bytes.Contains(obs, []byte("subject")) || bytes.Contains(obs, []byte("effective")) {
		t.Errorf("%v %s", err, obs)
	}
}

func TestSDSObservationRefuses(t *testing.T) {
	base := content.DefaultBase
	good := scored(t, base, "completed", [5]int{1, 1, 1, 1, 1})
	total := func(v string) []byte {
		return bytes.Replace(good, []byte(`"valueInteger":5}`), []byte(`"valueInteger":`+v+`}`), 1)
	}
	for name, r := range map[string][]byte{
		"in progress":       bytes.Replace(good, []byte(`"status":"completed"`), []byte(`"status":"in-progress"`), 1),
		"another form":      bytes.Replace(good, []byte(`/Questionnaire/sds-benzo|`), []byte(`/Questionnaire/bps-benzo|`), 1),
		"no total":          sdsResponse(base, "completed", [5]int{1, 1, 1, 1, 1}),
		"total 16":          total("16"),
		"total -1":          total("-1"),
		"total 5.0":         total("5.0"),
		"total as a string": total(`"5"`),
		"item missing":      bytes.Replace(good, []byte(`"linkId":"sds-3"`), []byte(`"linkId":"sds-x"`), 1),
		"two totals":        bytes.Replace(good, []byte(`"valueInteger":5}`), []byte(`"valueInteger":5},{"valueInteger":5}`), 1),
		"not JSON":          []byte(`{`),
		"not a response":    bytes.Replace(good, []byte(`"QuestionnaireResponse"`), []byte(`"Observation"`), 1),
	} {
		if _, err := questionnaire.SDSObservation(base, "qr-1", r); !errors.Is(err, questionnaire.ErrNoObservation) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, args := range map[string][2]string{"no base": {"", "qr-1"}, "bad id": {base, "qr/1"}} {
		if _, err := questionnaire.SDSObservation(args[0], args[1], good); err == nil || errors.Is(err, questionnaire.ErrNoObservation) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
