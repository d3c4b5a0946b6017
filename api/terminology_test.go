package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/api"
	"github.com/matcare/matcare/fhir/content"
	"github.com/matcare/matcare/fhir/terminology"
)

// The terminology operations, over HTTP against the embedded storage
// (which only the audit trail touches): $lookup, $validate-code and
// $expand by GET and POST, their errors, access and the
// CapabilityStatement.

const (
	matSystem   = content.DefaultBase + "/CodeSystem/mat-standard"
	matVS       = content.DefaultBase + "/ValueSet/mat-standard"
	benzoSystem = content.DefaultBase + "/CodeSystem/benzo-goal-category"
	benzoVS     = content.DefaultBase + "/ValueSet/benzo-goal-category"
)

// q builds a query string from name, value pairs.
func q(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return "?" + v.Encode()
}

// params returns a Parameters response's parameters by name (several for
// a repeated name).
func params(t *testing.T, r response) map[string][]map[string]any {
	t.Helper()
	m := r.json(t)
	if m["resourceType"] != "Parameters" {
		t.Fatalf("not a Parameters resource: %s", r.body)
	}
	out := map[string][]map[string]any{}
	for _, x := range asSlice(m["parameter"]) {
		p := x.(map[string]any)
		out[p["name"].(string)] = append(out[p["name"].(string)], p)
	}
	return out
}

// properties returns a $lookup response's properties, code → value[x]
// JSON values.
func properties(t *testing.T, ps map[string][]map[string]any) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, p := range ps["property"] {
		var code string
		var value any
		for _, part := range asSlice(p["part"]) {
			pm := part.(map[string]any)
			if pm["name"] == "code" {
				code, _ = pm["valueCode"].(string)
				continue
			}
			for k, v := range pm {
				if strings.HasPrefix(k, "value") {
					value = v
				}
			}
		}
		out[code] = append(out[code], value)
	}
	return out
}

