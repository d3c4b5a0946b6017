package api_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// clinicalExample reads an example resource of package clinical's tests.
func clinicalExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../fhir/clinical/testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// issueCodes lists "severity:code" of an OperationOutcome's issues, the
// code being details.coding[0].code when set, else the issue code.
func issueCodes(t *testing.T, r response) []string {
	t.Helper()
	oo := r.json(t)
	var out []string
	issues, _ := oo["issue"].([]any)
	for _, x := range issues {
		is := x.(map[string]any)
		code, _ := is["code"].(string)
		if d, ok := is["details"].(map[string]any); ok {
			if cs, ok := d["coding"].([]any); ok && len(cs) > 0 {
				code, _ = cs[0].(map[string]any)["code"].(string)
			}
		}
		out = append(out, is["severity"].(string)+":"+code)
	}
	return out
}

func hasIssue(codes []string, want string) bool {
	for _, c := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// TestClinicalChecksOnWrite: the matcare profiles, goal reviews and
// prescribing checks run on writes over HTTP; errors refuse the write
// with 422 and store nothing, warnings come back with Prefer:
// return=OperationOutcome beside the stored version's Location and ETag.
func TestClinicalChecksOnWrite(t *testing.T) {
	e := newEnv(t)
	oo := []string{"Prefer", "return=OperationOutcome"}
	if r := e.do("PUT", "/Patient/p03", clinicalExample(t, "Patient-p03")); r.StatusCode != http.StatusCreated {
		t.Fatalf("Patient: %d %s", r.StatusCode, r.body)
	}

	t.Run("a CHI number with a wrong check digit is refused", func(t *testing.T) {
		body := `{"resourceType":"Patient","id":"badchi","identifier":[{"system":"urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53","value":"0101901235"}]}`
		r := e.do("PUT", "/Patient/badchi", body)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("got %d %s", r.StatusCode, r.body)
		}
		if r := e.do("GET", "/Patient/badchi", ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("the refused Patient was stored: %d", r.StatusCode)
		}
	})

	if r := e.do("PUT", "/Goal/g03a", clinicalExample(t, "Goal-g03a")); r.StatusCode != http.StatusCreated {
		t.Fatalf("Goal: %d %s", r.StatusCode, r.body)
	}
	plan := clinicalExample(t, "CarePlan-cp03b")

	t.Run("warnings with Prefer: return=OperationOutcome", func(t *testing.T) {
		high := strings.Replace(plan, `"dailyAmount": {"value": 20,`, `"dailyAmount": {"value": 40,`, 1)
		if high == plan {
			t.Fatal("the example's dose was not found")
		}
		r := e.do("PUT", "/CarePlan/cp03b", high, oo...)
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("got %d %s", r.StatusCode, r.body)
		}
		codes := issueCodes(t, r)
		if !hasIssue(codes, "warning:BZ-04") {
			t.Errorf("40 mg diazepam a day: no BZ-04 warning in %v", codes)
		}
		if r.Header.Get("ETag") != `W/"1"` || !strings.Contains(r.Header.Get("Location"), "/CarePlan/cp03b/_history/1") {
			t.Errorf("ETag %q Location %q", r.Header.Get("ETag"), r.Header.Get("Location"))
		}
		// The plan as written, 20 mg: no BZ-04.
		r = e.do("PUT", "/CarePlan/cp03b", plan, oo...)
		if r.StatusCode != http.StatusOK || hasIssue(issueCodes(t, r), "warning:BZ-04") {
			t.Errorf("20 mg: %d %v", r.StatusCode, issueCodes(t, r))
		}
	})

	t.Run("a dose in mL is refused (BZ-01)", func(t *testing.T) {
		ml := strings.Replace(plan, `"unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"`,
			`"unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"`, 1)
		r := e.do("PUT", "/CarePlan/cp03b-ml", strings.Replace(ml, `"id": "cp03b"`, `"id": "cp03b-ml"`, 1))
		if r.StatusCode != http.StatusUnprocessableEntity || !hasIssue(issueCodes(t, r), "error:BZ-01") {
			t.Fatalf("got %d %v", r.StatusCode, issueCodes(t, r))
		}
		if r := e.do("GET", "/CarePlan/cp03b-ml", ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("the refused CarePlan was stored: %d", r.StatusCode)
		}
	})

	t.Run("a lapse is a new Goal version; leaving entered-in-error is refused", func(t *testing.T) {
		r := e.do("PUT", "/Goal/g03a", clinicalExample(t, "Goal-g03a-lapse"), oo...)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("lapse review: %d %s", r.StatusCode, r.body)
		}
		g := clinicalExample(t, "Goal-g03a")
		eie := strings.Replace(g, `"lifecycleStatus": "active"`, `"lifecycleStatus": "entered-in-error"`, 1)
		if r := e.do("PUT", "/Goal/g03a", eie); r.StatusCode != http.StatusOK {
			t.Fatalf("entered-in-error: %d %s", r.StatusCode, r.body)
		}
		r = e.do("PUT", "/Goal/g03a", g)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("back to active: %d %s", r.StatusCode, r.body)
		}
		if r := e.do("GET", "/Goal/g03a", ""); r.Header.Get("ETag") != `W/"3"` {
			t.Errorf("the refused version was stored: ETag %s", r.Header.Get("ETag"))
		}
	})

	t.Run("a transaction's checks see its other entries", func(t *testing.T) {
		goal := strings.Replace(clinicalExample(t, "Goal-g03a"), `"id": "g03a",`, ``, 1)
		tx := strings.NewReplacer(`"id": "cp03b",`, ``, `Goal/g03a`, `urn:uuid:6d7f0a54-5b8e-4f0b-9d7e-0c1f6c4d2a11`).Replace(plan)
		bundle := `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"fullUrl":"urn:uuid:6d7f0a54-5b8e-4f0b-9d7e-0c1f6c4d2a11","resource":` + goal + `,"request":{"method":"POST","url":"Goal"}},` +
			`{"resource":` + tx + `,"request":{"method":"POST","url":"CarePlan"}}]}`
		r := e.do("POST", "", bundle)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("transaction: %d %s", r.StatusCode, r.body)
		}
		if strings.Contains(string(r.body), "BZ-06") {
			t.Errorf("the plan's goal is in the same transaction, yet BZ-06 fired: %s", r.body)
		}
	})
}

