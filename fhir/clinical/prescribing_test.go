package clinical

import (
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir"
)

// Paths in testdata/QuestionnaireResponse-bps03.json.
const (
	qrNFODEver    = "item[0].item[0].item[0].answer[0]"
	qrPrevNFOD    = "item[1].item[0].item[0].answer[0]"
	qrComorbidity = "item[1].item[0].item[1].answer[0]"
	qrMental      = "item[1].item[0].item[2].answer[0]"
	qrOpioid      = "item[1].item[0].item[3].answer[0]"
	qrHarms       = "item[2].item[0].answer[0]"
	qrOffLabel    = "item[2].item[1].answer"
	qrStop        = "item[2].item[2].answer"
)

func TestPrescribing(t *testing.T) {
	const rx = "activity[0].detail."
	drug := func(code string) edit {
		return set(rx+"productCodeableConcept", `{"coding":[{"system":"`+base+`/CodeSystem/benzodiazepine","code":"`+code+`"}]}`)
	}
	dose := func(mg string) edit { return set(rx+"dailyAmount.value", mg) }
	// benzo is a fourth activity prescribing code at mg a day.
	benzo := func(code, mg, start string) edit {
		return set("activity[3]", `{"detail":{"kind":"MedicationRequest","status":"in-progress",
			"code":{"coding":[{"system":"`+base+`/CodeSystem/matcare-activity","code":"benzo-prescription"}]},
			"scheduledPeriod":{"start":"`+start+`"},
			"productCodeableConcept":{"coding":[{"system":"`+base+`/CodeSystem/benzodiazepine","code":"`+code+`"}]},
			"dailyAmount":{"value":`+mg+`,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}}`)
	}
	ost := func(status string) edit {
		return set("activity[3]", `{"detail":{"kind":"MedicationRequest","status":"`+status+`",
			"code":{"coding":[{"system":"`+base+`/CodeSystem/matcare-activity","code":"ost-prescription"}]}}}`)
	}
	noReview := []edit{del(rx + "extension"), del("activity[2]")}

	type ctxEdit func(t *testing.T, c *PrescribingContext)
	bps := func(edits ...edit) ctxEdit {
		return func(t *testing.T, c *PrescribingContext) { c.BPS = patch(t, c.BPS, edits...) }
	}
	goal := func(edits ...edit) ctxEdit {
		return func(t *testing.T, c *PrescribingContext) {
			c.Goals["Goal/g03a"] = patch(t, c.Goals["Goal/g03a"], edits...)
		}
	}
	previous := func(edits ...edit) ctxEdit {
		return func(t *testing.T, c *PrescribingContext) {
			c.Previous = patch(t, load(t, "CarePlan-cp03b.json"), edits...)
		}
	}
	otherPlan := func(file string, edits ...edit) ctxEdit {
		return func(t *testing.T, c *PrescribingContext) {
			c.OtherCarePlans = append(c.OtherCarePlans, patch(t, load(t, file), edits...))
		}
	}
	noOthers := func(t *testing.T, c *PrescribingContext) { c.OtherCarePlans = nil }
	noBPS := func(t *testing.T, c *PrescribingContext) { c.BPS = nil }
	noGoals := func(t *testing.T, c *PrescribingContext) { c.Goals = nil }

	tests := []struct {
		name string
		plan []edit
		ctx  []ctxEdit
		want []string
		// diag is a part of an issue's diagnostics.
		diag string
	}{
		{name: "good"},

		// BZ-01
		{name: "BZ-01 dose in mL", plan: []edit{set(rx+"dailyAmount", `{"value":4,"unit":"mL","system":"http://unitsofmeasure.org","code":"mL"}`)},
			want: []string{"error BZ-01 CarePlan.activity[0].detail.dailyAmount"}, diag: "not a mass"},
		{name: "BZ-01 dose in tablets", plan: []edit{set(rx+"dailyAmount", `{"value":4,"unit":"tablets"}`)},
			want: []string{"error BZ-01 CarePlan.activity[0].detail.dailyAmount"}},
		{name: "BZ-01 no dose", plan: []edit{del(rx + "dailyAmount")},
			want: []string{"warning BZ-01 CarePlan.activity[0].detail.dailyAmount"}},
		{name: "BZ-01 dose without value", plan: []edit{del(rx + "dailyAmount.value")},
			want: []string{"warning BZ-01 CarePlan.activity[0].detail.dailyAmount"}},
		{name: "BZ-01 dose in micrograms", plan: []edit{set(rx+"dailyAmount", `{"value":20000,"unit":"µg","system":"http://unitsofmeasure.org","code":"ug"}`)},
			want: []string{"information BZ-01 CarePlan.activity[0].detail.dailyAmount"}, diag: "read as 20 mg"},
		{name: "BZ-01 mg not coded", plan: []edit{set(rx+"dailyAmount", `{"value":20,"unit":"mg"}`)},
			want: []string{"warning BZ-01 CarePlan.activity[0].detail.dailyAmount"}},
		{name: "BZ-01 uncoded mg still counts (BZ-04)", plan: []edit{set(rx+"dailyAmount", `{"value":40,"unit":"milligrams"}`)},
			want: []string{"warning BZ-01 CarePlan.activity[0].detail.dailyAmount", "warning BZ-04 CarePlan.activity"}},

		// BZ-02
		{name: "BZ-02 another plan prescribes lorazepam", ctx: []ctxEdit{otherPlan("CarePlan-cp03b.json", set("id", `"cp03c"`), drug("lorazepam"))},
			want: []string{"warning BZ-02 CarePlan.activity"}, diag: "diazepam (this plan); lorazepam (CarePlan/cp03c)"},
		{name: "BZ-02 another plan's lorazepam completed", ctx: []ctxEdit{otherPlan("CarePlan-cp03b.json", set("id", `"cp03c"`), drug("lorazepam"), set(rx+"status", `"completed"`))}},
		{name: "BZ-02 another plan entered in error", ctx: []ctxEdit{otherPlan("CarePlan-cp03b.json", set("id", `"cp03c"`), drug("lorazepam"), set("status", `"entered-in-error"`))}},
		{name: "BZ-02 this plan's previous body is not another plan", ctx: []ctxEdit{otherPlan("CarePlan-cp03b.json", drug("lorazepam"))}},
		{name: "BZ-02 another plan prescribes diazepam too", ctx: []ctxEdit{otherPlan("CarePlan-cp03b.json", set("id", `"cp03c"`))}},
		{name: "BZ-02 two drugs in this plan", plan: []edit{benzo("lorazepam", "1", "2024-06-14")},
			want: []string{"warning BZ-02 CarePlan.activity", "information BZ-03 CarePlan.activity[3].detail.productCodeableConcept"}},

		// BZ-03
		{name: "BZ-03 lorazepam", plan: []edit{drug("lorazepam"), dose("2")},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept"}, diag: "lorazepam is prescribed"},
		{name: "BZ-03 diazepam by its brand name", plan: []edit{set(rx+"productCodeableConcept", `{"text":"Valium 10mg tablets"}`)}},
		{name: "BZ-03 diazepam by a dm+d display", plan: []edit{set(rx+"productCodeableConcept", `{"coding":[{"system":"https://dmd.nhs.uk","code":"42483211000001100","display":"Diazepam 5mg tablets"}]}`)}},
		{name: "BZ-03 product not recognised", plan: []edit{set(rx+"productCodeableConcept", `{"text":"benzo tablets"}`)},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept", "information BZ-04 CarePlan.activity[0].detail.productCodeableConcept"}},

		// BZ-04
		{name: "BZ-04 diazepam 40 mg", plan: []edit{dose("40")},
			want: []string{"warning BZ-04 CarePlan.activity"}, diag: "about 40 mg, which is above"},
		{name: "BZ-04 diazepam 30 mg", plan: []edit{dose("30")}},
		{name: "BZ-04 clonazepam 2 mg, 20-40 mg", plan: []edit{drug("clonazepam"), dose("2")},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept", "warning BZ-04 CarePlan.activity"}, diag: "about 20-40 mg, which may be above"},
		{name: "BZ-04 alprazolam 1.5 mg, 15-30 mg", plan: []edit{drug("alprazolam"), dose("1.5")},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept"}},
		{name: "BZ-04 two activities add up", plan: []edit{benzo("diazepam", "15", "2024-06-14")},
			want: []string{"warning BZ-04 CarePlan.activity"}},
		{name: "BZ-04 street benzodiazepine: no equivalent", plan: []edit{drug("street-benzodiazepine"), dose("100")},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept", "information BZ-04 CarePlan.activity[0].detail.productCodeableConcept"}, diag: "street benzodiazepine"},
		{name: "BZ-04 street valium by text: never diazepam", plan: []edit{set(rx+"productCodeableConcept", `{"text":"street valium"}`), dose("100")},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept", "information BZ-04 CarePlan.activity[0].detail.productCodeableConcept"}},

		// BZ-05
		{name: "BZ-05 previous overdose, 30 mg start", plan: []edit{dose("30")}, ctx: []ctxEdit{bps(set(qrPrevNFOD+".valueBoolean", "true"))},
			want: []string{"warning BZ-05 CarePlan.activity[0].detail.dailyAmount"}, diag: "a previous non-fatal overdose"},
		{name: "BZ-05 overdose ever, 30 mg start", plan: []edit{dose("30")}, ctx: []ctxEdit{bps(set(qrNFODEver+".valueBoolean", "true"))},
			want: []string{"warning BZ-05 CarePlan.activity[0].detail.dailyAmount"}},
		{name: "BZ-05 comorbidity as a coding, 30 mg start", plan: []edit{dose("30")}, ctx: []ctxEdit{bps(del(qrComorbidity+".valueBoolean"), set(qrComorbidity+".valueCoding", `{"code":"Y"}`))},
			want: []string{"warning BZ-05 CarePlan.activity[0].detail.dailyAmount"}, diag: "comorbidity"},
		{name: "BZ-05 mental-health comorbidity, 30 mg start", plan: []edit{dose("30")}, ctx: []ctxEdit{bps(set(qrMental+".valueBoolean", `true`))},
			want: []string{"warning BZ-05 CarePlan.activity[0].detail.dailyAmount"}, diag: "comorbidity"},
		{name: "BZ-05 previous overdose, 20 mg start", ctx: []ctxEdit{bps(set(qrPrevNFOD+".valueBoolean", "true"))}},
		{name: "BZ-05 previous overdose, not a start", plan: []edit{dose("30")}, ctx: []ctxEdit{bps(set(qrPrevNFOD+".valueBoolean", "true")), previous()}},
		{name: "BZ-05 previous overdose, previous version without prescription", plan: []edit{dose("30")},
			ctx:  []ctxEdit{bps(set(qrPrevNFOD+".valueBoolean", "true")), previous(del("activity[0]"))},
			want: []string{"warning BZ-05 CarePlan.activity[0].detail.dailyAmount"}},
		{name: "BZ-05 the first activity is the earliest", plan: []edit{benzo("lorazepam", "3", "2024-06-01")},
			ctx:  []ctxEdit{bps(set(qrPrevNFOD+".valueBoolean", "true"))},
			want: []string{"warning BZ-02 CarePlan.activity", "information BZ-03 CarePlan.activity[3].detail.productCodeableConcept", "warning BZ-04 CarePlan.activity", "warning BZ-05 CarePlan.activity[3].detail.dailyAmount"}},
		{name: "BZ-05 no assessment, 30 mg start", plan: []edit{dose("30")}, ctx: []ctxEdit{noBPS},
			want: []string{"information BZ-05 CarePlan.activity[0].detail.dailyAmount", "warning BZ-12 CarePlan"}},

		// BZ-06
		{name: "BZ-06 no goal linked", plan: []edit{del(rx + "goal"), del("goal")},
			want: []string{"warning BZ-06 CarePlan.activity[0].detail.goal"}},
		{name: "BZ-06 the plan's goal stands in", plan: []edit{del(rx + "goal")}},
		{name: "BZ-06 goal proposed", ctx: []ctxEdit{goal(set("lifecycleStatus", `"proposed"`))},
			want: []string{"warning BZ-06 CarePlan.activity[0].detail.goal"}, diag: "Goal/g03a is proposed"},
		{name: "BZ-06 psychosocial goal, abstinence", ctx: []ctxEdit{goal(set("category[0].coding[0].code", `"psychosocial-intervention"`), set("category[1].coding[0].code", `"abstinence"`))},
			want: []string{"warning BZ-06 CarePlan.activity[0].detail.goal"}, diag: "not a harm reduction"},
		{name: "BZ-06 self-reduction goal, harm reduction orientation", ctx: []ctxEdit{goal(set("category[0].coding[0].code", `"supported-self-reduction"`))}},
		{name: "BZ-06 detox goal accepted", ctx: []ctxEdit{goal(set("category[0].coding[0].code", `"medication-assisted-detox"`), set("category[1].coding[0].code", `"abstinence"`), set("lifecycleStatus", `"accepted"`))}},
		{name: "BZ-06 goals not looked up", ctx: []ctxEdit{noGoals}},
		{name: "BZ-06 goal could not be read", ctx: []ctxEdit{func(t *testing.T, c *PrescribingContext) { c.Goals = map[string][]byte{} }},
			want: []string{"warning BZ-06 CarePlan.activity[0].detail.goal"}, diag: "Goal/g03a could not be read"},
		{name: "BZ-06 absolute goal reference", plan: []edit{set(rx+"goal[0].reference", `"`+base+`/Goal/g03a"`)}},

		// BZ-07
		{name: "BZ-07 stop criteria in the assessment only", plan: []edit{del(rx + "description")}},
		{name: "BZ-07 no stop criteria", plan: []edit{del(rx + "description")}, ctx: []ctxEdit{bps(del(qrStop))},
			want: []string{"warning BZ-07 CarePlan.activity[0].detail.description"}},

		// BZ-08
		{name: "BZ-08 opioid dependence, no OST", ctx: []ctxEdit{noOthers},
			want: []string{"warning BZ-08 CarePlan.activity"}},
		{name: "BZ-08 OST entered in error", ctx: []ctxEdit{noOthers, otherPlan("CarePlan-cp03a.json", set("activity[0].detail.status", `"entered-in-error"`))},
			want: []string{"warning BZ-08 CarePlan.activity"}},
		{name: "BZ-08 OST declined", ctx: []ctxEdit{noOthers, otherPlan("CarePlan-cp03a.json", set("activity[0].detail.status", `"cancelled"`))}},
		{name: "BZ-08 OST in this plan", plan: []edit{ost("not-started")}, ctx: []ctxEdit{noOthers}},
		{name: "BZ-08 no opioid dependence", ctx: []ctxEdit{noOthers, bps(set(qrOpioid+".valueBoolean", "false"))}},

		// BZ-09
		{name: "BZ-09 new prescription without instalments", plan: []edit{del("activity[1]")},
			want: []string{"information BZ-09 CarePlan.activity[0].detail"}},
		{name: "BZ-09 not new", plan: []edit{del("activity[1]")}, ctx: []ctxEdit{previous(del("activity[1]"))}},
		{name: "BZ-09 switched drug", plan: []edit{del("activity[1]")}, ctx: []ctxEdit{previous(drug("lorazepam"), dose("2"))},
			want: []string{"information BZ-09 CarePlan.activity[0].detail"}},
		{name: "BZ-09 instalments in another plan", plan: []edit{del("activity[1]")},
			ctx: []ctxEdit{otherPlan("CarePlan-cp03a.json", set("activity[1].detail.code.coding[0].code", `"instalment-dispensing"`), set("activity[1].detail.status", `"in-progress"`))}},
		{name: "BZ-09 instalments completed", plan: []edit{set("activity[1].detail.status", `"completed"`)},
			want: []string{"information BZ-09 CarePlan.activity[0].detail"}},

		// BZ-10
		{name: "BZ-10 review date on the goal", plan: noReview},
		{name: "BZ-10 no review date", plan: noReview, ctx: []ctxEdit{goal(del("extension[0]"))},
			want: []string{"warning BZ-10 CarePlan.activity[0].detail.extension"}},
		{name: "BZ-10 goals not looked up", plan: noReview, ctx: []ctxEdit{noGoals},
			want: []string{"warning BZ-10 CarePlan.activity[0].detail.extension"}},
		{name: "BZ-10 a review activity to come", plan: []edit{del(rx + "extension")}, ctx: []ctxEdit{noGoals}},
		{name: "BZ-10 the review activity is done", plan: []edit{del(rx + "extension"), set("activity[2].detail.status", `"completed"`)}, ctx: []ctxEdit{noGoals},
			want: []string{"warning BZ-10 CarePlan.activity[0].detail.extension"}},

		// BZ-11
		{name: "BZ-11 detox dose up", plan: []edit{dose("25")},
			ctx:  []ctxEdit{goal(set("category[0].coding[0].code", `"medication-assisted-detox"`)), previous()},
			want: []string{"information BZ-11 CarePlan.activity"}, diag: "from about 20 to 25 mg"},
		{name: "BZ-11 detox dose down", plan: []edit{dose("15")},
			ctx: []ctxEdit{goal(set("category[0].coding[0].code", `"medication-assisted-detox"`)), previous()}},
		{name: "BZ-11 stabilisation dose up", plan: []edit{dose("25")}, ctx: []ctxEdit{previous()}},
		{name: "BZ-11 detox, switched to more", plan: []edit{drug("lorazepam"), dose("2.5")},
			ctx:  []ctxEdit{goal(set("category[0].coding[0].code", `"medication-assisted-detox"`)), previous()},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept", "information BZ-11 CarePlan.activity"}},
		{name: "BZ-11 detox, switched to a range overlapping", plan: []edit{drug("clonazepam"), dose("1.5")},
			ctx:  []ctxEdit{goal(set("category[0].coding[0].code", `"medication-assisted-detox"`)), previous()},
			want: []string{"information BZ-03 CarePlan.activity[0].detail.productCodeableConcept"}},
		{name: "BZ-11 detox, no previous version", plan: []edit{dose("25")},
			ctx: []ctxEdit{goal(set("category[0].coding[0].code", `"medication-assisted-detox"`))}},

		// BZ-12
		{name: "BZ-12 no assessment", ctx: []ctxEdit{noBPS},
			want: []string{"warning BZ-12 CarePlan"}},
		{name: "BZ-12 harms not discussed", ctx: []ctxEdit{bps(set(qrHarms+".valueBoolean", "false"))},
			want: []string{"warning BZ-12 CarePlan"}, diag: "harms"},
		{name: "BZ-12 off-label not answered", ctx: []ctxEdit{bps(del(qrOffLabel))},
			want: []string{"warning BZ-12 CarePlan"}, diag: "off label"},
		{name: "BZ-12 harms as a coding", ctx: []ctxEdit{bps(del(qrHarms+".valueBoolean"), set(qrHarms+".valueCoding", `{"system":"http://terminology.hl7.org/CodeSystem/v2-0136","code":"Y"}`))}},
		{name: "BZ-12 another questionnaire's response is ignored", ctx: []ctxEdit{bps(set("questionnaire", `"`+base+`/Questionnaire/sds-benzo"`))},
			want: []string{"information", "warning BZ-12 CarePlan"}},
		{name: "BZ-12 response entered in error", ctx: []ctxEdit{bps(set("status", `"entered-in-error"`))},
			want: []string{"information", "warning BZ-12 CarePlan"}},

		// Which plans and activities are checked.
		{name: "plan completed", plan: []edit{set("status", `"completed"`), dose("400")}},
		{name: "plan entered in error", plan: []edit{set("status", `"entered-in-error"`), dose("400")}},
		{name: "draft plan is checked", plan: []edit{set("status", `"draft"`), dose("40")},
			want: []string{"warning BZ-04 CarePlan.activity"}},
		{name: "prescription cancelled", plan: []edit{set(rx+"status", `"cancelled"`), dose("400")}, ctx: []ctxEdit{noBPS}},
		{name: "prescription stopped", plan: []edit{set(rx+"status", `"stopped"`), dose("400")}, ctx: []ctxEdit{noBPS}},
		{name: "an OST prescription is not a benzodiazepine one", plan: []edit{set(rx+"code.coding[0].code", `"ost-prescription"`), dose("400")}, ctx: []ctxEdit{noBPS}},
		{name: "a MedicationRequest of diazepam without code", plan: []edit{del(rx + "code"), dose("40")},
			want: []string{"warning BZ-04 CarePlan.activity"}},
		{name: "a MedicationRequest of something else", plan: []edit{del(rx + "code"), set(rx+"productCodeableConcept", `{"text":"Mirtazapine 15 mg"}`), dose("400")}, ctx: []ctxEdit{noBPS}},
		{name: "a benzo-prescription of another kind", plan: []edit{set(rx+"kind", `"Task"`), dose("40")},
			want: []string{"warning BZ-04 CarePlan.activity"}},
		{name: "another base's codes are not matcare's", plan: []edit{set(rx+"code.coding[0].system", `"http://other.example/CodeSystem/matcare-activity"`), dose("40")},
			want: []string{"warning BZ-04 CarePlan.activity"}}, // still a MedicationRequest of diazepam
		{name: "unreadable context", ctx: []ctxEdit{func(t *testing.T, c *PrescribingContext) {
			c.Previous, c.OtherCarePlans = []byte(`{`), [][]byte{[]byte(`[`)}
		}}, want: []string{"information", "information", "warning BZ-08 CarePlan.activity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := patch(t, load(t, "CarePlan-cp03b.json"), tt.plan...)
			ctx := goodContext(t)
			for _, e := range tt.ctx {
				e(t, &ctx)
			}
			is := Prescribing(base, plan, ctx)
			if got, w := found(is), want(tt.want...); !slices.Equal(got, w) {
				t.Errorf("Prescribing = %q, want %q%s", got, w, diagnostics(is))
			}
			if tt.diag != "" && !strings.Contains(diagnostics(is), tt.diag) {
				t.Errorf("diagnostics do not mention %q:%s", tt.diag, diagnostics(is))
			}
		})
	}
}

// TestPrescribingIssues checks the form of an issue: its check's code in
// details, its id first in diagnostics, and both in the OperationOutcome.
func TestPrescribingIssues(t *testing.T) {
	plan := patch(t, load(t, "CarePlan-cp03b.json"), set("activity[0].detail.dailyAmount.value", "45"))
	is := Prescribing("https://fhir.example.scot/r4", plan, PrescribingContext{})
	var bz04 *fhir.Issue
	for i := range is {
		if strings.HasPrefix(is[i].Diagnostics, "BZ-04: ") {
			bz04 = &is[i]
		}
	}
	if bz04 == nil {
		t.Fatalf("no BZ-04:%s", diagnostics(is))
	}
	oo := fhir.Outcome(*bz04)
	d := oo.Issue[0].Details
	if d == nil || len(d.Coding) != 1 || *d.Coding[0].System != "https://fhir.example.scot/r4/CodeSystem/prescribing-check" ||
		*d.Coding[0].Code != "BZ-04" || *d.Coding[0].Display != "Maximum licensed daily dose" {
		t.Errorf("details = %+v", d)
	}
	if HasErrors(is) {
		t.Errorf("errors without BZ-01:%s", diagnostics(is))
	}
	plan = patch(t, plan, set("activity[0].detail.dailyAmount.code", `"mL"`))
	if is := Prescribing(base, plan, PrescribingContext{}); !HasErrors(is) {
		t.Errorf("no error for mL:%s", diagnostics(is))
	} else if fhir.StatusOf(is[0].Code) != 422 {
		t.Errorf("status %d", fhir.StatusOf(is[0].Code))
	}
}