// parametersBody is a Parameters resource of the given parameter JSONs.
func parametersBody(ps ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

// wantIssue checks an error response's status and that its first issue
// mentions want.
func wantIssue(t *testing.T, r response, status int, want string) {
	t.Helper()
	wantStatus(t, r, status)
	if d, _ := issue(t, r)["diagnostics"].(string); !strings.Contains(d, want) {
		t.Errorf("%s %s: diagnostics %q lack %q", r.Request.Method, r.Request.URL, d, want)
	}
}

func TestTerminologyLookup(t *testing.T) {
	e := newEnv(t)
	t.Run("GET", func(t *testing.T) {
		r := e.do("GET", "/CodeSystem/$lookup"+q("system", matSystem, "code", "MAT6"), "")
		wantStatus(t, r, http.StatusOK)
		ps := params(t, r)
		if ps["name"][0]["valueString"] != "MatcareMatStandard" || ps["version"][0]["valueString"] != "1.0.0" ||
			ps["display"][0]["valueString"] != "MAT 6 – Psychological Support" {
			t.Errorf("name, version, display: %s", r.body)
		}
		if len(ps["designation"]) != 2 {
			t.Errorf("%d designations, want MAT6's 2 wording variants", len(ps["designation"]))
		}
		props := properties(t, ps)
		if d, _ := props["definition"][0].(string); !strings.HasPrefix(d, "The system that provides MAT is psychologically informed") {
			t.Errorf("definition %v", props["definition"])
		}
		if props["shortName"][0] != "Psychological Support" || props["hasNumericalMeasure"][0] != false {
			t.Errorf("properties %v", props)
		}
	})
	t.Run("GET selected properties", func(t *testing.T) {
		r := e.do("GET", "/CodeSystem/$lookup"+q("system", matSystem, "code", "MAT2", "property", "hasNumericalMeasure", "property", "shortName"), "")
		wantStatus(t, r, http.StatusOK)
		ps := params(t, r)
		props := properties(t, ps)
		if len(ps["designation"]) != 0 || props["definition"] != nil || props["hasNumericalMeasure"][0] != true || props["shortName"][0] != "Choice" {
			t.Errorf("%s", r.body)
		}
	})
	t.Run("GET coding", func(t *testing.T) {
		r := e.do("GET", "/CodeSystem/$lookup"+q("coding", benzoSystem+"|motivational-enhancement", "property", "localAddition"), "")
		wantStatus(t, r, http.StatusOK)
		if props := properties(t, params(t, r)); props["localAddition"][0] != true {
			t.Errorf("%s", r.body)
		}
	})
	t.Run("POST", func(t *testing.T) {
		r := e.do("POST", "/CodeSystem/$lookup", parametersBody(
			`{"name":"coding","valueCoding":{"system":"`+matSystem+`","code":"MAT10","version":"1.0.0"}}`,
			`{"name":"property","valueCode":"definition"}`))
		wantStatus(t, r, http.StatusOK)
		ps := params(t, r)
		if ps["display"][0]["valueString"] != "MAT 10 – Trauma Informed Care" || properties(t, ps)["definition"][0] != "All people receive trauma informed care." {
			t.Errorf("%s", r.body)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		r := e.do("HEAD", "/CodeSystem/$lookup"+q("system", matSystem, "code", "MAT1"), "")
		if r.StatusCode != http.StatusOK || len(r.body) != 0 || r.Header.Get("Content-Length") == "" {
			t.Errorf("HEAD: %d %q", r.StatusCode, r.body)
		}
	})
	errorsTable := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown code", "GET", "/CodeSystem/$lookup" + q("system", matSystem, "code", "MAT11"), "", 404, `code "MAT11" is not in code system`},
		{"codes are case-sensitive", "GET", "/CodeSystem/$lookup" + q("system", matSystem, "code", "mat1"), "", 404, `code "mat1"`},
		{"unknown system", "GET", "/CodeSystem/$lookup" + q("system", "http://loinc.org", "code", "1-8"), "", 404, "code system http://loinc.org is not known"},
		{"unknown version", "GET", "/CodeSystem/$lookup" + q("system", matSystem, "code", "MAT1", "version", "2"), "", 404, `version "2"`},
		{"no system", "GET", "/CodeSystem/$lookup" + q("code", "MAT1"), "", 400, "a code needs a system"},
		{"nothing", "GET", "/CodeSystem/$lookup", "", 400, "needs system and code, or coding"},
		{"code and coding", "GET", "/CodeSystem/$lookup" + q("code", "MAT1", "coding", matSystem+"|MAT1"), "", 400, "either coding or system and code"},
		{"bad coding", "GET", "/CodeSystem/$lookup" + q("coding", "MAT1"), "", 400, "system|code"},
		{"repeated", "GET", "/CodeSystem/$lookup" + q("system", matSystem, "code", "MAT1", "code", "MAT2"), "", 400, "may be given once"},
		{"empty", "GET", "/CodeSystem/$lookup" + q("system", matSystem, "code", ""), "", 400, "is empty"},
		{"unsupported parameter", "GET", "/CodeSystem/$lookup" + q("system", matSystem, "code", "MAT1", "displayLanguage", "de"), "", 400, `does not support parameter "displayLanguage"`},
		{"wrong value type", "POST", "/CodeSystem/$lookup", parametersBody(`{"name":"system","valueUri":"`+matSystem+`"}`, `{"name":"code","valueString":"MAT1"}`), 400, "must have a valueCode"},
		{"no value", "POST", "/CodeSystem/$lookup", parametersBody(`{"name":"code"}`), 400, "has no valueCode"},
		{"no name", "POST", "/CodeSystem/$lookup", parametersBody(`{"valueCode":"MAT1"}`), 400, "has no name"},
		{"not Parameters", "POST", "/CodeSystem/$lookup", `{"resourceType":"Goal"}`, 400, "must be a Parameters resource"},
		{"invalid JSON", "POST", "/CodeSystem/$lookup", `{"resourceType":`, 400, "not a Parameters resource"},
		{"query on POST", "POST", "/CodeSystem/$lookup" + q("code", "MAT1"), parametersBody(), 400, "go in its Parameters body"},
		{"coding without code", "POST", "/CodeSystem/$lookup", parametersBody(`{"name":"coding","valueCoding":{"system":"` + matSystem + `"}}`), 400, "has no code"},
	}
	for _, tt := range errorsTable {
		t.Run(tt.name, func(t *testing.T) {
			wantIssue(t, e.do(tt.method, tt.path, tt.body), tt.status, tt.want)
		})
	}
	t.Run("POST needs FHIR JSON", func(t *testing.T) {
		r := e.do("POST", "/CodeSystem/$lookup", parametersBody(), "Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, r, http.StatusUnsupportedMediaType)
	})
	t.Run("XML is not served", func(t *testing.T) {
		r := e.do("GET", "/CodeSystem/$lookup"+q("system", matSystem, "code", "MAT1", "_format", "xml"), "")
		wantStatus(t, r, http.StatusNotAcceptable)
	})
}

// wantValidation checks a $validate-code response.
func wantValidation(t *testing.T, r response, result bool, display, messageHas string) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	ps := params(t, r)
	if len(ps["result"]) != 1 || ps["result"][0]["valueBoolean"] != result {
		t.Errorf("result: %s", r.body)
	}
	var gotDisplay, msg string
	if d := ps["display"]; len(d) > 0 {
		gotDisplay, _ = d[0]["valueString"].(string)
	}
	if m := ps["message"]; len(m) > 0 {
		msg, _ = m[0]["valueString"].(string)
	}
	if gotDisplay != display {
		t.Errorf("display %q, want %q: %s", gotDisplay, display, r.body)
	}
	if messageHas == "" && msg != "" || !strings.Contains(msg, messageHas) {
		t.Errorf("message %q, want %q", msg, messageHas)
	}
}

func TestTerminologyValidateCode(t *testing.T) {
	e := newEnv(t)
	const matDisplay = "MAT 3 – Assertive Outreach and Anticipatory Care"
	tests := []struct {
		name, method, path, body string
		result                   bool
		display, message         string
	}{
		{"CodeSystem by url", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "code", "MAT3"), "", true, matDisplay, ""},
		{"CodeSystem with display", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "code", "MAT3", "display", matDisplay), "", true, matDisplay, ""},
		{"CodeSystem wrong display", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "code", "MAT3", "display", "Outreach"), "", false, matDisplay, `display "Outreach" is not a valid display`},
		{"CodeSystem unknown code", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "code", "MAT0"), "", false, "", `unknown code "MAT0"`},
		{"CodeSystem coding names the system", "GET", "/CodeSystem/$validate-code" + q("coding", matSystem+"|MAT3"), "", true, matDisplay, ""},
		{"CodeSystem instance", "GET", "/CodeSystem/mat-standard/$validate-code" + q("code", "MAT3", "version", "1.0.0"), "", true, matDisplay, ""},
		{"CodeSystem instance, coding of another system", "GET", "/CodeSystem/mat-standard/$validate-code" + q("coding", benzoSystem+"|lapse"), "", false, "", "is not code system"},
		{"CodeSystem POST codeableConcept", "POST", "/CodeSystem/$validate-code", parametersBody(`{"name":"url","valueUri":"`+benzoSystem+`"}`,
			`{"name":"codeableConcept","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"75544000"},{"system":"`+benzoSystem+`","code":"supported-self-reduction"}],"text":"x"}}`),
			true, "Supported self-reduction", ""},
		{"ValueSet by url", "GET", "/ValueSet/$validate-code" + q("url", benzoVS, "system", benzoSystem, "code", "medication-assisted-detox"), "", true, "Medication assisted detox", ""},
		{"ValueSet not a member", "GET", "/ValueSet/$validate-code" + q("url", benzoVS, "system", matSystem, "code", "MAT1"), "", false, "MAT 1 – Same Day Access", "is not in value set"},
		{"ValueSet wrong display", "GET", "/ValueSet/$validate-code" + q("url", benzoVS, "system", benzoSystem, "code", "lapse", "display", "Lapse"), "", false, "", `unknown code "lapse"`},
		{"ValueSet instance coding", "GET", "/ValueSet/mat-standard/$validate-code" + q("coding", matSystem+"|MAT5"), "", true, "MAT 5 – Retention", ""},
		{"ValueSet instance system version", "GET", "/ValueSet/mat-standard/$validate-code" + q("code", "MAT5", "system", matSystem, "systemVersion", "0.9"), "", false, "", `version "0.9"`},
		{"ValueSet POST coding", "POST", "/ValueSet/care-setting/$validate-code", parametersBody(`{"name":"coding","valueCoding":{"system":"` + content.DefaultBase + `/CodeSystem/care-setting","code":"outreach","display":"Outreach"}}`), true, "Outreach", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantValidation(t, e.do(tt.method, tt.path, tt.body), tt.result, tt.display, tt.message)
		})
	}
	errorsTable := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown CodeSystem id", "GET", "/CodeSystem/nope/$validate-code" + q("code", "x"), "", 404, "CodeSystem/nope is not known"},
		{"malformed id", "GET", "/CodeSystem/a_b/$validate-code" + q("code", "x"), "", 400, "not a valid id"},
		{"unknown CodeSystem url", "GET", "/CodeSystem/$validate-code" + q("url", "http://x.test/cs", "code", "x"), "", 404, "not known"},
		{"url of another instance", "GET", "/CodeSystem/mat-standard/$validate-code" + q("url", benzoSystem, "code", "x"), "", 400, "is not the url of this CodeSystem"},
		{"no url", "GET", "/CodeSystem/$validate-code" + q("code", "MAT1"), "", 400, "give the CodeSystem's url"},
		{"nothing to validate", "GET", "/CodeSystem/$validate-code" + q("url", matSystem), "", 400, "exactly one of code, coding and codeableConcept"},
		{"code and coding", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "code", "MAT1", "coding", matSystem+"|MAT1"), "", 400, "exactly one of"},
		{"display without code", "GET", "/CodeSystem/$validate-code" + q("coding", matSystem+"|MAT1", "display", "x"), "", 400, "display goes with code"},
		{"codeableConcept in a GET", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "codeableConcept", "x"), "", 400, "a GET cannot carry"},
		{"system is no CodeSystem parameter", "GET", "/CodeSystem/$validate-code" + q("system", matSystem, "code", "MAT1"), "", 400, `does not support parameter "system"`},
		{"unknown CodeSystem version", "GET", "/CodeSystem/$validate-code" + q("url", matSystem, "code", "MAT1", "version", "0.1"), "", 404, `version "0.1"`},
		{"unknown ValueSet", "GET", "/ValueSet/$validate-code" + q("url", content.DefaultBase+"/ValueSet/nope", "system", matSystem, "code", "MAT1"), "", 404, "value set"},
		{"unknown ValueSet id", "GET", "/ValueSet/nope/$validate-code" + q("system", matSystem, "code", "MAT1"), "", 404, "ValueSet/nope is not known"},
		{"unknown ValueSet version", "GET", "/ValueSet/$validate-code" + q("url", matVS, "valueSetVersion", "9", "system", matSystem, "code", "MAT1"), "", 404, `version "9"`},
		{"code without system", "GET", "/ValueSet/$validate-code" + q("url", matVS, "code", "MAT1"), "", 400, "a code needs a system"},
		{"system without code", "GET", "/ValueSet/$validate-code" + q("url", matVS, "system", matSystem, "coding", matSystem+"|MAT1"), "", 400, "go with code"},
		{"ValueSet url is a CodeSystem", "GET", "/ValueSet/$validate-code" + q("url", matSystem, "system", matSystem, "code", "MAT1"), "", 404, "value set"},
		{"empty CodeableConcept", "POST", "/ValueSet/mat-standard/$validate-code", parametersBody(`{"name":"codeableConcept","valueCodeableConcept":{"text":"x"}}`), 400, "has no coding"},
	}
	for _, tt := range errorsTable {
		t.Run(tt.name, func(t *testing.T) {
			wantIssue(t, e.do(tt.method, tt.path, tt.body), tt.status, tt.want)
		})
	}
}

