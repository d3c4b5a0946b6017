package questionnaire_test

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/questionnaire"
)

// contentBody returns a content resource's JSON under base.
func contentBody(t testing.TB, base, typ, id string) []byte {
	t.Helper()
	all, err := content.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Type == typ && r.ID == id {
			return r.Body
		}
	}
	t.Fatalf("no content %s/%s", typ, id)
	return nil
}

var freqCodes = []string{"never", "sometimes", "often", "always"}
var diffCodes = []string{"not-difficult", "quite-difficult", "very-difficult", "impossible"}

// sdsItem answers sds-n with the answer scoring score, under base.
func sdsItem(base string, n, score int) string {
	codes := freqCodes
	if n == 5 {
		codes = diffCodes
	}
	return fmt.Sprintf(`{"linkId":"sds-%d","answer":[{"valueCoding":{"system":"%s/CodeSystem/sds-answer","code":"%s"}}]}`, n, base, codes[score])
}

// sdsResponse is a response to the SDS with the given scores (a negative
// score leaves the item out) and extra items appended.
func sdsResponse(base, status string, scores [5]int, extra ...string) []byte {
	var items []string
	for i, s := range scores {
		if s >= 0 {
			items = append(items, sdsItem(base, i+1, s))
		}
	}
	items = append(items, extra...)
	return []byte(`{"resourceType":"QuestionnaireResponse","questionnaire":"` + base + `/Questionnaire/sds-benzo|1.0.0","status":"` + status +
		`","subject":{"reference":"Patient/p1"},"authored":"2024-05-03T10:15:00+01:00","item":[` + strings.Join(items, ",") + `]}`)
}

func calculated(base string, total int) string {
	return fmt.Sprintf(`{"extension":[{"url":"%s/StructureDefinition/server-calculated","valueBoolean":true}],"valueInteger":%d}`, base, total)
}

// checkStored checks that a response Score returned is valid FHIR and a
// valid response to the SDS.
func checkStored(t *testing.T, sds, body []byte) {
	t.Helper()
	if _, err := fhir.Parse("QuestionnaireResponse", body); err != nil {
		t.Errorf("the scored response does not parse: %v\n%s", err, body)
	}
	if issues := questionnaire.Validate(sds, body); len(issues) > 0 {
		t.Errorf("the scored response is invalid: %v\n%s", issues, body)
	}
}

func TestScoreSDSTotals(t *testing.T) {
	base := content.DefaultBase
	sds := contentBody(t, base, "Questionnaire", "sds-benzo")
	for _, tc := range []struct {
		scores [5]int
		total  int
	}{
		{[5]int{0, 0, 0, 0, 0}, 0},
		{[5]int{3, 3, 0, 0, 0}, 6},
		{[5]int{1, 1, 1, 1, 2}, 6},
		{[5]int{3, 3, 1, 0, 0}, 7},
		{[5]int{1, 1, 1, 2, 2}, 7},
		{[5]int{3, 3, 3, 3, 3}, 15},
	} {
		t.Run(fmt.Sprint(tc.scores), func(t *testing.T) {
			in := sdsResponse(base, "completed", tc.scores)
			res, issues := questionnaire.Score(sds, in)
			if len(issues) > 0 {
				t.Fatal(issues)
			}
			if got, ok := res.Int(); !ok || got != tc.total || !res.Complete || !res.Scored || res.Instrument != questionnaire.SDSInstrument {
				t.Errorf("result %+v, want total %d", res, tc.total)
			}
			if len(res.Items) != 5 || len(res.Missing) != 0 {
				t.Errorf("items %v missing %v", res.Items, res.Missing)
			}
			// The total item is appended to the client's items; nothing
			// else changes.
			added := `,{"linkId":"sds-total","text":"SDS total score (0-15; 7 or more indicates problematic use)","answer":[` + calculated(base, tc.total) + `]}`
			want := string(in[:len(in)-len(`]}`)]) + added + `]}`
			if !res.TotalAdded || string(res.Response) != want {
				t.Errorf("response\n%s\nwant\n%s", res.Response, want)
			}
			checkStored(t, sds, res.Response)
			// The stored response scores again without change.
			again, issues := questionnaire.Score(sds, res.Response)
			if len(issues) > 0 || again.TotalAdded || !bytes.Equal(again.Response, res.Response) {
				t.Errorf("rescoring: %v %+v", issues, again)
			}
		})
	}
}

