package clinical

import (
	"slices"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// profileCase is one resource built from a testdata file by edits, and
// the issues Check finds in it.
type profileCase struct {
	name  string
	edits []edit
	want  []string
}

func runProfileCases(t *testing.T, typ, file string, cases []profileCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			doc := patch(t, load(t, file), tt.edits...)
			is := Check(base, typ, doc)
			if got, w := found(is), want(tt.want...); !slices.Equal(got, w) {
				t.Errorf("Check = %q, want %q%s", got, w, diagnostics(is))
			}
		})
	}
}

const chiSystem = `"urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53"`

func TestPatientRules(t *testing.T) {
	runProfileCases(t, "Patient", "Patient-p03.json", []profileCase{
		{name: "good"},
		{name: "check digit wrong", edits: []edit{set("identifier[0].value", `"2304660427"`)},
			want: []string{"error Patient.identifier[0].value"}},
		{name: "check digit would be 10", edits: []edit{set("identifier[0].value", `"1212121210"`)},
			want: []string{"error Patient.identifier[0].value"}},
		{name: "nine digits", edits: []edit{set("identifier[0].value", `"230466042"`)},
			want: []string{"error Patient.identifier[0].value"}},
		{name: "no profile claimed, still a CHI identifier", edits: []edit{del("meta.profile"), set("identifier[0].value", `"2304660427"`)},
			want: []string{"error Patient.identifier[0].value"}},
		{name: "date of birth differs", edits: []edit{set("birthDate", `"1966-04-24"`)},
			want: []string{"warning Patient.birthDate"}},
		{name: "year of birth differs", edits: []edit{set("birthDate", `"1967"`)},
			want: []string{"warning Patient.birthDate"}},
		{name: "birthDate of another century, same DDMMYY", edits: []edit{set("birthDate", `"2066-04-23"`)}},
		{name: "birthDate only a year", edits: []edit{set("birthDate", `"1966"`)}},
		{name: "no birthDate", edits: []edit{del("birthDate")}},
		{name: "sex digit female, gender male", edits: []edit{set("gender", `"male"`)},
			want: []string{"warning Patient.gender"}},
		{name: "sex digit male, gender female", edits: []edit{set("identifier[0].value", `"2304660517"`)},
			want: []string{"warning Patient.gender"}},
		{name: "gender other", edits: []edit{set("gender", `"other"`)}},
		{name: "two CHI numbers", edits: []edit{set("identifier[1]", `{"system":`+chiSystem+`,"value":"2304660606"}`)},
			want: []string{"warning Patient.identifier"}},
		{name: "the same CHI number twice", edits: []edit{set("identifier[1]", `{"system":`+chiSystem+`,"value":"2304660428"}`)}},
		{name: "claimed without CHI", edits: []edit{del("identifier")},
			want: []string{"information Patient.identifier"}},
		{name: "neither claimed nor CHI", edits: []edit{del("identifier"), del("meta.profile")}},
		{name: "an NHS number is not checked", edits: []edit{del("meta.profile"), set("identifier[0].system", `"https://fhir.nhs.uk/Id/nhs-number"`), set("identifier[0].value", `"123"`)}},
		{name: "profile of another type", edits: []edit{set("meta.profile[0]", `"`+base+`/StructureDefinition/matcare-careplan"`)},
			want: []string{"warning Patient.meta.profile[0]"}},
		{name: "unknown matcare profile", edits: []edit{set("meta.profile[1]", `"`+base+`/StructureDefinition/matcare-nonesuch"`)},
			want: []string{"information Patient.meta.profile[1]"}},
		{name: "versioned claim", edits: []edit{set("meta.profile[0]", `"`+base+`/StructureDefinition/matcare-patient|1.0.0"`), del("identifier")},
			want: []string{"information Patient.identifier"}},
	})
}