// expansion reads an $expand response: total, offset (-1 if absent) and
// codes.
func expansion(t *testing.T, r response) (total, offset int, codes []string) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["resourceType"] != "ValueSet" {
		t.Fatalf("not a ValueSet: %s", r.body)
	}
	x := m["expansion"].(map[string]any)
	if x["timestamp"] == nil || !strings.HasPrefix(x["identifier"].(string), "urn:uuid:") {
		t.Errorf("expansion without timestamp or identifier: %s", r.body)
	}
	n := func(v any) int {
		if v == nil {
			return -1
		}
		i, err := v.(interface{ Int64() (int64, error) }).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return int(i)
	}
	for _, c := range asSlice(x["contains"]) {
		codes = append(codes, c.(map[string]any)["code"].(string))
	}
	return n(x["total"]), n(x["offset"]), codes
}

func TestTerminologyExpand(t *testing.T) {
	e := newEnv(t)
	allMAT := []string{"MAT1", "MAT2", "MAT3", "MAT4", "MAT5", "MAT6", "MAT7", "MAT8", "MAT9", "MAT10"}
	tests := []struct {
		name, method, path, body string
		total, offset            int
		codes                    []string
	}{
		{"by url", "GET", "/ValueSet/$expand" + q("url", matVS), "", 10, -1, allMAT},
		{"instance", "GET", "/ValueSet/mat-standard/$expand", "", 10, -1, allMAT},
		{"filter", "GET", "/ValueSet/$expand" + q("url", matVS, "filter", "same acc"), "", 1, -1, []string{"MAT1"}},
		{"filter on code", "GET", "/ValueSet/treatment-orientation/$expand" + q("filter", "abst"), "", 1, -1, []string{"abstinence"}},
		{"page", "GET", "/ValueSet/mat-standard/$expand" + q("offset", "8", "count", "5"), "", 10, 8, []string{"MAT9", "MAT10"}},
		{"count 0", "GET", "/ValueSet/mat-standard/$expand" + q("count", "0"), "", 10, 0, nil},
		{"version", "GET", "/ValueSet/psychosocial-tier/$expand" + q("valueSetVersion", "1.0.0", "activeOnly", "true", "excludeNested", "true"), "", 4, -1, []string{"tier-1", "tier-2", "tier-3", "tier-4"}},
		{"POST", "POST", "/ValueSet/$expand", parametersBody(`{"name":"url","valueUri":"`+content.DefaultBase+`/ValueSet/episode-end-reason"}`, `{"name":"count","valueInteger":2}`, `{"name":"offset","valueInteger":1}`), 6, 1, []string{"unplanned-discharge", "transfer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, offset, codes := expansion(t, e.do(tt.method, tt.path, tt.body))
			if total != tt.total || offset != tt.offset || !slices.Equal(codes, tt.codes) {
				t.Errorf("total %d offset %d codes %v, want %d %d %v", total, offset, codes, tt.total, tt.offset, tt.codes)
			}
		})
	}
	t.Run("designations", func(t *testing.T) {
		r := e.do("GET", "/ValueSet/mat-standard/$expand"+q("filter", "psychological", "includeDesignations", "true"), "")
		wantStatus(t, r, http.StatusOK)
		c := asSlice(r.json(t)["expansion"].(map[string]any)["contains"])[0].(map[string]any)
		if c["system"] != matSystem || c["version"] != "1.0.0" || c["display"] != "MAT 6 – Psychological Support" || len(asSlice(c["designation"])) != 2 {
			t.Errorf("%v", c)
		}
	})
	errorsTable := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown url", "GET", "/ValueSet/$expand" + q("url", "http://x.test/vs"), "", 404, "value set http://x.test/vs is not known"},
		{"unknown id", "GET", "/ValueSet/nope/$expand", "", 404, "ValueSet/nope is not known"},
		{"unknown version", "GET", "/ValueSet/mat-standard/$expand" + q("valueSetVersion", "2.0.0"), "", 404, `version "2.0.0"`},
		{"no url", "GET", "/ValueSet/$expand", "", 400, "give the ValueSet's url"},
		{"negative count", "GET", "/ValueSet/mat-standard/$expand" + q("count", "-1"), "", 400, "parameter count must be a whole number"},
		{"bad offset", "GET", "/ValueSet/mat-standard/$expand" + q("offset", "x"), "", 400, "parameter offset"},
		{"bad boolean", "GET", "/ValueSet/mat-standard/$expand" + q("activeOnly", "yes"), "", 400, "true or false"},
		{"string count in POST", "POST", "/ValueSet/mat-standard/$expand", parametersBody(`{"name":"count","valueInteger":"2"}`), 400, "not an integer"},
		{"inline value set", "POST", "/ValueSet/$expand", parametersBody(`{"name":"valueSet","resource":{"resourceType":"ValueSet"}}`), 400, `does not support parameter "valueSet"`},
		{"CodeSystem has no $expand", "GET", "/CodeSystem/mat-standard/$expand", "", 404, ""},
	}
	for _, tt := range errorsTable {
		t.Run(tt.name, func(t *testing.T) {
			wantIssue(t, e.do(tt.method, tt.path, tt.body), tt.status, tt.want)
		})
	}
}