func TestScoreSDSInsertsIntoTheTotalItem(t *testing.T) {
	base := content.DefaultBase
	sds := contentBody(t, base, "Questionnaire", "sds-benzo")
	// Pretty-printed, with the total item present but unanswered: the
	// answer goes into that item, every other byte stays.
	in := []byte(`{
  "resourceType": "QuestionnaireResponse",
  "status": "in-progress",
  "item": [
    ` + sdsItem(base, 1, 2) + `,
    ` + sdsItem(base, 2, 2) + `,
    ` + sdsItem(base, 3, 0) + `,
    ` + sdsItem(base, 4, 1) + `,
    ` + sdsItem(base, 5, 3) + `,
    {"linkId": "sds-total", "text": "Total"   }
  ]
}`)
	res, issues := questionnaire.Score(sds, in)
	if len(issues) > 0 {
		t.Fatal(issues)
	}
	want := bytes.Replace(in, []byte(`"text": "Total"`), []byte(`"text": "Total","answer":[`+calculated(base, 8)+`]`), 1)
	if !res.TotalAdded || !bytes.Equal(res.Response, want) {
		t.Errorf("response\n%s\nwant\n%s", res.Response, want)
	}
	checkStored(t, sds, res.Response)
}

func TestScoreSDSClientTotal(t *testing.T) {
	base := content.DefaultBase
	sds := contentBody(t, base, "Questionnaire", "sds-benzo")
	total := func(value string) string {
		return `{"linkId":"sds-total","answer":[{` + value + `}]}`
	}
	for _, tc := range []struct {
		name   string
		status string
		scores [5]int
		extra  string
		issue  string // "" for none
	}{
		{"right", "completed", [5]int{3, 3, 1, 0, 0}, total(`"valueInteger":7`), ""},
		{"wrong", "completed", [5]int{3, 3, 1, 0, 0}, total(`"valueInteger":6`), "sds-total is 6, but the answers to sds-1 to sds-5 add up to 7"},
		{"decimal", "completed", [5]int{3, 3, 1, 0, 0}, total(`"valueDecimal":7`), "sds-total is 7, but"},
		{"string", "completed", [5]int{3, 3, 1, 0, 0}, total(`"valueString":"7"`), `sds-total is "7", but`},
		{"no value", "completed", [5]int{3, 3, 1, 0, 0}, `{"linkId":"sds-total","answer":[{"extension":[{"url":"http://e","valueString":"x"}]}]}`, "has no single value"},
		{"partial: the partial sum", "in-progress", [5]int{3, 3, -1, -1, -1}, total(`"valueInteger":6`), ""},
		{"partial: wrong", "in-progress", [5]int{3, 3, -1, -1, -1}, total(`"valueInteger":15`), "add up to 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := sdsResponse(base, tc.status, tc.scores, tc.extra)
			res, issues := questionnaire.Score(sds, in)
			if tc.issue == "" {
				if len(issues) > 0 {
					t.Fatal(issues)
				}
			} else if len(issues) != 1 || !strings.Contains(issues[0].Diagnostics, tc.issue) ||
				issues[0].Expression[0] != fmt.Sprintf("QuestionnaireResponse.item[%d].answer[0]", strings.Count(string(in), `"linkId":"sds-`)-1) {
				t.Fatalf("issues %v, want %q", issues, tc.issue)
			}
			if res.TotalAdded || !bytes.Equal(res.Response, in) {
				t.Errorf("the response changed: %s", res.Response)
			}
			if tc.issue != "" && questionnaire.Err(issues) == nil {
				t.Error("Err does not make the issue an error")
			}
		})
	}
}

