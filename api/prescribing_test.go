package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// jsonEdit changes a decoded resource (a test may re-encode: what the
// server stores is then this encoding, which is what the test sends).
type jsonEdit func(doc map[string]any)

func editJSON(t *testing.T, body string, edits ...jsonEdit) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// at walks doc along path ("activity.0.detail") and returns the object
// there.
func at(doc map[string]any, path string) map[string]any {
	var cur any = doc
	for _, step := range strings.Split(path, ".") {
		if i, err := strconv.Atoi(step); err == nil {
			cur = cur.([]any)[i]
		} else {
			cur = cur.(map[string]any)[step]
		}
	}
	return cur.(map[string]any)
}

func setAt(path, key string, v any) jsonEdit {
	return func(doc map[string]any) {
		o := doc
		if path != "" {
			o = at(doc, path)
		}
		if v == nil {
			delete(o, key)
			return
		}
		o[key] = v
	}
}

// dropActivity removes activity i of a CarePlan.
func dropActivity(i int) jsonEdit {
	return func(doc map[string]any) {
		acts := doc["activity"].([]any)
		doc["activity"] = append(acts[:i:i], acts[i+1:]...)
	}
}

func rawJSON(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// TestPrescribingChecksOverHTTP runs each prescribing check BZ-01..BZ-12
// through $validate and writes, firing and not firing, with the context
// the server gathers itself from storage: the person's other active
// plans, the linked goals, the latest BPS assessment and the plan's
// previous version.
func TestPrescribingChecksOverHTTP(t *testing.T) {
	e := newEnv(t)
	put := func(path, body string) {
		t.Helper()
		if r := e.do("PUT", path, body); r.StatusCode >= 300 {
			t.Fatalf("PUT %s: %d %s", path, r.StatusCode, r.body)
		}
	}
	put("/Patient/p03", clinicalExample(t, "Patient-p03"))
	put("/Goal/g03a", clinicalExample(t, "Goal-g03a"))
	put("/CarePlan/cp03a", clinicalExample(t, "CarePlan-cp03a")) // the MAT episode, with OST
	bps := clinicalExample(t, "QuestionnaireResponse-bps03")
	put("/QuestionnaireResponse/bps03", bps)
	plan := clinicalExample(t, "CarePlan-cp03b")
	const rx = "activity.0.detail"
	const benzoCS = "http://matcare.example/fhir/CodeSystem/benzodiazepine"
	drug := func(code string) jsonEdit {
		return setAt(rx, "productCodeableConcept", rawJSON(`{"coding":[{"system":"`+benzoCS+`","code":"`+code+`"}]}`))
	}
	dose := func(mg float64) jsonEdit { return func(d map[string]any) { at(d, rx+".dailyAmount")["value"] = mg } }

	bzCodes := func(r response) map[string]string {
		out := map[string]string{}
		for _, c := range issueCodes(t, r) {
			sev, code, _ := strings.Cut(c, ":")
			if strings.HasPrefix(code, "BZ-") {
				out[code] = sev
			}
		}
		return out
	}
	validate := func(t *testing.T, path, body string) map[string]string {
		t.Helper()
		r := e.do("POST", path, body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("$validate: %d %s", r.StatusCode, r.body)
		}
		return bzCodes(r)
	}
	type step struct {
		name string
		edit []jsonEdit
		want map[string]string // BZ code → severity; every other BZ code must be absent
	}
	run := func(t *testing.T, steps []step) {
		t.Helper()
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				body := plan
				if len(s.edit) > 0 {
					body = editJSON(t, plan, s.edit...)
				}
				got := validate(t, "/CarePlan/$validate", body)
				if len(got) != len(s.want) {
					t.Errorf("BZ issues %v, want %v", got, s.want)
				}
				for code, sev := range s.want {
					if got[code] != sev {
						t.Errorf("BZ issues %v, want %s %s", got, sev, code)
					}
				}
			})
		}
	}

	run(t, []step{
		{"the example plan: none", nil, nil},
		{"BZ-01 a dose in mL", []jsonEdit{setAt(rx, "dailyAmount", rawJSON(`{"value":4,"unit":"mL","system":"http://unitsofmeasure.org","code":"mL"}`))},
			map[string]string{"BZ-01": "error"}},
		{"BZ-03 lorazepam", []jsonEdit{drug("lorazepam"), dose(2)}, map[string]string{"BZ-03": "information"}},
		{"BZ-04 40 mg diazepam", []jsonEdit{dose(40)}, map[string]string{"BZ-04": "warning"}},
		{"BZ-04 30 mg diazepam: not above", []jsonEdit{dose(30)}, nil},
		{"BZ-06 no goal linked", []jsonEdit{setAt(rx, "goal", nil), setAt("", "goal", nil)}, map[string]string{"BZ-06": "warning"}},
		{"BZ-07 stop criteria in the assessment only", []jsonEdit{setAt(rx, "description", nil)}, nil},
		{"BZ-09 no instalment dispensing", []jsonEdit{dropActivity(1)}, map[string]string{"BZ-09": "information"}},
		{"BZ-10 no review date on the activity, none planned", []jsonEdit{setAt(rx, "extension", nil), dropActivity(2), setAt("", "goal", nil),
			setAt(rx, "goal", rawJSON(`[{"reference":"Goal/g03b"}]`))},
			// Goal/g03b does not exist: BZ-06 (goal could not be read) and BZ-10.
			map[string]string{"BZ-06": "warning", "BZ-10": "warning"}},
	})

	// BZ-02: another active plan of the same person prescribes lorazepam.
	other := editJSON(t, plan, setAt("", "id", "cp03c"), drug("lorazepam"), dose(2))
	put("/CarePlan/cp03c", other)
	run(t, []step{{"BZ-02 another plan prescribes lorazepam", nil, map[string]string{"BZ-02": "warning"}}})
	put("/CarePlan/cp03c", editJSON(t, other, setAt("", "status", "completed")))
	run(t, []step{{"BZ-02 that plan completed", nil, nil}})

	// BZ-05, BZ-07, BZ-12: a newer assessment records a previous
	// overdose, no stop criteria and harms not discussed.
	newer := strings.NewReplacer(
		`"id": "bps03"`, `"id": "bps03b"`,
		`"authored": "2024-06-12T11:00:00+01:00"`, `"authored": "2024-06-20T11:00:00+01:00"`,
		`{"linkId": "risk.flags.previous-nfod", "answer": [{"valueBoolean": false}]}`, `{"linkId": "risk.flags.previous-nfod", "answer": [{"valueBoolean": true}]}`,
		`{"linkId": "consent.harms-discussed", "answer": [{"valueBoolean": true}]}`, `{"linkId": "consent.harms-discussed", "answer": [{"valueBoolean": false}]}`,
	).Replace(bps)
	newer = editJSON(t, newer, func(d map[string]any) {
		consent := d["item"].([]any)[2].(map[string]any)
		consent["item"] = consent["item"].([]any)[:2] // no stop criteria
	})
	if newer == bps {
		t.Fatal("the assessment was not changed")
	}
	put("/QuestionnaireResponse/bps03b", newer)
	run(t, []step{
		{"BZ-12 harms not discussed (latest assessment)", nil, map[string]string{"BZ-12": "warning"}},
		{"BZ-05 previous overdose and a 30 mg start", []jsonEdit{dose(30)}, map[string]string{"BZ-05": "warning", "BZ-12": "warning"}},
		{"BZ-07 no stop criteria anywhere", []jsonEdit{setAt(rx, "description", nil)}, map[string]string{"BZ-07": "warning", "BZ-12": "warning"}},
	})
	put("/QuestionnaireResponse/bps03b", editJSON(t, bps, setAt("", "id", "bps03b"), setAt("", "status", "entered-in-error")))

	// BZ-08: opioid dependence (bps03) and the OST plan gone.
	if r := e.do("DELETE", "/CarePlan/cp03a", ""); r.StatusCode != http.StatusOK {
		t.Fatal(r.StatusCode)
	}
	run(t, []step{{"BZ-08 opioid dependence, no OST", nil, map[string]string{"BZ-08": "warning"}}})
	put("/CarePlan/cp03a", clinicalExample(t, "CarePlan-cp03a"))
	run(t, []step{{"BZ-08 OST back", nil, nil}})

	// BZ-11: a detox goal's plan, its dose raised in the next version.
	detox := strings.NewReplacer(`"id": "g03a"`, `"id": "g03d"`, `"medication-assisted-stabilisation"`, `"medication-assisted-detox"`,
		`"code": "harm-reduction"`, `"code": "abstinence"`).Replace(clinicalExample(t, "Goal-g03a"))
	put("/Goal/g03d", detox)
	detoxPlan := strings.NewReplacer(`"id": "cp03b"`, `"id": "cp03d"`, `Goal/g03a`, `Goal/g03d`).Replace(plan)
	put("/CarePlan/cp03d", detoxPlan)
	up := editJSON(t, detoxPlan, dose(25))
	if got := validate(t, "/CarePlan/cp03d/$validate", up); got["BZ-11"] != "information" {
		t.Errorf("BZ-11 detox dose up: %v", got)
	}
	if got := validate(t, "/CarePlan/cp03d/$validate", editJSON(t, detoxPlan, dose(15))); got["BZ-11"] != "" {
		t.Errorf("BZ-11 detox dose down: %v", got)
	}
	// Written with Prefer: return=OperationOutcome, the same information
	// comes back with the stored version.
	r := e.do("PUT", "/CarePlan/cp03d", up, "Prefer", "return=OperationOutcome")
	if r.StatusCode != http.StatusOK || bzCodes(r)["BZ-11"] != "information" || r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("PUT with a dose increase: %d %v %s", r.StatusCode, bzCodes(r), r.Header.Get("ETag"))
	}
}