// TestTerminologyAccess checks the operations need a token whose scopes
// allow reading or searching the type, and nothing else: no board, no
// patient context. Each call is audited.
func TestTerminologyAccess(t *testing.T) {
	e := newEnv(t)
	lookup := "/CodeSystem/$lookup" + q("system", matSystem, "code", "MAT1")
	expand := "/ValueSet/mat-standard/$expand"
	tests := []struct {
		name, scope, board string
		extra              []any
		lookup, expand     int
	}{
		{"full scope", "system/*.*", boardA, nil, 200, 200},
		{"no board", "system/*.rs", "", nil, 200, 200},
		{"read of CodeSystem only", "system/CodeSystem.r", "", nil, 200, 403},
		{"search of ValueSet only", "system/ValueSet.s", boardB, nil, 403, 200},
		{"v1 read", "user/CodeSystem.read user/ValueSet.read", boardA, nil, 200, 200},
		{"patient context", "patient/*.rs", boardA, []any{"patient", "p1"}, 200, 200},
		{"another type", "system/Goal.rs", boardA, nil, 403, 403},
		{"write only", "system/*.cud", boardA, nil, 403, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := e.as(tt.scope, tt.board, tt.extra...)
			if r := as.do("GET", lookup, ""); r.StatusCode != tt.lookup {
				t.Errorf("$lookup: %d, want %d: %s", r.StatusCode, tt.lookup, r.body)
			} else if tt.lookup == 403 {
				wantIssue(t, r, 403, "system/CodeSystem.r")
			}
			if r := as.do("GET", expand, ""); r.StatusCode != tt.expand {
				t.Errorf("$expand: %d, want %d: %s", r.StatusCode, tt.expand, r.body)
			}
		})
	}
	wantStatus(t, e.do("GET", lookup, "", "Authorization", ""), http.StatusUnauthorized)

	// The audit trail has the exchanges, as operations (action E) on the type.
	aud := e.as("matcare:audit", boardA)
	r := aud.do("GET", "/AuditEvent?subtype=operation&action=E", "")
	wantStatus(t, r, http.StatusOK)
	var names []string
	for _, en := range asSlice(r.json(t)["entry"]) {
		for _, ent := range asSlice(en.(map[string]any)["resource"].(map[string]any)["entity"]) {
			if n, ok := ent.(map[string]any)["name"].(string); ok {
				names = append(names, n)
			}
			if w, ok := ent.(map[string]any)["what"].(map[string]any); ok {
				names = append(names, w["reference"].(string))
			}
		}
	}
	if !slices.Contains(names, "CodeSystem") || !slices.Contains(names, "ValueSet/mat-standard") {
		t.Errorf("audited entities %v", names)
	}
}

