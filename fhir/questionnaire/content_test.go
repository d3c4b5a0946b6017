package questionnaire_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/questionnaire"
	"github.com/matcare/matcare/fhir/schema"
)

// The content files this package owns.
var (
	questionnaires = []string{"bps-benzo", "sds-benzo"}
	codeSystems    = []string{"bps-answer", "sds-answer", "matcare-observation"}
)

func TestContentQuestionnaires(t *testing.T) {
	for _, base := range []string{content.DefaultBase, "https://fhir.example.scot/r4"} {
		for _, id := range questionnaires {
			body := contentBody(t, base, "Questionnaire", id)
			if _, err := fhir.Parse("Questionnaire", body); err != nil {
				t.Errorf("%s: %v", id, err)
			}
			if issues := questionnaire.CheckQuestionnaire(body); len(issues) > 0 {
				t.Errorf("%s: %v", id, issues)
			}
			var q r4.Questionnaire
			if err := json.Unmarshal(body, &q); err != nil {
				t.Fatal(err)
			}
			if q.Url == nil || *q.Url != base+"/Questionnaire/"+id || q.Version == nil || *q.Version != "1.0.0" || q.Status != r4.PublicationStatusActive {
				t.Errorf("%s: url %v version %v status %v", id, q.Url, q.Version, q.Status)
			}
		}
	}
}

// concepts reads a content CodeSystem: code → display.
func concepts(t *testing.T, base, id string) map[string]string {
	t.Helper()
	body := contentBody(t, base, "CodeSystem", id)
	cs, err := r4.UnmarshalCodeSystem(body)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if issues := schema.Validate("CodeSystem", body); len(issues) > 0 {
		t.Errorf("%s: %v", id, issues)
	}
	if cs.Content != r4.CodeSystemContentModeComplete || cs.CaseSensitive == nil || !*cs.CaseSensitive || cs.Status != r4.PublicationStatusActive ||
		cs.Url == nil || *cs.Url != base+"/CodeSystem/"+id || cs.Count == nil || *cs.Count != len(cs.Concept) {
		t.Errorf("%s: content %v caseSensitive %v status %v url %v count %v of %d", id, cs.Content, cs.CaseSensitive, cs.Status, cs.Url, cs.Count, len(cs.Concept))
	}
	out := map[string]string{}
	for _, c := range cs.Concept {
		if _, dup := out[c.Code]; dup {
			t.Errorf("%s: code %s twice", id, c.Code)
		}
		if c.Display == nil || c.Definition == nil {
			t.Errorf("%s: %s needs a display and a definition", id, c.Code)
			continue
		}
		out[c.Code] = *c.Display
	}
	return out
}

// codings lists every Coding (valueCoding, answerCoding, code) in a
// Questionnaire.
func codings(v any, out *[]map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if c, ok := e.(map[string]any); ok && (k == "valueCoding" || k == "answerCoding") {
				*out = append(*out, c)
			}
			if k == "code" {
				if cs, ok := e.([]any); ok {
					for _, c := range cs {
						*out = append(*out, c.(map[string]any))
					}
				}
			}
			codings(e, out)
		}
	case []any:
		for _, e := range x {
			codings(e, out)
		}
	}
}