// TestValidateOperation: $validate runs the write's checks and stores
// nothing; 200 with every issue whenever validation ran.
func TestValidateOperation(t *testing.T) {
	e := newEnv(t)
	plan := clinicalExample(t, "CarePlan-cp03b")
	if r := e.do("PUT", "/Goal/g03a", clinicalExample(t, "Goal-g03a")); r.StatusCode != http.StatusCreated {
		t.Fatalf("Goal: %d %s", r.StatusCode, r.body)
	}
	high := strings.Replace(plan, `"dailyAmount": {"value": 20,`, `"dailyAmount": {"value": 40,`, 1)
	ml := strings.Replace(plan, `"unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"`,
		`"unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"`, 1)
	benzoGoal := "http://matcare.example/fhir/StructureDefinition/matcare-benzo-goal"
	bareGoal := `{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p03"}}`
	tests := []struct {
		name, path, body string
		status           int
		want, not        []string // issueCodes entries
	}{
		{"a warning", "/CarePlan/$validate", high, 200, []string{"warning:BZ-04"}, nil},
		{"the plan as written", "/CarePlan/$validate", plan, 200, nil, []string{"warning:BZ-04"}},
		{"an error is reported, not refused", "/CarePlan/$validate?mode=create", ml, 200, []string{"error:BZ-01"}, nil},
		{"Parameters with a profile", "/Goal/$validate",
			`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + bareGoal + `},{"name":"profile","valueCanonical":"` + benzoGoal + `"}]}`,
			200, []string{"warning:required"}, nil},
		{"an unknown profile", "/Goal/$validate?profile=http://example.org/StructureDefinition/nope", bareGoal, 200, nil, []string{"information:informational"}},
		{"schema errors are issues", "/Goal/$validate", `{"resourceType":"Goal","lifecycleStatus":"bogus"}`, 200, nil, []string{"information:informational"}},
		{"no issues", "/Goal/$validate", bareGoal, 200, []string{"information:informational"}, nil},
		{"update of the current version", "/Goal/g03a/$validate",
			strings.Replace(clinicalExample(t, "Goal-g03a"), `"lifecycleStatus": "active"`, `"lifecycleStatus": "proposed"`, 1), 200, nil, nil},
		{"delete", "/Goal/g03a/$validate?mode=delete", "{}", 200, []string{"information:informational"}, nil},
		{"delete of nothing", "/Goal/nothing/$validate?mode=delete", "{}", 404, nil, nil},
		{"create at the instance level", "/Goal/g03a/$validate?mode=create", bareGoal, 400, nil, nil},
		{"no resource", "/Goal/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}`, 400, nil, nil},
		{"unknown type", "/Nope/$validate", bareGoal, 404, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", tt.path, tt.body)
			if r.StatusCode != tt.status {
				t.Fatalf("%d %s", r.StatusCode, r.body)
			}
			if r.StatusCode != 200 {
				return
			}
			codes := issueCodes(t, r)
			for _, w := range tt.want {
				if !hasIssue(codes, w) {
					t.Errorf("no %s in %v", w, codes)
				}
			}
			for _, n := range tt.not {
				if hasIssue(codes, n) {
					t.Errorf("%s in %v", n, codes)
				}
			}
			if len(tt.not) > 0 && tt.not[0] == "information:informational" && !strings.Contains(string(r.body), `"error"`) {
				t.Errorf("no error reported: %s", r.body)
			}
		})
	}
	if r := e.do("GET", "/CarePlan?_summary=count", ""); !strings.Contains(string(r.body), `"total":0`) {
		t.Errorf("$validate stored something: %s", r.body)
	}
	// A token that may read but not write Goals may not validate them.
	ro := e.as("system/Goal.read", boardA)
	if r := ro.do("POST", "/Goal/$validate", bareGoal); r.StatusCode != http.StatusForbidden {
		t.Errorf("read-only token: %d %s", r.StatusCode, r.body)
	}
}

