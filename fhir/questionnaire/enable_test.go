package questionnaire

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// mustJSON marshals test fixtures.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// obj is a JSON object in a fixture.
type obj = map[string]any

// enabledStates reads response against questionnaire and returns whether
// each item with linkID is enabled, in document order.
func enabledStates(t *testing.T, questionnaire, response []byte, linkID string) []bool {
	t.Helper()
	f, err := parseForm(questionnaire)
	if err != nil {
		t.Fatal(err)
	}
	root, err := parseJSON(response)
	if err != nil {
		t.Fatal(err)
	}
	r := readResponse(f, root)
	var out []bool
	var walk func(c *container)
	walk = func(c *container) {
		for _, it := range c.items {
			if it.linkID == linkID {
				out = append(out, r.enabled(it))
			}
			for _, cc := range it.containers() {
				walk(cc)
			}
		}
	}
	walk(r.root)
	return out
}

// answerKind is how a response's answer relates to the condition's.
type answerKind string

const (
	kEq   answerKind = "equal"
	kGt   answerKind = "greater"
	kLt   answerKind = "less"
	kNe   answerKind = "different, unordered"
	kNone answerKind = "no answer"
)

// typeCase is one enableWhen answer type: the question's item type, the
// condition's answer[x], and response answers of each kind.
type typeCase struct {
	itemType string
	condKey  string
	cond     any
	valueKey string
	answers  map[answerKind][]any // several answers of one kind: each is tried
}

var ucum = "http://unitsofmeasure.org"

var typeCases = []typeCase{
	{"boolean", "answerBoolean", true, "valueBoolean", map[answerKind][]any{kEq: {true}, kNe: {false}}},
	{"decimal", "answerDecimal", json.Number("2.5"), "valueDecimal", map[answerKind][]any{
		kEq: {json.Number("2.5"), json.Number("2.50"), json.Number("25e-1")}, kGt: {json.Number("2.51")}, kLt: {json.Number("-3")}}},
	{"integer", "answerInteger", 5, "valueInteger", map[answerKind][]any{kEq: {5}, kGt: {6}, kLt: {4}}},
	{"date", "answerDate", "2024-05-02", "valueDate", map[answerKind][]any{kEq: {"2024-05-02"}, kGt: {"2024-05-03", "2025"}, kLt: {"2024-05-01", "2024-04"}}},
	{"dateTime", "answerDateTime", "2024-05-02T10:00:00Z", "valueDateTime", map[answerKind][]any{
		kEq: {"2024-05-02T10:00:00Z", "2024-05-02T11:00:00+01:00"}, kGt: {"2024-05-02T10:00:01Z", "2024-05-03"}, kLt: {"2024-05-02T09:59:59Z", "2024-05-01"}}},
	{"time", "answerTime", "10:30:00", "valueTime", map[answerKind][]any{kEq: {"10:30:00", "10:30:00.000"}, kGt: {"10:30:00.5", "23:00:00"}, kLt: {"09:00:00"}}},
	{"string", "answerString", "beta", "valueString", map[answerKind][]any{kEq: {"beta"}, kGt: {"gamma", "betas"}, kLt: {"alpha", "Beta"}}},
	{"choice", "answerCoding", obj{"system": "http://s", "code": "b"}, "valueCoding", map[answerKind][]any{
		kEq: {obj{"system": "http://s", "code": "b", "display": "B"}}, kNe: {obj{"system": "http://s", "code": "c"}, obj{"system": "http://other", "code": "b"}, obj{"code": "b"}}}},
	{"quantity", "answerQuantity", obj{"value": 5, "unit": "mg", "system": ucum, "code": "mg"}, "valueQuantity", map[answerKind][]any{
		kEq: {obj{"value": json.Number("5.0"), "unit": "milligram", "system": ucum, "code": "mg"}}, kGt: {obj{"value": 10, "system": ucum, "code": "mg"}}, kLt: {obj{"value": 2, "unit": "mg", "system": ucum, "code": "mg"}},
		kNe: {obj{"value": 5, "unit": "g", "system": ucum, "code": "g"}, obj{"value": 5}}}},
	{"reference", "answerReference", obj{"reference": "Patient/1"}, "valueReference", map[answerKind][]any{kEq: {obj{"reference": "Patient/1"}}, kNe: {obj{"reference": "Patient/2"}}}},
}

// expected is R4's QuestionnaireItemOperator for one answer of kind k
// (or none).
func expected(op string, k answerKind, existsWant bool) bool {
	switch op {
	case "exists":
		return (k != kNone) == existsWant
	case "=":
		return k == kEq
	case "!=":
		return k != kEq
	case ">":
		return k == kGt
	case "<":
		return k == kLt
	case ">=":
		return k == kEq || k == kGt
	case "<=":
		return k == kEq || k == kLt
	}
	panic(op)
}