// TestContentCodings checks that every Coding of the Questionnaires in one
// of this package's CodeSystems names a code of it, with its display.
func TestContentCodings(t *testing.T) {
	base := content.DefaultBase
	systems := map[string]map[string]string{}
	for _, id := range codeSystems {
		systems[base+"/CodeSystem/"+id] = concepts(t, base, id)
	}
	used := map[string]bool{}
	for _, id := range questionnaires {
		var doc any
		if err := json.Unmarshal(contentBody(t, base, "Questionnaire", id), &doc); err != nil {
			t.Fatal(err)
		}
		var cs []map[string]any
		codings(doc, &cs)
		for _, c := range cs {
			sys, _ := c["system"].(string)
			code, _ := c["code"].(string)
			displays, ours := systems[sys]
			if !ours {
				continue
			}
			used[sys+"|"+code] = true
			display, ok := displays[code]
			if !ok {
				t.Errorf("%s: %s|%s is not in the CodeSystem", id, sys, code)
			} else if d, has := c["display"]; has && d != display {
				t.Errorf("%s: %s|%s display %q, the CodeSystem says %q", id, sys, code, d, display)
			}
		}
	}
	for sys, displays := range systems {
		if strings.HasSuffix(sys, "/matcare-observation") {
			continue // used by Observations
		}
		for code := range displays {
			if !used[sys+"|"+code] {
				t.Errorf("%s|%s is used by no Questionnaire", sys, code)
			}
		}
	}
	for _, code := range []string{questionnaire.SDSTotalCode, questionnaire.SDSCutOffCode, questionnaire.SDSMetCode} {
		if _, ok := systems[base+questionnaire.ObservationCodeSystemPath][code]; !ok {
			t.Errorf("matcare-observation has no %s", code)
		}
	}
	for _, code := range []string{questionnaire.PrescribeYes, questionnaire.PrescribeNo, questionnaire.PrescribeDeferred} {
		if _, ok := systems[base+questionnaire.BPSAnswerPath][code]; !ok {
			t.Errorf("bps-answer has no %s", code)
		}
	}
}

// qItem is what the tests read of a Questionnaire item (the samply
// structs cannot tell an absent choice element from its zero value).
type qItem struct {
	LinkID     string `json:"linkId"`
	Type       string
	Required   *bool
	ReadOnly   *bool
	EnableWhen []struct {
		Question      string
		Operator      string
		AnswerBoolean *bool
		AnswerCoding  *struct{ System, Code string }
	}
	AnswerOption []struct {
		ValueCoding *struct {
			System, Code string
			Extension    []struct {
				URL          string `json:"url"`
				ValueDecimal *json.Number
			}
		}
	}
	Extension []struct {
		URL string `json:"url"`
	}
	Item []qItem
}

type qForm struct {
	UseContext []struct {
		Code                 struct{ System, Code string }
		ValueCodeableConcept struct {
			Coding []struct{ System, Code string }
		}
	}
	Item []qItem
}

// item finds a Questionnaire item by linkId.
func item(items []qItem, linkID string) *qItem {
	for i := range items {
		if items[i].LinkID == linkID {
			return &items[i]
		}
		if found := item(items[i].Item, linkID); found != nil {
			return found
		}
	}
	return nil
}

func readQuestionnaire(t *testing.T, id string) qForm {
	t.Helper()
	var q qForm
	if err := json.Unmarshal(contentBody(t, "", "Questionnaire", id), &q); err != nil {
		t.Fatal(err)
	}
	return q
}

func TestContentSDS(t *testing.T) {
	q := readQuestionnaire(t, "sds-benzo")
	for i, id := range questionnaire.SDSItemLinkIDs {
		it := item(q.Item, id)
		if it == nil || it.Type != "choice" || it.Required == nil || !*it.Required || len(it.AnswerOption) != 4 {
			t.Fatalf("%s: %+v", id, it)
		}
		for score, o := range it.AnswerOption {
			c := o.ValueCoding
			want := freqCodes[score]
			if i == 4 {
				want = diffCodes[score]
			}
			if c == nil || c.System != content.DefaultBase+"/CodeSystem/sds-answer" || c.Code != want || len(c.Extension) != 1 ||
				c.Extension[0].URL != questionnaire.OrdinalValueURL || c.Extension[0].ValueDecimal == nil || *c.Extension[0].ValueDecimal != json.Number(strconv.Itoa(score)) {
				t.Errorf("%s option %d: %+v, want %s scoring %d", id, score, c, want, score)
			}
		}
	}
	total := item(q.Item, questionnaire.SDSTotalLinkID)
	if total == nil || total.Type != "integer" || total.ReadOnly == nil || !*total.ReadOnly || total.Required != nil {
		t.Fatalf("sds-total: %+v", total)
	}
	var urls []string
	for _, e := range total.Extension {
		urls = append(urls, e.URL)
	}
	if !slices.Contains(urls, "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression") {
		t.Errorf("sds-total extensions %v", urls)
	}
}

