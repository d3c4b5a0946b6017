package api_test

import (
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