// TestTerminologyRouting checks the operation routes leave the generic
// routes of the same prefix alone. The statuses hold whether or not
// CodeSystem and ValueSet are served types (nothing of them is stored).
func TestTerminologyRouting(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		method, path string
		status       []int
	}{
		{"GET", "/CodeSystem/mat-standard", []int{404}},          // a read: not served, or not stored
		{"GET", "/CodeSystem/mat-standard/_history", []int{404}}, // a history: idem
		{"GET", "/ValueSet/mat-standard/$lookup", []int{404}},    // no such operation
		{"DELETE", "/CodeSystem/$lookup", []int{400, 404}},       // a delete of id "$lookup"
		{"GET", "/Goal/$lookup", []int{400}},                     // a read of the malformed id "$lookup"
		{"PUT", "/ValueSet/mat-standard/$expand", []int{405}},    // only GET and POST
	} {
		r := e.do(tt.method, tt.path, "")
		if !slices.Contains(tt.status, r.StatusCode) {
			t.Errorf("%s %s: %d, want %v: %s", tt.method, tt.path, r.StatusCode, tt.status, r.body)
		}
		if m := r.json(t); m["resourceType"] != "OperationOutcome" {
			t.Errorf("%s %s: %s", tt.method, tt.path, r.body)
		}
	}
}

