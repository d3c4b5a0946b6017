package questionnaire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// FuzzValidate feeds arbitrary Questionnaire and response pairs to
// Validate, Score, CheckQuestionnaire and Answers: none may panic; every
// issue is an error with a message and an expression in the resource it
// is about; Score either leaves the response as it was or only adds to it
// and the result is valid JSON. The seeds in testdata/fuzz/FuzzValidate
// hold the content Questionnaires with example responses.
func FuzzValidate(f *testing.F) {
	f.Add(form1, resp("completed", bTrue+`,{"linkId":"parent","answer":[{"valueBoolean":true,"item":[{"linkId":"parent.child"}]}]}`))
	f.Add(nested, []byte(`{"item":[{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"nfod"}]},{"linkId":"detail"}]},{"linkId":"after-episodes"}]}`))
	f.Add([]byte(`{"url":"http://x/Questionnaire/sds-benzo","item":[{"linkId":"sds-1","type":"choice","answerOption":[{"extension":[{"url":"`+OrdinalValueURL+`","valueDecimal":1e3}],"valueCoding":{"code":"a"}}]},{"linkId":"sds-total","type":"integer"}]}`),
		[]byte(`{"status":"completed","item":[{"linkId":"sds-1","answer":[{"valueCoding":{"code":"a"}}]}]}`))
	f.Fuzz(func(t *testing.T, q, r []byte) {
		for _, is := range Validate(q, r) {
			checkIssue(t, "Validate", is.Severity, is.Diagnostics, is.Expression, "QuestionnaireResponse")
		}
		for _, is := range CheckQuestionnaire(q) {
			checkIssue(t, "CheckQuestionnaire", is.Severity, is.Diagnostics, is.Expression, "Questionnaire")
		}
		res, issues := Score(q, r)
		for _, is := range issues {
			checkIssue(t, "Score", is.Severity, is.Diagnostics, is.Expression, "QuestionnaireResponse")
		}
		if !res.TotalAdded {
			if !bytes.Equal(res.Response, r) {
				t.Fatalf("Score changed the response without adding a total")
			}
		} else {
			if !json.Valid(res.Response) || len(res.Response) <= len(r) {
				t.Fatalf("Score made %s from %s", res.Response, r)
			}
			if again, _ := Score(q, res.Response); again.TotalAdded {
				t.Fatalf("Score adds a total twice: %s", again.Response)
			}
		}
		_, _ = Answers(r, "a")
	})
}

func checkIssue(t *testing.T, fn string, sev r4.IssueSeverity, msg string, expr []string, root string) {
	t.Helper()
	if sev != r4.IssueSeverityError || msg == "" {
		t.Fatalf("%s: issue %v %q", fn, sev, msg)
	}
	for _, e := range expr {
		if e != root && !strings.HasPrefix(e, root+".") {
			t.Fatalf("%s: expression %q outside %s", fn, e, root)
		}
	}
}