func TestEnableWhenOperatorsAndTypes(t *testing.T) {
	ops := []string{"exists", "=", "!=", ">", "<", ">=", "<="}
	for _, tc := range typeCases {
		for _, op := range ops {
			for _, existsWant := range []bool{true, false} {
				if op != "exists" && !existsWant {
					continue
				}
				cond := obj{"question": "src", "operator": op, tc.condKey: tc.cond}
				if op == "exists" {
					cond = obj{"question": "src", "operator": op, "answerBoolean": existsWant}
				}
				q := mustJSON(t, obj{"resourceType": "Questionnaire", "status": "active", "item": []any{
					obj{"linkId": "src", "type": tc.itemType},
					obj{"linkId": "dst", "type": "string", "enableWhen": []any{cond}},
				}})
				kinds := []answerKind{kNone, kEq, kGt, kLt, kNe}
				for _, k := range kinds {
					answers := tc.answers[k]
					if k == kNone {
						answers = []any{nil}
					}
					for _, a := range answers {
						items := []any{}
						if k != kNone {
							items = append(items, obj{"linkId": "src", "answer": []any{obj{tc.valueKey: a}}})
						}
						items = append(items, obj{"linkId": "dst"})
						r := mustJSON(t, obj{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": items})
						name := fmt.Sprintf("%s/%s%v/%s/%v", tc.itemType, op, map[bool]string{true: "", false: "false"}[existsWant || op != "exists"], k, a)
						t.Run(name, func(t *testing.T) {
							got := enabledStates(t, q, r, "dst")
							want := expected(op, k, existsWant)
							if len(got) != 1 || got[0] != want {
								t.Errorf("enabled = %v, want %v\nresponse %s", got, want, r)
							}
						})
					}
				}
			}
		}
	}
}

// TestEnableWhenRepeatedAnswers: = holds if some answer equals, != if
// none does, > if some answer is greater.
func TestEnableWhenRepeatedAnswers(t *testing.T) {
	for _, tc := range []struct {
		op      string
		answers []int
		want    bool
	}{
		{"=", []int{1, 5}, true},
		{"=", []int{1, 2}, false},
		{"!=", []int{1, 5}, false},
		{"!=", []int{1, 2}, true},
		{">", []int{1, 9}, true},
		{">", []int{1, 5}, false},
		{"<=", []int{9, 5}, true},
		{"<", []int{9, 6}, false},
	} {
		q := mustJSON(t, obj{"resourceType": "Questionnaire", "status": "active", "item": []any{
			obj{"linkId": "src", "type": "integer", "repeats": true},
			obj{"linkId": "dst", "type": "string", "enableWhen": []any{obj{"question": "src", "operator": tc.op, "answerInteger": 5}}},
		}})
		var answers []any
		for _, a := range tc.answers {
			answers = append(answers, obj{"valueInteger": a})
		}
		r := mustJSON(t, obj{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": []any{
			obj{"linkId": "src", "answer": answers}, obj{"linkId": "dst"}}})
		if got := enabledStates(t, q, r, "dst"); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s 5 with answers %v: enabled %v, want %v", tc.op, tc.answers, got, tc.want)
		}
	}
}

func TestEnableWhenDatePrecision(t *testing.T) {
	// Overlapping ranges of different precision are neither equal nor
	// ordered; disjoint ones order.
	for _, tc := range []struct {
		cond, op, answer string
		want             bool
	}{
		{"2024-05", "=", "2024-05-02", false},
		{"2024-05", ">=", "2024-05-02", false},
		{"2024-05", "<=", "2024-05-02", false},
		{"2024-05", "!=", "2024-05-02", true},
		{"2024-05", ">", "2024-06-01", true},
		{"2024-05", "<", "2024-04-30", true},
		{"2024-05-02", "=", "2024-05-02T00:00:00Z", false},
		{"2024-05-02", "<", "2024-05-01T23:59:59Z", true},
	} {
		q := mustJSON(t, obj{"resourceType": "Questionnaire", "status": "active", "item": []any{
			obj{"linkId": "src", "type": "dateTime"},
			obj{"linkId": "dst", "type": "string", "enableWhen": []any{obj{"question": "src", "operator": tc.op, "answerDateTime": tc.cond}}},
		}})
		r := mustJSON(t, obj{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": []any{
			obj{"linkId": "src", "answer": []any{obj{"valueDateTime": tc.answer}}}, obj{"linkId": "dst"}}})
		if got := enabledStates(t, q, r, "dst"); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s %s %s: enabled %v, want %v", tc.answer, tc.op, tc.cond, got, tc.want)
		}
	}
}