func TestCarePlanRules(t *testing.T) {
	const ext = `"` + base + `/StructureDefinition/`
	const act = "activity[0].detail."
	runProfileCases(t, "CarePlan", "CarePlan-cp03a.json", []profileCase{
		{name: "good"},
		{name: "no period.start", edits: []edit{del("period")},
			want: []string{"warning CarePlan.period.start"}},
		{name: "period.start without time", edits: []edit{set("period.start", `"2024-06-12"`)},
			want: []string{"information CarePlan.period.start"}},
		{name: "ended without reason", edits: []edit{set("period.end", `"2024-09-01"`)},
			want: []string{"warning CarePlan.extension"}},
		{name: "reason without end", edits: []edit{set("extension[2]", `{"url":`+ext+`episode-end-reason","valueCoding":{"system":"`+base+`/CodeSystem/episode-end-reason","code":"transfer"}}`)},
			want: []string{"warning CarePlan.period.end"}},
		{name: "ended with reason", edits: []edit{set("period.end", `"2024-09-01"`), set("status", `"completed"`),
			set("extension[2]", `{"url":`+ext+`episode-end-reason","valueCoding":{"system":"`+base+`/CodeSystem/episode-end-reason","code":"planned-completion"}}`)}},
		{name: "completed without end", edits: []edit{set("status", `"completed"`)},
			want: []string{"information CarePlan.period.end"}},
		{name: "no care-setting", edits: []edit{del("extension[1]")},
			want: []string{"information CarePlan.extension"}},
		{name: "claimed without category mat-episode", edits: []edit{del("category[0]")},
			want: []string{"warning CarePlan.category"}},
		{name: "category without claim is enough", edits: []edit{del("meta"), del("period")},
			want: []string{"warning CarePlan.period.start"}},
		{name: "another matcare category: shared rules only", edits: []edit{del("meta"), del("category[0]"), del("period"), set("subject", `{"reference":"Group/g1"}`)},
			want: []string{"warning CarePlan.subject"}},
		{name: "no matcare category, no claim", edits: []edit{del("meta"), del("category"), del("period"), set("subject", `{"reference":"Group/g1"}`)}},
		{name: "subject a Group", edits: []edit{set("subject", `{"reference":"Group/g1"}`)},
			want: []string{"warning CarePlan.subject"}},
		{name: "subject a typed absolute reference", edits: []edit{set("subject", `{"reference":"https://other.example/fhir/Patient/p3"}`)}},
		{name: "subject an absolute Group reference", edits: []edit{set("subject", `{"reference":"https://other.example/fhir/Group/g1/_history/2"}`)},
			want: []string{"warning CarePlan.subject"}},
		{name: "subject typed Group", edits: []edit{set("subject", `{"type":"Group","identifier":{"value":"x"}}`)},
			want: []string{"warning CarePlan.subject"}},
		{name: "subject a placeholder", edits: []edit{set("subject", `{"reference":"urn:uuid:9d7e3c7a-6d3c-4b7b-8f0e-2b9f1c1d2e3f"}`)}},
		{name: "referral-date as string", edits: []edit{set("extension[0]", `{"url":`+ext+`referral-date","valueString":"yesterday"}`)},
			want: []string{"error CarePlan.extension[0]"}},
		{name: "referral-date as date", edits: []edit{set("extension[0]", `{"url":`+ext+`referral-date","valueDate":"2024-06-11"}`)},
			want: []string{"error CarePlan.extension[0]"}},
		{name: "two care-settings", edits: []edit{set("extension[2]", `{"url":`+ext+`care-setting","valueCode":"prison"}`)},
			want: []string{"error CarePlan.extension[2]"}},
		{name: "care-setting empty code", edits: []edit{set("extension[1].valueCode", `" "`)},
			want: []string{"error CarePlan.extension[1].valueCode"}},
		{name: "episode-end-reason from another system", edits: []edit{set("period.end", `"2024-09-01"`),
			set("extension[2]", `{"url":`+ext+`episode-end-reason","valueCoding":{"system":"http://example.org","code":"transfer"}}`)},
			want: []string{"error CarePlan.extension[2].valueCoding"}},
		{name: "next-review-date on the CarePlan", edits: []edit{set("extension[2]", `{"url":`+ext+`next-review-date","valueDate":"2024-07-01"}`)},
			want: []string{"warning CarePlan.extension[2]"}},
		{name: "unknown matcare extension", edits: []edit{set("extension[2]", `{"url":`+ext+`nonesuch","valueDate":"2024-07-01"}`)},
			want: []string{"information CarePlan.extension[2]"}},
		{name: "outreach consent", edits: []edit{set("extension[2]", `{"url":`+ext+`outreach-contact-consent","extension":[{"url":"consent","valueBoolean":false}]}`)}},
		{name: "outreach consent without consent", edits: []edit{set("extension[2]", `{"url":`+ext+`outreach-contact-consent","extension":[{"url":"contact","valueReference":{"reference":"RelatedPerson/r1"}}]}`)},
			want: []string{"error CarePlan.extension[2]"}},
		{name: "outreach consent with a value", edits: []edit{set("extension[2]", `{"url":`+ext+`outreach-contact-consent","valueBoolean":true,"extension":[{"url":"consent","valueBoolean":true}]}`)},
			want: []string{"error CarePlan.extension[2]"}},
		{name: "outreach consent malformed", edits: []edit{set("extension[2]", `{"url":`+ext+`outreach-contact-consent","extension":[{"url":"consent","valueString":"yes"},{"url":"contact","valueReference":{"reference":"Practitioner/x"}},{"url":"other","valueBoolean":true}]}`)},
			want: []string{"error CarePlan.extension[2].extension[0]", "warning CarePlan.extension[2].extension[1].valueReference", "error CarePlan.extension[2].extension[2]"}},
		{name: "prescription of another kind", edits: []edit{set(act+"kind", `"Task"`)},
			want: []string{"warning CarePlan.activity[0].detail.kind"}},
		{name: "started prescription without start", edits: []edit{del(act + "scheduledPeriod")},
			want: []string{"warning CarePlan.activity[0].detail.scheduledPeriod.start"}},
		{name: "prescription not started without start", edits: []edit{del(act + "scheduledPeriod"), set(act+"status", `"not-started"`)}},
		{name: "OST dose in mL", edits: []edit{set(act+"dailyAmount", `{"value":60,"unit":"mL","system":"http://unitsofmeasure.org","code":"mL"}`)},
			want: []string{"warning CarePlan.activity[0].detail.dailyAmount"}},
		{name: "OST dose in g", edits: []edit{set(act+"dailyAmount", `{"value":0.06,"unit":"g","system":"http://unitsofmeasure.org","code":"g"}`)}},
		{name: "stopped OST without dose", edits: []edit{del(act + "dailyAmount"), set(act+"status", `"stopped"`)}},
		{name: "OST without dose", edits: []edit{del(act + "dailyAmount")},
			want: []string{"warning CarePlan.activity[0].detail.dailyAmount"}},
		{name: "depot buprenorphine without a daily dose", edits: []edit{del(act + "dailyAmount"),
			set(act+"productCodeableConcept", `{"text":"Buprenorphine 128 mg prolonged-release injection (Buvidal), monthly"}`)}},
		{name: "high-risk event without reason", edits: []edit{set("activity[1].detail.code.coding[0].code", `"high-risk-event"`)},
			want: []string{"warning CarePlan.activity[1].detail.reasonCode"}},
		{name: "high-risk event with reason", edits: []edit{set("activity[1].detail.code.coding[0].code", `"high-risk-event"`),
			set("activity[1].detail.reasonCode", `[{"text":"non-fatal overdose"}]`)}},
		{name: "review to come without date", edits: []edit{set("activity[1].detail.code.coding[0].code", `"goal-review"`),
			set("activity[1].detail.status", `"scheduled"`), del("activity[1].detail.scheduledPeriod")},
			want: []string{"warning CarePlan.activity[1].detail.scheduledPeriod"}},
		{name: "review to come with a timing", edits: []edit{set("activity[1].detail.code.coding[0].code", `"goal-review"`),
			set("activity[1].detail.status", `"scheduled"`), del("activity[1].detail.scheduledPeriod"), set("activity[1].detail.scheduledString", `"in four weeks"`)}},
		{name: "next-review-date on an activity", edits: []edit{set(act+"extension", `[{"url":`+ext+`next-review-date","valueDate":"2024-07-01"}]`)}},
		{name: "next-review-date of a month", edits: []edit{set(act+"extension", `[{"url":`+ext+`next-review-date","valueDate":"2024-07"}]`)},
			want: []string{"warning CarePlan.activity[0].detail.extension[0].valueDate"}},
		{name: "next-review-date as dateTime", edits: []edit{set(act+"extension", `[{"url":`+ext+`next-review-date","valueDateTime":"2024-07-01T10:00:00Z"}]`)},
			want: []string{"error CarePlan.activity[0].detail.extension[0]"}},
	})
}

