package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/matcare/matcare/fhir/fhirtest"
)

// rawTop returns the top-level members of a JSON object with each value's
// bytes exactly as written, via encoding/json alone (independently of
// rawMembers).
func rawTop(t testing.TB, body []byte) (keys []string, values map[string][]byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object (%v): %s", err, body)
	}
	values = map[string][]byte{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		k := tok.(string)
		keys = append(keys, k)
		values[k] = raw
	}
	return keys, values
}

// subsettedCount counts the SUBSETTED tags in body's meta.tag.
func subsettedCount(t testing.TB, body []byte) int {
	t.Helper()
	var r struct {
		Meta struct {
			Tag []struct{ System, Code string }
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	n := 0
	for _, c := range r.Meta.Tag {
		if c.System == SubsettedSystem && c.Code == SubsettedCode {
			n++
		}
	}
	return n
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	if strings.HasPrefix(name, "AuditEvent-") {
		b, err := os.ReadFile("testdata/subset/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, e := range fhirtest.Examples() {
		if e.Name == name {
			return e.Body
		}
	}
	t.Fatalf("no example %s", name)
	return nil
}

// TestSubsetExamples runs each mode on one official example of each type.
// want lists the top-level members of the result in order; "" means the
// body comes back unchanged.
func TestSubsetExamples(t *testing.T) {
	tests := []struct {
		example  string
		summary  string
		elements []string
		want     string
	}{
		// Patient: no mandatory elements; _birthDate follows birthDate.
		{"Patient-example", "true", nil, "resourceType id meta identifier active name telecom gender birthDate _birthDate deceasedBoolean address managingOrganization"},
		{"Patient-example", "text", nil, "resourceType id meta text"},
		{"Patient-example", "data", nil, "resourceType id meta identifier active name telecom gender birthDate _birthDate deceasedBoolean address contact managingOrganization"},
		{"Patient-example", "false", nil, ""},
		{"Patient-example", "", nil, ""},
		{"Patient-example", "", []string{"birthDate", "deceased", "Goal.subject", "bogus", "Patient.gender"}, "resourceType id meta gender birthDate _birthDate deceasedBoolean"},
		{"Patient-example", "", []string{"deceased[x]"}, "resourceType id meta deceasedBoolean"},
		{"Patient-example", "", []string{"deceasedDateTime"}, "resourceType id meta"},
		{"Patient-example", "", []string{"_birthDate", "name.given"}, "resourceType id meta"},
		{"Patient-example", "true", []string{"birthDate", "contact"}, "resourceType id meta birthDate _birthDate"},
		// Goal: lifecycleStatus, description and subject are mandatory.
		{"Goal-example", "true", nil, "resourceType id meta lifecycleStatus category priority description subject startDate statusDate expressedBy"},
		{"Goal-example", "text", nil, "resourceType id meta text lifecycleStatus description subject"},
		{"Goal-example", "data", nil, "resourceType id meta identifier lifecycleStatus category priority description subject startDate target statusDate statusReason expressedBy addresses outcomeReference"},
		{"Goal-example", "", []string{"Goal.start", "note", "Patient.name"}, "resourceType id meta lifecycleStatus description subject startDate"},
		{"Goal-example", "", []string{"startDate", "text"}, "resourceType id meta text lifecycleStatus description subject startDate"},
		// CarePlan: contained is not a summary element.
		{"CarePlan-example", "true", nil, "resourceType id meta identifier instantiatesUri basedOn replaces partOf status intent category description subject encounter period created author addresses"},
		{"CarePlan-example", "text", nil, "resourceType id meta text status intent subject"},
		{"CarePlan-example", "data", nil, "resourceType id meta contained identifier instantiatesUri basedOn replaces partOf status intent category description subject encounter period created author careTeam addresses goal activity"},
		{"CarePlan-example", "", []string{"activity", "goal"}, "resourceType id meta status intent subject goal activity"},
		// Questionnaire: has a meta (with a profile) to add the tag to.
		{"Questionnaire-phq-9-questionnaire", "true", nil, "resourceType id meta identifier version title status subjectType code"},
		{"Questionnaire-phq-9-questionnaire", "text", nil, "resourceType id meta text status"},
		{"Questionnaire-phq-9-questionnaire", "data", nil, "resourceType id meta extension identifier version title status subjectType code item"},
		{"Questionnaire-phq-9-questionnaire", "", []string{"item"}, "resourceType id meta status item"},
		// QuestionnaireResponse
		{"QuestionnaireResponse-f201", "true", nil, "resourceType id meta status subject authored author source"},
		{"QuestionnaireResponse-f201", "text", nil, "resourceType id meta text status"},
		{"QuestionnaireResponse-f201", "data", nil, "resourceType id meta status subject authored author source item"},
		{"QuestionnaireResponse-f201", "", []string{"Questionnaire.item", "QuestionnaireResponse.item"}, "resourceType id meta status item"},
		// AuditEvent: agent and source are mandatory but not summary
		// elements, so _summary=true leaves them out (R4 search.html).
		{"AuditEvent-example", "true", nil, "resourceType id meta type subtype action recorded outcome"},
		{"AuditEvent-example", "text", nil, "resourceType id meta text type recorded agent source"},
		{"AuditEvent-example", "data", nil, "resourceType id meta type subtype action recorded outcome agent source entity"},
		{"AuditEvent-example", "", []string{"entity"}, "resourceType id meta type recorded agent source entity"},
	}
	for _, tt := range tests {
		name := tt.example + "/" + tt.summary + "/" + strings.Join(tt.elements, ",")
		t.Run(name, func(t *testing.T) {
			typ, _, _ := strings.Cut(tt.example, "-")
			in := example(t, tt.example)
			out, err := Subset(typ, in, tt.summary, tt.elements)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if !bytes.Equal(out, in) {
					t.Fatalf("body changed:\n%s", out)
				}
				return
			}
			keys, outVals := rawTop(t, out)
			if got := strings.Join(keys, " "); got != tt.want {
				t.Errorf("members\n got %s\nwant %s", got, tt.want)
			}
			// Every kept member but meta is byte for byte the stored one.
			_, inVals := rawTop(t, in)
			for _, k := range keys {
				if k == "meta" {
					continue
				}
				if !bytes.Equal(outVals[k], inVals[k]) {
					t.Errorf("%s changed:\n got %s\nwant %s", k, outVals[k], inVals[k])
				}
				member := append([]byte(`"`+k+`":`), inVals[k]...)
				if !bytes.Contains(out, member) {
					t.Errorf("output lacks %s", member)
				}
			}
			if n := subsettedCount(t, out); n != 1 {
				t.Errorf("%d SUBSETTED tags: %s", n, outVals["meta"])
			}
		})
	}
}

// TestSubsetRawBytes checks that kept values are not re-encoded, by
// substrings of the published examples' pretty-printed JSON.
func TestSubsetRawBytes(t *testing.T) {
	pat := example(t, "Patient-example")
	out, err := Subset("Patient", pat, "true", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"resourceType":"Patient","id":"example","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},"identifier":[`,
		`"_birthDate":{
    "extension": [
      {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        "valueDateTime": "1974-12-25T14:35:45-05:00"
      }
    ]
  },"deceasedBoolean":false,`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s\n%s", want, out)
		}
	}
	q := example(t, "Questionnaire-phq-9-questionnaire")
	out, err = Subset("Questionnaire", q, "text", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `"meta":{
    "profile": [
      "http://hl7.org/fhir/StructureDefinition/cqf-questionnaire"
    ]
  ,"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}`
	if !strings.Contains(string(out), want) {
		t.Errorf("meta not extended in place:\n%s", out)
	}
}

func TestSubsetStored(t *testing.T) {
	const head = `{"resourceType":"Goal","id":"g1",`
	const rest = `"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},` +
		`"lifecycleStatus":"active","_lifecycleStatus":{"id":"ls"},"description":{"text":"x"},"subject":{"reference":"Patient/p1"},` +
		`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"},"dueDate":"2024-01-01"}],"note":[{"text":"1e2 \u00e9"}]}`
	tests := []struct {
		name, body, summary string
		elements            []string
		want                string // the whole output; "" = body unchanged
	}{
		{name: "data keeps decimals and escapes", summary: "data",
			body: head + `"meta":{"versionId":"3","lastUpdated":"2024-01-01T00:00:00.000Z"},` + rest,
			want: head + `"meta":{"versionId":"3","lastUpdated":"2024-01-01T00:00:00.000Z","tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},` +
				`"lifecycleStatus":"active","_lifecycleStatus":{"id":"ls"},"description":{"text":"x"},"subject":{"reference":"Patient/p1"},` +
				`"target":[{"detailQuantity":{"value":1.50,"unit":"mg"},"dueDate":"2024-01-01"}],"note":[{"text":"1e2 \u00e9"}]}`},
		{name: "tag appended to existing tags", summary: "text",
			body: head + `"meta":{"tag":[{"system":"http://x","code":"y"}],"versionId":"3"},` + rest,
			want: head + `"meta":{"tag":[{"system":"http://x","code":"y"},{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}],"versionId":"3"},` +
				`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},` +
				`"lifecycleStatus":"active","_lifecycleStatus":{"id":"ls"},"description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`},
		{name: "SUBSETTED not repeated", summary: "true",
			body: head + `"meta":{"tag":[{"code":"SUBSETTED","system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","display":"subsetted"}]},` + rest,
			want: head + `"meta":{"tag":[{"code":"SUBSETTED","system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","display":"subsetted"}]},` +
				`"lifecycleStatus":"active","_lifecycleStatus":{"id":"ls"},"description":{"text":"x"},"subject":{"reference":"Patient/p1"}}`},
		{name: "primitive extension alone keeps a mandatory element", elements: []string{"note"},
			body: `{"resourceType":"Goal","_lifecycleStatus":{"id":"ls"},"statusDate":"2024-01-01","note":[{"text":"n"}]}`,
			want: `{"resourceType":"Goal","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},"_lifecycleStatus":{"id":"ls"},"note":[{"text":"n"}]}`},
		{name: "meta created last when only resourceType and id remain", summary: "text",
			body: `{"id":"1","resourceType":"Patient","active":true}`,
			want: `{"id":"1","resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}}`},
		{name: "nothing kept but meta", summary: "text",
			body: `{"active":true}`,
			want: `{"meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}}`},
		{name: "empty meta", summary: "text",
			body: `{"resourceType":"Patient","meta":{},"active":true}`,
			want: `{"resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}}`},
		{name: "whitespace around members dropped, inside values kept", summary: "data",
			body: "{ \"resourceType\" : \"Patient\" ,\n \"text\" : {\"div\":\"d\"},\n\t\"name\" :\n [ { \"family\" : \"F\" } ] \n}",
			want: `{"resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},"name":[ { "family" : "F" } ]}`},
		{name: "escaped names are matched decoded and written raw", summary: "data",
			body: `{"resourceType":"Patient","\u0074ext":{"div":"d"},"\u0061ctive":true}`,
			want: `{"resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},"\u0061ctive":true}`},
		{name: "nothing to remove", summary: "data", body: `{"resourceType":"Goal","id":"1","lifecycleStatus":"active"}`},
		{name: "all elements named", elements: []string{"active", "Patient.name"},
			body: `{"resourceType":"Patient","active":true,"name":[{"text":"n"}]}`},
		{name: "only unknown names", elements: []string{"colour", "Goal.note"},
			body: `{"resourceType":"Patient","active":true}`,
			want: `{"resourceType":"Patient","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := "Patient"
			if strings.Contains(tt.body, "Goal") {
				typ = "Goal"
			}
			out, err := Subset(typ, []byte(tt.body), tt.summary, tt.elements)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.body
			}
			if string(out) != want {
				t.Errorf("\n got %s\nwant %s", out, want)
			}
			if !json.Valid(out) {
				t.Errorf("invalid JSON: %s", out)
			}
		})
	}
}

func TestSubsetErrors(t *testing.T) {
	tests := []struct {
		name, typ, body, summary string
		elements                 []string
		status                   int
	}{
		{"truncated", "Goal", `{"resourceType":`, "true", nil, 500},
		{"array", "Goal", `[{"resourceType":"Goal"}]`, "data", nil, 500},
		{"string", "Goal", `"Goal"`, "text", nil, 500},
		{"empty", "Goal", ``, "true", nil, 500},
		{"trailing data", "Goal", `{"resourceType":"Goal"}{}`, "true", nil, 500},
		{"invalid with elements", "Goal", `{"resourceType":"Goal",}`, "", []string{"note"}, 500},
		{"meta not an object", "Goal", `{"resourceType":"Goal","meta":[1],"text":{"div":"x"}}`, "data", nil, 500},
		{"tag not an array", "Goal", `{"resourceType":"Goal","meta":{"tag":{"code":"x"}},"text":{"div":"x"}}`, "data", nil, 500},
		{"count", "Goal", `{"resourceType":"Goal"}`, "count", nil, 400},
		{"unknown mode", "Goal", `{"resourceType":"Goal"}`, "TRUE", nil, 400},
		{"unknown type", "Encounter", `{"resourceType":"Encounter"}`, "true", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Subset(tt.typ, []byte(tt.body), tt.summary, tt.elements)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %s, %v; want a *fhir.Error", out, err)
			}
			if got := fe.HTTPStatus(); got != tt.status {
				t.Errorf("status %d, want %d (%v)", got, tt.status, err)
			}
		})
	}
	// Nothing asked: nothing read, so no error even for an unknown type.
	for _, s := range []string{"", "false"} {
		if out, err := Subset("Encounter", []byte(`x`), s, nil); err != nil || string(out) != "x" {
			t.Errorf("Subset(%q) = %s, %v", s, out, err)
		}
	}
}

// TestSubsetAllExamples checks every mode on every official example:
// valid JSON, resourceType and id kept, kept members byte for byte,
// SUBSETTED exactly when something was removed, and idempotence.
func TestSubsetAllExamples(t *testing.T) {
	exs := fhirtest.Examples()
	exs = append(exs, fhirtest.Example{Name: "AuditEvent-example", Type: "AuditEvent", Body: example(t, "AuditEvent-example")})
	modes := []struct {
		summary  string
		elements []string
	}{{"true", nil}, {"text", nil}, {"data", nil}, {"", []string{"identifier", "Patient.name", "Goal.target"}}}
	for _, ex := range exs {
		inKeys, inVals := rawTop(t, ex.Body)
		for _, m := range modes {
			out, err := Subset(ex.Type, ex.Body, m.summary, m.elements)
			if err != nil {
				t.Errorf("%s %s: %v", ex.Name, m.summary, err)
				continue
			}
			keys, vals := rawTop(t, out)
			removed := false
			for _, k := range inKeys {
				if !slices.Contains(keys, k) {
					removed = true
				}
			}
			if !removed {
				if !bytes.Equal(out, ex.Body) {
					t.Errorf("%s %s: nothing removed but body changed", ex.Name, m.summary)
				}
				continue
			}
			for _, k := range []string{"resourceType", "id"} {
				if !slices.Contains(keys, k) {
					t.Errorf("%s %s: %s lost", ex.Name, m.summary, k)
				}
			}
			for _, k := range keys {
				if k != "meta" && !bytes.Equal(vals[k], inVals[k]) {
					t.Errorf("%s %s: %s re-encoded", ex.Name, m.summary, k)
				}
			}
			if n := subsettedCount(t, out); n != 1 {
				t.Errorf("%s %s: %d SUBSETTED tags", ex.Name, m.summary, n)
			}
			again, err := Subset(ex.Type, out, m.summary, m.elements)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("%s %s: not idempotent: %v\n%s\n%s", ex.Name, m.summary, err, out, again)
			}
		}
	}
}

// TestSubsetTableMatchesDefinitions checks subsetDefs against the facts
// extracted from the official R4 StructureDefinitions
// (testdata/elements.json, see testdata/gen_elements.py).
func TestSubsetTableMatchesDefinitions(t *testing.T) {
	b, err := os.ReadFile("testdata/elements.json")
	if err != nil {
		t.Fatal(err)
	}
	var src struct {
		Types map[string][]struct {
			Name    string
			Min     int
			Summary bool
			Types   []string
		}
	}
	if err := json.Unmarshal(b, &src); err != nil {
		t.Fatal(err)
	}
	if len(src.Types) != len(subsetDefs) {
		t.Errorf("%d types in elements.json, %d in subsetDefs", len(src.Types), len(subsetDefs))
	}
	for typ, elems := range src.Types {
		def, ok := subsetDefs[typ]
		if !ok {
			t.Errorf("subsetDefs lacks %s", typ)
			continue
		}
		var summary, mandatory []string
		choice := map[string][]string{}
		for _, e := range elems {
			if e.Summary {
				summary = append(summary, e.Name)
			}
			if e.Min >= 1 {
				mandatory = append(mandatory, e.Name)
			}
			if strings.HasSuffix(e.Name, "[x]") {
				choice[e.Name] = e.Types
			}
		}
		if !slices.Equal(def.Summary, summary) {
			t.Errorf("%s summary\n got %v\nwant %v", typ, def.Summary, summary)
		}
		if !slices.Equal(def.Mandatory, mandatory) {
			t.Errorf("%s mandatory\n got %v\nwant %v", typ, def.Mandatory, mandatory)
		}
		if len(def.Choice) != len(choice) {
			t.Errorf("%s choices\n got %v\nwant %v", typ, def.Choice, choice)
		}
		for n, types := range choice {
			if !slices.Equal(def.Choice[n], types) {
				t.Errorf("%s %s types %v, want %v", typ, n, def.Choice[n], types)
			}
		}
	}
	// Every type matcare serves has its definitions, and requires on the
	// raw JSON (Type.Required) exactly its elements with min >= 1.
	for name, typ := range Types {
		def, ok := subsetDefs[name]
		if !ok {
			t.Errorf("subsetDefs lacks served type %s", name)
		}
		if !slices.Equal(typ.Required, def.Mandatory) {
			t.Errorf("Types[%s].Required = %v, the definition's min >= 1 elements are %v", name, typ.Required, def.Mandatory)
		}
	}
}

// FuzzSubset: for any body, mode and elements, Subset never panics, fails
// only with a *fhir.Error, and otherwise returns a JSON object that keeps
// resourceType (byte for byte), whose every member but meta is one of the
// body's, and that a second Subset leaves unchanged.
func FuzzSubset(f *testing.F) {
	for _, s := range []string{
		goal,
		`{"resourceType":"Goal","id":"a","meta":{"tag":[{"code":"x"}]},"text":{"div":"d"},"lifecycleStatus":"active","_lifecycleStatus":{"id":"i"},"description":{"text":"x"},"subject":{"reference":"Patient/1"},"target":[{"detailQuantity":{"value":1.50}}]}`,
		`{"resourceType":"Goal","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]},"note":[{"text":"n"}]}`,
		`{"resourceType":"Goal","meta":{},"startDate":"2020","startCodeableConcept":{"text":"x"}}`,
		"{ \"resourceType\" : \"Goal\" ,\n \"text\" : {\"div\":\"d\"} }",
		`{"\u0072esourceType":"Goal","\u0074ext":1}`,
		`{"resourceType":"Goal","meta":1,"text":2}`,
		`{"resourceType":"Goal","resourceType":"Goal","meta":{"tag":[]},"meta":{"tag":[1]},"text":3}`,
		`[1]`, `null`, `{"resourceType":"Goal"}{}`, `{`,
	} {
		for _, mode := range []string{"true", "text", "data", ""} {
			f.Add("Goal", []byte(s), mode, "note,Goal.start,Patient.name")
		}
	}
	f.Add("Patient", []byte(`{"resourceType":"Patient","birthDate":"1974","_birthDate":{"id":"b"},"deceasedBoolean":false,"multipleBirthInteger":2}`), "", "deceased,multipleBirth[x]")
	f.Fuzz(func(t *testing.T, typ string, body []byte, summary, elements string) {
		var els []string
		if elements != "" {
			els = strings.Split(elements, ",")
		}
		out, err := Subset(typ, body, summary, els)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fhir.Error", err)
			}
			return
		}
		if bytes.Equal(out, body) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Fatalf("not a JSON object: %s", out)
		}
		in := map[string]json.RawMessage{}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("Subset changed a body that is not a JSON object: %s", body)
		}
		if rt, ok := in["resourceType"]; ok && !bytes.Equal(obj["resourceType"], rt) {
			t.Fatalf("resourceType %s lost: %s", rt, out)
		}
		if _, ok := obj["meta"]; !ok {
			t.Fatalf("meta missing: %s", out)
		}
		inMembers := rawTopAll(body)
		for i, m := range rawTopAll(out) {
			if m.key != "meta" && !slices.ContainsFunc(inMembers, func(in rawTopMember) bool {
				return in.key == m.key && bytes.Equal(in.value, m.value)
			}) {
				t.Fatalf("member %d %q is not the body's: %s", i, m.key, out)
			}
		}
		again, err := Subset(typ, out, summary, els)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v\n%s\n%s", err, out, again)
		}
	})
}

type rawTopMember struct {
	key   string
	value []byte
}

// rawTopAll is rawTop for a valid JSON object that may repeat names.
func rawTopAll(body []byte) []rawTopMember {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var ms []rawTopMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ms
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ms
		}
		ms = append(ms, rawTopMember{tok.(string), raw})
	}
	return ms
}
