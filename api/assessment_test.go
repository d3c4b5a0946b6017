package api_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// sdsResponse is a QuestionnaireResponse to the SDS with the five
// answers' codes and, if total >= 0, a client total.
func sdsResponse(id string, codes [5]string, total int) string {
	var items []string
	for i, c := range codes {
		items = append(items, fmt.Sprintf(`{"linkId":"sds-%d","answer":[{"valueCoding":{"system":"http://matcare.example/fhir/CodeSystem/sds-answer","code":%q}}]}`, i+1, c))
	}
	if total >= 0 {
		items = append(items, fmt.Sprintf(`{"linkId":"sds-total","answer":[{"valueInteger":%d}]}`, total))
	}
	return `{"resourceType":"QuestionnaireResponse","id":"` + id + `","questionnaire":"http://matcare.example/fhir/Questionnaire/sds-benzo",` +
		`"status":"completed","subject":{"reference":"Patient/p1"},"authored":"2024-06-12T10:00:00Z","item":[` + strings.Join(items, ",") + `]}`
}

// TestAssessmentsOverHTTP: the content is stored at start-up; a response
// is checked against the Questionnaire the server holds (enableWhen,
// required items); the SDS is scored, its total added or checked, and the
// score stored as an Observation in the same commit; matcare codes that
// do not exist are refused.
func TestAssessmentsOverHTTP(t *testing.T) {
	e := newContentEnv(t)
	if r := e.do("GET", "/Questionnaire/sds-benzo", ""); r.StatusCode != http.StatusOK {
		t.Fatalf("the SDS Questionnaire was not stored at start-up: %d", r.StatusCode)
	}
	if n, err := e.res.LoadContent(t.Context()); err != nil || n != 0 {
		t.Errorf("loading the content again wrote %d resources (%v), want 0", n, err)
	}
	if r := e.do("PUT", "/Patient/p1", `{"resourceType":"Patient","id":"p1"}`); r.StatusCode != http.StatusCreated {
		t.Fatal(r.StatusCode)
	}

	t.Run("SDS total added, Observation stored", func(t *testing.T) {
		r := e.do("PUT", "/QuestionnaireResponse/sds1", sdsResponse("sds1", [5]string{"often", "sometimes", "often", "always", "very-difficult"}, -1))
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		if !strings.Contains(string(r.body), `/StructureDefinition/server-calculated","valueBoolean":true}],"valueInteger":10}`) {
			t.Errorf("no server-calculated total 10: %s", r.body)
		}
		obs := e.do("GET", "/Observation/sds-sds1", "")
		if obs.StatusCode != http.StatusOK || !strings.Contains(string(obs.body), `"valueInteger":10`) ||
			!strings.Contains(string(obs.body), `"QuestionnaireResponse/sds1"`) {
			t.Fatalf("Observation: %d %s", obs.StatusCode, obs.body)
		}
		// A new version of the response updates the one Observation.
		r = e.do("PUT", "/QuestionnaireResponse/sds1", sdsResponse("sds1", [5]string{"never", "never", "sometimes", "never", "not-difficult"}, 1))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		obs = e.do("GET", "/Observation/sds-sds1", "")
		if obs.Header.Get("ETag") != `W/"2"` || !strings.Contains(string(obs.body), `"valueInteger":1`) {
			t.Errorf("Observation after the second version: %s %s", obs.Header.Get("ETag"), obs.body)
		}
		// A response entered in error takes its score with it.
		eie := strings.Replace(sdsResponse("sds1", [5]string{"never", "never", "sometimes", "never", "not-difficult"}, 1),
			`"status":"completed"`, `"status":"entered-in-error"`, 1)
		if r := e.do("PUT", "/QuestionnaireResponse/sds1", eie); r.StatusCode != http.StatusOK {
			t.Fatalf("entered in error: %d %s", r.StatusCode, r.body)
		}
		obs = e.do("GET", "/Observation/sds-sds1", "")
		if obs.Header.Get("ETag") != `W/"3"` || !strings.Contains(string(obs.body), `"status":"entered-in-error"`) {
			t.Errorf("Observation after the response was entered in error: %s %s", obs.Header.Get("ETag"), obs.body)
		}
	})

	t.Run("a wrong client total is refused, nothing stored", func(t *testing.T) {
		r := e.do("PUT", "/QuestionnaireResponse/sds2", sdsResponse("sds2", [5]string{"often", "often", "often", "often", "impossible"}, 12))
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		for _, p := range []string{"/QuestionnaireResponse/sds2", "/Observation/sds-sds2"} {
			if r := e.do("GET", p, ""); r.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", p, r.StatusCode)
			}
		}
	})

	t.Run("enableWhen and required items of the BPS assessment", func(t *testing.T) {
		b, err := os.ReadFile("../fhir/questionnaire/testdata/bps-prescribe.json")
		if err != nil {
			t.Fatal(err)
		}
		good := strings.Replace(string(b), `"resourceType": "QuestionnaireResponse",`, `"resourceType": "QuestionnaireResponse", "id": "bps1",`, 1)
		good = strings.ReplaceAll(good, "Patient/p01", "Patient/p1")
		if r := e.do("PUT", "/QuestionnaireResponse/bps1", good); r.StatusCode != http.StatusCreated {
			t.Fatalf("a complete BPS assessment: %d %s", r.StatusCode, r.body)
		}
		// Deciding not to prescribe needs the reasons, and disables consent.
		no := strings.Replace(good, `"code": "prescribe-yes", "display": "Prescribe"`, `"code": "prescribe-no", "display": "Do not prescribe"`, 1)
		r := e.do("PUT", "/QuestionnaireResponse/bps1", no)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "risk.reasons-not-to-prescribe") ||
			!strings.Contains(string(r.body), "consent") {
			t.Fatalf("no-prescribe without reasons: %d %s", r.StatusCode, r.body)
		}
	})

	t.Run("a code a matcare system does not define", func(t *testing.T) {
		g := `{"resourceType":"Goal","id":"g1","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p1"},` +
			`"category":[{"coding":[{"system":"http://matcare.example/fhir/CodeSystem/benzo-goal-category","code":"cure-everything"}]}]}`
		r := e.do("PUT", "/Goal/g1", g)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "cure-everything") {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		ok := strings.Replace(g, "cure-everything", "immediate-harm-reduction", 1)
		if r := e.do("PUT", "/Goal/g1", ok); r.StatusCode != http.StatusCreated {
			t.Fatalf("a defined code: %d %s", r.StatusCode, r.body)
		}
	})

	t.Run("matcare's canonical content is the server's", func(t *testing.T) {
		cs := `{"resourceType":"CodeSystem","url":"http://matcare.example/fhir/CodeSystem/mat-standard","status":"active","content":"complete"}`
		if r := e.do("POST", "/CodeSystem", cs); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a copy of mat-standard: %d %s", r.StatusCode, r.body)
		}
	})
}
