package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/matcare/matcare/fhir"
	"github.com/matcare/matcare/fhir/clinical"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/questionnaire"
	"github.com/matcare/matcare/fhir/terminology"
)

func TestSynthCHICheckDigit(t *testing.T) {
	// Worked by hand: weights 10..2, check = 11 - (sum mod 11).
	tests := []struct {
		nine  string
		check int
		ok    bool
	}{
		{"010190123", 2, true},  // sum 86, 86 mod 11 = 9 → 2
		{"120345678", 6, true},  // sum 159, mod 11 = 5 → 6
		{"000000000", 0, true},  // sum 0 → 11 → 0
		{"100000000", 1, true},  // sum 10 → 1
		{"000000006", 0, false}, // sum 12, mod 11 = 1 → 10: never issued
		{"12345678", 0, false},  // too short
		{"12345678x", 0, false}, // not a digit
	}
	for _, tt := range tests {
		if c, ok := CHICheckDigit(tt.nine); c != tt.check || ok != tt.ok {
			t.Errorf("CHICheckDigit(%q) = %d, %v; want %d, %v", tt.nine, c, ok, tt.check, tt.ok)
		}
	}
}

// smallConfig is the population the tests check: two boards of a case
// mix each.
func smallConfig() Config {
	return Config{Seed: 7, Patients: len(caseMix), Boards: []string{"S08000031", "S08000024"}}
}

// checked is what running a population through matcare's pure checks
// found.
type checked struct {
	writes   int
	versions map[string]int // Type/id -> versions written
	// warnings by rule (a prescribing check id, or the first words of
	// the diagnostics)
	warnings map[string]int
	findings map[string]int      // goal-review-finding codes of Goal versions that are reviews
	where    map[string][]string // rule -> Type/id versions
}

// runChecks writes nothing: it runs every generated version through the
// checks the server runs on a write (clinical.Check, GoalReview against
// the version before, Prescribing with the context the service gathers,
// questionnaire.Validate and Score against the content's Questionnaire,
// the terminology's CheckCodings), failing t on any error issue.
func runChecks(t *testing.T, cfg Config) checked {
	t.Helper()
	base := cfg.Base
	if base == "" {
		base = content.DefaultBase
	}
	rs, err := content.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := terminology.New(rs)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{}
	for _, r := range rs {
		if r.Type == "Questionnaire" {
			forms[r.URL] = r.Body
		}
	}
	drugs, err := clinical.LoadDrugs(base)
	if err != nil {
		t.Fatal(err)
	}
	c := checked{versions: map[string]int{}, warnings: map[string]int{}, findings: map[string]int{}, where: map[string][]string{}}
	current := map[string][]byte{}     // Type/id -> current body
	bySubject := map[string][]string{} // Patient/id -> the Type/ids in its compartment, in order
	fail := func(res Resource, what string, is []fhir.Issue) {
		for _, i := range is {
			if i.Severity == r4.IssueSeverityError || i.Severity == r4.IssueSeverityFatal {
				t.Errorf("%s/%s version %d: %s: %s %v", res.Type, res.ID, res.Version, what, i.Diagnostics, i.Expression)
			} else if i.Severity == r4.IssueSeverityWarning || i.Severity == r4.IssueSeverityInformation {
				c.warnings[rule(i)]++
				c.where[rule(i)] = append(c.where[rule(i)], fmt.Sprintf("%s/%s/%d", res.Type, res.ID, res.Version))
			}
		}
	}
	Generate(cfg, func(res Resource) bool {
		c.writes++
		key := res.Type + "/" + res.ID
		c.versions[key]++
		if res.Version != c.versions[key] {
			t.Errorf("%s: Version %d, the %d. write", key, res.Version, c.versions[key])
		}
		parsed, err := fhir.Parse(res.Type, res.Body)
		if err != nil {
			t.Errorf("%s version %d: fhir.Parse: %v", key, res.Version, err)
			return true
		}
		for _, p := range parsed.Patients(res.ID) {
			if !strings.Contains(p, res.Board) {
				t.Errorf("%s is in the compartment of %s, another board's patient", key, p)
			}
		}
		fail(res, "CheckCodings", terms.CheckCodings(res.Body))
		fail(res, "Check", clinical.Check(base, res.Type, res.Body))
		switch res.Type {
		case "Goal":
			review, is := clinical.GoalReview(base, current[key], res.Body)
			fail(res, "GoalReview", is)
			if review.Reviewed {
				c.findings[review.Finding]++
			}
		case "CarePlan":
			if clinical.Prescribes(base, res.Body, drugs) {
				fail(res, "Prescribing", clinical.Prescribing(base, res.Body, prescribingContext(res, current, bySubject, drugs)))
			}
		case "QuestionnaireResponse":
			var qr struct{ Questionnaire string }
			_ = json.Unmarshal(res.Body, &qr)
			url, _, _ := strings.Cut(qr.Questionnaire, "|")
			q := forms[url]
			if q == nil {
				t.Errorf("%s: no Questionnaire %s", key, qr.Questionnaire)
				break
			}
			fail(res, "Validate", questionnaire.Validate(q, res.Body))
			score, is := questionnaire.Score(q, res.Body)
			fail(res, "Score", is)
			if score.Instrument == questionnaire.SDSInstrument && bytes.Contains(res.Body, []byte(`"status":"completed"`)) && !score.TotalAdded {
				t.Errorf("%s: a completed SDS the server would not total", key)
			}
		}
		if _, seen := current[key]; !seen {
			for _, p := range parsed.Patients(res.ID) {
				bySubject["Patient/"+p] = append(bySubject["Patient/"+p], key)
			}
		}
		current[key] = res.Body
		return true
	})
	return c
}