func TestContentBPS(t *testing.T) {
	q := readQuestionnaire(t, "bps-benzo")
	var focus []string
	for _, uc := range q.UseContext {
		if uc.Code.Code == "focus" {
			for _, c := range uc.ValueCodeableConcept.Coding {
				if c.System == content.DefaultBase+"/CodeSystem/mat-standard" {
					focus = append(focus, c.Code)
				}
			}
		}
	}
	if !slices.Equal(focus, []string{"MAT6", "MAT10"}) {
		t.Errorf("useContext focus %v", focus)
	}
	var top []string
	for _, it := range q.Item {
		top = append(top, it.LinkID)
	}
	if !slices.Equal(top, []string{"bio", "psych", "social", "formulation", "risk", "consent"}) {
		t.Errorf("groups %v", top)
	}
	type spec struct {
		typ      string
		required bool
		when     string // question=answer of the enableWhen, "" if none
	}
	for id, s := range map[string]spec{
		"formulation":                                  {"group", true, ""},
		"formulation.presenting":                       {"text", true, ""},
		"formulation.predisposing":                     {"text", true, ""},
		"formulation.precipitating":                    {"text", true, ""},
		"formulation.perpetuating":                     {"text", true, ""},
		"formulation.protective":                       {"text", true, ""},
		"bio.use.substances":                           {"open-choice", false, ""},
		"bio.use.item":                                 {"group", false, ""},
		"bio.use.item.amount":                          {"quantity", false, ""},
		"bio.use.nfod-ever":                            {"boolean", false, ""},
		"bio.use.nfod-last-date":                       {"date", false, "bio.use.nfod-ever=true"},
		"bio.use.nfod-count":                           {"integer", false, "bio.use.nfod-ever=true"},
		"psych.cognitive.formal-assessment-needed":     {"boolean", false, "psych.cognitive.memory-problems=true"},
		"psych.motivation.stage":                       {"choice", false, ""},
		"psych.mental-health.treatments":               {"text", false, "psych.mental-health.co-occurring=true"},
		"social.child-family.child-protection-concern": {"boolean", false, "social.child-family.dependents=true"},
		"risk":           {"group", true, ""},
		"risk.use-risks": {"open-choice", false, ""},
		"risk.residential-stabilisation-considered": {"boolean", false, "risk.level=risk-extreme"},
		"risk.flags":                              {"group", true, ""},
		questionnaire.FlagPreviousNFOD:            {"boolean", true, ""},
		questionnaire.FlagPhysicalComorbidity:     {"boolean", true, ""},
		questionnaire.FlagMentalComorbidity:       {"boolean", true, ""},
		questionnaire.FlagOpioidDependence:        {"boolean", true, ""},
		questionnaire.FlagAlcohol:                 {"boolean", true, ""},
		questionnaire.PrescribeDecision:           {"choice", true, ""},
		questionnaire.ReasonsNotToPrescribe:       {"text", true, questionnaire.PrescribeDecision + "=" + questionnaire.PrescribeNo},
		"consent":                                 {"group", true, questionnaire.PrescribeDecision + "=" + questionnaire.PrescribeYes},
		questionnaire.ConsentHarmsDiscussed:       {"boolean", true, ""},
		questionnaire.ConsentOffLabel:             {"boolean", true, ""},
		questionnaire.ConsentOffLabelAcknowledged: {"boolean", true, questionnaire.ConsentOffLabel + "=true"},
		questionnaire.ConsentStopCriteria:         {"text", true, ""},
	} {
		it := item(q.Item, id)
		if it == nil {
			t.Errorf("no item %s", id)
			continue
		}
		required := it.Required != nil && *it.Required
		when := ""
		if len(it.EnableWhen) == 1 {
			w := it.EnableWhen[0]
			when = w.Question + "="
			switch {
			case w.Operator != "=":
				when += "operator " + w.Operator
			case w.AnswerBoolean != nil:
				when += strconv.FormatBool(*w.AnswerBoolean)
			case w.AnswerCoding != nil:
				when += w.AnswerCoding.Code
			}
		}
		if it.Type != s.typ || required != s.required || when != s.when {
			t.Errorf("%s: type %v required %v enableWhen %q; want %v %v %q", id, it.Type, required, when, s.typ, s.required, s.when)
		}
	}
	if got := len(item(q.Item, questionnaire.PrescribeDecision).AnswerOption); got != 3 {
		t.Errorf("%d prescribing decisions", got)
	}
}