// TestTerminologyCapability checks the CapabilityStatement lists the
// operations with their R4 definitions.
func TestTerminologyCapability(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/metadata", "")
	wantStatus(t, r, http.StatusOK)
	got := map[string][]string{}
	for _, x := range asSlice(r.json(t)["rest"].([]any)[0].(map[string]any)["resource"]) {
		res := x.(map[string]any)
		for _, op := range asSlice(res["operation"]) {
			o := op.(map[string]any)
			if o["name"] == "validate" { // every served type's; TestValidateCapability
				continue
			}
			got[res["type"].(string)] = append(got[res["type"].(string)], o["name"].(string)+" "+o["definition"].(string))
		}
	}
	const def = "http://hl7.org/fhir/OperationDefinition/"
	want := map[string][]string{
		"CodeSystem": {"lookup " + def + "CodeSystem-lookup", "validate-code " + def + "CodeSystem-validate-code"},
		"ValueSet":   {"validate-code " + def + "ValueSet-validate-code", "expand " + def + "ValueSet-expand"},
	}
	for typ, ops := range want {
		if !slices.Equal(got[typ], ops) {
			t.Errorf("%s operations %v, want %v", typ, got[typ], ops)
		}
	}
	if len(got) != 2 {
		t.Errorf("operations on %v", got)
	}
}