func TestScoreSDSPartial(t *testing.T) {
	base := content.DefaultBase
	sds := contentBody(t, base, "Questionnaire", "sds-benzo")
	in := sdsResponse(base, "in-progress", [5]int{2, -1, 3, -1, -1})
	res, issues := questionnaire.Score(sds, in)
	if len(issues) > 0 {
		t.Fatal(issues)
	}
	if res.Complete || res.TotalAdded || !bytes.Equal(res.Response, in) || res.Total.Cmp(big.NewRat(5, 1)) != 0 ||
		!slices.Equal(res.Missing, []string{"sds-2", "sds-4", "sds-5"}) {
		t.Errorf("partial: %+v", res)
	}
	if _, ok := res.Int(); ok {
		t.Error("Int of a partial result")
	}
	// An answer that is no option scores nothing: still partial.
	bad := sdsResponse(base, "in-progress", [5]int{1, 1, 1, 1, -1}, `{"linkId":"sds-5","answer":[{"valueCoding":{"system":"`+base+`/CodeSystem/sds-answer","code":"never"}}]}`)
	res, _ = questionnaire.Score(sds, bad)
	if res.Complete || res.TotalAdded || !slices.Equal(res.Missing, []string{"sds-5"}) {
		t.Errorf("answer not an option: %+v", res)
	}
	// A completed response with an item missing is Validate's to refuse;
	// Score adds nothing.
	res, _ = questionnaire.Score(sds, sdsResponse(base, "completed", [5]int{1, 1, 1, 1, -1}))
	if res.TotalAdded {
		t.Error("total added to an incomplete response")
	}
}

func TestScoreSDSUnderAnotherBase(t *testing.T) {
	base := "https://fhir.example.scot/r4"
	sds := contentBody(t, base, "Questionnaire", "sds-benzo")
	res, issues := questionnaire.Score(sds, sdsResponse(base, "completed", [5]int{3, 3, 3, 3, 0}))
	if len(issues) > 0 || !res.TotalAdded || !bytes.Contains(res.Response, []byte(calculated(base, 12))) {
		t.Errorf("%v %s", issues, res.Response)
	}
	checkStored(t, sds, res.Response)
}