// bpsExample is testdata/bps-prescribe.json changed by edit, which gets
// the response decoded.
func bpsExample(t *testing.T, edit func(doc map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/bps-prescribe.json")
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return raw
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// group returns the top-level group with linkId id of a decoded response.
func group(doc map[string]any, id string) map[string]any {
	for _, it := range doc["item"].([]any) {
		if m := it.(map[string]any); m["linkId"] == id {
			return m
		}
	}
	return nil
}

// withoutItem removes the item with linkId id from a list of items.
func withoutItem(items any, id string) []any {
	var out []any
	for _, it := range items.([]any) {
		if it.(map[string]any)["linkId"] != id {
			out = append(out, it)
		}
	}
	return out
}

// decide sets the prescribing decision of a decoded response.
func decide(doc map[string]any, code string) {
	risk := group(doc, "risk")
	for _, it := range risk["item"].([]any) {
		if m := it.(map[string]any); m["linkId"] == questionnaire.PrescribeDecision {
			m["answer"] = []any{map[string]any{"valueCoding": map[string]any{"system": content.DefaultBase + "/CodeSystem/bps-answer", "code": code}}}
		}
	}
}

func reasons(doc map[string]any) {
	risk := group(doc, "risk")
	risk["item"] = append(risk["item"].([]any), map[string]any{"linkId": questionnaire.ReasonsNotToPrescribe,
		"answer": []any{map[string]any{"valueString": "Stabilising opioid treatment first; discussed with the person."}}})
}

func TestContentBPSResponses(t *testing.T) {
	bps := contentBody(t, "", "Questionnaire", "bps-benzo")
	noConsent := func(doc map[string]any) { doc["item"] = withoutItem(doc["item"], "consent") }
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any)
		wants []questionnaire.Want
	}{
		{"complete, prescribing", nil, nil},
		{"no prescribing, with reasons", func(doc map[string]any) { decide(doc, questionnaire.PrescribeNo); noConsent(doc); reasons(doc) }, nil},
		{"no prescribing without reasons", func(doc map[string]any) { decide(doc, questionnaire.PrescribeNo); noConsent(doc) },
			[]questionnaire.Want{{"QuestionnaireResponse.item[4]", `required item "risk.reasons-not-to-prescribe" is not answered`}}},
		{"no prescribing, consent recorded", func(doc map[string]any) { decide(doc, questionnaire.PrescribeNo); reasons(doc) },
			[]questionnaire.Want{{"QuestionnaireResponse.item[5]", `item "consent" is disabled by enableWhen`}}},
		{"prescribing with reasons not to", reasons,
			[]questionnaire.Want{{"QuestionnaireResponse.item[4].item[5]", `item "risk.reasons-not-to-prescribe" is disabled by enableWhen`}}},
		{"prescribing without consent", noConsent,
			[]questionnaire.Want{{"QuestionnaireResponse", `required item "consent" is not answered`}}},
		{"deferred", func(doc map[string]any) { decide(doc, questionnaire.PrescribeDeferred); noConsent(doc) }, nil},
		{"off label not acknowledged", func(doc map[string]any) {
			c := group(doc, "consent")
			c["item"] = withoutItem(c["item"], questionnaire.ConsentOffLabelAcknowledged)
		}, []questionnaire.Want{{"QuestionnaireResponse.item[5]", `required item "consent.off-label-acknowledged" is not answered`}}},
		{"no formulation", func(doc map[string]any) { doc["item"] = withoutItem(doc["item"], "formulation") },
			[]questionnaire.Want{{"QuestionnaireResponse", `required item "formulation" is not answered`}}},
		{"flag unanswered", func(doc map[string]any) {
			risk := group(doc, "risk")
			flags := risk["item"].([]any)[1].(map[string]any)
			flags["item"] = withoutItem(flags["item"], questionnaire.FlagAlcohol)
		}, []questionnaire.Want{{"QuestionnaireResponse.item[4].item[1]", `required item "risk.flags.alcohol" is not answered`}}},
		{"in progress, unfinished", func(doc map[string]any) {
			doc["status"] = "in-progress"
			doc["item"] = withoutItem(withoutItem(doc["item"], "formulation"), "consent")
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bpsExample(t, tc.edit)
			if _, err := fhir.Parse("QuestionnaireResponse", body); err != nil {
				t.Fatalf("example does not parse: %v", err)
			}
			questionnaire.CheckIssues(t, questionnaire.Validate(bps, body), tc.wants)
		})
	}
}

