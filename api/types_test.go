package api_test

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestDirectoryClinicalAndSharedTypes creates, reads and searches one
// resource of each of Organization, Practitioner, RelatedPerson, CareTeam,
// Observation, CodeSystem, ValueSet and StructureDefinition, then checks
// their tenancy: directory entries (Organization, Practitioner) belong to
// a board and to no patient's compartment; RelatedPerson, CareTeam and
// Observation are in their patient's compartment; CodeSystem, ValueSet
// and StructureDefinition are shared content that every board reads and
// only an administrator writes.
func TestDirectoryClinicalAndSharedTypes(t *testing.T) {
	e := newEnv(t) // full scope (admin included), board A
	b := e.as("system/*.*", boardB)
	put := func(t *testing.T, e *env, path, body string) {
		t.Helper()
		wantStatus(t, e.do("PUT", path, body), http.StatusCreated)
	}
	ids := func(t *testing.T, e *env, query string) []string {
		t.Helper()
		r := e.do("GET", query, "")
		wantStatus(t, r, http.StatusOK)
		return modeIDs(t, r.json(t), "match")
	}
	put(t, e, "/Patient/p1", `{"resourceType":"Patient","id":"p1"}`)
	put(t, e, "/Patient/p2", `{"resourceType":"Patient","id":"p2"}`)

	// One resource of each type, written by POST (the server's id) and read back.
	created := map[string]string{}
	for _, tt := range []struct{ typ, body string }{
		{"Organization", `{"resourceType":"Organization","identifier":[{"system":"https://www.datadictionary.nhs.uk/ods","value":"S08000031"}],
			"name":"NHS Greater Glasgow and Clyde Alcohol and Drug Recovery Services","alias":["ADRS"],"active":true}`},
		{"Practitioner", `{"resourceType":"Practitioner","name":[{"family":"MacLeod","given":["Iona"]}],"telecom":[{"system":"email","value":"iona@example.scot"}]}`},
		{"RelatedPerson", `{"resourceType":"RelatedPerson","patient":{"reference":"Patient/p1"},
			"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"SIS"}]}],"name":[{"family":"Brown"}]}`},
		{"CareTeam", `{"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/p1"},
			"participant":[{"member":{"reference":"Practitioner/dr1"}},{"member":{"reference":"RelatedPerson/rp1"}}]}`},
		{"Observation", `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"},
			"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"effectiveDateTime":"2024-05-03T10:15:00+01:00",
			"valueQuantity":{"value":67.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},"performer":[{"reference":"Practitioner/dr1"}]}`},
		{"CodeSystem", `{"resourceType":"CodeSystem","url":"http://example.scot/fhir/CodeSystem/local-orientation","status":"active",
			"content":"complete","caseSensitive":true,"concept":[{"code":"harm-reduction"},{"code":"abstinence"},{"code":"undecided"}]}`},
		{"ValueSet", `{"resourceType":"ValueSet","url":"http://example.scot/fhir/ValueSet/local-orientation","status":"active",
			"compose":{"include":[{"system":"http://example.scot/fhir/CodeSystem/local-orientation"}]}}`},
		{"StructureDefinition", `{"resourceType":"StructureDefinition","url":"http://example.scot/fhir/StructureDefinition/local-review-date",
			"name":"NextReviewDate","status":"active","kind":"complex-type","abstract":false,"type":"Extension",
			"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
			"context":[{"type":"element","expression":"Goal"}]}`},
	} {
		r := e.do("POST", "/"+tt.typ, tt.body)
		wantStatus(t, r, http.StatusCreated)
		id, _ := r.json(t)["id"].(string)
		created[tt.typ] = tt.typ + "/" + id
		g := e.do("GET", "/"+tt.typ+"/"+id, "")
		wantStatus(t, g, http.StatusOK)
		if want, got := comparable(t, []byte(tt.body)), comparable(t, g.body); !reflect.DeepEqual(want, got) {
			t.Errorf("%s: read back %s", tt.typ, g.body)
		}
	}
	// Fixed ids for the references above, and a second patient's data.
	put(t, e, "/Practitioner/dr1", `{"resourceType":"Practitioner","id":"dr1","name":[{"family":"Ross"}]}`)
	put(t, e, "/RelatedPerson/rp1", `{"resourceType":"RelatedPerson","id":"rp1","patient":{"reference":"Patient/p1"}}`)
	put(t, e, "/RelatedPerson/rp2", `{"resourceType":"RelatedPerson","id":"rp2","patient":{"reference":"Patient/p2"}}`)
	put(t, e, "/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","subject":{"reference":"Patient/p2"},
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"valueQuantity":{"value":80,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`)
	put(t, e, "/CareTeam/ct2", `{"resourceType":"CareTeam","id":"ct2","status":"active","subject":{"reference":"Patient/p2"},
		"participant":[{"member":{"reference":"Patient/p1"}}]}`)

	t.Run("search", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"/Organization?name=adrs", []string{created["Organization"]}},
			{"/Organization?identifier=https://www.datadictionary.nhs.uk/ods|S08000031&active=true", []string{created["Organization"]}},
			{"/Practitioner?family=macleod", []string{created["Practitioner"]}},
			{"/Practitioner?email=iona@example.scot", []string{created["Practitioner"]}},
			{"/RelatedPerson?patient=p1&relationship=SIS", []string{created["RelatedPerson"]}},
			{"/RelatedPerson?patient=Patient/p2", []string{"RelatedPerson/rp2"}},
			{"/CareTeam?patient=p1&status=active", []string{created["CareTeam"]}},
			{"/CareTeam?participant=RelatedPerson/rp1", []string{created["CareTeam"]}},
			{"/CareTeam?participant:Patient=p1", []string{"CareTeam/ct2"}},
			{"/Observation?code=http://loinc.org|29463-7&value-quantity=gt70", []string{"Observation/o2"}},
			{"/Observation?code-value-quantity=http://loinc.org|29463-7$lt70|http://unitsofmeasure.org|kg", []string{created["Observation"]}},
			{"/Observation?patient=p1&date=2024-05-03", []string{created["Observation"]}},
			{"/Observation?performer:Practitioner.family=ross", []string{created["Observation"]}},
			{"/CodeSystem?url=http://example.scot/fhir/CodeSystem/local-orientation&code=abstinence", []string{created["CodeSystem"]}},
			{"/CodeSystem?content-mode=complete&status=active", []string{created["CodeSystem"]}},
			{"/ValueSet?reference=http://example.scot/fhir/CodeSystem/local-orientation", []string{created["ValueSet"]}},
			{"/StructureDefinition?type=Extension&base=http://hl7.org/fhir/StructureDefinition/Extension&ext-context=element", []string{created["StructureDefinition"]}},
			{"/StructureDefinition?url:below=http://example.scot/fhir/", []string{created["StructureDefinition"]}},
		} {
			want := slices.Sorted(slices.Values(tt.want))
			if got := ids(t, e, tt.query); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", tt.query, got, want)
			}
		}
		// _include across the new types.
		r := e.do("GET", "/CareTeam?_id="+strings.TrimPrefix(created["CareTeam"], "CareTeam/")+"&_include=CareTeam:participant", "")
		wantStatus(t, r, http.StatusOK)
		if got := modeIDs(t, r.json(t), "include"); !slices.Equal(got, []string{"Practitioner/dr1", "RelatedPerson/rp1"}) {
			t.Errorf("CareTeam _include=CareTeam:participant: %v", got)
		}
	})

	t.Run("boards", func(t *testing.T) {
		// Board A's directory entries and clinical data are invisible to
		// board B, as if absent.
		for _, ref := range []string{created["Organization"], created["Practitioner"], created["RelatedPerson"], created["CareTeam"], created["Observation"]} {
			wantStatus(t, b.do("GET", "/"+ref, ""), http.StatusNotFound)
		}
		if got := ids(t, b, "/Organization?name=adrs"); len(got) != 0 {
			t.Errorf("board B finds board A's organization: %v", got)
		}
		put(t, b, "/Organization/org-b", `{"resourceType":"Organization","id":"org-b","name":"NHS Lothian Substance Misuse Directorate"}`)
		if got := ids(t, b, "/Organization"); !slices.Equal(got, []string{"Organization/org-b"}) {
			t.Errorf("board B's organizations: %v", got)
		}
		if got := ids(t, e, "/Organization"); !slices.Equal(got, []string{created["Organization"]}) {
			t.Errorf("board A's organizations: %v", got)
		}
		// An update to board A's id by board B is refused (409: the id is taken).
		wantStatus(t, b.do("PUT", "/"+created["Organization"], `{"resourceType":"Organization","id":"`+
			strings.TrimPrefix(created["Organization"], "Organization/")+`","name":"x"}`), http.StatusConflict)
	})

	t.Run("shared content", func(t *testing.T) {
		for _, typ := range []string{"CodeSystem", "ValueSet", "StructureDefinition"} {
			// Every board reads and searches it, and so does a reader with no board.
			for _, reader := range []*env{b, e.as("system/*.read", boardB), e.as("system/"+typ+".read", "")} {
				wantStatus(t, reader.do("GET", "/"+created[typ], ""), http.StatusOK)
				if got := ids(t, reader, "/"+typ); !slices.Equal(got, []string{created[typ]}) {
					t.Errorf("%s search by another board: %v", typ, got)
				}
			}
		}
		// Only an administrator writes it.
		for _, w := range []*env{b, e.as("system/*.*", boardA)} {
			r := w.do("POST", "/CodeSystem", `{"resourceType":"CodeSystem","status":"draft","content":"not-present"}`)
			wantStatus(t, r, http.StatusForbidden)
			if d, _ := issue(t, r)["diagnostics"].(string); !strings.Contains(d, "administrative scope") {
				t.Errorf("diagnostics %q do not name the administrative scope", d)
			}
			wantStatus(t, w.do("DELETE", "/"+created["CodeSystem"], ""), http.StatusForbidden)
			wantStatus(t, w.do("PUT", "/"+created["ValueSet"], strings.Replace(
				`{"resourceType":"ValueSet","id":"ID","status":"retired"}`, "ID", strings.TrimPrefix(created["ValueSet"], "ValueSet/"), 1)), http.StatusForbidden)
		}
		if r := e.do("GET", "/"+created["CodeSystem"], ""); !strings.Contains(string(r.body), `"status":"active"`) {
			t.Errorf("CodeSystem changed by a refused write: %s", r.body)
		}
		// Shared content carries no board label.
		if r := e.do("GET", "/"+created["CodeSystem"], ""); strings.Contains(string(r.body), "health-board") {
			t.Errorf("CodeSystem has a board label: %s", r.body)
		}
	})

	t.Run("patient compartment", func(t *testing.T) {
		p1 := e.as("patient/*.read", boardA, "patient", "p1")
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"/RelatedPerson", []string{created["RelatedPerson"], "RelatedPerson/rp1"}},
			{"/Observation", []string{created["Observation"]}},
			// ct2 is about p2 but has p1 as a participant member: in both compartments.
			{"/CareTeam", []string{created["CareTeam"], "CareTeam/ct2"}},
			{"/Patient/p1/Observation", []string{created["Observation"]}},
			{"/Patient/p1/CareTeam", []string{created["CareTeam"], "CareTeam/ct2"}},
			// Directory entries are in no patient's compartment: a
			// patient/ token sees none of them.
			{"/Organization", nil},
			{"/Practitioner", nil},
			// Shared content is outside every compartment and readable.
			{"/CodeSystem", []string{created["CodeSystem"]}},
		} {
			want := slices.Sorted(slices.Values(tt.want))
			if got := ids(t, p1, tt.query); !slices.Equal(got, want) {
				t.Errorf("patient p1 %s: %v, want %v", tt.query, got, want)
			}
		}
		for _, ref := range []string{"Observation/o2", "RelatedPerson/rp2", created["Organization"], "Practitioner/dr1"} {
			wantStatus(t, p1.do("GET", "/"+ref, ""), http.StatusNotFound)
		}
		wantStatus(t, p1.do("GET", "/Patient/p1/Organization", ""), http.StatusNotFound) // not in the compartment definition
		// An include of a directory entry is not a way around it.
		r := p1.do("GET", "/Observation?_include=Observation:performer", "")
		wantStatus(t, r, http.StatusOK)
		if got := modeIDs(t, r.json(t), "include"); len(got) != 0 {
			t.Errorf("patient p1 includes %v", got)
		}
		// A patient writer writes in its compartment only, and no directory entry.
		pw := e.as("patient/*.*", boardA, "patient", "p1")
		wantStatus(t, pw.do("POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`), http.StatusCreated)
		wantStatus(t, pw.do("POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`), http.StatusForbidden)
		wantStatus(t, pw.do("POST", "/Practitioner", `{"resourceType":"Practitioner","name":[{"family":"x"}]}`), http.StatusForbidden)
		wantStatus(t, pw.do("POST", "/Organization", `{"resourceType":"Organization","name":"x"}`), http.StatusForbidden)
		wantStatus(t, pw.do("PUT", "/Practitioner/dr1", `{"resourceType":"Practitioner","id":"dr1","name":[{"family":"x"}]}`), http.StatusForbidden)
	})
}