// rule names what an issue is about, to count issues by rule.
func rule(i fhir.Issue) string {
	if i.Details != nil && len(i.Details.Coding) > 0 && i.Details.Coding[0].Code != nil {
		return *i.Details.Coding[0].Code
	}
	words := strings.Fields(i.Diagnostics)
	return strings.Join(words[:min(6, len(words))], " ")
}

// prescribingContext is the context the service would gather for a
// CarePlan write: the person's other active CarePlans, the Goals the
// plan links, the plan's version before and their latest assessment.
func prescribingContext(res Resource, current map[string][]byte, bySubject map[string][]string, drugs *clinical.DrugTable) clinical.PrescribingContext {
	var plan struct {
		Subject  struct{ Reference string }
		Goal     []struct{ Reference string }
		Activity []struct {
			Detail struct{ Goal []struct{ Reference string } }
		}
	}
	_ = json.Unmarshal(res.Body, &plan)
	pc := clinical.PrescribingContext{Drugs: drugs, Goals: map[string][]byte{}, Previous: current["CarePlan/"+res.ID]}
	refs := plan.Goal
	for _, a := range plan.Activity {
		refs = append(refs, a.Detail.Goal...)
	}
	for _, r := range refs {
		if b, ok := current[r.Reference]; ok {
			pc.Goals[r.Reference] = b
		}
	}
	bestAt := time.Time{}
	for _, k := range bySubject[plan.Subject.Reference] {
		b := current[k]
		var head struct {
			Status, Authored, Questionnaire string
			Subject                         struct{ Reference string }
		}
		_ = json.Unmarshal(b, &head)
		if head.Subject.Reference != plan.Subject.Reference || k == "CarePlan/"+res.ID {
			continue
		}
		switch {
		case strings.HasPrefix(k, "CarePlan/") && head.Status == "active":
			pc.OtherCarePlans = append(pc.OtherCarePlans, b)
		case strings.HasPrefix(k, "QuestionnaireResponse/") && strings.Contains(head.Questionnaire, "/Questionnaire/bps-benzo") &&
			head.Status != "entered-in-error":
			if at, err := time.Parse(time.RFC3339, head.Authored); err == nil && at.After(bestAt) {
				pc.BPS, bestAt = b, at
			}
		}
	}
	return pc
}

// TestSynthPassesChecks generates the case mix on two boards and runs
// every version through matcare's checks: no error anywhere, and every
// prescribing check and goal-review finding is exercised.
func TestSynthPassesChecks(t *testing.T) {
	c := runChecks(t, smallConfig())
	for _, bz := range []string{"BZ-01", "BZ-02", "BZ-03", "BZ-04", "BZ-05", "BZ-06", "BZ-07", "BZ-08", "BZ-09", "BZ-10", "BZ-11", "BZ-12"} {
		if c.warnings[bz] == 0 {
			t.Errorf("no version exercises %s", bz)
		}
	}
	for _, f := range []string{"progressing", "lapse", "relapse", "presented-intoxicated", "non-fatal-overdose", "concern-raised",
		"goal-no-longer-relevant", "goal-met"} {
		if c.findings[f] == 0 {
			t.Errorf("no goal review finds %s", f)
		}
	}
	// The warnings the case mix is meant to raise, and no others (a CHI
	// number that does not match, a review date equal to a target date,
	// a goal without its review date... would be generator bugs).
	expected := []string{"BZ-", "matcare: record who expressed the goal", "matcare: record an ost-prescription's dailyAmount",
		"goal review: relapse recorded", "goal review: non-fatal overdose recorded"}
	for w := range c.warnings {
		if !slices.ContainsFunc(expected, func(e string) bool { return strings.HasPrefix(w, e) }) {
			t.Errorf("unexpected issue %q on %v", w, c.where[w])
		}
	}
	var ws []string
	for w, n := range c.warnings {
		ws = append(ws, fmt.Sprintf("%5d %s", n, w))
	}
	slices.Sort(ws)
	t.Logf("%d writes; warnings and information by rule:\n%s", c.writes, strings.Join(ws, "\n"))
	if testing.Verbose() {
		for w, at := range c.where {
			t.Logf("%s: %v", w, at)
		}
	}
}

// TestSynthRandomPassesChecks runs people drawn at random (after the
// case mix) through the same checks, with other goal counts and epochs.
func TestSynthRandomPassesChecks(t *testing.T) {
	for _, cfg := range []Config{
		{Seed: 21, Patients: 100, Boards: []string{"S08000032"}},
		{Seed: 22, Patients: 60, Boards: []string{"S08000015"}, GoalsPerPatient: 1, Epoch: time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC)},
		{Seed: 23, Patients: 40, Boards: []string{"X-unlisted"}, GoalsPerPatient: 5, Epoch: time.Date(2024, 10, 27, 0, 0, 0, 0, time.UTC)},
	} {
		c := runChecks(t, cfg)
		t.Logf("%v: %d writes, issues %v", cfg.Boards, c.writes, c.warnings)
	}
}