// TestTerminologyCanonicalBase serves the content under another canonical
// base (MATCARE_CANONICAL_BASE): the operations answer in its terms.
func TestTerminologyCanonicalBase(t *testing.T) {
	const base = "https://fhir.example.scot/r4"
	res, err := content.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := terminology.New(res)
	if err != nil {
		t.Fatal(err)
	}
	store, _, _ := openStore(t)
	e := startServer(t, store, store, api.Config{RateLimit: -1, Terminology: reg})
	wantStatus(t, e.do("GET", "/CodeSystem/$lookup"+q("system", base+"/CodeSystem/mat-standard", "code", "MAT1"), ""), http.StatusOK)
	wantStatus(t, e.do("GET", "/CodeSystem/$lookup"+q("system", matSystem, "code", "MAT1"), ""), http.StatusNotFound)
	total, _, _ := expansion(t, e.do("GET", "/ValueSet/$expand"+q("url", base+"/ValueSet/care-setting"), ""))
	if total != 4 {
		t.Errorf("care-setting: %d codes", total)
	}
	r := e.do("GET", "/ValueSet/goal-review-finding/$validate-code"+q("coding", base+"/CodeSystem/goal-review-finding|lapse"), "")
	wantValidation(t, r, true, "Lapse", "")
	r = e.do("GET", "/ValueSet/$expand"+q("url", base+"/ValueSet/mat-standard", "count", "1"), "")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"system":"`+base+`/CodeSystem/mat-standard"`) || strings.Contains(string(r.body), content.DefaultBase) {
		t.Errorf("expansion under %s: %s", base, r.body)
	}
}
