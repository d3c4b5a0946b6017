package terminology

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/fhirtest"
	"github.com/matcare/matcare/fhir/synth"
)

// These tests run on matcare's own content files (package content).

func contentRegistry(t *testing.T, base string) (*Registry, []content.Resource) {
	t.Helper()
	res, err := content.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(res)
	if err != nil {
		t.Fatal(err)
	}
	return r, res
}

// TestContentCodesUnique checks every code system file on its raw JSON,
// independently of New: each code occurs once, however deeply nested.
func TestContentCodesUnique(t *testing.T) {
	_, res := contentRegistry(t, "")
	n := 0
	for _, r := range res {
		if r.Type != "CodeSystem" {
			continue
		}
		n++
		var doc struct {
			Concept []json.RawMessage `json:"concept"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		var walk func([]json.RawMessage)
		walk = func(cs []json.RawMessage) {
			for _, raw := range cs {
				var c struct {
					Code    string            `json:"code"`
					Concept []json.RawMessage `json:"concept"`
				}
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatalf("CodeSystem/%s: %v", r.ID, err)
				}
				seen[c.Code]++
				walk(c.Concept)
			}
		}
		walk(doc.Concept)
		for code, k := range seen {
			if k > 1 || code == "" {
				t.Errorf("CodeSystem/%s: code %q occurs %d times", r.ID, code, k)
			}
		}
		if len(seen) == 0 {
			t.Errorf("CodeSystem/%s has no concepts", r.ID)
		}
	}
	if n < 9 {
		t.Errorf("%d code systems, want at least 9", n)
	}
}

// ownCodeSystems are the code systems of DOMAIN.md §2.1 and §1.4 this
// package's content provides, each with a value set of all its codes.
var ownCodeSystems = []string{"mat-standard", "benzo-goal-category", "treatment-orientation", "psychosocial-tier",
	"goal-review-finding", "matcare-activity", "episode-end-reason", "careplan-category", "care-setting",
	"high-risk-event", "outreach-outcome"}

// TestContentRules checks DOMAIN.md §2.1's rules on every code system
// file (content complete, case-sensitive, active, versioned, under the
// base) and, on this package's own, that every code has a display and a
// definition and that a value set holds all of its codes.
func TestContentRules(t *testing.T) {
	r, _ := contentRegistry(t, "")
	for _, cs := range r.CodeSystems() {
		if cs.Content != "complete" || !cs.CaseSensitive || cs.Status != "active" || cs.Version == "" ||
			!strings.HasPrefix(cs.URL, content.DefaultBase+"/CodeSystem/") || cs.URL != content.DefaultBase+"/CodeSystem/"+cs.ID {
			t.Errorf("CodeSystem/%s: content %q caseSensitive %v status %q version %q url %s", cs.ID, cs.Content, cs.CaseSensitive, cs.Status, cs.Version, cs.URL)
		}
	}
	for _, vs := range r.ValueSets() {
		if vs.Status != "active" || vs.Version == "" || vs.URL != content.DefaultBase+"/ValueSet/"+vs.ID {
			t.Errorf("ValueSet/%s: status %q version %q url %s", vs.ID, vs.Status, vs.Version, vs.URL)
		}
	}
	for _, id := range ownCodeSystems {
		cs, ok := r.CodeSystemByID(id)
		if !ok {
			t.Errorf("no CodeSystem/%s", id)
			continue
		}
		if cs.Version != "1.0.0" {
			t.Errorf("CodeSystem/%s: version %q", id, cs.Version)
		}
		var codes []string
		for _, c := range cs.All() {
			codes = append(codes, c.Code)
			if c.Display == "" || c.Definition == "" {
				t.Errorf("CodeSystem/%s: code %s has display %q, definition %q", id, c.Code, c.Display, c.Definition)
			}
		}
		if cs.ValueSet != content.DefaultBase+"/ValueSet/"+id {
			t.Errorf("CodeSystem/%s: valueSet %q", id, cs.ValueSet)
		}
		x, err := r.Expand(all(cs.ValueSet))
		if err != nil {
			t.Errorf("CodeSystem/%s: its value set: %v", id, err)
			continue
		}
		var got []string
		for _, c := range x.Contains {
			if c.System != cs.URL || c.Version != cs.Version {
				t.Errorf("ValueSet/%s: %s|%s", id, c.System, c.Version)
			}
			got = append(got, c.Code)
		}
		if !slices.Equal(got, codes) {
			t.Errorf("ValueSet/%s expands to %v, want every code of the code system %v", id, got, codes)
		}
	}
}

// TestContentValueSetsExpand checks every value set file expands to at
// least one code.
func TestContentValueSetsExpand(t *testing.T) {
	r, _ := contentRegistry(t, "")
	if len(r.ValueSets()) < len(ownCodeSystems) {
		t.Errorf("%d value sets", len(r.ValueSets()))
	}
	for _, vs := range r.ValueSets() {
		x, err := r.Expand(all(vs.URL))
		if err != nil {
			t.Errorf("ValueSet/%s: %v", vs.ID, err)
		} else if x.Total == 0 || len(x.Contains) != x.Total {
			t.Errorf("ValueSet/%s: total %d, %d codes", vs.ID, x.Total, len(x.Contains))
		}
	}
}

// matStandards is DOMAIN.md §1.1's table: short name and statement.
var matStandards = [][2]string{
	{"Same Day Access", "All people accessing services have the option to start MAT from the same day of presentation."},
	{"Choice", "All people are supported to make an informed choice on what medication to use for MAT, and the appropriate dose."},
	{"Assertive Outreach and Anticipatory Care", "All people at high risk of drug-related harm are proactively identified and offered support to commence or continue MAT."},
	{"Harm Reduction", "All people are offered evidence based harm reduction at the point of MAT delivery."},
	{"Retention", "All people will receive support to remain in treatment for as long as requested."},
	{"Psychological Support", "The system that provides MAT is psychologically informed (Tier 1); routinely delivers evidence based low intensity psychosocial interventions (Tier 2); and supports the development of social networks."},
	{"Primary Care", "All people have the option of MAT shared with Primary Care."},
	{"Independent Advocacy and Social Support", "All people have access to independent advocacy and support for housing, welfare and income needs."},
	{"Mental Health", "All people with co-occurring drug use and mental health difficulties can receive mental health care at the point of MAT delivery."},
	{"Trauma Informed Care", "All people receive trauma informed care."},
}

func TestContentMATStandards(t *testing.T) {
	r, _ := contentRegistry(t, "")
	sys := content.DefaultBase + "/CodeSystem/mat-standard"
	cs, _ := r.CodeSystem(sys)
	if len(cs.All()) != 10 {
		t.Fatalf("%d MAT standards", len(cs.All()))
	}
	for i, std := range matStandards {
		n := i + 1
		code := fmt.Sprintf("MAT%d", n)
		res, err := r.Lookup(sys, code, "")
		if err != nil {
			t.Fatal(err)
		}
		c := res.Concept
		if want := fmt.Sprintf("MAT %d – %s", n, std[0]); c.Display != want {
			t.Errorf("%s display %q, want %q", code, c.Display, want)
		}
		if c.Definition != std[1] {
			t.Errorf("%s definition %q, want the seed text %q", code, c.Definition, std[1])
		}
		props := map[string]string{}
		for _, p := range c.Properties {
			props[p.Code] = p.String()
		}
		if props["shortName"] != std[0] || props["hasNumericalMeasure"] != fmt.Sprint(n <= 5) {
			t.Errorf("%s properties %v", code, props)
		}
		for _, d := range c.Designations {
			if !d.IsDefinition() || d.Value == c.Definition {
				t.Errorf("%s: designation %+v is not a definition variant", code, d)
			}
		}
	}
	// The wording variants of §1.1 are designations, not displays.
	for code, n := range map[string]int{"MAT3": 1, "MAT6": 2} {
		c, _ := cs.Concept(code)
		if len(c.Designations) != n {
			t.Errorf("%s: %d designations, want %d", code, len(c.Designations), n)
		}
		v, _ := r.ValidateCode(sys, "", Coding{Code: code, Display: c.Designations[0].Value})
		if v.Result {
			t.Errorf("%s: a definition variant validated as a display", code)
		}
	}
	x, _ := r.Expand(ExpandRequest{URL: content.DefaultBase + "/ValueSet/mat-standard", Filter: "same acc", Count: -1})
	if x.Total != 1 || x.Contains[0].Code != "MAT1" {
		t.Errorf("filter \"same acc\": %+v", x.Contains)
	}
}

func TestContentCodes(t *testing.T) {
	r, _ := contentRegistry(t, "")
	want := map[string][]string{
		"benzo-goal-category": {"immediate-harm-reduction", "psychosocial-intervention", "supported-self-reduction",
			"medication-assisted-detox", "medication-assisted-stabilisation", "motivational-enhancement"},
		"treatment-orientation": {"harm-reduction", "abstinence", "undecided"},
		"psychosocial-tier":     {"tier-1", "tier-2", "tier-3", "tier-4"},
		"goal-review-finding": {"progressing", "lapse", "relapse", "presented-intoxicated", "non-fatal-overdose",
			"concern-raised", "goal-no-longer-relevant", "goal-met"},
		"matcare-activity": {"goal-review", "bps-assessment", "outreach-contact", "high-risk-event", "naloxone", "iep",
			"bbv-test", "injecting-risk-assessment", "wound-care", "independent-advocacy", "housing-support",
			"welfare-income-support", "mental-health-care", "shared-care-primary-care", "ost-prescription",
			"benzo-prescription", "instalment-dispensing", "prescription-review"},
		"episode-end-reason": {"planned-completion", "unplanned-discharge", "transfer", "death", "prison", "person-chose-to-leave"},
		"careplan-category":  {"mat-episode", "benzo-care-plan", "recovery-care-plan"},
		"care-setting":       {"community", "prison", "hospital", "outreach"},
		"high-risk-event":    {"non-fatal-overdose", "prison-release", "detox-discharge", "unplanned-discharge"},
		"outreach-outcome":   {"mat-offered", "mat-started", "mat-continued", "mat-declined", "not-reached"},
	}
	for id, codes := range want {
		cs, _ := r.CodeSystemByID(id)
		var got []string
		for _, c := range cs.All() {
			got = append(got, c.Code)
		}
		if !slices.Equal(got, codes) {
			t.Errorf("CodeSystem/%s codes %v, want %v", id, got, codes)
		}
	}
	// Only motivational-enhancement is a local addition.
	x, err := r.Expand(all(content.DefaultBase + "/ValueSet/benzo-goal-category"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range x.Contains {
		if got := propertyValues(c.concept, "localAddition"); !slices.Equal(got, []string{fmt.Sprint(c.Code == "motivational-enhancement")}) {
			t.Errorf("%s: localAddition %v", c.Code, got)
		}
	}
}

// TestContentFitsExamples checks that the codings of the shared test
// resources and of the synthetic population are valid against the
// content: the codes DOMAIN.md's examples use exist.
func TestContentFitsExamples(t *testing.T) {
	r, _ := contentRegistry(t, "")
	for name, body := range map[string][]byte{"Goal": fhirtest.Goal(), "CarePlan": fhirtest.CarePlan(),
		"Patient": fhirtest.Patient(), "Questionnaire": fhirtest.Questionnaire(), "QuestionnaireResponse": fhirtest.QuestionnaireResponse()} {
		if issues := r.CheckCodings(body); len(issues) > 0 {
			t.Errorf("fhirtest.%s: %v", name, issues)
		}
	}
	n := 0
	synth.Generate(synth.Config{Seed: 1, Patients: 20, Boards: []string{"S08000031"}}, func(res synth.Resource) bool {
		n++
		if issues := r.CheckCodings(res.Body); len(issues) > 0 {
			t.Errorf("synthetic %s/%s: %v", res.Type, res.ID, issues)
			return false
		}
		return true
	})
	if n == 0 {
		t.Error("no synthetic resources")
	}
}

// TestContentOtherBase loads the content under another canonical base:
// every operation answers under the new base, none under the old one.
func TestContentOtherBase(t *testing.T) {
	const base = "https://fhir.example.scot/r4"
	r, _ := contentRegistry(t, base+"/")
	sys := base + "/CodeSystem/mat-standard"
	res, err := r.Lookup(sys, "MAT1", "1.0.0")
	if err != nil || res.Concept.Display != "MAT 1 – Same Day Access" {
		t.Fatalf("Lookup under %s: %v", base, err)
	}
	if _, err := r.Lookup(content.DefaultBase+"/CodeSystem/mat-standard", "MAT1", ""); err == nil {
		t.Error("the default base still answers")
	}
	x, err := r.Expand(all(base + "/ValueSet/matcare-activity"))
	if err != nil || x.Total != 18 || x.Contains[0].System != base+"/CodeSystem/matcare-activity" {
		t.Fatalf("Expand under %s: %v %+v", base, err, x)
	}
	v, err := r.ValidateValueSetCode(base+"/ValueSet/care-setting", "", Coding{System: base + "/CodeSystem/care-setting", Code: "prison"})
	if err != nil || !v.Result {
		t.Errorf("ValidateValueSetCode under %s: %v %+v", base, err, v)
	}
	cs, _ := r.CodeSystemByID("mat-standard")
	if cs.ValueSet != base+"/ValueSet/mat-standard" {
		t.Errorf("valueSet %s", cs.ValueSet)
	}
	issues := r.CheckCodings([]byte(`{"resourceType":"Goal","category":[{"coding":[{"system":"` + sys + `","code":"MAT11"}]},` +
		`{"coding":[{"system":"` + content.DefaultBase + `/CodeSystem/mat-standard","code":"MAT11"}]}]}`))
	if len(issues) != 1 || issues[0].Expression[0] != "Goal.category[0].coding[0]" {
		t.Errorf("CheckCodings under %s: %v", base, issues)
	}
}
