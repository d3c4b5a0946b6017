package search

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matcare/matcare/fhir/fhirtest"
)

// render writes a value compactly for comparisons, by kind.
func render(p Param, v Value) string {
	switch p.Kind {
	case Token:
		s := v.System + "|" + v.Code
		if v.Text != "" {
			s += " text=" + v.Text
		}
		for _, t := range v.OfType {
			s += " of-type=" + t.System + "|" + t.Code
		}
		return s
	case String:
		return v.Text + " (" + v.Exact + ")"
	case Date:
		end := func(t time.Time) string {
			switch {
			case t.Equal(MinTime):
				return "-inf"
			case t.Equal(MaxTime):
				return "+inf"
			}
			return t.Format(time.RFC3339Nano)
		}
		return end(v.Lo) + "/" + end(v.Hi)
	case Reference:
		if v.Identifier {
			return "identifier " + v.System + "|" + v.Code + " type=" + v.RefType
		}
		return v.Ref + " type=" + v.RefType
	case Quantity, Number:
		return v.Number + " " + v.System + "|" + v.Code + " " + v.Unit + fmt.Sprintf(" %g", v.Float)
	case URI:
		return v.URI
	case Composite:
		var parts []string
		for i, vs := range v.Parts {
			c, _ := Lookup(p.Type, p.Components[i])
			var ps []string
			for _, x := range vs {
				ps = append(ps, render(c, x))
			}
			parts = append(parts, c.Name+": "+strings.Join(ps, ", "))
		}
		return "[" + strings.Join(parts, "; ") + "]"
	}
	return fmt.Sprintf("%+v", v)
}

// got renders the values of each named parameter of idx.
func got(t *testing.T, typ string, idx Index, names ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range names {
		p, ok := Lookup(typ, n)
		if !ok {
			t.Fatalf("no parameter %s %s", typ, n)
		}
		out[n] = nil
		for _, v := range idx[n] {
			out[n] = append(out[n], render(p, v))
		}
	}
	return out
}

func wantKeys(want map[string][]string) []string {
	var ks []string
	for k := range want {
		ks = append(ks, k)
	}
	return ks
}