func TestBenzoCarePlanRules(t *testing.T) {
	const act = "activity[0].detail."
	runProfileCases(t, "CarePlan", "CarePlan-cp03b.json", []profileCase{
		{name: "good"},
		{name: "no goals", edits: []edit{del("goal"), del(act + "goal"), del("activity[2].detail.goal")},
			want: []string{"warning CarePlan.goal"}},
		{name: "goal only on an activity", edits: []edit{del("goal")}},
		{name: "no created, no period", edits: []edit{del("created"), del("period")},
			want: []string{"information CarePlan.created"}},
		{name: "claimed without category", edits: []edit{del("category[0]")},
			want: []string{"warning CarePlan.category"}},
		{name: "category without claim", edits: []edit{del("meta"), del("goal"), del(act + "goal"), del("activity[2].detail.goal")},
			want: []string{"warning CarePlan.goal"}},
		{name: "prescription without product", edits: []edit{del(act + "productCodeableConcept")},
			want: []string{"warning CarePlan.activity[0].detail.productCodeableConcept"}},
		{name: "both kinds: both profiles apply", edits: []edit{del("period"), del("created"),
			set("category[2]", `{"coding":[{"system":"`+base+`/CodeSystem/careplan-category","code":"mat-episode"}]}`)},
			want: []string{"warning CarePlan.period.start", "information CarePlan.created"}},
	})
}