func TestEnableWhenCrossNumeric(t *testing.T) {
	q := mustJSON(t, obj{"resourceType": "Questionnaire", "status": "active", "item": []any{
		obj{"linkId": "src", "type": "integer"},
		obj{"linkId": "dst", "type": "string", "enableWhen": []any{obj{"question": "src", "operator": ">=", "answerDecimal": json.Number("2.5")}}},
	}})
	for answer, want := range map[int]bool{2: false, 3: true} {
		r := mustJSON(t, obj{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": []any{
			obj{"linkId": "src", "answer": []any{obj{"valueInteger": answer}}}, obj{"linkId": "dst"}}})
		if got := enabledStates(t, q, r, "dst"); got[0] != want {
			t.Errorf("integer %d >= decimal 2.5: %v, want %v", answer, got[0], want)
		}
	}
}

func TestEnableBehavior(t *testing.T) {
	conds := []any{
		obj{"question": "a", "operator": "=", "answerBoolean": true},
		obj{"question": "b", "operator": "=", "answerBoolean": true},
	}
	for _, tc := range []struct {
		behavior string
		a, b     bool
		want     bool
	}{
		{"all", true, true, true},
		{"all", true, false, false},
		{"all", false, false, false},
		{"any", true, false, true},
		{"any", false, true, true},
		{"any", false, false, false},
		{"", true, false, true}, // missing with several (que-12): any, as STU3
		{"", false, false, false},
	} {
		dst := obj{"linkId": "dst", "type": "string", "enableWhen": conds}
		if tc.behavior != "" {
			dst["enableBehavior"] = tc.behavior
		}
		q := mustJSON(t, obj{"resourceType": "Questionnaire", "status": "active", "item": []any{
			obj{"linkId": "a", "type": "boolean"}, obj{"linkId": "b", "type": "boolean"}, dst}})
		r := mustJSON(t, obj{"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": []any{
			obj{"linkId": "a", "answer": []any{obj{"valueBoolean": tc.a}}},
			obj{"linkId": "b", "answer": []any{obj{"valueBoolean": tc.b}}},
			obj{"linkId": "dst"}}})
		if got := enabledStates(t, q, r, "dst"); got[0] != tc.want {
			t.Errorf("%q a=%v b=%v: %v, want %v", tc.behavior, tc.a, tc.b, got[0], tc.want)
		}
	}
}

// nested is a Questionnaire exercising where the question of a condition
// is found: across groups, from under a question's answers, inside a
// repeating group, into a repeating group, and through a disabled item.
var nested = []byte(`{"resourceType":"Questionnaire","status":"active","item":[
 {"linkId":"g1","type":"group","item":[
  {"linkId":"smoker","type":"boolean"},
  {"linkId":"disabled-src","type":"boolean","enableWhen":[{"question":"smoker","operator":"=","answerBoolean":true}]}
 ]},
 {"linkId":"g2","type":"group","item":[
  {"linkId":"per-day","type":"integer","enableWhen":[{"question":"smoker","operator":"=","answerBoolean":true}]},
  {"linkId":"via-disabled","type":"string","enableWhen":[{"question":"disabled-src","operator":"exists","answerBoolean":true}]}
 ]},
 {"linkId":"substance","type":"choice","repeats":true,"answerOption":[{"valueCoding":{"system":"http://s","code":"alcohol"}},{"valueCoding":{"system":"http://s","code":"opioid"}}],
  "item":[{"linkId":"units","type":"integer","enableWhen":[{"question":"substance","operator":"=","answerCoding":{"system":"http://s","code":"alcohol"}}]}]},
 {"linkId":"episode","type":"group","repeats":true,"item":[
  {"linkId":"kind","type":"string"},
  {"linkId":"detail","type":"string","enableWhen":[{"question":"kind","operator":"=","answerString":"nfod"}]}
 ]},
 {"linkId":"after-episodes","type":"string","enableWhen":[{"question":"kind","operator":"=","answerString":"nfod"}]}
]}`)