// TestCapabilityProfiles: the CapabilityStatement names matcare's profiles
// as supported profiles of the types they constrain, and every served
// type's $validate.
func TestCapabilityProfiles(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/metadata", "")
	got := map[string][]string{}
	validate := map[string]bool{}
	for _, x := range r.json(t)["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
		res := x.(map[string]any)
		typ := res["type"].(string)
		for _, p := range asSlice(res["supportedProfile"]) {
			got[typ] = append(got[typ], strings.TrimPrefix(p.(string), "http://matcare.example/fhir/StructureDefinition/"))
		}
		for _, op := range asSlice(res["operation"]) {
			if op.(map[string]any)["name"] == "validate" {
				validate[typ] = true
			}
		}
	}
	want := map[string][]string{"Patient": {"matcare-patient"}, "CarePlan": {"matcare-careplan", "matcare-benzo-careplan"}, "Goal": {"matcare-benzo-goal"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("supported profiles %v, want %v", got, want)
	}
	for _, typ := range []string{"Patient", "Observation", "CodeSystem", "StructureDefinition"} {
		if !validate[typ] {
			t.Errorf("%s: no $validate", typ)
		}
	}
	if validate["AuditEvent"] {
		t.Error("AuditEvent offers $validate")
	}
}

// TestLapseStopsPrescription: a transaction that records a lapse and, in
// the same Bundle, stops the prescription serving the goal is stored with
// a warning; recording the lapse alone gives none of it.
func TestLapseStopsPrescription(t *testing.T) {
	e := newEnv(t)
	for _, p := range []struct{ path, name string }{{"/Patient/p03", "Patient-p03"}, {"/Goal/g03a", "Goal-g03a"}, {"/CarePlan/cp03b", "CarePlan-cp03b"}} {
		if r := e.do("PUT", p.path, clinicalExample(t, p.name)); r.StatusCode != http.StatusCreated {
			t.Fatalf("%s: %d %s", p.path, r.StatusCode, r.body)
		}
	}
	lapse := clinicalExample(t, "Goal-g03a-lapse")
	stoppedPlan := strings.Replace(clinicalExample(t, "CarePlan-cp03b"), `"status": "in-progress",
        "scheduledPeriod": {"start": "2024-06-13T10:00:00+01:00"}`, `"status": "stopped",
        "scheduledPeriod": {"start": "2024-06-13T10:00:00+01:00"}`, 1)
	if !strings.Contains(stoppedPlan, `"status": "stopped"`) {
		t.Fatal("the example's prescription status was not found")
	}
	bundle := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	entry := func(path, body string) string {
		return `{"resource":` + body + `,"request":{"method":"PUT","url":"` + path + `"}}`
	}
	r := e.do("POST", "", bundle(entry("Goal/g03a", lapse), entry("CarePlan/cp03b", stoppedPlan)))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if n := strings.Count(string(r.body), "the same transaction stops the prescription for the goal in CarePlan/cp03b"); n != 1 {
		t.Errorf("%d lapse-and-stop warnings, want 1: %s", n, r.body)
	}
	// The next review, lapse again, with the plan left as it is: no warning.
	again := strings.Replace(lapse, `"statusDate": "2024-08-14"`, `"statusDate": "2024-09-11"`, 1)
	r = e.do("POST", "", bundle(entry("Goal/g03a", again)))
	if r.StatusCode != http.StatusOK || strings.Contains(string(r.body), "stops the prescription") {
		t.Errorf("lapse alone: %d %s", r.StatusCode, r.body)
	}
}

// TestValidateProfileOnce: a profile $validate names that the resource
// also claims gives each finding once.
func TestValidateProfileOnce(t *testing.T) {
	e := newEnv(t)
	goal := strings.Replace(clinicalExample(t, "Goal-g03a"), `"expressedBy": {"reference": "Patient/p03"}`, `"note": [{"text": "x"}]`, 1)
	r := e.do("POST", "/Goal/$validate?profile=http://matcare.example/fhir/StructureDefinition/matcare-benzo-goal", goal)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if n := strings.Count(string(r.body), `"expression":["Goal.expressedBy"]`); n != 1 {
		t.Errorf("the expressedBy finding %d times: %s", n, r.body)
	}
}