// TestScoreOrdinalExtensions scores a Questionnaire per ordinal extension
// URL, on the answer option and on its Coding.
func TestScoreOrdinalExtensions(t *testing.T) {
	for _, url := range []string{questionnaire.OrdinalValueURL, questionnaire.ItemWeightURL, questionnaire.QuestionnaireOrdinalValueURL} {
		for _, onCoding := range []bool{false, true} {
			for _, valueKey := range []string{"valueDecimal", "valueInteger"} {
				opt := func(code string, score string) string {
					ext := `"extension":[{"url":"` + url + `","` + valueKey + `":` + score + `}]`
					if onCoding {
						return `{"valueCoding":{` + ext + `,"system":"http://s","code":"` + code + `"}}`
					}
					return `{` + ext + `,"valueCoding":{"system":"http://s","code":"` + code + `"}}`
				}
				q := []byte(`{"resourceType":"Questionnaire","url":"http://x/Questionnaire/phq","status":"active","item":[
					{"linkId":"q1","type":"choice","answerOption":[` + opt("a", "0") + `,` + opt("b", "2") + `]},
					{"linkId":"q2","type":"choice","repeats":true,"answerOption":[` + opt("a", "1") + `,` + opt("b", "3") + `]},
					{"linkId":"free","type":"string"}]}`)
				r := []byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[
					{"linkId":"q1","answer":[{"valueCoding":{"system":"http://s","code":"b"}}]},
					{"linkId":"q2","answer":[{"valueCoding":{"system":"http://s","code":"a","extension":[{"url":"` + url + `","valueDecimal":100}]}},{"valueCoding":{"system":"http://s","code":"b"}}]}]}`)
				t.Run(fmt.Sprintf("%s/coding=%v/%s", url, onCoding, valueKey), func(t *testing.T) {
					res, issues := questionnaire.Score(q, r)
					if len(issues) > 0 {
						t.Fatal(issues)
					}
					// 2 + (1 + 3): the client's extension on its answer is ignored.
					if n, ok := res.Int(); !ok || n != 6 || res.Instrument != "" || res.TotalAdded || !bytes.Equal(res.Response, r) {
						t.Errorf("%+v", res)
					}
					if len(res.Items) != 2 || res.Items[1].LinkID != "q2" || res.Items[1].Path != "QuestionnaireResponse.item[1]" || res.Items[1].Score.Cmp(big.NewRat(4, 1)) != 0 {
						t.Errorf("items %+v", res.Items)
					}
				})
			}
		}
	}
}

func TestScoreDecimalOrdinals(t *testing.T) {
	q := []byte(`{"resourceType":"Questionnaire","status":"active","item":[
		{"linkId":"a","type":"choice","answerOption":[{"extension":[{"url":"` + questionnaire.OrdinalValueURL + `","valueDecimal":0.1}],"valueCoding":{"system":"http://s","code":"x"}}]},
		{"linkId":"b","type":"choice","answerOption":[{"extension":[{"url":"` + questionnaire.OrdinalValueURL + `","valueDecimal":0.2}],"valueCoding":{"system":"http://s","code":"x"}}]}]}`)
	r := []byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[
		{"linkId":"a","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]},
		{"linkId":"b","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]}]}`)
	res, _ := questionnaire.Score(q, r)
	if res.Total.Cmp(big.NewRat(3, 10)) != 0 || !res.Complete {
		t.Errorf("0.1 + 0.2 = %v", res.Total)
	}
	if _, ok := res.Int(); ok {
		t.Error("Int of 0.3")
	}
}

func TestScoreSkipsDisabledAndCountsAbsent(t *testing.T) {
	ord := func(code string, n int) string {
		return fmt.Sprintf(`{"extension":[{"url":"%s","valueDecimal":%d}],"valueCoding":{"system":"http://s","code":"%s"}}`, questionnaire.OrdinalValueURL, n, code)
	}
	q := []byte(`{"resourceType":"Questionnaire","status":"active","item":[
		{"linkId":"gate","type":"boolean"},
		{"linkId":"gated","type":"choice","answerOption":[` + ord("x", 5) + `],"enableWhen":[{"question":"gate","operator":"=","answerBoolean":true}]},
		{"linkId":"g","type":"group","item":[{"linkId":"in-group","type":"choice","answerOption":[` + ord("x", 1) + `]}]},
		{"linkId":"plain","type":"choice","answerOption":[` + ord("x", 2) + `]}]}`)
	for _, tc := range []struct {
		name, items string
		total       int64
		missing     []string
	}{
		{"all answered", `{"linkId":"gate","answer":[{"valueBoolean":true}]},{"linkId":"gated","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]},
			{"linkId":"g","item":[{"linkId":"in-group","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]}]},{"linkId":"plain","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]}`, 8, nil},
		{"disabled neither counts nor is missing", `{"linkId":"gate","answer":[{"valueBoolean":false}]},{"linkId":"gated","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]},
			{"linkId":"g","item":[{"linkId":"in-group","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]}]},{"linkId":"plain","answer":[{"valueCoding":{"system":"http://s","code":"x"}}]}`, 3, nil},
		{"absent group and item are missing", `{"linkId":"gate","answer":[{"valueBoolean":true}]}`, 0, []string{"gated", "in-group", "plain"}},
	} {
		res, issues := questionnaire.Score(q, []byte(`{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[`+tc.items+`]}`))
		if len(issues) > 0 || res.Total.Cmp(big.NewRat(tc.total, 1)) != 0 || !slices.Equal(res.Missing, tc.missing) || res.Complete != (tc.missing == nil) {
			t.Errorf("%s: %v %+v", tc.name, issues, res)
		}
	}
}

func TestScoreUnscored(t *testing.T) {
	r := []byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"b","answer":[{"valueBoolean":true}]}]}`)
	res, issues := questionnaire.Score(contentBody(t, "", "Questionnaire", "bps-benzo"), r)
	if len(issues) > 0 || res.Scored || res.Total != nil || !bytes.Equal(res.Response, r) {
		t.Errorf("%v %+v", issues, res)
	}
	if _, issues := questionnaire.Score([]byte(`nope`), r); len(issues) != 1 {
		t.Errorf("unreadable Questionnaire: %v", issues)
	}
	if _, issues := questionnaire.Score(contentBody(t, "", "Questionnaire", "sds-benzo"), []byte(`[1]`)); len(issues) != 1 {
		t.Errorf("unreadable response: %v", issues)
	}
}