// TestContentBPSUnderAnotherBase validates the example after moving both
// resources to another canonical base.
func TestContentBPSUnderAnotherBase(t *testing.T) {
	base := "https://fhir.example.scot/r4"
	bps := contentBody(t, base, "Questionnaire", "bps-benzo")
	body := bytes.ReplaceAll(bpsExample(t, nil), []byte(content.DefaultBase), []byte(base))
	questionnaire.CheckIssues(t, questionnaire.Validate(bps, body), nil)
	// The codes of the old base are not the options any more.
	issues := questionnaire.Validate(bps, bpsExample(t, nil))
	if len(issues) < 2 || issues[0].Expression[0] != "QuestionnaireResponse.questionnaire" || !strings.Contains(issues[1].Diagnostics, "is not one of the answer options") {
		t.Errorf("the response under the old base: %v", issues)
	}
}

func TestAnswers(t *testing.T) {
	body := bpsExample(t, nil)
	flags := map[string]bool{}
	for _, id := range questionnaire.HighRiskFlags {
		answers, err := questionnaire.Answers(body, id)
		if err != nil || len(answers) != 1 {
			t.Fatalf("%s: %v %v", id, answers, err)
		}
		v, ok := answers[0].Boolean()
		if !ok {
			t.Fatalf("%s: %+v", id, answers[0])
		}
		flags[id] = v
	}
	if !flags[questionnaire.FlagPreviousNFOD] || !flags[questionnaire.FlagOpioidDependence] || flags[questionnaire.FlagAlcohol] {
		t.Errorf("flags %v", flags)
	}
	decision, _ := questionnaire.Answers(body, questionnaire.PrescribeDecision)
	if len(decision) != 1 {
		t.Fatal(decision)
	}
	sys, code, ok := decision[0].Coding()
	if !ok || sys != content.DefaultBase+questionnaire.BPSAnswerPath || code != questionnaire.PrescribeYes ||
		decision[0].Path != "QuestionnaireResponse.item[4].item[4].answer[0]" {
		t.Errorf("decision %+v", decision[0])
	}
	stop, _ := questionnaire.Answers(body, questionnaire.ConsentStopCriteria)
	if text, ok := stop[0].Text(); !ok || !strings.HasPrefix(text, "Stopped if") {
		t.Errorf("stop criteria %+v", stop)
	}
	if _, ok := stop[0].Boolean(); ok {
		t.Error("a string read as a boolean")
	}
	// Answers nested under answers, and repeated groups, are all found.
	routes, _ := questionnaire.Answers(body, "bio.use.item.route")
	if len(routes) != 3 {
		t.Errorf("routes %+v", routes)
	}
	nested, _ := questionnaire.Answers([]byte(`{"item":[{"linkId":"q","answer":[{"valueBoolean":true,"item":[{"linkId":"c","answer":[{"valueString":"x"}]}]}]}]}`), "c")
	if len(nested) != 1 || nested[0].Path != "QuestionnaireResponse.item[0].answer[0].item[0].answer[0]" || string(nested[0].Value) != `"x"` {
		t.Errorf("nested %+v", nested)
	}
	if _, err := questionnaire.Answers([]byte(`[`), "x"); err == nil {
		t.Error("no error for invalid JSON")
	}
}