func TestGoalRules(t *testing.T) {
	const ext = `"` + base + `/StructureDefinition/`
	const acc = "extension[1]."
	runProfileCases(t, "Goal", "Goal-g03a.json", []profileCase{
		{name: "good"},
		{name: "no expressedBy", edits: []edit{del("expressedBy")},
			want: []string{"warning Goal.expressedBy"}},
		{name: "two benzo goal categories", edits: []edit{set("category[3]", `{"coding":[{"system":"`+base+`/CodeSystem/benzo-goal-category","code":"immediate-harm-reduction"}]}`)},
			want: []string{"warning Goal.category[3]"}},
		{name: "no treatment orientation", edits: []edit{del("category[1]")},
			want: []string{"warning Goal.category"}},
		{name: "two treatment orientations", edits: []edit{set("category[3]", `{"coding":[{"system":"`+base+`/CodeSystem/treatment-orientation","code":"abstinence"}]}`)},
			want: []string{"warning Goal.category[3]"}},
		{name: "active without review date", edits: []edit{del("extension[0]")},
			want: []string{"warning Goal.extension"}},
		{name: "proposed without review date", edits: []edit{del("extension[0]"), set("lifecycleStatus", `"proposed"`)}},
		{name: "review date as string", edits: []edit{set("extension[0]", `{"url":`+ext+`next-review-date","valueString":"in a month"}`)},
			want: []string{"error Goal.extension[0]", "warning Goal.extension"}},
		{name: "two review dates", edits: []edit{set("extension[2]", `{"url":`+ext+`next-review-date","valueDate":"2024-08-01"}`)},
			want: []string{"error Goal.extension[2]", "warning Goal.extension"}},
		{name: "due date is the review date", edits: []edit{set("target[0].dueDate", `"2024-07-10"`)},
			want: []string{"information Goal.target[0].dueDate"}},
		{name: "acceptance without individual", edits: []edit{del(acc + "extension[0]")},
			want: []string{"error Goal.extension[1]"}},
		{name: "acceptance status unknown", edits: []edit{set(acc+"extension[1].valueCode", `"maybe"`)},
			want: []string{"error Goal.extension[1].extension[1].valueCode"}},
		{name: "acceptance status as string", edits: []edit{set(acc+"extension[1]", `{"url":"status","valueString":"agree"}`)},
			want: []string{"error Goal.extension[1].extension[1]"}},
		{name: "acceptance with priority", edits: []edit{set(acc+"extension[2]", `{"url":"priority","valueCodeableConcept":{"text":"high"}}`)}},
		{name: "acceptance unknown part", edits: []edit{set(acc+"extension[2]", `{"url":"when","valueDate":"2024-06-12"}`)},
			want: []string{"error Goal.extension[1].extension[2]"}},
		{name: "acceptance twice the status", edits: []edit{set(acc+"extension[2]", `{"url":"status","valueCode":"pending"}`)},
			want: []string{"error Goal.extension[1].extension[2]"}},
		{name: "finding", edits: []edit{set("extension[2]", `{"url":`+ext+`goal-review-finding","valueCoding":{"system":"`+base+`/CodeSystem/goal-review-finding","code":"progressing"}}`)}},
		{name: "finding from another system", edits: []edit{set("extension[2]", `{"url":`+ext+`goal-review-finding","valueCoding":{"system":"http://snomed.info/sct","code":"1"}}`)},
			want: []string{"error Goal.extension[2].valueCoding"}},
		{name: "finding as code", edits: []edit{set("extension[2]", `{"url":`+ext+`goal-review-finding","valueCode":"lapse"}`)},
			want: []string{"error Goal.extension[2]"}},
		{name: "subject a Group", edits: []edit{set("subject.reference", `"Group/1"`)},
			want: []string{"warning Goal.subject"}},
		{name: "no benzo category, claimed", edits: []edit{del("category[0]")}},
		{name: "only a MAT standard: shared rules", edits: []edit{del("meta"), del("category[0]"), del("category[0]"), del("expressedBy"), del("extension[0]")},
			want: []string{"warning Goal.expressedBy"}},
		{name: "no matcare category, no claim", edits: []edit{del("meta"), del("category"), del("expressedBy")}},
	})
}