func TestEnableWhenNesting(t *testing.T) {
	for _, tc := range []struct {
		name, response, linkID string
		want                   []bool
	}{
		{"across groups: enabled", `{"item":[{"linkId":"g1","item":[{"linkId":"smoker","answer":[{"valueBoolean":true}]}]},{"linkId":"g2","item":[{"linkId":"per-day"}]}]}`, "per-day", []bool{true}},
		{"across groups: disabled", `{"item":[{"linkId":"g1","item":[{"linkId":"smoker","answer":[{"valueBoolean":false}]}]},{"linkId":"g2","item":[{"linkId":"per-day"}]}]}`, "per-day", []bool{false}},
		{"question absent", `{"item":[{"linkId":"g2","item":[{"linkId":"per-day"}]}]}`, "per-day", []bool{false}},
		{"disabled question counts as unanswered", `{"item":[{"linkId":"g1","item":[{"linkId":"smoker","answer":[{"valueBoolean":false}]},{"linkId":"disabled-src","answer":[{"valueBoolean":true}]}]},{"linkId":"g2","item":[{"linkId":"via-disabled"}]}]}`, "via-disabled", []bool{false}},
		{"enabled question counts", `{"item":[{"linkId":"g1","item":[{"linkId":"smoker","answer":[{"valueBoolean":true}]},{"linkId":"disabled-src","answer":[{"valueBoolean":true}]}]},{"linkId":"g2","item":[{"linkId":"via-disabled"}]}]}`, "via-disabled", []bool{true}},
		{"ancestor question, all its answers", `{"item":[{"linkId":"substance","answer":[{"valueCoding":{"system":"http://s","code":"opioid"},"item":[{"linkId":"units"}]},{"valueCoding":{"system":"http://s","code":"alcohol"},"item":[{"linkId":"units"}]}]}]}`, "units", []bool{true, true}},
		{"ancestor question, no match", `{"item":[{"linkId":"substance","answer":[{"valueCoding":{"system":"http://s","code":"opioid"},"item":[{"linkId":"units"}]}]}]}`, "units", []bool{false}},
		{"repeating group: own instance only", `{"item":[
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"nfod"}]},{"linkId":"detail"}]},
			{"linkId":"episode","item":[{"linkId":"detail"}]},
			{"linkId":"episode","item":[{"linkId":"detail"},{"linkId":"kind","answer":[{"valueString":"nfod"}]}]},
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"seizure"}]},{"linkId":"detail"}]}]}`, "detail", []bool{true, false, true, false}},
		{"into a repeating group: the nearest preceding instance", `{"item":[
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"nfod"}]}]},
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"seizure"}]}]},
			{"linkId":"after-episodes"}]}`, "after-episodes", []bool{false}},
		{"into a repeating group: the nearest preceding instance matches", `{"item":[
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"seizure"}]}]},
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"nfod"}]}]},
			{"linkId":"after-episodes"}]}`, "after-episodes", []bool{true}},
		{"into a repeating group: else the first following", `{"item":[
			{"linkId":"after-episodes"},
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"nfod"}]}]},
			{"linkId":"episode","item":[{"linkId":"kind","answer":[{"valueString":"seizure"}]}]}]}`, "after-episodes", []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := enabledStates(t, nested, []byte(tc.response), tc.linkID)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("enabled %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEnableWhenDisabledParentDisablesChildren(t *testing.T) {
	q := []byte(`{"resourceType":"Questionnaire","status":"active","item":[
	 {"linkId":"on","type":"boolean"},
	 {"linkId":"g","type":"group","enableWhen":[{"question":"on","operator":"=","answerBoolean":true}],"item":[
	  {"linkId":"child","type":"string"}]}]}`)
	for _, on := range []bool{true, false} {
		r := fmt.Sprintf(`{"item":[{"linkId":"on","answer":[{"valueBoolean":%v}]},{"linkId":"g","item":[{"linkId":"child"}]}]}`, on)
		if got := enabledStates(t, q, []byte(r), "child"); got[0] != on {
			t.Errorf("on=%v: child enabled %v", on, got[0])
		}
	}
}

func TestEnableWhenCycleIsDisabled(t *testing.T) {
	q := []byte(`{"resourceType":"Questionnaire","status":"active","item":[
	 {"linkId":"a","type":"boolean","enableWhen":[{"question":"b","operator":"exists","answerBoolean":true}]},
	 {"linkId":"b","type":"boolean","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]},
	 {"linkId":"self","type":"boolean","enableWhen":[{"question":"self","operator":"exists","answerBoolean":false}]}]}`)
	r := []byte(`{"item":[{"linkId":"a","answer":[{"valueBoolean":true}]},{"linkId":"b","answer":[{"valueBoolean":true}]},{"linkId":"self"}]}`)
	// Deterministic, whatever the order of evaluation.
	for _, id := range []string{"a", "b"} {
		if got := enabledStates(t, q, r, id); got[0] {
			t.Errorf("%s in a cycle is enabled", id)
		}
	}
	if got := enabledStates(t, q, r, "self"); !got[0] {
		// self exists=false: while deciding self, self counts as
		// unanswered, so the condition holds.
		t.Errorf("self-referencing exists=false: %v", got)
	}
	if !strings.Contains(fmt.Sprint(CheckQuestionnaire(q)), "depends on itself") {
		t.Errorf("CheckQuestionnaire does not report the cycle: %v", CheckQuestionnaire(q))
	}
}