// TestExtractExamples extracts every official example and checks key
// parameters of some of them against values read off the JSON by hand.
func TestExtractExamples(t *testing.T) {
	want := map[string]map[string][]string{
		"Goal-example": {
			"lifecycle-status": {"|on-hold"},
			"target-date":      {"2016-04-05T00:00:00Z/2016-04-06T00:00:00Z"},
			"start-date":       {"2015-04-05T00:00:00Z/2015-04-06T00:00:00Z"},
			"patient":          {"Patient/example type=Patient"},
			"subject":          {"Patient/example type=Patient"},
			"_id":              {"|example"},
		},
		"Goal-stop-smoking": {
			"lifecycle-status": {"|completed"},
			"target-date":      nil,
			"patient":          {"Patient/example type=Patient"},
		},
		"CarePlan-example": {
			"patient":  {"Patient/example type=Patient"},
			"status":   {"|active"},
			"category": {"| text=weight management plan"},
			"goal":     {"Goal/example type=Goal"},
			"date":     {"-inf/2017-06-02T00:00:00Z"},
		},
		"CarePlan-gpvisit": {
			"patient":       {"Patient/100 type=Patient"},
			"date":          {"2013-01-01T10:30:00Z/+inf"},
			"activity-date": {"2013-01-01T10:38:00Z/2013-01-01T10:50:01Z"},
		},
		"Patient-example": {
			"identifier":   {"urn:oid:1.2.36.146.595.217.0.1|12345 of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR"},
			"family":       {"chalmers (Chalmers)", "windsor (Windsor)"},
			"given":        {"peter (Peter)", "james (James)", "jim (Jim)"},
			"name":         {"chalmers (Chalmers)", "peter (Peter)", "james (James)", "jim (Jim)", "windsor (Windsor)"},
			"birthdate":    {"1974-12-25T00:00:00Z/1974-12-26T00:00:00Z"},
			"gender":       {"|male"},
			"active":       {"|true"},
			"deceased":     {"|false"},
			"organization": {"Organization/1 type=Organization"},
			"address-city": {"pleasantville (PleasantVille)"},
		},
		"Patient-f001": {
			"identifier": {"urn:oid:2.16.840.1.113883.2.4.6.3|738472983"},
			"email":      {"|p.heuvel@gmail.com"},
			"family":     {"van de heuvel (van de Heuvel)"},
		},
		"QuestionnaireResponse-gcs": {
			"questionnaire": {"Questionnaire/gcs type=Questionnaire"},
			"authored":      {"2014-12-11T04:44:16Z/2014-12-11T04:44:17Z"},
			"subject":       {"Patient/example type=Patient"},
			"patient":       {"Patient/example type=Patient"},
		},
		"QuestionnaireResponse-3141": {
			"subject": nil, // "#patsub": contained, skipped.
		},
		"QuestionnaireResponse-bb": {
			"subject": {"http://hl7.org/fhir/Patient/1 type=Patient"},
		},
		"Observation-blood-pressure": {
			"patient":                  {"Patient/example type=Patient"},
			"performer":                {"Practitioner/example type=Practitioner"},
			"date":                     {"2012-09-17T00:00:00Z/2012-09-18T00:00:00Z"},
			"component-value-quantity": {"107 http://unitsofmeasure.org|mm[Hg] mmHg 107", "60 http://unitsofmeasure.org|mm[Hg] mmHg 60"},
			"component-code-value-quantity": {
				"[component-code: http://loinc.org|8480-6 text=systolic blood pressure, http://snomed.info/sct|271649006 text=systolic blood pressure, " +
					"http://acme.org/devices/clinical-codes|bp-s text=systolic blood pressure; component-value-quantity: 107 http://unitsofmeasure.org|mm[Hg] mmHg 107]",
				"[component-code: http://loinc.org|8462-4 text=diastolic blood pressure; component-value-quantity: 60 http://unitsofmeasure.org|mm[Hg] mmHg 60]",
			},
		},
		"CareTeam-example": {
			"patient":     {"Patient/example type=Patient"},
			"participant": {"Patient/example type=Patient"}, // "#pr1": contained, skipped.
			"date":        {"-inf/2013-01-02T00:00:00Z"},
		},
		"CodeSystem-example": {
			"url":          {"http://hl7.org/fhir/CodeSystem/example"},
			"code":         {"|chol-mmol", "|chol-mass", "|chol"},
			"content-mode": {"|complete"},
			"status":       {"|draft"},
		},
		"Questionnaire-gcs": {
			"url":    {"http://hl7.org/fhir/Questionnaire/gcs"},
			"status": {"|draft"},
			"code":   {"http://loinc.org|9270-0", "http://loinc.org|9268-4", "http://loinc.org|9267-6"},
		},
	}
	seen := 0
	for _, ex := range fhirtest.Examples() {
		idx, err := Extract(ex.Type, ex.Body)
		if err != nil {
			t.Errorf("%s: %v", ex.Name, err)
			continue
		}
		if len(idx["_id"]) != 1 || idx["_id"][0].Code != ex.ID {
			t.Errorf("%s: _id = %+v", ex.Name, idx["_id"])
		}
		w, ok := want[ex.Name]
		if !ok {
			continue
		}
		seen++
		g := got(t, ex.Type, idx, wantKeys(w)...)
		if diff := cmp.Diff(w, g, cmpEmpty); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ex.Name, diff)
		}
	}
	if seen != len(want) {
		t.Errorf("checked %d examples, want %d (renamed?)", seen, len(want))
	}
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		body string
		want map[string][]string
	}{
		{"token code and CodeableConcept", "Goal", `{"resourceType":"Goal","lifecycleStatus":"active",
			"achievementStatus":{"coding":[{"system":"s","code":"in-progress","display":"In Progress"},{"code":"x"}],"text":"Going  Well"},
			"category":[{"text":"Diététique"}]}`,
			map[string][]string{
				"lifecycle-status":   {"|active"},
				"achievement-status": {"s|in-progress text=in progress", "|x", "| text=going well"},
				"category":           {"| text=dietetique"},
			}},
		{"token identifier, boolean, ContactPoint", "Patient", `{"resourceType":"Patient","active":false,
			"identifier":[{"system":"urn:x","value":"42","type":{"coding":[{"system":"t","code":"MR"}],"text":"Medical Record"}},{"system":"urn:novalue"}],
			"telecom":[{"system":"email","value":"a@b.c"},{"system":"phone","value":"123","use":"home"}]}`,
			map[string][]string{
				"active":     {"|false"},
				"identifier": {"urn:x|42 text=medical record of-type=t|MR"},
				"email":      {"|a@b.c"},
				"phone":      {"|123"},
				"telecom":    {"|a@b.c", "|123"},
			}},
		{"string HumanName and Address", "Patient", `{"resourceType":"Patient",
			"name":[{"family":"Müller-Lüdenscheidt","given":["  José ","Ana"],"prefix":["Dr"],"text":"Dr José Müller"}],
			"address":[{"line":["1 Rue  d'Été"],"city":"Besançon","postalCode":"25000","country":"FR","use":"home"}]}`,
			map[string][]string{
				"family":             {"muller-ludenscheidt (Müller-Lüdenscheidt)"},
				"given":              {"jose (  José )", "ana (Ana)"},
				"name":               {"dr jose muller (Dr José Müller)", "muller-ludenscheidt (Müller-Lüdenscheidt)", "jose (  José )", "ana (Ana)", "dr (Dr)"},
				"address":            {"1 rue d'ete (1 Rue  d'Été)", "besancon (Besançon)", "25000 (25000)", "fr (FR)"},
				"address-city":       {"besancon (Besançon)"},
				"address-postalcode": {"25000 (25000)"},
				"address-use":        {"|home"},
			}},
		{"date partial, zone, period, choice", "Patient", `{"resourceType":"Patient","birthDate":"2024","deceasedDateTime":"2025-03-01T10:00:00+02:00"}`,
			map[string][]string{
				"birthdate":  {"2024-01-01T00:00:00Z/2025-01-01T00:00:00Z"},
				"death-date": {"2025-03-01T08:00:00Z/2025-03-01T08:00:01Z"},
				"deceased":   {"|true"},
			}},
		{"deceasedBoolean", "Patient", `{"resourceType":"Patient","deceasedBoolean":true}`,
			map[string][]string{"deceased": {"|true"}, "death-date": nil}},
		{"Goal start and target choice types", "Goal", `{"resourceType":"Goal","startDate":"2024-06","startCodeableConcept":{"text":"x"},
			"target":[{"dueDate":"2024-07-01"},{"dueDuration":{"value":3}},{"dueDate":"bad"}]}`,
			map[string][]string{
				"start-date":  {"2024-06-01T00:00:00Z/2024-07-01T00:00:00Z"},
				"target-date": {"2024-07-01T00:00:00Z/2024-07-02T00:00:00Z"},
			}},
		{"CarePlan period open start, Timing events", "CarePlan", `{"resourceType":"CarePlan","period":{"end":"2024-12-31"},
			"activity":[{"detail":{"scheduledTiming":{"event":["2024-01-02T10:00:00Z","2024-01-03"]}}},{"detail":{"scheduledString":"daily"}},
			{"detail":{"scheduledPeriod":{"start":"2024-02-01"}}}]}`,
			map[string][]string{
				"date":          {"-inf/2025-01-01T00:00:00Z"},
				"activity-date": {"2024-01-02T10:00:00Z/2024-01-02T10:00:01Z", "2024-01-03T00:00:00Z/2024-01-04T00:00:00Z", "2024-02-01T00:00:00Z/+inf"},
			}},
		{"Period ending before it starts", "CarePlan", `{"resourceType":"CarePlan","period":{"start":"2025","end":"2024"},
			"activity":[{"detail":{"scheduledPeriod":{"start":"2024-05-03T10:00:00Z","end":"2024-05-03"}}},
			{"detail":{"scheduledPeriod":{"start":"2024-05-04T10:00:00+02:00","end":"2024-05-03"}}}]}`,
			map[string][]string{
				"date":          nil,
				"activity-date": {"2024-05-03T10:00:00Z/2024-05-04T00:00:00Z"},
			}},
		{"references", "CarePlan", `{"resourceType":"CarePlan",
			"subject":{"reference":"Patient/p1/_history/3"},
			"goal":[{"reference":"Goal/g1"},{"reference":"#contained"},{"reference":"https://other.example/fhir/Goal/g2"},{"identifier":{"system":"urn:g","value":"7"}}],
			"basedOn":[{"reference":"urn:uuid:5a7f6a2c-0b5e-4c4e-8a10-8f1c2b6d9e01"}],
			"instantiatesCanonical":["http://example.org/Questionnaire/q|2.0"]}`,
			map[string][]string{
				"patient":                {"Patient/p1 type=Patient"},
				"subject":                {"Patient/p1 type=Patient"},
				"goal":                   {"Goal/g1 type=Goal", "https://other.example/fhir/Goal/g2 type=Goal", "identifier urn:g|7 type="},
				"based-on":               {"urn:uuid:5a7f6a2c-0b5e-4c4e-8a10-8f1c2b6d9e01 type="},
				"instantiates-canonical": {"http://example.org/Questionnaire/q|2.0 type=Questionnaire", "http://example.org/Questionnaire/q type=Questionnaire"},
			}},
		{"patient keeps only Patient references", "Goal", `{"resourceType":"Goal","subject":{"reference":"Group/g1"}}`,
			map[string][]string{"patient": nil, "subject": {"Group/g1 type=Group"}}},
		{"patient by type of an identifier reference", "QuestionnaireResponse", `{"resourceType":"QuestionnaireResponse",
			"subject":{"type":"Patient","identifier":{"system":"urn:nhs","value":"943"}},"author":{"reference":"Goal/x"}}`,
			map[string][]string{
				"patient": {"identifier urn:nhs|943 type=Patient"},
				"subject": {"identifier urn:nhs|943 type=Patient"},
				"author":  nil, // Not a target type of author.
			}},
		{"Resource-level from meta", "Goal", `{"resourceType":"Goal","id":"g1","meta":{"lastUpdated":"2024-05-06T07:08:09.123Z",
			"tag":[{"system":"urn:t","code":"a"}],"security":[{"system":"urn:s","code":"R"}],"profile":["http://p/1"],"source":"urn:src#x"}}`,
			map[string][]string{
				"_id":          {"|g1"},
				"_lastUpdated": {"2024-05-06T07:08:09.123Z/2024-05-06T07:08:09.124Z"},
				"_tag":         {"urn:t|a"},
				"_security":    {"urn:s|R"},
				"_profile":     {"http://p/1"},
				"_source":      {"urn:src#x"},
			}},
		{"Questionnaire uri, string, quantity and composites", "Questionnaire", `{"resourceType":"Questionnaire","url":"http://q/1","title":"PHQ-9 Ünïcode",
			"useContext":[{"code":{"system":"http://terminology.hl7.org/CodeSystem/usage-context-type","code":"age"},"valueQuantity":{"value":18.10,"system":"http://unitsofmeasure.org","code":"a","unit":"yr"}},
			{"code":{"code":"focus"},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"123"}]}},
			{"code":{"code":"age"},"valueRange":{"low":{"value":1}}}]}`,
			map[string][]string{
				"url":                   {"http://q/1"},
				"title":                 {"phq-9 unicode (PHQ-9 Ünïcode)"},
				"context-type":          {"http://terminology.hl7.org/CodeSystem/usage-context-type|age", "|focus", "|age"},
				"context-quantity":      {"18.10 http://unitsofmeasure.org|a yr 18.1"},
				"context":               {"http://snomed.info/sct|123"},
				"context-type-quantity": {"[context-type: http://terminology.hl7.org/CodeSystem/usage-context-type|age; context-quantity: 18.10 http://unitsofmeasure.org|a yr 18.1]"},
				"context-type-value":    {"[context-type: |focus; context: http://snomed.info/sct|123]"},
			}},
		{"decimal precision kept", "Questionnaire", `{"resourceType":"Questionnaire","useContext":[{"code":{"code":"age"},"valueQuantity":{"value":0.1000000000000000055511151231257827}}]}`,
			map[string][]string{"context-quantity": {"0.1000000000000000055511151231257827 |  0.1"}}},
		{"AuditEvent", "AuditEvent", `{"resourceType":"AuditEvent","type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110110"},
			"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"outcome":"0","recorded":"2024-01-01T12:00:00Z",
			"agent":[{"who":{"reference":"Practitioner/dr"}},{"who":{"reference":"Patient/p"}}],"entity":[{"what":{"reference":"Goal/g"}}]}`,
			map[string][]string{
				"type":    {"http://dicom.nema.org/resources/ontology/DCM|110110"},
				"subtype": {"http://hl7.org/fhir/restful-interaction|read"},
				"outcome": {"|0"},
				"date":    {"2024-01-01T12:00:00Z/2024-01-01T12:00:01Z"},
				"agent":   {"Practitioner/dr type=Practitioner", "Patient/p type=Patient"},
				"entity":  {"Goal/g type=Goal"},
				"patient": {"Patient/p type=Patient"},
			}},
		{"Observation composites on the resource and its components", "Observation", `{"resourceType":"Observation","status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"effectivePeriod":{"start":"2024-03-01"},
			"valueSampledData":{"origin":{"value":0},"period":1,"dimensions":1,"data":"1 2"},
			"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":107,"unit":"mmHg"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":60}}]}`,
			map[string][]string{
				"date":                          {"2024-03-01T00:00:00Z/+inf"},
				"combo-code":                    {"http://loinc.org|85354-9", "http://loinc.org|8480-6", "http://loinc.org|8462-4"},
				"value-quantity":                nil, // SampledData is not indexed
				"component-value-quantity":      {"107 | mmHg 107", "60 |  60"},
				"code-value-quantity":           nil,
				"component-code-value-quantity": {"[component-code: http://loinc.org|8480-6; component-value-quantity: 107 | mmHg 107]", "[component-code: http://loinc.org|8462-4; component-value-quantity: 60 |  60]"},
				"combo-code-value-quantity":     {"[combo-code: http://loinc.org|8480-6; combo-value-quantity: 107 | mmHg 107]", "[combo-code: http://loinc.org|8462-4; combo-value-quantity: 60 |  60]"},
			}},
		{"Observation code-value pairs on the resource", "Observation", `{"resourceType":"Observation","status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"valueQuantity":{"value":67.5,"system":"http://unitsofmeasure.org","code":"kg"}}`,
			map[string][]string{
				"code-value-quantity":       {"[code: http://loinc.org|29463-7; value-quantity: 67.5 http://unitsofmeasure.org|kg  67.5]"},
				"combo-code-value-quantity": {"[combo-code: http://loinc.org|29463-7; combo-value-quantity: 67.5 http://unitsofmeasure.org|kg  67.5]"},
				"code-value-concept":        nil,
			}},
		{"Goal next-review: the extension under any base", "Goal", `{"resourceType":"Goal","extension":[
			{"url":"https://fhir.example.scot/r4/StructureDefinition/next-review-date","valueDate":"2025-01-15"},
			{"url":"http://matcare.example/fhir/StructureDefinition/next-review-date","valueDate":"2025-02"},
			{"url":"http://other.example/StructureDefinition/next-review-date-x","valueDate":"2026-01-01"},
			{"url":"http://hl7.org/fhir/StructureDefinition/goal-acceptance","extension":[{"url":"status","valueCode":"agree"}]}]}`,
			map[string][]string{"next-review": {"2025-01-15T00:00:00Z/2025-01-16T00:00:00Z", "2025-02-01T00:00:00Z/2025-03-01T00:00:00Z"}}},
		{"duplicates dropped", "Goal", `{"resourceType":"Goal","category":[{"coding":[{"code":"a"}]},{"coding":[{"code":"a"}]}]}`,
			map[string][]string{"category": {"|a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := Extract(tt.typ, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			g := got(t, tt.typ, idx, wantKeys(tt.want)...)
			if diff := cmp.Diff(tt.want, g, cmpEmpty); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractUnsupported(t *testing.T) {
	idx, err := Extract("Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Smith"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := idx["phonetic"]; ok {
		t.Error("phonetic is unsupported but has values")
	}
	for typ := range byType {
		for _, p := range Params(typ) {
			if !p.Supported() && len(p.Paths) > 0 && p.Name != "phonetic" {
				t.Errorf("%s %s: unexpected unsupported parameter", typ, p.Name)
			}
			if p.Supported() && p.Name == "phonetic" {
				t.Errorf("%s phonetic: supported, but no phonetic algorithm is", typ)
			}
		}
	}
}

func TestExtractErrors(t *testing.T) {
	tests := []struct{ typ, body string }{
		{"Encounter", `{"resourceType":"Encounter"}`},
		{"Goal", `[]`},
		{"Goal", `{"resourceType":"Patient"}`},
		{"Goal", `{`},
		{"Goal", `{} {}`},
		{"Goal", ``},
	}
	for _, tt := range tests {
		if _, err := Extract(tt.typ, []byte(tt.body)); err == nil {
			t.Errorf("Extract(%s, %q) = nil error", tt.typ, tt.body)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Chalmers", "chalmers"},
		{"  Ève  Marie\tDuçon ", "eve marie ducon"},
		{"ÅNGSTRÖM", "angstrom"},
		{"张无忌", "张无忌"},
	}
	for _, tt := range tests {
		if got := NormalizeString(tt.in); got != tt.want {
			t.Errorf("NormalizeString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	tests := []struct{ in, ref, typ string }{
		{"Patient/1", "Patient/1", "Patient"},
		{"Patient/1/_history/2", "Patient/1", "Patient"},
		{"http://x/fhir/Patient/1", "http://x/fhir/Patient/1", "Patient"},
		{"urn:uuid:1", "urn:uuid:1", ""},
		{"1", "1", ""},
		{"patient/1", "patient/1", ""},
	}
	for _, tt := range tests {
		ref, typ := normalizeRef(tt.in)
		if ref != tt.ref || typ != tt.typ {
			t.Errorf("normalizeRef(%q) = %q, %q; want %q, %q", tt.in, ref, typ, tt.ref, tt.typ)
		}
	}
}

func TestParsePath(t *testing.T) {
	good := []string{"subject", "target.dueDate", "subject[is=Patient]", "telecom[system=email]", "$this",
		"extension[url-suffix=/StructureDefinition/next-review-date].valueDate"}
	for _, p := range good {
		if _, err := parsePath(p); err != nil {
			t.Errorf("parsePath(%q): %v", p, err)
		}
	}
	bad := []string{"", "a..b", "a[is=Patient", "a[x=y]", "a[is=]", "a.b()", "a[is]", "$this.a", "a.$this",
		"extension[url-suffix=next-review-date]", "extension[url-suffix=]"}
	for _, p := range bad {
		if _, err := parsePath(p); err == nil {
			t.Errorf("parsePath(%q) = nil error", p)
		}
	}
}

// TestExtractConcurrent runs Extract from several goroutines: the write
// path calls it concurrently (run with -race).
func TestExtractConcurrent(t *testing.T) {
	examples := fhirtest.Examples()
	done := make(chan error)
	for range 4 {
		go func() {
			var err error
			for _, ex := range examples {
				if _, e := Extract(ex.Type, ex.Body); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	for _, ex := range fhirtest.Examples() {
		if ex.Name != "Patient-example" && ex.Name != "CarePlan-example" && ex.Name != "Goal-example" {
			continue
		}
		b.Run(ex.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Extract(ex.Type, ex.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
