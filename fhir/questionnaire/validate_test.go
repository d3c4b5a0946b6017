package questionnaire

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
)

// form1 has an item of every type and the structures Validate checks.
var form1 = []byte(`{"resourceType":"Questionnaire","url":"http://x/Questionnaire/t","version":"2","status":"active","item":[
 {"linkId":"b","type":"boolean","required":true},
 {"linkId":"dec","type":"decimal"},
 {"linkId":"int","type":"integer"},
 {"linkId":"d","type":"date"},
 {"linkId":"dt","type":"dateTime"},
 {"linkId":"tm","type":"time"},
 {"linkId":"s","type":"string","maxLength":5},
 {"linkId":"txt","type":"text"},
 {"linkId":"u","type":"url"},
 {"linkId":"c","type":"choice","answerOption":[{"valueCoding":{"system":"http://s","code":"a","display":"A"}},{"valueCoding":{"system":"http://s","code":"b"}}]},
 {"linkId":"ci","type":"choice","answerOption":[{"valueInteger":1},{"valueInteger":2}]},
 {"linkId":"cs","type":"choice","answerOption":[{"valueString":"x"}]},
 {"linkId":"cr","type":"choice","answerOption":[{"valueReference":{"reference":"Practitioner/1"}}]},
 {"linkId":"cd","type":"choice","answerOption":[{"valueDate":"2024-01-01"}]},
 {"linkId":"oc","type":"open-choice","repeats":true,"answerOption":[{"valueCoding":{"system":"http://s","code":"a"}}]},
 {"linkId":"cvs","type":"choice","answerValueSet":"http://vs"},
 {"linkId":"att","type":"attachment"},
 {"linkId":"ref","type":"reference"},
 {"linkId":"qty","type":"quantity"},
 {"linkId":"disp","type":"display","text":"hello"},
 {"linkId":"grp","type":"group","item":[{"linkId":"grp.a","type":"string","required":true},{"linkId":"grp.b","type":"string"}]},
 {"linkId":"rgrp","type":"group","repeats":true,"item":[{"linkId":"rgrp.a","type":"string"}]},
 {"linkId":"parent","type":"boolean","item":[{"linkId":"parent.child","type":"string","required":true}]},
 {"linkId":"gate","type":"boolean"},
 {"linkId":"gated","type":"string","required":true,"enableWhen":[{"question":"gate","operator":"=","answerBoolean":true}]},
 {"linkId":"gated-group","type":"group","required":true,"enableWhen":[{"question":"gate","operator":"=","answerBoolean":true}],"item":[{"linkId":"gg.a","type":"string"}]}
]}`)

// want is one expected issue: its expression and a part of its text.
type want struct{ Expr, Text string }

func checkIssues(t *testing.T, got []fhir.Issue, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%d issues, want %d:\n%s", len(got), len(wants), show(got))
	}
	for i, w := range wants {
		is := got[i]
		expr := ""
		if len(is.Expression) > 0 {
			expr = is.Expression[0]
		}
		if expr != w.Expr || !strings.Contains(is.Diagnostics, w.Text) || is.Severity != r4.IssueSeverityError {
			t.Errorf("issue %d: %s %q (%v), want %s %q", i, expr, is.Diagnostics, is.Severity, w.Expr, w.Text)
		}
	}
}

func show(issues []fhir.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		fmt.Fprintf(&b, "  %v %q\n", is.Expression, is.Diagnostics)
	}
	return b.String()
}

// resp is a response to form1 with the given status and items.
func resp(status, items string) []byte {
	return []byte(`{"resourceType":"QuestionnaireResponse","questionnaire":"http://x/Questionnaire/t","status":"` + status + `","item":[` + items + `]}`)
}

const bTrue = `{"linkId":"b","answer":[{"valueBoolean":true}]}`

func TestValidateRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		items  string
		wants  []want
	}{
		{"valid", "completed", bTrue, nil},
		{"every type answered rightly", "completed", bTrue + `,
			{"linkId":"dec","answer":[{"valueDecimal":1.50}]},
			{"linkId":"int","answer":[{"valueInteger":-3}]},
			{"linkId":"d","answer":[{"valueDate":"2024-05"}]},
			{"linkId":"dt","answer":[{"valueDateTime":"2024-05-02T10:00:00+01:00"}]},
			{"linkId":"tm","answer":[{"valueTime":"10:00:00"}]},
			{"linkId":"s","answer":[{"valueString":"ééééé"}]},
			{"linkId":"txt","answer":[{"valueString":"long\ntext"}]},
			{"linkId":"u","answer":[{"valueUri":"https://example.org"}]},
			{"linkId":"c","answer":[{"valueCoding":{"system":"http://s","code":"a","display":"other display"}}]},
			{"linkId":"ci","answer":[{"valueInteger":2}]},
			{"linkId":"cs","answer":[{"valueString":"x"}]},
			{"linkId":"cr","answer":[{"valueReference":{"reference":"Practitioner/1","display":"Dr"}}]},
			{"linkId":"cd","answer":[{"valueDate":"2024-01-01"}]},
			{"linkId":"oc","answer":[{"valueCoding":{"system":"http://s","code":"a"}},{"valueString":"free text"}]},
			{"linkId":"cvs","answer":[{"valueCoding":{"system":"http://any","code":"z"}}]},
			{"linkId":"att","answer":[{"valueAttachment":{"contentType":"text/plain","data":"aGk="}}]},
			{"linkId":"ref","answer":[{"valueReference":{"reference":"Patient/1"}}]},
			{"linkId":"qty","answer":[{"valueQuantity":{"value":5,"unit":"mg"}}]},
			{"linkId":"disp","text":"hello"},
			{"linkId":"rgrp","item":[{"linkId":"rgrp.a","answer":[{"valueString":"1"}]}]},
			{"linkId":"rgrp","item":[{"linkId":"rgrp.a","answer":[{"valueString":"2"}]}]},
			{"linkId":"parent","answer":[{"valueBoolean":true,"item":[{"linkId":"parent.child","answer":[{"valueString":"c"}]}]}]}`, nil},

		// linkIds and nesting
		{"unknown linkId", "in-progress", `{"linkId":"nope"}`,
			[]want{{"QuestionnaireResponse.item[0]", `the Questionnaire has no item "nope"`}}},
		{"group child at the top level", "in-progress", `{"linkId":"grp.a","answer":[{"valueString":"x"}]}`,
			[]want{{"QuestionnaireResponse.item[0]", `item "grp.a" does not belong here: the Questionnaire has it in group "grp"`}}},
		{"question child at the top level", "in-progress", `{"linkId":"parent.child"}`,
			[]want{{"QuestionnaireResponse.item[0]", `under the answers of "parent"`}}},
		{"top-level item in a group", "in-progress", `{"linkId":"grp","item":[{"linkId":"b","answer":[{"valueBoolean":true}]}]}`,
			[]want{{"QuestionnaireResponse.item[0].item[0]", `item "b" does not belong here: the Questionnaire has it at the top level`}}},
		{"question child under item, not answer", "in-progress", `{"linkId":"parent","answer":[{"valueBoolean":true}],"item":[{"linkId":"parent.child"}]}`,
			[]want{{"QuestionnaireResponse.item[0].item[0]", "go under its answers (answer.item)"}}},
		{"items under an answer of a question without children", "in-progress", `{"linkId":"int","answer":[{"valueInteger":1,"item":[{"linkId":"b"}]}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0].item[0]", `item "b" does not belong here`}}},
		{"question repeated as items", "in-progress", `{"linkId":"int","answer":[{"valueInteger":1}]},{"linkId":"int","answer":[{"valueInteger":2}]}`,
			[]want{{"QuestionnaireResponse.item[1]", `item "int" appears more than once here`}}},
		{"group that does not repeat, repeated", "in-progress", `{"linkId":"grp"},{"linkId":"grp"}`,
			[]want{{"QuestionnaireResponse.item[1]", "the group does not repeat"}}},

		// answers
		{"group with an answer", "in-progress", `{"linkId":"grp","answer":[{"valueString":"x"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", `group item "grp" cannot have answers`}}},
		{"display with an answer", "in-progress", `{"linkId":"disp","answer":[{"valueString":"x"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", `display item "disp" cannot have answers`}}},
		{"display with items", "in-progress", `{"linkId":"disp","item":[{"linkId":"b"}]}`,
			[]want{{"QuestionnaireResponse.item[0].item[0]", `display item "disp" cannot have items`}}},
		{"two answers, no repeats", "in-progress", `{"linkId":"int","answer":[{"valueInteger":1},{"valueInteger":2}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[1]", `item "int" does not repeat`}}},
		{"two values in one answer", "in-progress", `{"linkId":"int","answer":[{"valueInteger":1,"valueString":"1"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "this one has 2"}}},
		{"answer without a value", "in-progress", `{"linkId":"int","answer":[{"extension":[{"url":"http://e","valueString":"x"}]}]}`, nil},
		{"too long", "in-progress", `{"linkId":"s","answer":[{"valueString":"éééééé"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "has 6 characters; maxLength is 5"}}},
		{"not a whole number", "in-progress", `{"linkId":"int","answer":[{"valueInteger":1.5}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0].valueInteger", "whole number"}}},
		{"string where a boolean goes", "in-progress", `{"linkId":"b","answer":[{"valueBoolean":"true"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0].valueBoolean", "true or false"}}},

		// choices
		{"Coding not an option", "in-progress", `{"linkId":"c","answer":[{"valueCoding":{"system":"http://s","code":"z"}}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", `the Coding http://s|z is not one of the answer options of item "c"`}}},
		{"Coding of another system", "in-progress", `{"linkId":"c","answer":[{"valueCoding":{"system":"http://t","code":"a"}}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "not one of the answer options"}}},
		{"Coding without its system", "in-progress", `{"linkId":"c","answer":[{"valueCoding":{"code":"a"}}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "not one of the answer options"}}},
		{"integer not an option", "in-progress", `{"linkId":"ci","answer":[{"valueInteger":3}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "3 is not one of the answer options"}}},
		{"string not an option", "in-progress", `{"linkId":"cs","answer":[{"valueString":"y"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", `"y" is not one of the answer options`}}},
		{"reference not an option", "in-progress", `{"linkId":"cr","answer":[{"valueReference":{"reference":"Practitioner/2"}}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", `the reference "Practitioner/2" is not one`}}},
		{"date not an option", "in-progress", `{"linkId":"cd","answer":[{"valueDate":"2024-01-02"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "not one of the answer options"}}},
		{"string for a Coding choice", "in-progress", `{"linkId":"c","answer":[{"valueString":"a"}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "its answers are valueCoding, not valueString"}}},
		{"open-choice Coding not an option", "in-progress", `{"linkId":"oc","answer":[{"valueCoding":{"system":"http://s","code":"z"}}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "not one of the answer options"}}},
		{"open-choice integer", "in-progress", `{"linkId":"oc","answer":[{"valueInteger":1}]}`,
			[]want{{"QuestionnaireResponse.item[0].answer[0]", "valueCoding or valueString, not valueInteger"}}},

		// enableWhen
		{"disabled item answered", "in-progress", `{"linkId":"gate","answer":[{"valueBoolean":false}]},{"linkId":"gated","answer":[{"valueString":"x"}]}`,
			[]want{{"QuestionnaireResponse.item[1]", `item "gated" is disabled by enableWhen`}}},
		{"disabled group with answers below", "in-progress", `{"linkId":"gated-group","item":[{"linkId":"gg.a","answer":[{"valueString":"x"}]}]}`,
			[]want{{"QuestionnaireResponse.item[0]", `item "gated-group" is disabled`}}},
		{"disabled item present without answers", "in-progress", `{"linkId":"gated","text":"shown"}`, nil},
		{"enabled item answered", "in-progress", `{"linkId":"gate","answer":[{"valueBoolean":true}]},{"linkId":"gated","answer":[{"valueString":"x"}]}`, nil},

		// required, when completed
		{"required missing, in progress", "in-progress", ``, nil},
		{"required missing, completed", "completed", ``,
			[]want{{"QuestionnaireResponse", `required item "b" is not answered`}}},
		{"required missing, amended", "amended", ``,
			[]want{{"QuestionnaireResponse", `required item "b" is not answered`}}},
		{"required present without an answer", "completed", `{"linkId":"b"}`,
			[]want{{"QuestionnaireResponse.item[0]", `required item "b" is not answered`}}},
		{"required but disabled", "completed", bTrue + `,{"linkId":"gate","answer":[{"valueBoolean":false}]}`, nil},
		{"required, enabled, missing", "completed", bTrue + `,{"linkId":"gate","answer":[{"valueBoolean":true}]}`,
			[]want{{"QuestionnaireResponse", `required item "gated" is not answered`}, {"QuestionnaireResponse", `required item "gated-group" is not answered`}}},
		{"required group with nothing answered", "completed", bTrue + `,{"linkId":"gate","answer":[{"valueBoolean":true}]},{"linkId":"gated","answer":[{"valueString":"x"}]},{"linkId":"gated-group","item":[{"linkId":"gg.a"}]}`,
			[]want{{"QuestionnaireResponse.item[3]", `required item "gated-group" is not answered`}}},
		{"required in an absent optional group", "completed", bTrue, nil},
		{"required in a present group", "completed", bTrue + `,{"linkId":"grp","item":[{"linkId":"grp.b","answer":[{"valueString":"x"}]}]}`,
			[]want{{"QuestionnaireResponse.item[1]", `required item "grp.a" is not answered`}}},
		{"required under an answer", "completed", bTrue + `,{"linkId":"parent","answer":[{"valueBoolean":true}]}`,
			[]want{{"QuestionnaireResponse.item[1].answer[0]", `required item "parent.child" is not answered`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkIssues(t, Validate(form1, resp(tc.status, tc.items)), tc.wants)
		})
	}
}

// TestValidateAnswerTypes gives every item a value of every other type.
func TestValidateAnswerTypes(t *testing.T) {
	good := map[string]string{
		"b": `"valueBoolean":true`, "dec": `"valueDecimal":1.5`, "int": `"valueInteger":1`, "d": `"valueDate":"2024-01-01"`,
		"dt": `"valueDateTime":"2024-01-01T00:00:00Z"`, "tm": `"valueTime":"10:00:00"`, "s": `"valueString":"a"`, "u": `"valueUri":"urn:x"`,
		"c": `"valueCoding":{"system":"http://s","code":"a"}`, "att": `"valueAttachment":{"contentType":"text/plain"}`,
		"ref": `"valueReference":{"reference":"Patient/1"}`, "qty": `"valueQuantity":{"value":1}`,
	}
	for item := range good {
		for other, value := range good {
			t.Run(item+"/"+other, func(t *testing.T) {
				issues := Validate(form1, resp("in-progress", `{"linkId":"`+item+`","answer":[{`+value+`}]}`))
				if wantOK := item == other; wantOK != (len(issues) == 0) {
					t.Errorf("%s answered with %s: %s", item, value, show(issues))
				}
			})
		}
	}
}

func TestValidateCanonical(t *testing.T) {
	for q, wantText := range map[string]string{
		"http://x/Questionnaire/t":   "",
		"http://x/Questionnaire/t|2": "",
		"http://x/Questionnaire/u":   "the response is to http://x/Questionnaire/u, not to http://x/Questionnaire/t",
		"http://x/Questionnaire/t|1": "version 1 of http://x/Questionnaire/t; this is version 2",
	} {
		r := []byte(`{"resourceType":"QuestionnaireResponse","questionnaire":"` + q + `","status":"in-progress"}`)
		var wants []want
		if wantText != "" {
			wants = []want{{"QuestionnaireResponse.questionnaire", wantText}}
		}
		checkIssues(t, Validate(form1, r), wants)
	}
}

func TestValidateUnreadable(t *testing.T) {
	if got := Validate([]byte(`[`), resp("completed", bTrue)); len(got) != 1 || got[0].Code != r4.IssueTypeProcessing {
		t.Errorf("unreadable Questionnaire: %s", show(got))
	}
	for _, r := range []string{`[]`, `{`, `"x"`, `{} {}`} {
		if got := Validate(form1, []byte(r)); len(got) != 1 || got[0].Code != r4.IssueTypeStructure {
			t.Errorf("response %s: %s", r, show(got))
		}
	}
}

func TestValidateCapsIssues(t *testing.T) {
	items := strings.Repeat(`{"linkId":"nope"},`, MaxIssues+20)
	got := Validate(form1, resp("in-progress", strings.TrimSuffix(items, ",")))
	if len(got) != MaxIssues+1 || got[MaxIssues].Code != r4.IssueTypeTooCostly {
		t.Errorf("%d issues, last %v", len(got), got[len(got)-1])
	}
}

func TestErr(t *testing.T) {
	if Err(nil) != nil {
		t.Error("Err(nil) is not nil")
	}
	if Err([]fhir.Issue{{Severity: r4.IssueSeverityWarning}}) != nil {
		t.Error("a warning is an error")
	}
	err := Err(Validate(form1, resp("completed", "")))
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.HTTPStatus() != http.StatusUnprocessableEntity || len(fe.Issues) != 1 {
		t.Errorf("Err = %#v", err)
	}
}