func TestCheckProfile(t *testing.T) {
	bare := []byte(`{"resourceType":"Goal","lifecycleStatus":"proposed","description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
	if is := Check(base, "Goal", bare); len(is) != 0 {
		t.Errorf("Check = %q", found(is))
	}
	tests := []struct {
		url, typ string
		want     []string
	}{
		{base + "/StructureDefinition/matcare-benzo-goal", "Goal", []string{"warning Goal.category", "warning Goal.expressedBy"}},
		{base + "/StructureDefinition/matcare-benzo-goal|1.0.0", "Goal", []string{"warning Goal.category", "warning Goal.expressedBy"}},
		{base + "/StructureDefinition/matcare-careplan", "Goal", []string{"error Goal"}},
		{base + "/StructureDefinition/nonesuch", "Goal", []string{"error"}},
		{"http://hl7.org/fhir/StructureDefinition/Goal", "Goal", []string{"error"}},
	}
	for _, tt := range tests {
		is := CheckProfile(base, tt.url, tt.typ, bare)
		if got := found(is); !slices.Equal(got, want(tt.want...)) {
			t.Errorf("CheckProfile(%s) = %q, want %q%s", tt.url, got, tt.want, diagnostics(is))
		}
	}
	is := CheckProfile(base, base+"/StructureDefinition/nonesuch", "Goal", bare)
	if is[0].Code != r4.IssueTypeNotSupported {
		t.Errorf("code %v", is[0].Code)
	}
	// A MAT episode profile applied to a benzo plan.
	is = CheckProfile(base, ProfileURL(base, ProfileCarePlan), "CarePlan", load(t, "CarePlan-cp03b.json"))
	if got := found(is); !slices.Equal(got, want("warning CarePlan.category")) {
		t.Errorf("CheckProfile(matcare-careplan, cp03b) = %q%s", got, diagnostics(is))
	}
	is = CheckProfile(base, ProfileURL(base, ProfilePatient), "Patient", []byte(`{"resourceType":"Patient"}`))
	if got := found(is); !slices.Equal(got, want("information Patient.identifier")) {
		t.Errorf("CheckProfile(matcare-patient) = %q", got)
	}
}

func TestCheckMalformed(t *testing.T) {
	tests := []struct{ typ, doc string }{
		{"Goal", `{`},
		{"Goal", `{"resourceType":"CarePlan"}`},
		{"CarePlan", `{"resourceType":"CarePlan","category":{"coding":[]}}`},
		{"Patient", `{"resourceType":"Patient","identifier":"x"}`},
	}
	for _, tt := range tests {
		is := Check(base, tt.typ, []byte(tt.doc))
		if len(is) != 1 || is[0].Severity != r4.IssueSeverityError {
			t.Errorf("Check(%s) = %q", tt.doc, found(is))
		}
	}
	if is := Check(base, "Questionnaire", []byte(`{`)); is != nil {
		t.Errorf("Check(Questionnaire) = %q", found(is))
	}
}

func TestProfileURLs(t *testing.T) {
	got := ProfileURLs("https://fhir.example.scot/r4/")
	if len(got) != 4 || !strings.HasPrefix(got[0], "https://fhir.example.scot/r4/StructureDefinition/") || strings.Contains(got[0], "//StructureDefinition") {
		t.Errorf("ProfileURLs = %q", got)
	}
	if got := ProfileURLs(""); got[0] != base+"/StructureDefinition/matcare-patient" {
		t.Errorf("ProfileURLs(\"\") = %q", got)
	}
}
